//! Detached CMS SignedData (RFC 5652 §5) over a payment order.
//!
//! ```text
//! ContentInfo { contentType id-signedData,                       -- §3
//!   content SignedData {                                          -- §5.1
//!     version 1,
//!     digestAlgorithms { id-sha256 },                             -- RFC 5754 §2
//!     encapContentInfo { eContentType id-data },                  -- §5.2, no eContent
//!     certificates { signer certificate },
//!     signerInfos { SignerInfo {                                  -- §5.3
//!       version 1,
//!       sid issuerAndSerialNumber,                                -- of the certificate
//!       digestAlgorithm id-sha256,
//!       signedAttrs { contentType id-data,                        -- §11.1
//!                     messageDigest SHA-256(content),             -- §11.2
//!                     signingTime },                              -- §11.3
//!       signatureAlgorithm  see crate::sign,
//!       signature           over DER(SET OF signedAttrs) } } } }  -- §5.4
//! ```
//!
//! The content is *detached*: it travels beside the signature (the payment
//! order file) and a verifier supplies it again (§5.2: eContent absent). The
//! message digest is therefore computed here and handed to the builder as an
//! external digest; the signature covers the DER of the signed attributes
//! with the SET OF tag (§5.4), which binds the content through its digest.
//!
//! signingTime is added explicitly because the cms builder does not add it;
//! it is the caller's clock, UTCTime for 1950–2049 and GeneralizedTime
//! outside, whole seconds (§11.3).

use std::time::SystemTime;

use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::asn1::SetOfVec;
use der::{Any, Decode, Encode};
use sha2::{Digest, Sha256};
use signet_schema::SignatureScheme;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::time::Time;

use crate::keys::{PublicKey, SigningKey};
use crate::sign::{SchemeSigner, SignatureValue};
use crate::{Error, Result};

/// Signs `content` as a detached CMS SignedData and returns the
/// `ContentInfo` DER (what `openssl cms -verify -binary -content … -inform
/// DER` reads).
///
/// `certificate_der` is the signer's X.509 certificate: it identifies the
/// signer (issuer and serial number) and is included in `certificates`.
/// [`Error::Format`] (field `certificate`) if it does not parse; [`Error::CertificateMismatch`]
/// if its SubjectPublicKeyInfo is not `key`'s public key (or not an RSA key),
/// so a signature can never name a certificate for another key.
pub fn sign_detached<K: SigningKey>(
    key: &K,
    scheme: SignatureScheme,
    certificate_der: &[u8],
    content: &[u8],
    signing_time: SystemTime,
) -> Result<Vec<u8>> {
    sign_detached_digest(
        key,
        scheme,
        certificate_der,
        &Sha256::digest(content).into(),
        signing_time,
    )
}

/// [`sign_detached`] for the content whose SHA-256 is `content_digest`: the
/// signed attributes carry only the content's digest (§11.2), so the
/// signature is the same as over the content itself.
pub fn sign_detached_digest<K: SigningKey>(
    key: &K,
    scheme: SignatureScheme,
    certificate_der: &[u8],
    content_digest: &[u8; 32],
    signing_time: SystemTime,
) -> Result<Vec<u8>> {
    let certificate = Certificate::from_der(certificate_der)
        .map_err(|_| signet_schema::FormatError::new("certificate", signet_schema::Problem::Malformed))?;
    check_certificate_key(&certificate, key)?;

    let message_digest = content_digest;
    // RFC 5754 §2: SHA-2 AlgorithmIdentifiers omit the parameters.
    let digest_algorithm = AlgorithmIdentifierOwned {
        oid: const_oid::db::rfc5912::ID_SHA_256,
        parameters: None,
    };
    let encapsulated = EncapsulatedContentInfo {
        econtent_type: const_oid::db::rfc5911::ID_DATA,
        econtent: None,
    };
    let tbs = certificate.tbs_certificate();
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: tbs.issuer().clone(),
        serial_number: tbs.serial_number().clone(),
    });

    // content-type and message-digest are added by the builder (§11.1, §11.2).
    let mut signer_info = SignerInfoBuilder::new(
        sid,
        digest_algorithm.clone(),
        &encapsulated,
        Some(message_digest.as_slice()),
    )
    .map_err(encoding)?;
    signer_info
        .add_signed_attribute(signing_time_attribute(signing_time)?)
        .map_err(encoding)?;

    let signer = SchemeSigner::new(key, scheme);
    let content_info = SignedDataBuilder::new(&encapsulated)
        .add_digest_algorithm(digest_algorithm)
        .map_err(encoding)?
        .add_certificate(CertificateChoices::Certificate(certificate))
        .map_err(encoding)?
        .add_signer_info::<_, SignatureValue>(signer_info, &signer)
        .map_err(encoding)?
        .build()
        .map_err(encoding)?;
    content_info.to_der().map_err(encoding)
}

/// A detached CMS signature that verified: who signed (their certificate,
/// DER), when they say they signed, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The signer's certificate, as carried in `certificates`.
    pub certificate: Vec<u8>,
    /// The signing-time attribute, if present (the signer's clock).
    pub signing_time: Option<SystemTime>,
    /// The signature scheme.
    pub scheme: SignatureScheme,
}

/// Verifies a detached CMS SignedData (`ContentInfo` DER) over `content`
/// with the certificate it carries: one SignerInfo, SHA-256, signed
/// attributes with content-type id-data and message-digest SHA-256(content)
/// (§5.4, §11.1, §11.2), the signature by the key of the certificate the
/// SignerInfo names (issuer and serial, or subject key identifier), in one of
/// our schemes. Says nothing about whether that certificate is trustworthy:
/// the caller checks its issuer and status.
///
/// [`Error::Format`] (field `signature`) when the structure is not such a
/// SignedData; [`Error::SignatureInvalid`] when anything fails to match.
pub fn verify_detached(cms_der: &[u8], content: &[u8]) -> Result<VerifiedSignature> {
    verify_detached_digest(cms_der, &Sha256::digest(content).into())
}

/// [`verify_detached`] for the content whose SHA-256 is `content_digest`
/// (the signature covers the content only through that digest): a signer
/// that hashed a large document once checks its new signature without
/// hashing it again.
pub fn verify_detached_digest(cms_der: &[u8], content_digest: &[u8; 32]) -> Result<VerifiedSignature> {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;

    let malformed = || {
        Error::Format(signet_schema::FormatError::new(
            "signature",
            signet_schema::Problem::Malformed,
        ))
    };
    let info = ContentInfo::from_der(cms_der).map_err(|_| malformed())?;
    if info.content_type != const_oid::db::rfc5911::ID_SIGNED_DATA {
        return Err(malformed());
    }
    let data: SignedData = info.content.decode_as().map_err(|_| malformed())?;
    if data.encap_content_info.econtent.is_some()
        || data.encap_content_info.econtent_type != const_oid::db::rfc5911::ID_DATA
    {
        return Err(malformed());
    }
    let mut signer_infos = data.signer_infos.0.iter();
    let (Some(signer), None) = (signer_infos.next(), signer_infos.next()) else {
        return Err(malformed());
    };
    if signer.digest_alg.oid != const_oid::db::rfc5912::ID_SHA_256 {
        return Err(Error::SignatureInvalid);
    }
    let scheme = crate::sign::scheme_of(&signer.signature_algorithm).ok_or(Error::SignatureInvalid)?;
    let certificate = data
        .certificates
        .as_ref()
        .into_iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(certificate) => Some(certificate),
            _ => None,
        })
        .find(|certificate| names(&signer.sid, certificate))
        .ok_or(Error::SignatureInvalid)?;
    let attributes = signer.signed_attrs.as_ref().ok_or(Error::SignatureInvalid)?;
    let single = |oid| -> Result<Any> {
        let mut found = attributes.iter().filter(|a| a.oid == oid);
        match (found.next(), found.next()) {
            (Some(attribute), None) if attribute.values.len() == 1 => {
                attribute.values.iter().next().cloned().ok_or(Error::SignatureInvalid)
            }
            _ => Err(Error::SignatureInvalid),
        }
    };
    let content_type: const_oid::ObjectIdentifier = single(const_oid::db::rfc5911::ID_CONTENT_TYPE)?
        .decode_as()
        .map_err(|_| Error::SignatureInvalid)?;
    let digest: der::asn1::OctetString = single(const_oid::db::rfc5911::ID_MESSAGE_DIGEST)?
        .decode_as()
        .map_err(|_| Error::SignatureInvalid)?;
    if content_type != const_oid::db::rfc5911::ID_DATA
        || !bool::from(subtle::ConstantTimeEq::ct_eq(
            digest.as_bytes(),
            content_digest.as_slice(),
        ))
    {
        return Err(Error::SignatureInvalid);
    }
    let signing_time = match attributes
        .iter()
        .find(|a| a.oid == const_oid::db::rfc5911::ID_SIGNING_TIME)
    {
        Some(_) => {
            let time: Time = single(const_oid::db::rfc5911::ID_SIGNING_TIME)?
                .decode_as()
                .map_err(|_| Error::SignatureInvalid)?;
            Some(time.to_system_time())
        }
        None => None,
    };
    let key = PublicKey::from_certificate(certificate).map_err(|_| Error::SignatureInvalid)?;
    let signed = attributes.to_der().map_err(encoding)?;
    crate::sign::verify(&key, scheme, &signed, signer.signature.as_bytes())?;
    Ok(VerifiedSignature {
        certificate: certificate.to_der().map_err(encoding)?,
        signing_time,
        scheme,
    })
}

/// Whether `sid` names `certificate` (RFC 5652 §5.3).
fn names(sid: &SignerIdentifier, certificate: &Certificate) -> bool {
    let tbs = certificate.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            &isn.issuer == tbs.issuer() && &isn.serial_number == tbs.serial_number()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
            .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .is_some_and(|(_, found)| found == *ski),
    }
}

/// [`Error::CertificateMismatch`] unless the certificate's subject public key
/// (RFC 5280 §4.1.2.7) is `key`'s. Keys are compared as RSA (n, e), not as
/// bytes, so an equivalent encoding of the same key is accepted.
fn check_certificate_key<K: SigningKey>(certificate: &Certificate, key: &K) -> Result<()> {
    match PublicKey::from_certificate(certificate) {
        Ok(certified) if certified == key.public_key() => Ok(()),
        _ => Err(Error::CertificateMismatch),
    }
}

/// The signing-time attribute (RFC 5652 §11.3) with one `Time` value.
fn signing_time_attribute(signing_time: SystemTime) -> Result<Attribute> {
    // `Time::try_from` picks UTCTime for 1950–2049 and GeneralizedTime
    // otherwise, as §11.3 requires; it refuses times before 1970.
    let time = Time::try_from(signing_time).map_err(encoding)?;
    let mut values = SetOfVec::new();
    values
        .insert(Any::encode_from(&time).map_err(encoding)?)
        .map_err(encoding)?;
    Ok(Attribute {
        oid: const_oid::db::rfc5911::ID_SIGNING_TIME,
        values,
    })
}

fn encoding(error: impl std::fmt::Display) -> Error {
    Error::Encoding(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::UserKey;
    use crate::keys::tests::test_key;
    use crate::sign::verify;
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    use der::Tagged;
    use std::str::FromStr;
    use std::sync::OnceLock;
    use std::time::Duration;
    use x509_cert::builder::{Builder, CertificateBuilder, profile};
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::time::Validity;

    const ORDER: &[u8] = b"<Document><CstmrCdtTrfInitn>...</CstmrCdtTrfInitn></Document>\n";

    /// A self-signed certificate for the shared test key.
    fn certificate() -> &'static [u8] {
        static CERT: OnceLock<Vec<u8>> = OnceLock::new();
        CERT.get_or_init(|| self_signed(test_key(), 7))
    }

    fn self_signed(key: &UserKey, serial: u32) -> Vec<u8> {
        let subject = Name::from_str("CN=Alice Example,O=Example Bank,C=GB").expect("name");
        let profile = profile::cabf::Root::new(false, subject).expect("profile");
        let spki = spki::SubjectPublicKeyInfoOwned::from_der(&key.public_key().to_spki_der().expect("spki"))
            .expect("spki parses");
        let validity = Validity::from_now(Duration::from_secs(3600)).expect("validity");
        let builder = CertificateBuilder::new(profile, SerialNumber::from(serial), validity, spki).expect("builder");
        let signer = SchemeSigner::new(key, SignatureScheme::RsaPkcs1v15Sha256);
        builder
            .build::<_, SignatureValue>(&signer)
            .expect("certificate")
            .to_der()
            .expect("der")
    }

    fn signed_data(der: &[u8]) -> SignedData {
        let info = ContentInfo::from_der(der).expect("content info");
        assert_eq!(info.content_type, const_oid::db::rfc5911::ID_SIGNED_DATA);
        info.content.decode_as().expect("signed data")
    }

    fn time(unix: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn structure_is_detached_with_the_three_signed_attributes() {
        let key = test_key();
        for scheme in [SignatureScheme::RsaPssSha256, SignatureScheme::RsaPkcs1v15Sha256] {
            // 2026-11-02T10:20:30Z, with a fraction that must be dropped.
            let when = time(1_793_614_830) + Duration::from_millis(250);
            let der = sign_detached(key, scheme, certificate(), ORDER, when).expect("sign");
            let data = signed_data(&der);
            assert!(data.encap_content_info.econtent.is_none());
            assert_eq!(data.encap_content_info.econtent_type, const_oid::db::rfc5911::ID_DATA);
            let digests: Vec<_> = data.digest_algorithms.iter().map(|alg| alg.oid).collect();
            assert_eq!(digests, vec![const_oid::db::rfc5912::ID_SHA_256]);
            let certificates: Vec<_> = data.certificates.as_ref().expect("certificates").0.iter().collect();
            assert_eq!(certificates.len(), 1);
            assert_eq!(certificates[0].to_der().expect("der"), certificate());

            let signer_infos: Vec<_> = data.signer_infos.0.iter().collect();
            assert_eq!(signer_infos.len(), 1);
            let info = signer_infos[0];
            let cert = Certificate::from_der(certificate()).expect("cert");
            match &info.sid {
                SignerIdentifier::IssuerAndSerialNumber(isn) => {
                    assert_eq!(&isn.issuer, cert.tbs_certificate().issuer());
                    assert_eq!(&isn.serial_number, cert.tbs_certificate().serial_number());
                }
                other => panic!("unexpected signer identifier {other:?}"),
            }
            assert_eq!(
                info.signature_algorithm,
                crate::sign::algorithm_identifier(scheme).expect("alg")
            );

            let attributes = info.signed_attrs.as_ref().expect("signed attributes");
            let value = |oid| {
                let found: Vec<_> = attributes.iter().filter(|a| a.oid == oid).collect();
                assert_eq!(found.len(), 1, "{oid}");
                assert_eq!(found[0].values.len(), 1);
                found[0].values.iter().next().expect("one value").clone()
            };
            assert_eq!(attributes.len(), 3);
            let content_type: const_oid::ObjectIdentifier =
                value(const_oid::db::rfc5911::ID_CONTENT_TYPE).decode_as().expect("oid");
            assert_eq!(content_type, const_oid::db::rfc5911::ID_DATA);
            let digest: der::asn1::OctetString = value(const_oid::db::rfc5911::ID_MESSAGE_DIGEST)
                .decode_as()
                .expect("octets");
            assert_eq!(digest.as_bytes(), Sha256::digest(ORDER).as_slice());
            let signing_time = value(const_oid::db::rfc5911::ID_SIGNING_TIME);
            assert_eq!(signing_time.tag(), der::Tag::UtcTime);
            assert_eq!(signing_time.value(), b"261102102030Z");

            // §5.4: the signature is over the DER of the attributes as a SET OF.
            let signed = attributes.to_der().expect("der");
            assert_eq!(signed[0], 0x31);
            verify(&key.public_key(), scheme, &signed, info.signature.as_bytes()).expect("verifies");
        }
    }

    #[test]
    fn signing_time_outside_utc_time_range_is_generalized() {
        let when = time(2_556_144_000); // 2051-01-01T00:00:00Z
        let der = sign_detached(test_key(), SignatureScheme::RsaPssSha256, certificate(), ORDER, when).expect("sign");
        let data = signed_data(&der);
        let info = data.signer_infos.0.iter().next().expect("signer");
        let attribute = info
            .signed_attrs
            .as_ref()
            .expect("attrs")
            .iter()
            .find(|a| a.oid == const_oid::db::rfc5911::ID_SIGNING_TIME)
            .expect("signing time");
        let value = attribute.values.iter().next().expect("value");
        assert_eq!(value.tag(), der::Tag::GeneralizedTime);
        assert_eq!(value.value(), b"20510101000000Z");
    }

    #[test]
    fn certificate_for_another_key_is_refused() {
        let other = UserKey::generate(signet_schema::KeySize::Rsa2048).expect("keygen");
        let foreign = self_signed(&other, 8);
        assert!(matches!(
            sign_detached(
                test_key(),
                SignatureScheme::RsaPssSha256,
                &foreign,
                ORDER,
                SystemTime::now()
            ),
            Err(Error::CertificateMismatch)
        ));
    }

    #[test]
    fn unparsable_certificate_is_an_encoding_error() {
        let mut truncated = certificate().to_vec();
        truncated.truncate(truncated.len() - 1);
        for garbage in [
            &b""[..],
            b"\x30\x03\x02\x01\x00",
            b"-----BEGIN CERTIFICATE-----",
            &truncated,
        ] {
            assert!(matches!(
                sign_detached(
                    test_key(),
                    SignatureScheme::RsaPssSha256,
                    garbage,
                    ORDER,
                    SystemTime::now()
                ),
                Err(Error::Format(e)) if e.field == "certificate"
            ));
        }
    }

    #[test]
    fn signing_time_before_1970_is_refused() {
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(1);
        assert!(matches!(
            sign_detached(test_key(), SignatureScheme::RsaPssSha256, certificate(), ORDER, before),
            Err(Error::Encoding(_))
        ));
    }

    #[test]
    fn a_signature_over_the_digest_verifies_over_the_content() {
        let key = test_key();
        let digest: [u8; 32] = Sha256::digest(ORDER).into();
        for scheme in [SignatureScheme::RsaPssSha256, SignatureScheme::RsaPkcs1v15Sha256] {
            let when = time(1_793_614_830);
            let der = sign_detached_digest(key, scheme, certificate(), &digest, when).expect("sign");
            let verified = super::verify_detached(&der, ORDER).expect("verifies over the content");
            assert_eq!((verified.scheme, verified.signing_time), (scheme, Some(when)));
            assert_eq!(
                super::verify_detached_digest(&der, &digest).expect("verifies over the digest"),
                verified
            );
            let mut other = digest;
            other[31] ^= 1;
            assert!(matches!(
                super::verify_detached_digest(&der, &other),
                Err(Error::SignatureInvalid)
            ));
            // Deterministic scheme, same time: the same bytes as signing the content.
            if scheme == SignatureScheme::RsaPkcs1v15Sha256 {
                assert_eq!(
                    der,
                    sign_detached(key, scheme, certificate(), ORDER, when).expect("sign")
                );
            }
        }
    }

    #[test]
    fn detached_signatures_verify_and_changes_are_refused() {
        let key = test_key();
        for scheme in [SignatureScheme::RsaPssSha256, SignatureScheme::RsaPkcs1v15Sha256] {
            let when = time(1_793_614_830);
            let der = sign_detached(key, scheme, certificate(), ORDER, when).expect("sign");
            let verified = super::verify_detached(&der, ORDER).expect("verifies");
            assert_eq!(verified.certificate, certificate());
            assert_eq!(verified.scheme, scheme);
            assert_eq!(verified.signing_time, Some(when));

            let mut other = ORDER.to_vec();
            other[0] ^= 1;
            assert!(matches!(
                super::verify_detached(&der, &other),
                Err(Error::SignatureInvalid)
            ));
            // A flipped bit anywhere in the signature value is refused.
            let mut broken = der.clone();
            let last = broken.len() - 1;
            broken[last] ^= 1;
            assert!(super::verify_detached(&broken, ORDER).is_err());
            assert!(matches!(
                super::verify_detached(b"not der", ORDER),
                Err(Error::Format(_))
            ));
        }
    }
}
