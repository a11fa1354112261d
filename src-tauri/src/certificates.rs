//! Certificates as the screens show them.

use der::{Decode, EncodePem};
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

/// A certificate's facts and its PEM.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CertificateView {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial, upper-case hex.
    pub serial: String,
    /// Valid from (RFC 5280 time as printed).
    pub not_before: String,
    /// Valid until.
    pub not_after: String,
    /// SHA-256 of the DER, `AB:CD:…`.
    pub sha256: String,
    /// SHA-1 of the DER (what older tools show), `AB:CD:…`.
    pub sha1: String,
    /// PEM, for download.
    pub pem: String,
}

fn pairs(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// The view of a DER certificate; `None` when it does not parse.
pub fn view(der: &[u8]) -> Option<CertificateView> {
    let certificate = Certificate::from_der(der).ok()?;
    let tbs = certificate.tbs_certificate();
    // SHA-1 only as a fingerprint people compare with other tools, never for a signature.
    let sha1 = sha1::Sha1::digest(der);
    Some(CertificateView {
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        serial: hex::encode_upper(tbs.serial_number().as_bytes()),
        not_before: tbs.validity().not_before.to_string(),
        not_after: tbs.validity().not_after.to_string(),
        sha256: pairs(&Sha256::digest(der)),
        sha1: pairs(&sha1),
        pem: certificate.to_pem(der::pem::LineEnding::LF).ok()?,
    })
}
