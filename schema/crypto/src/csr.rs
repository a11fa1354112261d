//! PKCS#10 certification requests (RFC 2986) for a user's key.
//!
//! ```text
//! CertificationRequest ::= SEQUENCE {                      -- RFC 2986 §4.2
//!     certificationRequestInfo  SEQUENCE {                 -- §4.1
//!         version       INTEGER { v1(0) },
//!         subject       Name,                              -- C, O, [OU,] CN
//!         subjectPKInfo SubjectPublicKeyInfo,              -- rsaEncryption
//!         attributes    [0] { extensionRequest {           -- RFC 2985 §5.4.2
//!                                 subjectAltName rfc822Name } } },
//!     signatureAlgorithm        AlgorithmIdentifier,       -- see crate::sign
//!     signature                 BIT STRING }
//! ```
//!
//! The subject is built attribute by attribute from validated
//! [`RegistrationData`], most significant first: countryName as
//! PrintableString (ISO 3166 two-letter code, RFC 5280 Appendix A.1), then
//! organizationName, organizationalUnitName (omitted when empty) and
//! commonName as UTF8String, which RFC 5280 §4.1.2.4 allows for any text
//! (PrintableString cannot carry most names). No text goes through an
//! RFC 4514 string parser, so commas, plus signs and quotes in a name need
//! no escaping and cannot inject attributes.
//!
//! Registration data is limited to 64 characters per field
//! ([`signet_schema::registration::MAX_TEXT_CHARS`]), the RFC 5280
//! Appendix A.1 upper bounds for CN, O and OU.
//!
//! The e-mail address is *not* put in the subject as the deprecated PKCS#9
//! `emailAddress` attribute: RFC 5280 §4.1.2.6 requires new certificates to
//! carry it as an `rfc822Name` in the subjectAltName extension, so it is
//! requested there, through the PKCS#9 `extensionRequest` attribute. The
//! CA decides whether to copy it.
//!
//! The request is signed by the key itself (proof of possession, RFC 2986
//! §3), in the scheme given: PSS requests carry explicit RSASSA-PSS-params.

use der::asn1::{Ia5String, PrintableStringRef, Utf8StringRef};
use der::{Any, Decode, Encode};
use signet_schema::{RegistrationData, SignatureScheme};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, RequestBuilder};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::keys::{SigningKey, UserKey};
use crate::sign::{SchemeSigner, SignatureValue};
use crate::{Error, Result};

/// Builds and signs a PKCS#10 `CertificationRequest` for `key`, returned as
/// DER.
///
/// `registration` is validated first; a bad field is reported as
/// [`Error::Format`] naming it, before any signing.
pub fn certification_request(
    key: &UserKey,
    registration: &RegistrationData,
    scheme: SignatureScheme,
) -> Result<Vec<u8>> {
    registration.validate()?;
    let subject = subject_name(registration).map_err(encoding)?;
    let mut request = RequestBuilder::new(subject).map_err(encoding)?;
    let email = Ia5String::new(&registration.email).map_err(encoding)?;
    request
        .add_extension(&SubjectAltName(vec![GeneralName::Rfc822Name(email)]))
        .map_err(encoding)?;
    let signer = SchemeSigner::new(key, scheme);
    let request = request.build::<_, SignatureValue>(&signer).map_err(encoding)?;
    request.to_der().map_err(encoding)
}

/// A PKCS#10 `CertificationRequest` (DER) for a server's `key` with
/// `subject` and no extensions, signed RSASSA-PSS-SHA256: what a host
/// application sends the key server's operator to be certified.
pub fn certification_request_for<K: SigningKey>(key: &K, subject: Name) -> Result<Vec<u8>> {
    let request = RequestBuilder::new(subject).map_err(encoding)?;
    let signer = SchemeSigner::new(key, SignatureScheme::RsaPssSha256);
    let request = request.build::<_, SignatureValue>(&signer).map_err(encoding)?;
    request.to_der().map_err(encoding)
}

/// The subject `Name` (RFC 5280 §4.1.2.6) for `registration`: C, O, OU
/// (when not empty), CN, then the user id as `UID` (RFC 4519), one attribute
/// per RDN. The user id makes each account's subject its own, so two people
/// of the same name in the same unit never hold certificates with the same
/// subject. The CA rebuilds the subject with this same function and refuses
/// a request whose subject differs.
pub fn subject_name(registration: &RegistrationData) -> der::Result<Name> {
    use const_oid::db::rfc4519::{COMMON_NAME, COUNTRY_NAME, ORGANIZATION_NAME, ORGANIZATIONAL_UNIT_NAME, UID};

    let mut attributes = vec![
        (
            COUNTRY_NAME,
            Any::encode_from(&PrintableStringRef::new(&registration.country)?)?,
        ),
        (ORGANIZATION_NAME, utf8(&registration.organization)?),
    ];
    if !registration.organizational_unit.is_empty() {
        attributes.push((ORGANIZATIONAL_UNIT_NAME, utf8(&registration.organizational_unit)?));
    }
    attributes.push((COMMON_NAME, utf8(&registration.common_name)?));
    attributes.push((UID, utf8(&registration.user_id)?));
    name_of(attributes)
}

/// A `Name` with one attribute per RDN, in the order given.
pub fn name_of(attributes: Vec<(const_oid::ObjectIdentifier, Any)>) -> der::Result<Name> {
    let mut rdns = RdnSequence::default();
    for (oid, value) in attributes {
        rdns.push(RelativeDistinguishedName::try_from(vec![AttributeTypeAndValue {
            oid,
            value,
        }])?);
    }
    // x509-cert builds a `Name` from an `RdnSequence` only by decoding it; the
    // round trip also checks the encoding.
    Name::from_der(&rdns.to_der()?)
}

/// A UTF8String attribute value (RFC 5280 §4.1.2.4 allows it for any text).
pub fn utf8(text: &str) -> der::Result<Any> {
    Any::encode_from(&Utf8StringRef::new(text)?)
}

fn encoding(error: impl std::fmt::Display) -> Error {
    Error::Encoding(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::test_key;
    use crate::sign::verify;
    use der::Tagged;
    use spki::{DynSignatureAlgorithmIdentifier, SubjectPublicKeyInfoOwned};
    use x509_cert::request::CertReq;

    fn alice() -> RegistrationData {
        RegistrationData {
            user_id: "alice".into(),
            common_name: "Alice Example, Jr.".into(),
            organization: "Example Bank+Co".into(),
            organizational_unit: "Payments".into(),
            email: "alice@example.com".into(),
            country: "GB".into(),
        }
    }

    fn parse(der: &[u8]) -> CertReq {
        CertReq::from_der(der).expect("request parses")
    }

    #[test]
    fn request_carries_subject_key_and_a_valid_signature() {
        let key = test_key();
        for scheme in [SignatureScheme::RsaPssSha256, SignatureScheme::RsaPkcs1v15Sha256] {
            let der = certification_request(key, &alice(), scheme).expect("request");
            let request = parse(&der);
            assert_eq!(
                request.info.subject.to_string(),
                r"UID=alice,CN=Alice Example\, Jr.,OU=Payments,O=Example Bank\+Co,C=GB"
            );
            let spki = request.info.public_key.to_der().expect("spki");
            assert_eq!(spki, key.public_key().to_spki_der().expect("spki"));
            assert_eq!(
                request.algorithm,
                SchemeSigner::new(key, scheme)
                    .signature_algorithm_identifier()
                    .expect("alg")
            );
            // RFC 2986 §4.2: the signature covers the DER of certificationRequestInfo.
            let info = request.info.to_der().expect("info");
            let signature = request.signature.as_bytes().expect("octet-aligned");
            verify(&key.public_key(), scheme, &info, signature).expect("signature verifies");
            let mut tampered = info.clone();
            let last = tampered.len() - 1;
            tampered[last] ^= 1;
            assert!(verify(&key.public_key(), scheme, &tampered, signature).is_err());
        }
    }

    #[test]
    fn subject_types_and_order_are_fixed() {
        let der = certification_request(test_key(), &alice(), SignatureScheme::RsaPssSha256).expect("request");
        let request = parse(&der);
        let attributes: Vec<_> = request.info.subject.iter().collect();
        let tags: Vec<_> = attributes
            .iter()
            .map(|atv| (atv.oid.to_string(), atv.value.tag()))
            .collect();
        assert_eq!(
            tags,
            vec![
                ("2.5.4.6".to_string(), der::Tag::PrintableString),
                ("2.5.4.10".to_string(), der::Tag::Utf8String),
                ("2.5.4.11".to_string(), der::Tag::Utf8String),
                ("2.5.4.3".to_string(), der::Tag::Utf8String),
                ("0.9.2342.19200300.100.1.1".to_string(), der::Tag::Utf8String),
            ]
        );
        assert_eq!(request.info.subject.iter_rdn().count(), 5);
    }

    #[test]
    fn namesakes_get_different_subjects() {
        let namesake = RegistrationData {
            user_id: "alice2".into(),
            ..alice()
        };
        let first = subject_name(&alice()).expect("name");
        let second = subject_name(&namesake).expect("name");
        assert_eq!(first.common_name().ok(), second.common_name().ok());
        assert_ne!(first.to_der().expect("der"), second.to_der().expect("der"));
    }

    #[test]
    fn empty_unit_is_left_out_and_unicode_survives() {
        let registration = RegistrationData {
            organizational_unit: String::new(),
            common_name: "Zoë Ørsted-Łukasiewicz".into(),
            ..alice()
        };
        let der =
            certification_request(test_key(), &registration, SignatureScheme::RsaPkcs1v15Sha256).expect("request");
        let request = parse(&der);
        assert!(request.info.subject.organization_unit().expect("decodes").is_none());
        let cn = request.info.subject.common_name().expect("decodes").expect("present");
        assert_eq!(cn.value(), "Zoë Ørsted-Łukasiewicz");
        assert_eq!(request.info.subject.iter().count(), 4);
    }

    #[test]
    fn email_is_requested_as_subject_alt_name() {
        let der = certification_request(test_key(), &alice(), SignatureScheme::RsaPssSha256).expect("request");
        let request = parse(&der);
        assert!(request.info.subject.email_address().expect("decodes").is_none());
        let extension_requests: Vec<_> = request
            .info
            .attributes
            .iter()
            .filter(|attribute| attribute.oid == const_oid::db::rfc5912::ID_EXTENSION_REQ)
            .collect();
        assert_eq!(extension_requests.len(), 1);
        let values: Vec<_> = extension_requests[0].values.iter().collect();
        assert_eq!(values.len(), 1);
        let extensions: Vec<x509_cert::ext::Extension> = values[0].decode_as().expect("extensions");
        assert_eq!(extensions.len(), 1);
        assert_eq!(extensions[0].extn_id, const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME);
        assert!(!extensions[0].critical);
        let san = SubjectAltName::from_der(extensions[0].extn_value.as_bytes()).expect("san");
        assert_eq!(
            san.0,
            vec![GeneralName::Rfc822Name(
                Ia5String::new("alice@example.com").expect("ia5")
            )]
        );
    }

    #[test]
    fn invalid_registration_is_refused_before_signing() {
        let bad = RegistrationData {
            country: "gb".into(),
            ..alice()
        };
        match certification_request(test_key(), &bad, SignatureScheme::RsaPssSha256) {
            Err(Error::Format(error)) => assert_eq!(error.field, "country"),
            other => panic!("expected a format error, got {:?}", other.map(|der| der.len())),
        }
        let bad = RegistrationData {
            email: "not-an-address".into(),
            ..alice()
        };
        assert!(matches!(
            certification_request(test_key(), &bad, SignatureScheme::RsaPssSha256),
            Err(Error::Format(_))
        ));
    }

    #[test]
    fn public_key_info_is_rsa_encryption() {
        let der = certification_request(test_key(), &alice(), SignatureScheme::RsaPssSha256).expect("request");
        let spki: SubjectPublicKeyInfoOwned = parse(&der).info.public_key;
        assert_eq!(spki.algorithm.oid, const_oid::db::rfc5912::RSA_ENCRYPTION);
    }
}
