//! Checking a signed file as an auditor or a host would: the CMS signature
//! over the exact bytes, the signer's certificate issued by the key server's
//! CA, and that certificate's status *at the time of signing* from the
//! server's archive — a signature made before a revocation stays good, one
//! made after it does not.

use std::time::UNIX_EPOCH;

use der::{Decode, DecodePem};
use serde::Serialize;
use sha2::{Digest, Sha256};
use signet_schema::SignatureScheme;
use signet_schema::api::{CertificateInfo, CertificateStatus, RevocationReason};
use x509_cert::Certificate;

use crate::error::{ClientError, Result};
use crate::session::Connection;

/// What a check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct SignatureReport {
    /// Whether the signature holds: the bytes are unchanged, the CA issued
    /// the certificate, and it was valid when the file was signed.
    pub valid: bool,
    /// Why not, when it does not hold.
    pub problems: Vec<String>,
    /// The certificate's subject.
    pub signer: String,
    /// The account the certificate belongs to (from the archive).
    pub user_id: String,
    /// The certificate's serial (hex).
    pub serial: String,
    /// SHA-256 of the certificate (hex).
    pub certificate_sha256: String,
    /// The signing time the signer's clock put in the signature.
    pub signing_time: Option<i64>,
    /// `rsa-pss-sha256` or `rsa-pkcs1v15-sha256`.
    pub scheme: SignatureScheme,
    /// The certificate's status now.
    pub status: CertificateStatus,
    /// When it was revoked or superseded, if it was.
    pub revoked_at: Option<i64>,
    /// Why.
    pub revocation_reason: Option<RevocationReason>,
}

fn not_valid(what: impl Into<String>) -> ClientError {
    ClientError::NotValid(what.into())
}

/// Checks `signature` (detached CMS, DER) over `content` against the CA and
/// archive of the key server behind `connection`.
///
/// `Err` when the signature itself does not verify (changed bytes, another
/// key, not a signature at all); `Ok` with `valid: false` and the reasons
/// when it verifies but the certificate did not vouch for it at signing time.
pub fn check_signature(connection: &Connection, content: &[u8], signature: &[u8]) -> Result<SignatureReport> {
    let verified = signet_crypto::cms::verify_detached(signature, content).map_err(|e| match e {
        signet_crypto::Error::Format(_) => ClientError::input("signature", "this is not a CMS signature file (.p7s)"),
        _ => not_valid("the signature does not match the file: the file was changed or signed with another key"),
    })?;
    let certificate =
        Certificate::from_der(&verified.certificate).map_err(|_| not_valid("the signer's certificate is damaged"))?;
    let ca_pem = connection.ca_pem()?;
    let ca = Certificate::from_pem(&ca_pem)
        .map_err(|e| ClientError::UnexpectedAnswer(format!("the CA certificate does not parse: {e}")))?;
    let mut problems = Vec::new();
    if !signet_crypto::pki::issued_by(&certificate, &ca) {
        problems.push("the signer's certificate was not issued by this key server's CA".to_string());
    }
    let tbs = certificate.tbs_certificate();
    let serial = hex::encode_upper(tbs.serial_number().as_bytes());
    let archived: CertificateInfo = connection.server().get_json(&format!("/v1/certificates/{serial}"))?;
    if archived.der.0 != verified.certificate {
        problems.push("the archive holds another certificate under this serial number".to_string());
    }
    let signing_time = verified
        .signing_time
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    match signing_time {
        Some(at) => {
            if at < archived.not_before || at > archived.not_after {
                problems.push("the file was signed outside the certificate's validity period".to_string());
            }
            if let Some(revoked) = archived.revoked_at.filter(|revoked| at >= *revoked) {
                problems.push(format!(
                    "the file was signed after the certificate was {} (at {revoked})",
                    archived.status.as_str()
                ));
            }
        }
        None if archived.status != CertificateStatus::Active => {
            problems.push("the signature has no signing time and the certificate is no longer active".to_string())
        }
        None => {}
    }
    Ok(SignatureReport {
        valid: problems.is_empty(),
        problems,
        signer: tbs.subject().to_string(),
        user_id: archived.user_id,
        serial,
        certificate_sha256: hex::encode_upper(Sha256::digest(&verified.certificate)),
        signing_time,
        scheme: verified.scheme,
        status: archived.status,
        revoked_at: archived.revoked_at,
        revocation_reason: archived.revocation_reason,
    })
}
