//! What the host trusts: the key server's CA certificate (installed by the
//! operator), and the latest CRL that CA signed, which the host fetches
//! itself. CRLs are authenticated by the CA's signature, not by how they
//! travel (RFC 5280 §5, as for CRLs published over plain HTTP): a CRL whose
//! signature does not verify under the installed CA is never used, and one
//! past its nextUpdate says nothing — the host then cannot decide whether a
//! signer was revoked, and an order waits instead of passing.

use std::sync::RwLock;

use der::Decode;
use signet_crypto::pki::{self, Revocation, VerifiedCrl};
use x509_cert::Certificate;

/// ISO 20022 external status reason codes the host answers with
/// (`ExternalStatusReason1Code`).
pub mod reason {
    /// Invalid file format: the order fails the schema or the banks' checks.
    pub const INVALID_FILE_FORMAT: &str = "FF01";
    /// The data signature is missing, invalid or not over these bytes.
    pub const SIGNATURE_INVALID: &str = "DS0B";
    /// The signer's certificate is revoked.
    pub const CERTIFICATE_REVOKED: &str = "DS0C";
    /// The signer's certificate is not valid (expired, not yet valid).
    pub const CERTIFICATE_NOT_VALID: &str = "DS0D";
    /// The signer's certificate is not the right one (another than the
    /// request's, or not a user's).
    pub const INCORRECT_CERTIFICATE: &str = "DS0E";
    /// The certificate's authority is not the one the host trusts.
    pub const UNKNOWN_AUTHORITY: &str = "DS0F";
    /// The signer may not sign this payment (class T, or above the limit).
    pub const NOT_ALLOWED_PAYMENT: &str = "DS0G";
    /// The signer has no mandate on the debtor account.
    pub const NOT_ALLOWED_ACCOUNT: &str = "DS0H";
    /// The order was cancelled.
    pub const CANCELLED: &str = "DS02";
    /// The order did not collect its signatures in time.
    pub const WAITING_TIME_EXPIRED: &str = "DS24";
    /// The same user signed twice.
    pub const SIGNED_TWICE: &str = "DS26";
    /// The signing time is in the future or too old.
    pub const INVALID_DATE: &str = "DT01";
    /// The message id was used by an earlier order.
    pub const DUPLICATE: &str = "AM05";
    /// Narrative: see the text (used for the waiting states).
    pub const NARRATIVE: &str = "NARR";
}

/// A refusal of an order or a signature: its ISO reason code and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// ISO 20022 `ExternalStatusReason1Code`.
    pub code: &'static str,
    /// For a person.
    pub text: String,
}

impl Refusal {
    /// A refusal with `code`.
    pub fn new(code: &'static str, text: impl Into<String>) -> Refusal {
        Refusal {
            code,
            text: text.into(),
        }
    }
}

/// A user's certificate that the installed CA issued.
#[derive(Clone, Debug)]
pub struct UserCertificate {
    /// The certificate.
    pub certificate: Certificate,
    /// Its DER.
    pub der: Vec<u8>,
    /// The account it belongs to (subject `UID`).
    pub user_id: String,
    /// Its serial, upper-case hex.
    pub serial: String,
}

/// A certificate's revocation status at some time, as far as the CRL tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Not revoked at that time, by a current CRL.
    Good,
    /// Revoked at or before that time.
    Revoked(Revocation),
    /// No current CRL: cannot decide.
    Unknown,
}

/// The CA certificate and the current CRL.
pub struct Trust {
    ca: Certificate,
    ca_der: Vec<u8>,
    crl: RwLock<Option<VerifiedCrl>>,
}

impl Trust {
    /// Trust in the CA certificate `ca_der`.
    pub fn new(ca_der: &[u8]) -> Result<Trust, String> {
        let ca = Certificate::from_der(ca_der).map_err(|e| format!("the CA certificate does not parse: {e}"))?;
        Ok(Trust {
            ca,
            ca_der: ca_der.to_vec(),
            crl: RwLock::new(None),
        })
    }

    /// The CA certificate, DER.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// The CA certificate.
    pub fn ca(&self) -> &Certificate {
        &self.ca
    }

    /// Verifies `der` as a CRL of the CA and keeps it if it is newer than
    /// the one kept (a later thisUpdate, or the same with a higher
    /// cRLNumber: an older CRL replayed never replaces a newer one); answers
    /// it and whether it was kept.
    pub fn install_crl(&self, der: &[u8]) -> Result<(VerifiedCrl, bool), String> {
        let crl = VerifiedCrl::parse(der, &self.ca).map_err(|e| format!("the CRL is refused: {e}"))?;
        let mut kept = self.crl.write().unwrap_or_else(|p| p.into_inner());
        let newer = kept.as_ref().is_none_or(|k| {
            crl.this_update > k.this_update || (crl.this_update == k.this_update && crl.crl_number > k.crl_number)
        });
        if newer {
            *kept = Some(crl.clone());
        }
        Ok((crl, newer))
    }

    /// nextUpdate of the CRL kept, if any.
    pub fn crl_next_update(&self) -> Option<i64> {
        self.crl
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|c| c.next_update)
    }

    /// Whether the CRL kept is current at `now` (before its nextUpdate).
    pub fn crl_is_current(&self, now: i64) -> bool {
        self.crl_next_update().is_some_and(|next| now < next)
    }

    /// The status of the certificate `serial` at `at`, as the CRL kept tells
    /// it at `now`.
    pub fn status(&self, serial: &str, at: i64, now: i64) -> Status {
        let kept = self.crl.read().unwrap_or_else(|p| p.into_inner());
        match kept.as_ref() {
            Some(crl) if now < crl.next_update => match crl.revocation(serial) {
                Some(revocation) if revocation.revoked_at <= at => Status::Revoked(revocation),
                _ => Status::Good,
            },
            _ => Status::Unknown,
        }
    }

    /// Checks `der` as a user's certificate the CA issued, valid at `at`:
    /// its issuer and signature, not a host's certificate, with an account.
    pub fn user_certificate(&self, der: &[u8], at: i64) -> Result<UserCertificate, Refusal> {
        let certificate = Certificate::from_der(der)
            .map_err(|_| Refusal::new(reason::INCORRECT_CERTIFICATE, "the certificate does not parse"))?;
        if !pki::issued_by(&certificate, &self.ca) {
            return Err(Refusal::new(
                reason::UNKNOWN_AUTHORITY,
                "the certificate was not issued by the CA this host trusts",
            ));
        }
        if pki::has_extended_key_usage(&certificate, pki::ID_KP_SIGNET_HOST) {
            return Err(Refusal::new(
                reason::INCORRECT_CERTIFICATE,
                "a host application's certificate cannot sign orders",
            ));
        }
        let user_id = pki::user_id_of(&certificate)
            .ok_or_else(|| Refusal::new(reason::INCORRECT_CERTIFICATE, "the certificate names no account"))?;
        if !pki::valid_at(&certificate, at) {
            return Err(Refusal::new(
                reason::CERTIFICATE_NOT_VALID,
                "the certificate was not valid at the time of receipt",
            ));
        }
        let serial = pki::serial_hex(&certificate);
        Ok(UserCertificate {
            certificate,
            der: der.to_vec(),
            user_id,
            serial,
        })
    }
}
