//! Checking a PKCS#10 certification request (RFC 2986) before issuing.
//!
//! * the DER parses as a `CertificationRequest` (§4.2);
//! * its signature algorithm is one the signing core makes:
//!   `sha256WithRSAEncryption` (RFC 4055 §5) or `id-RSASSA-PSS` whose
//!   parameters name SHA-256, MGF1 with SHA-256, a 32-byte salt and the
//!   trailer field 1 (RFC 4055 §3.1) — nothing else is guessed;
//! * the key is `rsaEncryption` with a 2048, 3072 or 4096-bit modulus;
//! * the signature verifies over the exact bytes of
//!   `certificationRequestInfo` as received (proof of possession, §3);
//! * the subject equals, DER for DER, the name built from the registration
//!   data: C (PrintableString), O, OU when not empty, CN (UTF8String), one
//!   attribute per RDN in that order, as the signing core's `csr` module
//!   builds it.
//!
//! Requested extensions are ignored: the CA decides every extension itself.

use der::asn1::{AnyRef, BitStringRef};
use der::{Decode, Encode, Sequence};
use rsa::traits::PublicKeyParts;
use signet_crypto::keys::PublicKey;
use signet_schema::{KeySize, RegistrationData, SignatureScheme};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::name::Name;
use x509_cert::request::CertReq;

use super::{CaError, encoding};

/// The request split into its three parts without re-encoding, so the
/// signature is checked over the bytes the key signed.
#[derive(Sequence)]
struct RawRequest<'a> {
    info: AnyRef<'a>,
    algorithm: AnyRef<'a>,
    signature: BitStringRef<'a>,
}

/// A request that passed every check.
pub struct CheckedRequest {
    /// The requester's SubjectPublicKeyInfo.
    pub(crate) public_key: SubjectPublicKeyInfoOwned,
    /// The subject, equal to the registration's.
    pub(crate) subject: Name,
}

/// Runs the checks listed in the module documentation.
pub fn check(csr_der: &[u8], registration: &RegistrationData) -> Result<CheckedRequest, CaError> {
    let request = signed_request(csr_der)?;

    registration
        .validate()
        .map_err(|e| CaError::Registration(e.to_string()))?;
    let expected = subject_name(registration).map_err(encoding)?;
    let got = request.info.subject.to_der().map_err(|_| CaError::MalformedRequest)?;
    if got != expected.to_der().map_err(encoding)? {
        return Err(CaError::SubjectMismatch {
            requested: request.info.subject.to_string(),
            registered: expected.to_string(),
        });
    }
    Ok(CheckedRequest {
        public_key: request.info.public_key,
        subject: expected,
    })
}

/// The signing core's scheme for the request's signature algorithm (only
/// our two, with exactly our parameters: see `signet_crypto::sign::scheme_of`).
/// A request whose signature verifies with the RSA key it carries, of a
/// size the policy allows; its subject is not looked at.
pub fn signed_request(csr_der: &[u8]) -> Result<CertReq, CaError> {
    let request = CertReq::from_der(csr_der).map_err(|_| CaError::MalformedRequest)?;
    let raw = RawRequest::from_der(csr_der).map_err(|_| CaError::MalformedRequest)?;

    let scheme = scheme_of(&request)?;
    let public_key = rsa_key(&request.info.public_key)?;

    let info = raw.info.to_der().map_err(|_| CaError::MalformedRequest)?;
    let signature = raw.signature.as_bytes().ok_or(CaError::BadRequestSignature)?;
    signet_crypto::sign::verify(&public_key, scheme, &info, signature).map_err(|_| CaError::BadRequestSignature)?;
    Ok(request)
}

fn scheme_of(request: &CertReq) -> Result<SignatureScheme, CaError> {
    signet_crypto::sign::scheme_of(&request.algorithm).ok_or_else(|| {
        CaError::UnsupportedSignatureAlgorithm(if request.algorithm.oid == const_oid::db::rfc5912::ID_RSASSA_PSS {
            "id-RSASSA-PSS with other parameters".into()
        } else {
            request.algorithm.oid.to_string()
        })
    })
}

/// An `rsaEncryption` key of a size the policy allows (RFC 3279 §2.3.1).
fn rsa_key(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKey, CaError> {
    use rsa::pkcs8::DecodePublicKey;

    if spki.algorithm.oid != const_oid::db::rfc5912::RSA_ENCRYPTION {
        return Err(CaError::UnsupportedKey(format!("algorithm {}", spki.algorithm.oid)));
    }
    let der = spki.to_der().map_err(|_| CaError::MalformedRequest)?;
    let rsa = rsa::PublicKey::from_public_key_der(&der).map_err(|e| CaError::UnsupportedKey(e.to_string()))?;
    let bits = rsa.n().bit_width_vartime();
    KeySize::try_from(bits).map_err(|_| CaError::UnsupportedKey(format!("{bits}-bit RSA modulus")))?;
    Ok(PublicKey::from(rsa))
}

pub(crate) use signet_crypto::csr::{name_of, subject_name, utf8};
