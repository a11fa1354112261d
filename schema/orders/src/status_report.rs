//! Customer payment status reports, ISO 20022 `pain.002.001.10`: what the
//! host application answers to every submission and state change of an
//! order, and what the client reads back.
//!
//! A report names the original message (`OrgnlGrpInfAndSts`: its id, name,
//! creation time, counts), gives the group's status (`GrpSts`: `ACCP`,
//! `PDNG` or `RJCT`) with reasons (`StsRsnInf`: an ISO external status
//! reason code such as `DS0C`, and text), and the same status for each
//! payment-information block and payment it could read
//! (`OrgnlPmtInfAndSts`, `TxInfAndSts`). The time the host received the
//! order is stated in the group's first `StsRsnInf/AddtlInf` as
//! `RECEIVED <RFC 3339 time>`, the order's exact bytes in the next as
//! `SHA256 <hex>`, and each signature the host received on it and verified
//! under the certificate that signed the request — those it holds, and the
//! one the report answers even when refused — as a reason of two lines,
//! `SIGNED <certificate serial> AT <RFC 3339 time>` and
//! `SIGNATURE SHA256 <hex of the signature's DER>`; the host signs the
//! whole report (detached CMS), so all are the host's signed statement. A
//! signature's own receipt time, not the order's, is what an auditor's
//! check uses: a co-signature arrives later than the order, and a receipt
//! vouches only for the exact signature it names.
//!
//! [`write`] makes a report and validates it against the official schema
//! before returning it; [`read`] validates a report and reads it.

use libxml::tree::Document;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, Event};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::read::{at, children, text};
use crate::write::element;
use crate::{Order, OrderError, SchemaProblem};

/// The message name.
pub const MESSAGE_NAME: &str = "pain.002.001.10";
/// The namespace of its `Document`.
pub const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10";
/// The prefix of the `AddtlInf` that states the receipt time.
pub const RECEIVED_PREFIX: &str = "RECEIVED ";
/// The prefix of the `AddtlInf` that names the order's exact bytes by SHA-256.
pub const SHA256_PREFIX: &str = "SHA256 ";
/// The prefix of an `AddtlInf` that states when a signature was received:
/// `SIGNED <certificate serial, hex> AT <RFC 3339 time>`.
pub const SIGNED_PREFIX: &str = "SIGNED ";
/// The prefix of the `AddtlInf` after it that names the signature:
/// `SIGNATURE SHA256 <hex>`.
pub const SIGNATURE_PREFIX: &str = "SIGNATURE SHA256 ";

/// A signature the host received on the order: which, under which
/// certificate, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedSignature {
    /// The signer's certificate serial (upper-case hex).
    pub certificate_serial: String,
    /// SHA-256 of the signature (the detached CMS, DER), lower-case hex.
    pub signature_sha256: String,
    /// When the host received it (Unix seconds).
    pub received_at: i64,
}
/// Largest report read.
pub const MAX_REPORT_BYTES: usize = 16 * 1024 * 1024;

/// An order's status as a report gives it (ISO external payment group status codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ReportStatus {
    /// `ACCP`: every check passed and the order is authorised.
    Accepted,
    /// `PDNG`: received and checked, waiting (for co-signatures, or for a
    /// current CRL before the host can decide).
    Pending,
    /// `RJCT`: refused; the reasons say why.
    Rejected,
}

impl ReportStatus {
    /// The ISO code.
    pub fn code(self) -> &'static str {
        match self {
            ReportStatus::Accepted => "ACCP",
            ReportStatus::Pending => "PDNG",
            ReportStatus::Rejected => "RJCT",
        }
    }

    fn from_code(code: &str) -> Option<ReportStatus> {
        [ReportStatus::Accepted, ReportStatus::Pending, ReportStatus::Rejected]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// One reason for a status: an ISO 20022 `ExternalStatusReason1Code` and
/// text for a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct StatusReason {
    /// E.g. `DS0C` (signer certificate revoked), `DUPL` (duplicate).
    pub code: String,
    /// What it means here.
    pub text: String,
}

/// What a report says of the message it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalMessage {
    /// `OrgnlMsgId`: the order's `GrpHdr/MsgId`, or `NOTPROVIDED` when it
    /// could not be read.
    pub message_id: String,
    /// `OrgnlMsgNmId`, e.g. `pain.001.001.09`.
    pub message_name: String,
    /// `OrgnlCreDtTm`, as the order wrote it.
    pub created: Option<String>,
    /// `OrgnlNbOfTxs`.
    pub number_of_transactions: Option<String>,
    /// `OrgnlCtrlSum`.
    pub control_sum: Option<Decimal>,
    /// Each `PmtInf`: its id and its payments' end-to-end ids.
    pub batches: Vec<(String, Vec<String>)>,
}

impl OriginalMessage {
    /// Everything a report repeats of a readable order.
    pub fn of(order: &Order) -> OriginalMessage {
        OriginalMessage {
            message_id: order.message_id.clone(),
            message_name: order.version.as_str().to_owned(),
            created: Some(order.created.clone()),
            number_of_transactions: Some(order.number_of_transactions.clone()),
            control_sum: order.control_sum,
            batches: order
                .batches
                .iter()
                .map(|b| {
                    (
                        b.id.clone(),
                        b.payments.iter().map(|p| p.end_to_end_id.clone()).collect(),
                    )
                })
                .collect(),
        }
    }

    /// What can be said of bytes that are not a readable order: its
    /// `MsgId` if one can be found, nothing else.
    pub fn unreadable(bytes: &[u8]) -> OriginalMessage {
        OriginalMessage {
            message_id: message_id_of(bytes).unwrap_or_else(|| "NOTPROVIDED".to_owned()),
            message_name: "pain.001".to_owned(),
            created: None,
            number_of_transactions: None,
            control_sum: None,
            batches: Vec::new(),
        }
    }
}

/// The text of the first `GrpHdr/MsgId` in `bytes`, if it is short enough
/// to be one (at most 35 characters, no markup).
fn message_id_of(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let header = text.find("GrpHdr>")?;
    let rest = &text[header..];
    let open = rest.find("MsgId>")? + "MsgId>".len();
    let rest = &rest[open..];
    let value = rest[..rest.find('<')?].trim();
    (!value.is_empty() && value.chars().count() <= 35 && !value.contains(['&', '>'])).then(|| value.to_owned())
}

/// A report to write.
#[derive(Clone, Debug)]
pub struct NewStatusReport {
    /// The report's own `MsgId` (at most 35 characters).
    pub message_id: String,
    /// When it was made.
    pub created: time::OffsetDateTime,
    /// The host's name (`GrpHdr/InitgPty/Nm`).
    pub host_name: String,
    /// The order it answers.
    pub original: OriginalMessage,
    /// Its status.
    pub status: ReportStatus,
    /// Why (a rejection always has one).
    pub reasons: Vec<StatusReason>,
    /// When the host received the order.
    pub received_at: time::OffsetDateTime,
    /// SHA-256 of the order's exact bytes (hex), when known.
    pub order_sha256: Option<String>,
    /// Every signature received on the order.
    pub signatures: Vec<ReceivedSignature>,
}

/// A report as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReport {
    /// The report's `MsgId`.
    pub message_id: String,
    /// `GrpHdr/CreDtTm`.
    pub created: String,
    /// The order's `MsgId`.
    pub original_message_id: String,
    /// The order's message name.
    pub original_message_name: String,
    /// `GrpSts`.
    pub status: ReportStatus,
    /// The group's reasons (the receipt statement left out).
    pub reasons: Vec<StatusReason>,
    /// The receipt time the host stated, Unix seconds.
    pub received_at: Option<i64>,
    /// The SHA-256 of the order's bytes the host stated (lower-case hex).
    pub order_sha256: Option<String>,
    /// The signatures the host stated it received, with their times.
    pub signatures: Vec<ReceivedSignature>,
}

impl StatusReport {
    /// When the host received the signature whose SHA-256 is
    /// `signature_sha256`, under the certificate with `serial` (both hex,
    /// any case), by this report.
    pub fn received_signature(&self, serial: &str, signature_sha256: &str) -> Option<i64> {
        self.signatures
            .iter()
            .find(|s| {
                s.certificate_serial.eq_ignore_ascii_case(serial)
                    && s.signature_sha256.eq_ignore_ascii_case(signature_sha256)
            })
            .map(|s| s.received_at)
    }
}

fn rfc3339(at: time::OffsetDateTime) -> Result<String, OrderError> {
    at.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|e| report_problem(e.to_string()))?
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| report_problem(e.to_string()))
}

fn report_problem(message: String) -> OrderError {
    OrderError::Input {
        field: "status report".into(),
        problem: message,
    }
}

/// At most `max` characters of `text` (ISO text types are bounded).
fn bounded(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn reason(w: &mut Writer<Vec<u8>>, code: Option<&str>, lines: &[String]) -> std::io::Result<()> {
    w.create_element("StsRsnInf").write_inner_content(|w| {
        if let Some(code) = code {
            w.create_element("Rsn")
                .write_inner_content(|w| element(w, "Cd", code))?;
        }
        for line in lines {
            element(w, "AddtlInf", &bounded(line, 105))?;
        }
        Ok(())
    })?;
    Ok(())
}

fn reasons(w: &mut Writer<Vec<u8>>, reasons: &[StatusReason]) -> std::io::Result<()> {
    for r in reasons {
        reason(w, Some(&r.code), std::slice::from_ref(&r.text))?;
    }
    Ok(())
}

fn xml(report: &NewStatusReport, created: &str, received: &str, signed: &[[String; 2]]) -> std::io::Result<Vec<u8>> {
    let status = report.status.code();
    let original = &report.original;
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("Document")
        .with_attribute(("xmlns", NAMESPACE))
        .write_inner_content(|w| {
            w.create_element("CstmrPmtStsRpt").write_inner_content(|w| {
                w.create_element("GrpHdr").write_inner_content(|w| {
                    element(w, "MsgId", &report.message_id)?;
                    element(w, "CreDtTm", created)?;
                    w.create_element("InitgPty")
                        .write_inner_content(|w| element(w, "Nm", &bounded(&report.host_name, 140)))?;
                    Ok(())
                })?;
                w.create_element("OrgnlGrpInfAndSts").write_inner_content(|w| {
                    element(w, "OrgnlMsgId", &original.message_id)?;
                    element(w, "OrgnlMsgNmId", &original.message_name)?;
                    if let Some(created) = &original.created {
                        element(w, "OrgnlCreDtTm", created)?;
                    }
                    if let Some(n) = &original.number_of_transactions {
                        element(w, "OrgnlNbOfTxs", n)?;
                    }
                    if let Some(sum) = original.control_sum {
                        element(w, "OrgnlCtrlSum", &sum.to_string())?;
                    }
                    element(w, "GrpSts", status)?;
                    reason(w, None, &[format!("{RECEIVED_PREFIX}{received}")])?;
                    if let Some(sha256) = &report.order_sha256 {
                        reason(w, None, &[format!("{SHA256_PREFIX}{sha256}")])?;
                    }
                    for lines in signed {
                        reason(w, None, lines)?;
                    }
                    reasons(w, &report.reasons)?;
                    Ok(())
                })?;
                for (batch, payments) in &original.batches {
                    w.create_element("OrgnlPmtInfAndSts").write_inner_content(|w| {
                        element(w, "OrgnlPmtInfId", batch)?;
                        element(w, "PmtInfSts", status)?;
                        for end_to_end in payments {
                            w.create_element("TxInfAndSts").write_inner_content(|w| {
                                element(w, "OrgnlEndToEndId", end_to_end)?;
                                element(w, "TxSts", status)?;
                                if report.status == ReportStatus::Accepted {
                                    element(w, "AccptncDtTm", created)?;
                                }
                                Ok(())
                            })?;
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
    Ok(w.into_inner())
}

/// Writes `report` as pain.002.001.10 and validates it against the official
/// schema (a report that would not validate is a defect of the caller:
/// [`OrderError::Schema`]).
pub fn write(report: &NewStatusReport) -> Result<Vec<u8>, OrderError> {
    if report.status == ReportStatus::Rejected && report.reasons.is_empty() {
        return Err(report_problem("a rejection needs a reason".into()));
    }
    let created = rfc3339(report.created)?;
    let received = rfc3339(report.received_at)?;
    let mut signed = Vec::with_capacity(report.signatures.len());
    for signature in &report.signatures {
        let serial = &signature.certificate_serial;
        // Serials are at most 20 bytes (RFC 5280): the line fits the 105 characters of AddtlInf.
        if serial.is_empty() || serial.len() > 40 || !serial.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(report_problem(format!("{serial:?} is not a certificate serial")));
        }
        let digest = &signature.signature_sha256;
        if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(report_problem(format!("{digest:?} is not a SHA-256")));
        }
        let at = time::OffsetDateTime::from_unix_timestamp(signature.received_at)
            .map_err(|e| report_problem(e.to_string()))?;
        signed.push([
            format!("{SIGNED_PREFIX}{} AT {}", serial.to_ascii_uppercase(), rfc3339(at)?),
            format!("{SIGNATURE_PREFIX}{}", digest.to_ascii_lowercase()),
        ]);
    }
    let bytes = xml(report, &created, &received, &signed).map_err(|e| report_problem(e.to_string()))?;
    read(&bytes)?;
    Ok(bytes)
}

/// Validates `bytes` against the pain.002.001.10 schema and reads the
/// report. Runs on the libxml2 thread.
pub fn read(bytes: &[u8]) -> Result<StatusReport, OrderError> {
    if bytes.len() > MAX_REPORT_BYTES {
        return Err(OrderError::TooLarge {
            limit: MAX_REPORT_BYTES,
        });
    }
    let bytes = bytes.to_vec();
    crate::checker::run(move || read_here(&bytes))
}

fn read_here(bytes: &[u8]) -> Result<StatusReport, OrderError> {
    let document = crate::xsd::parse(bytes)?;
    let root = document
        .get_root_readonly()
        .ok_or_else(|| OrderError::UnknownMessage("missing".into()))?;
    let namespace = root.get_namespace().map(|ns| ns.get_href()).unwrap_or_default();
    if root.get_name() != "Document" || namespace != NAMESPACE {
        return Err(OrderError::UnknownMessage(format!(
            "<{} xmlns=\"{namespace}\">",
            root.get_name()
        )));
    }
    crate::xsd::validate_status_report(&document)?;
    read_document(&document)
}

fn read_document(document: &Document) -> Result<StatusReport, OrderError> {
    let missing = |what: &str| report_problem(format!("{what} is missing"));
    let root = document.get_root_readonly().ok_or_else(|| missing("Document"))?;
    let report = at(root, &["CstmrPmtStsRpt"]).ok_or_else(|| missing("CstmrPmtStsRpt"))?;
    let group = at(report, &["OrgnlGrpInfAndSts"]).ok_or_else(|| missing("OrgnlGrpInfAndSts"))?;
    let status_code = text(group, &["GrpSts"]).ok_or_else(|| missing("GrpSts"))?;
    let status = ReportStatus::from_code(status_code.trim())
        .ok_or_else(|| report_problem(format!("group status {status_code:?} is not ACCP, PDNG or RJCT")))?;
    let mut received_at = None;
    let mut order_sha256 = None;
    let mut signatures = Vec::new();
    let mut found = Vec::new();
    for info in children(group, "StsRsnInf") {
        let code = text(info, &["Rsn", "Cd"]);
        let lines: Vec<String> = children(info, "AddtlInf").map(|n| n.get_content()).collect();
        match (code, lines.as_slice()) {
            (None, [line]) if line.starts_with(RECEIVED_PREFIX) => {
                let when = time::OffsetDateTime::parse(
                    &line[RECEIVED_PREFIX.len()..],
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|e| report_problem(format!("the receipt time does not parse: {e}")))?;
                received_at = Some(when.unix_timestamp());
            }
            (None, [line]) if line.starts_with(SHA256_PREFIX) => {
                order_sha256 = Some(line[SHA256_PREFIX.len()..].trim().to_ascii_lowercase());
            }
            (None, [line, digest]) if line.starts_with(SIGNED_PREFIX) && digest.starts_with(SIGNATURE_PREFIX) => {
                let unreadable = || report_problem(format!("{line:?} does not read as a received signature"));
                let (serial, at) = line[SIGNED_PREFIX.len()..].split_once(" AT ").ok_or_else(unreadable)?;
                let when = time::OffsetDateTime::parse(at.trim(), &time::format_description::well_known::Rfc3339)
                    .map_err(|_| unreadable())?;
                signatures.push(ReceivedSignature {
                    certificate_serial: serial.trim().to_ascii_uppercase(),
                    signature_sha256: digest[SIGNATURE_PREFIX.len()..].trim().to_ascii_lowercase(),
                    received_at: when.unix_timestamp(),
                });
            }
            (code, lines) => found.push(StatusReason {
                code: code.unwrap_or_default(),
                text: lines.join(" "),
            }),
        }
    }
    Ok(StatusReport {
        message_id: text(report, &["GrpHdr", "MsgId"]).ok_or_else(|| missing("GrpHdr/MsgId"))?,
        created: text(report, &["GrpHdr", "CreDtTm"]).ok_or_else(|| missing("GrpHdr/CreDtTm"))?,
        original_message_id: text(group, &["OrgnlMsgId"]).ok_or_else(|| missing("OrgnlMsgId"))?,
        original_message_name: text(group, &["OrgnlMsgNmId"]).ok_or_else(|| missing("OrgnlMsgNmId"))?,
        status,
        reasons: found,
        received_at,
        order_sha256,
        signatures,
    })
}

/// The problems of a report that does not validate, for tests and logs.
pub fn problems(error: &OrderError) -> Vec<SchemaProblem> {
    match error {
        OrderError::NotXml(problems) => problems.clone(),
        OrderError::Schema { problems, .. } | OrderError::ReportSchema(problems) => problems.clone(),
        other => vec![SchemaProblem {
            line: None,
            message: other.to_string(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn order() -> (Vec<u8>, crate::CheckedOrder) {
        let order = crate::NewOrder {
            message_id: "MSG-1".into(),
            initiating_party: "Example GmbH".into(),
            batches: vec![crate::NewBatch {
                id: "PMT-1".into(),
                execution_date: "2026-12-08".into(),
                debtor_name: "Example GmbH".into(),
                debtor_iban: "DE89370400440532013000".into(),
                debtor_bic: "COBADEFFXXX".into(),
                payments: vec![crate::NewPayment {
                    end_to_end_id: "E2E-1".into(),
                    amount: "12.50".into(),
                    currency: "EUR".into(),
                    creditor_name: "Supplier SA".into(),
                    creditor_iban: "FR1420041010050500013M02606".into(),
                    remittance: "Invoice 7".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        crate::write::write(&order, datetime!(2026-12-07 10:00 UTC)).expect("written")
    }

    fn report(status: ReportStatus, reasons: Vec<StatusReason>) -> NewStatusReport {
        let (_, checked) = order();
        NewStatusReport {
            message_id: "HOST-1".into(),
            created: datetime!(2026-12-07 10:00:05 UTC),
            host_name: "Order desk".into(),
            original: OriginalMessage::of(&checked.order),
            status,
            reasons,
            received_at: datetime!(2026-12-07 10:00:04 UTC),
            order_sha256: Some("ab".repeat(32)),
            signatures: vec![
                ReceivedSignature {
                    certificate_serial: "7DC6ED4F414EDE10D65D3E2C991D1200".into(),
                    signature_sha256: "01".repeat(32),
                    received_at: datetime!(2026-12-07 10:00:04 UTC).unix_timestamp(),
                },
                // Serials are up to 20 bytes; a co-signature arrives later.
                ReceivedSignature {
                    certificate_serial: "ff".repeat(20),
                    signature_sha256: "02".repeat(32),
                    received_at: datetime!(2026-12-08 09:30:00 UTC).unix_timestamp(),
                },
            ],
        }
    }

    #[test]
    fn every_status_writes_a_valid_report_that_reads_back() {
        for (status, reasons) in [
            (ReportStatus::Accepted, vec![]),
            (
                ReportStatus::Pending,
                vec![StatusReason {
                    code: "NARR".into(),
                    text: "waiting for a second signature (class A or B)".into(),
                }],
            ),
            (
                ReportStatus::Rejected,
                vec![StatusReason {
                    code: "DS0C".into(),
                    text: "the signer's certificate is revoked".into(),
                }],
            ),
        ] {
            let bytes = write(&report(status, reasons.clone())).expect("valid report");
            let read = read(&bytes).expect("reads back");
            assert_eq!(read.status, status);
            assert_eq!(read.reasons, reasons);
            assert_eq!(read.original_message_id, "MSG-1");
            assert_eq!(read.original_message_name, "pain.001.001.09");
            assert_eq!(
                read.received_at,
                Some(datetime!(2026-12-07 10:00:04 UTC).unix_timestamp())
            );
            assert_eq!(
                read.received_signature("ff".repeat(20).as_str(), &"02".repeat(32)),
                Some(datetime!(2026-12-08 09:30:00 UTC).unix_timestamp())
            );
            assert_eq!(
                read.received_signature("7dc6ed4f414ede10d65d3e2c991d1200", &"01".repeat(32)),
                Some(datetime!(2026-12-07 10:00:04 UTC).unix_timestamp())
            );
            // Another signature under the same certificate, or the same under another: not vouched for.
            assert_eq!(
                read.received_signature("7DC6ED4F414EDE10D65D3E2C991D1200", &"02".repeat(32)),
                None
            );
            assert_eq!(read.received_signature("01", &"01".repeat(32)), None);
            // The statements are not reasons.
            assert!(read.reasons.iter().all(|r| !r.text.starts_with(SIGNED_PREFIX)));
        }
    }

    #[test]
    fn a_serial_that_is_not_one_is_not_written() {
        for serial in ["", "not hex", &"ab".repeat(21)] {
            let mut bad = report(ReportStatus::Accepted, vec![]);
            bad.signatures[0].certificate_serial = serial.to_owned();
            assert!(write(&bad).is_err(), "{serial:?}");
        }
        let mut bad = report(ReportStatus::Accepted, vec![]);
        bad.signatures[0].signature_sha256 = "ab".into();
        assert!(write(&bad).is_err(), "a digest that is not one");
    }

    #[test]
    fn xmllint_accepts_what_is_written() {
        let bytes = write(&report(ReportStatus::Accepted, vec![])).expect("valid report");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("report.xml");
        std::fs::write(&file, &bytes).expect("write");
        let xsd = concat!(env!("CARGO_MANIFEST_DIR"), "/../iso20022/pain.002.001.10.xsd");
        let out = std::process::Command::new("xmllint")
            .args(["--noout", "--schema", xsd])
            .arg(&file)
            .output()
            .expect("xmllint runs (libxml2-utils)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    #[test]
    fn a_rejection_without_a_reason_is_not_written() {
        assert!(write(&report(ReportStatus::Rejected, vec![])).is_err());
    }

    #[test]
    fn a_changed_report_is_refused_by_the_schema() {
        let bytes = write(&report(ReportStatus::Accepted, vec![])).expect("valid report");
        let text = String::from_utf8(bytes).expect("utf-8");
        let broken = text.replace("<GrpSts>ACCP</GrpSts>", "<GrpSts>ACCEPTED</GrpSts>");
        assert!(matches!(read(broken.as_bytes()), Err(OrderError::ReportSchema(_))));
        let other = text.replace("pain.002.001.10", "pain.002.001.03");
        assert!(matches!(read(other.as_bytes()), Err(OrderError::UnknownMessage(_))));
    }

    #[test]
    fn an_unreadable_order_is_answered_with_what_can_be_found() {
        let original = OriginalMessage::unreadable(b"<Document><CstmrCdtTrfInitn><GrpHdr><MsgId>ABC-9</MsgId>");
        assert_eq!(original.message_id, "ABC-9");
        assert_eq!(OriginalMessage::unreadable(b"garbage").message_id, "NOTPROVIDED");
    }
}
