//! Auditors: the certificate archive, certificate details, the event
//! history, the audit log's chain, CSV export, and checking a signed file
//! against the certificate valid when it was signed. Read-only.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use signet_client::staff::CertificateFilter;
use signet_client::verify::{Receipt, SignatureReport, check_signature_received};
use signet_schema::api::{AuditVerification, CertificateInfo, CertificateStatus, EventInfo};
use tauri::AppHandle;

use super::{blocking, output_dir};
use crate::certificates::{CertificateView, view};
use crate::error::{CommandError, CommandResult};
use signet_client::signing::{unused_path, write_durably as write_file};

/// The archive's filters as the page sends them (dates as `YYYY-MM-DD`).
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
pub struct ArchiveQuery {
    /// Only this user's.
    pub user: String,
    /// Only this serial.
    pub serial: String,
    /// `active`, `superseded`, `revoked` or empty.
    pub status: String,
    /// Issued on or after.
    pub from: String,
    /// Issued on or before.
    pub to: String,
}

fn non_empty(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

impl ArchiveQuery {
    fn filter(&self) -> CommandResult<CertificateFilter> {
        let day = |field: &str, text: &str, end: bool| -> CommandResult<Option<i64>> {
            match non_empty(text) {
                None => Ok(None),
                Some(t) => signet_schema::time::parse_date(&t)
                    .map(|d| Some(if end { d + 86_399 } else { d }))
                    .ok_or_else(|| CommandError::input(field, "a date as YYYY-MM-DD")),
            }
        };
        let status = match self.status.trim() {
            "" => None,
            text => Some(
                text.parse::<CertificateStatus>()
                    .map_err(|_| CommandError::input("status", "active, superseded or revoked"))?,
            ),
        };
        Ok(CertificateFilter {
            user: non_empty(&self.user),
            serial: non_empty(&self.serial),
            status,
            from: day("from", &self.from, false)?,
            to: day("to", &self.to, true)?,
            limit: Some(500),
            offset: None,
        })
    }
}

/// Certificates in the archive.
#[tauri::command]
pub async fn audit_certificates(app: AppHandle, query: ArchiveQuery) -> CommandResult<Vec<CertificateInfo>> {
    blocking(app, move |_, state| {
        let filter = query.filter()?;
        state.with_session(|s| Ok(s.audit_certificates(&filter)?))
    })
    .await
}

/// One certificate in full.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CertificateDetail {
    /// What the archive says.
    pub info: CertificateInfo,
    /// What the certificate says.
    pub view: Option<CertificateView>,
}

/// One certificate in full, by serial.
#[tauri::command]
pub async fn audit_certificate(app: AppHandle, serial: String) -> CommandResult<CertificateDetail> {
    blocking(app, move |_, state| {
        let filter = CertificateFilter {
            serial: Some(serial.trim().to_string()),
            ..CertificateFilter::default()
        };
        let info = state
            .with_session(|s| Ok(s.audit_certificates(&filter)?))?
            .into_iter()
            .next()
            .ok_or_else(|| CommandError::new("not-found", "No certificate has this serial number."))?;
        let view = view(&info.der.0);
        Ok(CertificateDetail { info, view })
    })
    .await
}

/// Saves a certificate's PEM under ~/Signet/certificates; returns where.
#[tauri::command]
pub async fn audit_save_certificate(app: AppHandle, serial: String) -> CommandResult<String> {
    let detail = audit_certificate(app.clone(), serial.clone()).await?;
    let pem = detail
        .view
        .map(|v| v.pem)
        .ok_or_else(|| CommandError::new("unexpected-answer", "the archived certificate does not parse"))?;
    blocking(app, move |app, _| {
        let path = unused_path(&output_dir(app, "certificates")?, &format!("{serial}.pem"));
        write_file(&path, pem.as_bytes())?;
        Ok(path.display().to_string())
    })
    .await
}

/// Exports the filtered archive as CSV under ~/Signet/exports; returns where.
#[tauri::command]
pub async fn audit_export_csv(app: AppHandle, query: ArchiveQuery) -> CommandResult<String> {
    blocking(app, move |app, state| {
        let filter = query.filter()?;
        let csv = state.with_session(|s| Ok(s.audit_certificates_csv(&filter)?))?;
        let today = signet_schema::time::date(signet_client::session::unix_now());
        let path = unused_path(&output_dir(app, "exports")?, &format!("certificates-{today}.csv"));
        write_file(&path, &csv)?;
        Ok(path.display().to_string())
    })
    .await
}

/// Audit events, optionally about one user.
#[tauri::command]
pub async fn audit_events(app: AppHandle, subject: String, from_seq: Option<i64>) -> CommandResult<Vec<EventInfo>> {
    blocking(app, move |_, state| {
        let subject = non_empty(&subject);
        state.with_session(|s| Ok(s.audit_events(subject.as_deref(), from_seq, Some(500))?))
    })
    .await
}

/// Checks the audit log's chain on the server.
#[tauri::command]
pub async fn audit_verify_log(app: AppHandle) -> CommandResult<AuditVerification> {
    blocking(app, |_, state| state.with_session(|s| Ok(s.audit_verify()?))).await
}

/// Checks a signed file (both chosen in the page) against the CA and the
/// certificate's status when it was signed — or, when the host
/// application's signed receipt is given too (its pain.002 report and the
/// report's `.p7s`), when the host received it.
#[tauri::command]
pub async fn check_signed_file(
    app: AppHandle,
    content: String,
    signature: String,
    receipt: Option<String>,
    receipt_signature: Option<String>,
) -> CommandResult<SignatureReport> {
    blocking(app, move |_, state| {
        // The page sends the files as base64.
        let decode = |field: &str, text: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| CommandError::input(field, "the file could not be read"))
        };
        let content = decode("file", &content)?;
        let signature = decode("signature", &signature)?;
        let receipt = match (receipt, receipt_signature) {
            (None, None) => None,
            (Some(report), Some(signature)) => {
                Some((decode("receipt", &report)?, decode("receipt signature", &signature)?))
            }
            _ => {
                return Err(CommandError::input(
                    "receipt",
                    "choose both the host's report (.pain002.xml) and its signature (.pain002.xml.p7s)",
                ));
            }
        };
        let connection = state.connection()?;
        Ok(check_signature_received(
            &connection,
            &content,
            &signature,
            &receipt
                .as_ref()
                .map(|(report, signature)| Receipt { report, signature })
                .into_iter()
                .collect::<Vec<_>>(),
        )?)
    })
    .await
}
