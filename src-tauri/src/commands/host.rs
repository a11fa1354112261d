//! The bank's host application, as office users reach it from the app:
//! send an order signed here, list the orders the host holds under the
//! person's certificate (and those waiting for their signature), look at one
//! in full, co-sign it, cancel it. Everything goes through
//! `signet_client::host`: the host's certificate is checked against the CA
//! and pinned, requests are signed and sealed end to end by the signing
//! core, and every answer's signed status report is checked before it is
//! shown and kept beside the order.

use serde::Serialize;
use signet_client::host::{Host, UnknownSignature, signatures_not_made_here};
use signet_client::orders::status_report::{ReportStatus, StatusReason, StatusReport};
use signet_client::orders::{self, Summary};
use signet_client::signing::{History, SignedDocument};
use signet_schema::host::{OrderInfo, OrderScope, OrderStatus};
use tauri::AppHandle;

use super::{blocking, output_dir};
use crate::error::{CommandError, CommandResult};

/// What the host's signed status report says, for a person.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ReportView {
    /// The report's own message id.
    pub message_id: String,
    /// `ACCP`, `PDNG` or `RJCT`.
    pub status: String,
    /// The receipt time the host signed (Unix seconds).
    pub received_at: Option<i64>,
    /// Why, when it says why.
    pub reasons: Vec<StatusReason>,
}

impl From<&StatusReport> for ReportView {
    fn from(report: &StatusReport) -> Self {
        ReportView {
            message_id: report.message_id.clone(),
            status: match report.status {
                ReportStatus::Accepted => "ACCP",
                ReportStatus::Pending => "PDNG",
                ReportStatus::Rejected => "RJCT",
            }
            .to_owned(),
            received_at: report.received_at,
            reasons: report.reasons.clone(),
        }
    }
}

/// The host's answer to a step: the order as it now stands and its checked report.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct HostAnswer {
    /// The host application's name.
    pub host: String,
    /// The order.
    pub order: OrderInfo,
    /// Its signed report, checked against the pinned host certificate.
    pub report: ReportView,
    /// Where the report is kept, beside the order's signature.
    pub report_path: Option<String>,
}

impl HostAnswer {
    fn of(host: &Host, status: OrderStatus, report: &StatusReport, kept: Option<&std::path::Path>) -> HostAnswer {
        HostAnswer {
            host: host.name.clone(),
            order: status.order,
            report: report.into(),
            report_path: kept.map(|p| p.display().to_string()),
        }
    }
}

/// Orders at the host, and the person's signatures there this computer did not make.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct HostOrders {
    /// The host application's name.
    pub host: String,
    /// The orders, latest first.
    pub orders: Vec<OrderInfo>,
    /// Signatures of the person's the host holds that this computer's
    /// history does not record (only with the scope `mine`).
    pub not_made_here: Vec<UnknownSignature>,
}

/// One order in full: its state, its report and what its exact bytes say.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct HostOrderDetail {
    /// The order and its checked report.
    pub answer: HostAnswer,
    /// The summary of the exact bytes every signature is over.
    pub summary: Option<Summary>,
    /// Why there is no summary.
    pub problem: Option<String>,
}

/// Runs `work` with the signed-in session and the host it publishes (the only one).
fn at_host<T: Send + 'static>(
    app: AppHandle,
    work: impl FnOnce(&AppHandle, &Host, &mut signet_client::Session) -> CommandResult<T> + Send + 'static,
) -> impl std::future::Future<Output = CommandResult<T>> {
    blocking(app, move |app, state| {
        state.with_session(|session| {
            let host = Host::find(session, None).map_err(|e| match e {
                // Only "none at all" is quiet; anything else (several hosts, a bad one) is said.
                signet_client::ClientError::Input { message, .. } if message == signet_client::host::NO_HOST => {
                    CommandError::new("no-host", format!("{message}."))
                }
                other => other.into(),
            })?;
            work(app, &host, session)
        })
    })
}

/// Sends an order signed on this computer (named by where its signature
/// is, as the signing answered) to the host; keeps the report beside it.
#[tauri::command]
pub async fn host_submit(app: AppHandle, signature_path: String) -> CommandResult<HostAnswer> {
    at_host(app, move |_, host, session| {
        let history = History::default_location()?;
        let signed: SignedDocument = history
            .of_user(session.user_id())?
            .into_iter()
            .find(|s| s.signature_path == signature_path)
            .ok_or_else(|| {
                CommandError::new(
                    "not-found",
                    "This computer has no record of signing that order under your account: sign it first.",
                )
            })?;
        let submitted = host.submit_saved(session, &signed)?;
        Ok(HostAnswer::of(
            host,
            submitted.status,
            &submitted.report,
            Some(&submitted.report_path),
        ))
    })
    .await
}

/// The orders the host holds under the person's certificate (`mine`) or
/// waiting for their signature (`awaiting-me`).
#[tauri::command]
pub async fn host_orders(app: AppHandle, scope: OrderScope) -> CommandResult<HostOrders> {
    at_host(app, move |_, host, session| {
        let mut orders = host.list(session, scope)?;
        orders.sort_by_key(|o| std::cmp::Reverse(o.received_at));
        let not_made_here = match scope {
            OrderScope::Mine => {
                let user_id = session.user_id().to_string();
                let made_here = History::default_location()?.of_user(&user_id)?;
                signatures_not_made_here(&orders, &user_id, &made_here)
            }
            OrderScope::AwaitingMe => Vec::new(),
        };
        Ok(HostOrders {
            host: host.name.clone(),
            orders,
            not_made_here,
        })
    })
    .await
}

/// One order at the host, with the summary of its exact bytes.
#[tauri::command]
pub async fn host_order(app: AppHandle, order_id: String) -> CommandResult<HostOrderDetail> {
    at_host(app, move |_, host, session| {
        let (detail, report) = host.show(session, order_id.trim())?;
        let (summary, problem) = match orders::read_order(&detail.order.0) {
            Ok(order) => (Some(Summary::of(&order, &detail.order.0)), None),
            Err(e) => (None, Some(format!("the order does not read as pain.001: {e}"))),
        };
        Ok(HostOrderDetail {
            answer: HostAnswer::of(host, detail.status, &report, None),
            summary,
            problem,
        })
    })
    .await
}

/// Co-signs the order the person reviewed (its SHA-256 as shown): the exact
/// bytes are fetched again and signed only if they are those; order and
/// signature are kept under ~/Signet/signed with the host's report.
#[tauri::command]
pub async fn host_cosign(app: AppHandle, order_id: String, sha256: String) -> CommandResult<HostAnswer> {
    at_host(app, move |app, host, session| {
        let dir = output_dir(app, "signed")?;
        let cosigned = host.cosign(session, order_id.trim(), &sha256, &dir, &History::default_location()?)?;
        Ok(HostAnswer::of(
            host,
            cosigned.status,
            &cosigned.report,
            Some(&cosigned.report_path),
        ))
    })
    .await
}

/// Cancels an order waiting at the host.
#[tauri::command]
pub async fn host_cancel(app: AppHandle, order_id: String) -> CommandResult<HostAnswer> {
    at_host(app, move |_, host, session| {
        let (status, report) = host.cancel(session, order_id.trim())?;
        Ok(HostAnswer::of(host, status, &report, None))
    })
    .await
}
