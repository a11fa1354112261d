//! What a relying party checks of the key server's CA before it trusts a
//! certificate: that the CA issued it (RFC 5280 §6.1.3 (a)(1), one level:
//! the CA issues end-entity certificates directly), what it certifies (the
//! account's `UID`, a host application's extended key usage) and its status
//! in a CRL the CA signed (§6.3). Used by the host application, which
//! verifies orders, and by the client, which checks the host it sends
//! orders to.

use std::collections::HashMap;

use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use signet_schema::api::RevocationReason;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{CrlReason, ExtendedKeyUsage};
use x509_cert::time::Time;

use crate::keys::PublicKey;
use crate::{Error, Result};

/// The extended key usage that marks a host application's certificate
/// (RFC 5280 §4.2.1.12): issued only by the operator's `certify-host`
/// command, never to a user, and required by every client that sends a host
/// an order. It means something only in certificates Signet's own CA issued
/// (every check of it comes after the check of that issuer), under Signet's
/// private arc `1.3.6.1.4.1.61126.1` (`.1`: host application).
pub const ID_KP_SIGNET_HOST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.61126.1.1");

/// The extended key usage that marks a user's signing certificate, beside
/// e-mail protection (which S/MIME and CMS verifiers such as `openssl cms`
/// look for): `.2` of the same arc. No host certificate carries it.
pub const ID_KP_SIGNET_USER: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.61126.1.2");

/// id-kp-emailProtection (RFC 5280 §4.2.1.12).
pub const ID_KP_EMAIL_PROTECTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");

fn malformed(field: &'static str) -> Error {
    Error::Format(signet_schema::FormatError::new(
        field,
        signet_schema::Problem::Malformed,
    ))
}

/// Unix seconds of an X.509 `Time`.
pub fn unix_of(time: &Time) -> i64 {
    // X.509 times end before year 10000, far below i64::MAX seconds.
    i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// Whether `ca` issued `certificate`: names match and the CA's key verifies
/// the signature over the TBS part in one of Signet's schemes.
pub fn issued_by(certificate: &Certificate, ca: &Certificate) -> bool {
    if certificate.tbs_certificate().issuer() != ca.tbs_certificate().subject() {
        return false;
    }
    let Some(scheme) = crate::sign::scheme_of(certificate.signature_algorithm()) else {
        return false;
    };
    let (Ok(tbs), Ok(key)) = (certificate.tbs_certificate().to_der(), PublicKey::from_certificate(ca)) else {
        return false;
    };
    let Some(signature) = certificate.signature().as_bytes() else {
        return false;
    };
    crate::sign::verify(&key, scheme, &tbs, signature).is_ok()
}

/// The certificate's serial number as upper-case hex, as the key server's
/// archive and CRLs name it.
pub fn serial_hex(certificate: &Certificate) -> String {
    hex::encode_upper(certificate.tbs_certificate().serial_number().as_bytes())
}

/// The account a user's certificate belongs to: its subject's `UID`
/// (RFC 4519), which the CA always sets (see `csr::subject_name`).
pub fn user_id_of(certificate: &Certificate) -> Option<String> {
    let mut found = None;
    for attribute in certificate.tbs_certificate().subject().iter() {
        if attribute.oid == const_oid::db::rfc4519::UID {
            if found.is_some() {
                return None;
            }
            let text = der::asn1::Utf8StringRef::try_from(&attribute.value).ok()?;
            found = Some(text.as_str().to_owned());
        }
    }
    found
}

/// The subject's common name (`CN`), when it has exactly one.
pub fn common_name_of(certificate: &Certificate) -> Option<String> {
    let mut names = certificate
        .tbs_certificate()
        .subject()
        .iter()
        .filter(|a| a.oid == const_oid::db::rfc4519::COMMON_NAME);
    let (Some(name), None) = (names.next(), names.next()) else {
        return None;
    };
    der::asn1::Utf8StringRef::try_from(&name.value)
        .ok()
        .map(|n| n.as_str().to_owned())
}

/// Whether the certificate carries the extended key usage `purpose`.
pub fn has_extended_key_usage(certificate: &Certificate, purpose: ObjectIdentifier) -> bool {
    match certificate.tbs_certificate().get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, usage))) => usage.0.contains(&purpose),
        _ => false,
    }
}

/// Whether `at` (Unix seconds) lies within the certificate's validity.
pub fn valid_at(certificate: &Certificate, at: i64) -> bool {
    let validity = certificate.tbs_certificate().validity();
    unix_of(&validity.not_before) <= at && at <= unix_of(&validity.not_after)
}

/// One revoked certificate as a CRL lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// When it was revoked (Unix seconds).
    pub revoked_at: i64,
    /// Why, from the entry's reasonCode (absent = unspecified, §5.3.1).
    pub reason: RevocationReason,
}

/// A CRL whose signature the CA's key verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCrl {
    /// Its cRLNumber, when present (§5.2.3).
    pub crl_number: Option<u64>,
    /// thisUpdate (Unix seconds).
    pub this_update: i64,
    /// nextUpdate (Unix seconds): after it the CRL says nothing.
    pub next_update: i64,
    /// Revoked serials (upper-case hex) and their revocation.
    pub revoked: HashMap<String, Revocation>,
}

impl VerifiedCrl {
    /// Parses a DER CRL and checks that `ca` signed it (issuer name and
    /// signature), that it is v2 with a nextUpdate, and reads its entries.
    pub fn parse(der: &[u8], ca: &Certificate) -> Result<VerifiedCrl> {
        let crl = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der).map_err(|_| malformed("crl"))?;
        let tbs = &crl.tbs_cert_list;
        if &tbs.issuer != ca.tbs_certificate().subject() {
            return Err(Error::SignatureInvalid);
        }
        let scheme = crate::sign::scheme_of(&crl.signature_algorithm).ok_or(Error::SignatureInvalid)?;
        let key = PublicKey::from_certificate(ca)?;
        let signed = tbs.to_der().map_err(|_| malformed("crl"))?;
        let signature = crl.signature.as_bytes().ok_or(Error::SignatureInvalid)?;
        crate::sign::verify(&key, scheme, &signed, signature)?;
        let next_update = tbs.next_update.as_ref().ok_or_else(|| malformed("crl.nextUpdate"))?;
        let crl_number = tbs
            .crl_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_NUMBER)
            .and_then(|e| der::asn1::Uint::from_der(e.extn_value.as_bytes()).ok())
            .and_then(|n| {
                let bytes = n.as_bytes();
                (bytes.len() <= 8).then(|| bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
            });
        let mut revoked = HashMap::new();
        for entry in tbs.revoked_certificates.iter().flatten() {
            let reason = entry
                .crl_entry_extensions
                .iter()
                .flatten()
                .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_REASONS)
                .and_then(|e| CrlReason::from_der(e.extn_value.as_bytes()).ok())
                .map_or(RevocationReason::Unspecified, reason_of);
            revoked.insert(
                hex::encode_upper(entry.serial_number.as_bytes()),
                Revocation {
                    revoked_at: unix_of(&entry.revocation_date),
                    reason,
                },
            );
        }
        Ok(VerifiedCrl {
            crl_number,
            this_update: unix_of(&tbs.this_update),
            next_update: unix_of(next_update),
            revoked,
        })
    }

    /// The revocation of the certificate with serial `serial_hex`, if listed.
    pub fn revocation(&self, serial_hex: &str) -> Option<Revocation> {
        self.revoked.get(&serial_hex.to_ascii_uppercase()).copied()
    }
}

fn reason_of(reason: CrlReason) -> RevocationReason {
    match reason {
        CrlReason::KeyCompromise | CrlReason::CaCompromise | CrlReason::AaCompromise => RevocationReason::KeyCompromise,
        CrlReason::AffiliationChanged => RevocationReason::AffiliationChanged,
        CrlReason::Superseded => RevocationReason::Superseded,
        CrlReason::CessationOfOperation => RevocationReason::CessationOfOperation,
        _ => RevocationReason::Unspecified,
    }
}
