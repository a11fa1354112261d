//! Checking a signed file as an auditor or a host would: the CMS signature
//! over the exact bytes, the signer's certificate issued by the key server's
//! CA, and that certificate's status *at the time of signing* from the
//! server's archive — a signature made before a revocation stays good, one
//! made after it does not.
//!
//! Which time: the signing-time attribute is the signer's own clock, which a
//! signer who expects a revocation could set back. When the order went to
//! the bank's host application, its signed status report states when the
//! host received the order ([`Receipt`]); that time, signed by a host the CA
//! certified, is used instead: a signature the host received after the
//! certificate ended is not valid, whatever its signing time says.

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
    /// When the host application received the signed order, by its signed
    /// receipt, when one was given: the time the check used.
    pub received_at: Option<i64>,
    /// The host application that received it.
    pub received_by: Option<String>,
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

/// A host application's receipt of a signed order: its pain.002 status
/// report and the host's detached CMS signature over the report.
#[derive(Clone, Copy, Debug)]
pub struct Receipt<'a> {
    /// The pain.002.001.10 report.
    pub report: &'a [u8],
    /// The host's signature over it.
    pub signature: &'a [u8],
}

/// The time a [`Receipt`] states the host received `signature` (under the
/// certificate `signer_serial`) on `content`, after checking that a host
/// the CA certified (its "Signet host" usage, not revoked by then in the
/// archive, never revoked for a compromised key) signed it and that it
/// names these exact bytes; and the host's name. A co-signature's time is
/// its own, not the order's: a receipt that does not name this exact
/// signature does not vouch for it.
///
/// `Ok(None)` when the receipt, genuine and about these bytes, does not
/// name this signature (the host received other signatures on the order, or
/// refused this one without verifying it).
fn receipt_time(
    connection: &Connection,
    ca: &Certificate,
    content: &[u8],
    signer_serial: &str,
    signature: &[u8],
    receipt: Receipt<'_>,
) -> Result<Option<(i64, String)>> {
    use signet_crypto::pki;
    let verified = signet_crypto::cms::verify_detached(receipt.signature, receipt.report)
        .map_err(|_| not_valid("the host's receipt is not signed over its exact bytes"))?;
    let host =
        Certificate::from_der(&verified.certificate).map_err(|_| not_valid("the receipt's signer is damaged"))?;
    if !pki::issued_by(&host, ca) || !pki::has_extended_key_usage(&host, pki::ID_KP_SIGNET_HOST) {
        return Err(not_valid(
            "the receipt is not signed by a host application this key server's CA certified",
        ));
    }
    let report = signet_orders::status_report::read(receipt.report)?;
    if report.order_sha256.as_deref() != Some(hex::encode(Sha256::digest(content)).as_str()) {
        return Err(not_valid("the receipt is about another order than this file"));
    }
    let Some(received) = report.received_signature(signer_serial, &hex::encode(Sha256::digest(signature))) else {
        return Ok(None);
    };
    let archived: CertificateInfo = connection
        .server()
        .get_json(&format!("/v1/certificates/{}", pki::serial_hex(&host)))?;
    if archived.der.0 != verified.certificate || !pki::valid_at(&host, received) {
        return Err(not_valid(
            "the host's certificate was not valid when it signed the receipt",
        ));
    }
    if archived.revocation_reason == Some(RevocationReason::KeyCompromise) {
        // Whoever holds a compromised host key can sign any time at all.
        return Err(not_valid(
            "the host's key was revoked as compromised: none of its receipts can be trusted",
        ));
    }
    if archived.revoked_at.is_some_and(|revoked| revoked <= received) {
        return Err(not_valid(
            "the host's certificate was revoked before the time its receipt states",
        ));
    }
    let name = pki::common_name_of(&host).unwrap_or_else(|| "a host application".to_owned());
    Ok(Some((received, name)))
}

/// Checks `signature` (detached CMS, DER) over `content` against the CA and
/// archive of the key server behind `connection`.
///
/// `Err` when the signature itself does not verify (changed bytes, another
/// key, not a signature at all) or its certificate is not this key server
/// CA's; `Ok` with `valid: false` and the reasons when it verifies but the
/// certificate did not vouch for it at signing time.
pub fn check_signature(connection: &Connection, content: &[u8], signature: &[u8]) -> Result<SignatureReport> {
    check_signature_received(connection, content, signature, &[])
}

/// [`check_signature`] at the time the host application received the
/// signature, by the first of its signed `receipts` that names this exact
/// signature (the signer's own signing time when none is given). Receipts
/// that do not name it are passed over; when none does, the check fails:
/// given receipts that do not vouch for the signature are not set aside
/// silently.
pub fn check_signature_received(
    connection: &Connection,
    content: &[u8],
    signature: &[u8],
    receipts: &[Receipt<'_>],
) -> Result<SignatureReport> {
    let verified = signet_crypto::cms::verify_detached(signature, content).map_err(|e| match e {
        signet_crypto::Error::Format(_) => ClientError::input("signature", "this is not a CMS signature file (.p7s)"),
        _ => not_valid("the signature does not match the file: the file was changed or signed with another key"),
    })?;
    let certificate =
        Certificate::from_der(&verified.certificate).map_err(|_| not_valid("the signer's certificate is damaged"))?;
    let ca_pem = connection.ca_pem()?;
    let ca = Certificate::from_pem(&ca_pem)
        .map_err(|e| ClientError::UnexpectedAnswer(format!("the CA certificate does not parse: {e}")))?;
    if !signet_crypto::pki::issued_by(&certificate, &ca) {
        // Nothing this key server keeps can vouch for it: no archive entry, no status.
        return Err(not_valid(
            "the signer's certificate was not issued by this key server's CA: the signature is not valid here",
        ));
    }
    let mut problems = Vec::new();
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
    let mut received = None;
    for receipt in receipts {
        received = receipt_time(connection, &ca, content, &serial, signature, *receipt)?;
        if received.is_some() {
            break;
        }
    }
    if received.is_none() && !receipts.is_empty() {
        return Err(not_valid(
            "the host's receipt does not record this signature (it names other signatures on the order, or the \
             host refused this one without verifying it)",
        ));
    }
    let (at, what) = match &received {
        Some((at, _)) => (Some(*at), "received by the host"),
        None => (signing_time, "signed"),
    };
    match at {
        Some(at) => {
            if at < archived.not_before || at > archived.not_after {
                problems.push(format!("the file was {what} outside the certificate's validity period"));
            }
            if let Some(revoked) = archived.revoked_at.filter(|revoked| at >= *revoked) {
                problems.push(format!(
                    "the file was {what} after the certificate was {} (at {revoked})",
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
        received_at: received.as_ref().map(|(at, _)| *at),
        received_by: received.map(|(_, host)| host),
        scheme: verified.scheme,
        status: archived.status,
        revoked_at: archived.revoked_at,
        revocation_reason: archived.revocation_reason,
    })
}
