//! Host applications — the banks' order desks that receive signed orders —
//! as the key tier knows them: certified by its CA through an operator
//! command (`signet-keyserver admin host-certificate`), published to
//! clients (`GET /v1/hosts`), revoked like users' certificates and listed
//! in the same CRL. Their certificates are archived with every other under
//! the holder `host:<name>`, so auditors see them too.

use signet_schema::api::{ApiErrorCode, CertificateStatus, RevocationReason};
use signet_schema::host::HostInfo;
use signet_schema::vocabulary::AuditEventKind;

use super::KeyTier;
use super::flows::{Outcome, TxError, event, info, settle};
use crate::error::Failure;
use crate::keys::db::models::{self, Certificate, Host, host_holder};

/// Whether `name` may name a host: the rules of a user id (lower-case
/// letters, digits, `.`, `_`, `-`; at most 64 characters).
fn check_name(name: &str) -> Result<(), Failure> {
    signet_schema::record::validate_user_id(name).map_err(|_| {
        Failure::bad_field(
            "name",
            "a host name is 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    })
}

/// Whether `url` is an HTTPS address without credentials, query or fragment.
fn check_url(url: &str) -> Result<(), Failure> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| Failure::bad_field("url", "a host's address starts with https://"))?;
    if rest.is_empty() || rest.contains(['@', '?', '#', ' ']) || url.len() > 200 {
        return Err(Failure::bad_field("url", "not a plain https:// address"));
    }
    Ok(())
}

impl KeyTier {
    /// Certifies the host `name` at `url` for the PKCS#10 request
    /// `csr_der` (its integrity key): issues a host certificate, archives
    /// it, supersedes the host's previous certificate (revoked as
    /// superseded, a new CRL published) and records the event, in one
    /// transaction.
    pub fn certify_host(&self, name: &str, url: &str, csr_der: &[u8]) -> Result<Certificate, Failure> {
        check_name(name)?;
        check_url(url)?;
        let now = self.now();
        let issued = self
            .ca
            .issue_host(csr_der, name, now, self.policy.certificate_validity_days)
            .map_err(|e| Failure::bad_field("csr", format!("the certification request is refused: {e}")))?;
        let holder = host_holder(name);
        let stored = Certificate::issued(&issued, issued.serial_hex.clone(), &holder, now);
        settle(self.db.write(|c| -> Result<Outcome<Certificate>, TxError> {
            let superseded = RevocationReason::Superseded;
            for old in models::certificates::for_user(c, &holder, CertificateStatus::Active)? {
                models::certificates::set_status(
                    c,
                    &old.serial,
                    CertificateStatus::Superseded,
                    Some((now, superseded.rfc5280_name())),
                )?;
            }
            models::certificates::insert(c, &stored)?;
            models::hosts::put(
                c,
                &Host {
                    name: name.to_owned(),
                    url: url.to_owned(),
                    serial: stored.serial.clone(),
                    certified_at: now,
                },
            )?;
            self.publish_crl(c, now)?;
            let detail = serde_json::json!({
                "serial": stored.serial,
                "sha256": stored.sha256_fingerprint,
                "url": url,
            });
            self.audit(c, event("operator", AuditEventKind::HostCertified, &holder, detail))?;
            Ok(Outcome::Done(stored.clone()))
        }))
    }

    /// Revokes the host `name`'s current certificate for `reason` and
    /// publishes a new CRL, in one transaction: clients stop sending it
    /// orders, and its status reports no longer verify as current.
    pub fn revoke_host(&self, name: &str, reason: RevocationReason) -> Result<String, Failure> {
        let now = self.now();
        settle(self.db.write(|c| -> Result<Outcome<String>, TxError> {
            let Some(host) = models::hosts::find(c, name)? else {
                return Ok(Outcome::Refused(Failure::new(ApiErrorCode::NotFound, "no such host")));
            };
            let Some(current) = models::certificates::by_serial(c, &host.serial)? else {
                return Ok(Outcome::Refused(Failure::internal(
                    "the host's certificate is not archived",
                )));
            };
            if current.status != CertificateStatus::Active {
                return Ok(Outcome::Refused(Failure::new(
                    ApiErrorCode::WrongState,
                    format!("the host's certificate is already {}", current.status.as_str()),
                )));
            }
            models::certificates::set_status(
                c,
                &host.serial,
                CertificateStatus::Revoked,
                Some((now, reason.rfc5280_name())),
            )?;
            self.publish_crl(c, now)?;
            let detail = serde_json::json!({ "serial": host.serial, "reason": reason.rfc5280_name() });
            self.audit(
                c,
                event("operator", AuditEventKind::HostRevoked, &host_holder(name), detail),
            )?;
            Ok(Outcome::Done(host.serial))
        }))
    }

    /// `GET /v1/hosts`: every certified host with its current certificate
    /// and that certificate's status.
    pub fn hosts(&self) -> Result<Vec<HostInfo>, Failure> {
        self.db.read(|c| -> Result<Vec<HostInfo>, Failure> {
            let mut out = Vec::new();
            for host in models::hosts::all(c)? {
                let certificate = models::certificates::by_serial(c, &host.serial)?
                    .ok_or_else(|| Failure::internal(format!("host {}: certificate not archived", host.name)))?;
                out.push(HostInfo {
                    name: host.name,
                    url: host.url,
                    certificate: info(certificate),
                });
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_and_addresses_are_checked() {
        assert!(check_name("order-desk").is_ok());
        assert!(check_name("Order Desk").is_err());
        assert!(check_name("host:x").is_err());
        assert!(check_url("https://bank.example:8443").is_ok());
        assert!(check_url("http://bank.example").is_err());
        assert!(check_url("https://user@bank.example").is_err());
        assert!(check_url("https://").is_err());
    }
}
