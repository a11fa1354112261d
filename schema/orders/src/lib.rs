//! Payment orders as banks know them: ISO 20022 customer credit transfer
//! initiation, `pain.001.001.09` written and read, `pain.001.001.03` read.
//!
//! [`check`] is the one way in: the exact bytes the person chose are parsed
//! once, validated against the official schema of their version
//! ([`xsd`]), read into an [`Order`] ([`read`]), put through the checks
//! banks apply ([`checks`]) and summarised ([`summary`]) — nothing else is
//! shown, and nothing that fails is signed. A `.03` file is signed as it is,
//! never rewritten. [`write`] makes a `.09` file from a [`NewOrder`] and
//! runs [`check`] over what it wrote before handing it out.

mod checker;
pub mod checks;
pub mod input;
pub mod read;
pub mod status_report;
pub mod summary;
pub mod write;
pub mod xsd;

use rust_decimal::Decimal;
use serde::Serialize;

pub use checker::use_threads as use_checker_threads;
pub use checks::Refusal;
pub use summary::{PaymentRow, Summary};
pub use write::{NewAddress, NewBatch, NewOrder, NewPayment};

/// The message versions Signet reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Version {
    /// `pain.001.001.03` (2009), still sent by many accounting packages: read only.
    #[serde(rename = "pain.001.001.03")]
    V03 = 0,
    /// `pain.001.001.09` (2019), the EPC SEPA rulebook's version since 2024: read and written.
    #[serde(rename = "pain.001.001.09")]
    V09 = 1,
}

impl Version {
    /// The message name, e.g. `pain.001.001.09`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V03 => "pain.001.001.03",
            Version::V09 => "pain.001.001.09",
        }
    }

    /// The XML namespace of the message's `Document`.
    pub fn namespace(self) -> &'static str {
        match self {
            Version::V03 => "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03",
            Version::V09 => "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09",
        }
    }

    /// The version whose namespace is `namespace`.
    pub fn from_namespace(namespace: &str) -> Option<Version> {
        [Version::V03, Version::V09]
            .into_iter()
            .find(|v| v.namespace() == namespace)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message of libxml2's, with its line when it has one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SchemaProblem {
    /// 1-based line in the file.
    pub line: Option<u32>,
    /// libxml2's message, which names the element.
    pub message: String,
}

impl std::fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn joined<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Why a file is not an order that may be signed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// Larger than [`xsd::MAX_ORDER_BYTES`].
    #[error("the file is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Not well-formed XML (or it declares a document type).
    #[error("not well-formed XML: {}", joined(.0))]
    NotXml(Vec<SchemaProblem>),
    /// Its root is not a `pain.001` message of a version Signet reads.
    #[error("not a pain.001.001.03 or pain.001.001.09 message (its root is {0})")]
    UnknownMessage(String),
    /// The official schema refuses it.
    #[error("the {version} schema refuses it: {}", joined(problems))]
    Schema {
        /// Whose schema.
        version: Version,
        /// What libxml2 said.
        problems: Vec<SchemaProblem>,
    },
    /// The pain.002.001.10 schema refuses a status report.
    #[error("the pain.002.001.10 schema refuses the status report: {}", joined(.0))]
    ReportSchema(Vec<SchemaProblem>),
    /// Schema-valid, but refused by the checks banks apply.
    #[error("refused: {}", joined(.0))]
    Refused(Vec<Refusal>),
    /// A new order could not be made (a field of the form or input file).
    #[error("{field}: {problem}")]
    Input {
        /// Which field, e.g. `payments[3].amount`.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

impl OrderError {
    /// The schema's or the checks' problems as lines for a person.
    pub fn lines(&self) -> Vec<String> {
        match self {
            OrderError::NotXml(problems) | OrderError::Schema { problems, .. } | OrderError::ReportSchema(problems) => {
                problems.iter().map(ToString::to_string).collect()
            }
            OrderError::Refused(refusals) => refusals.iter().map(ToString::to_string).collect(),
            other => vec![other.to_string()],
        }
    }
}

/// A postal address as the file gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    /// `StrtNm`.
    pub street: Option<String>,
    /// `BldgNb`.
    pub building: Option<String>,
    /// `PstCd`.
    pub post_code: Option<String>,
    /// `TwnNm`.
    pub town: Option<String>,
    /// `Ctry`.
    pub country: Option<String>,
    /// `AdrLine`s.
    pub lines: Vec<String>,
}

/// A debtor or creditor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Party {
    /// `Nm`.
    pub name: Option<String>,
    /// `PstlAdr`.
    pub address: Option<Address>,
}

/// An account: its IBAN, or another identification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Account {
    /// `Id/IBAN`.
    Iban(String),
    /// `Id/Othr/Id`.
    Other(String),
}

impl Account {
    /// The identification as written.
    pub fn as_str(&self) -> &str {
        match self {
            Account::Iban(id) | Account::Other(id) => id,
        }
    }
}

/// A payment's amount: `InstdAmt` (an amount in a currency) or an
/// `EqvtAmt` (an amount in another currency to be converted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Amount {
    /// `Amt/InstdAmt`.
    Instructed {
        /// The amount, exactly as written.
        value: Decimal,
        /// ISO 4217 code.
        currency: String,
    },
    /// `Amt/EqvtAmt`.
    Equivalent,
}

/// One credit transfer (`CdtTrfTxInf`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    /// Its position in the file, from 1.
    pub number: usize,
    /// `PmtId/InstrId`.
    pub instruction_id: Option<String>,
    /// `PmtId/EndToEndId`.
    pub end_to_end_id: String,
    /// `Amt`.
    pub amount: Amount,
    /// `CdtrAgt/FinInstnId/BIC` (.03) or `BICFI` (.09).
    pub creditor_agent_bic: Option<String>,
    /// `Cdtr`.
    pub creditor: Party,
    /// `CdtrAcct`.
    pub creditor_account: Option<Account>,
    /// `RmtInf/Ustrd`, or the structured reference `RmtInf/Strd/CdtrRefInf/Ref`.
    pub remittance: Option<String>,
}

/// One payment-information block (`PmtInf`): payments from one debtor
/// account on one date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// `PmtInfId`.
    pub id: String,
    /// `PmtMtd` (`TRF`, `CHK` or `TRA`).
    pub method: String,
    /// `NbOfTxs`, as written.
    pub number_of_transactions: Option<String>,
    /// `CtrlSum`.
    pub control_sum: Option<Decimal>,
    /// `ReqdExctnDt` (its date part when given as a date and time).
    pub execution_date: String,
    /// `Dbtr`.
    pub debtor: Party,
    /// `DbtrAcct`.
    pub debtor_account: Account,
    /// `DbtrAcct/Ccy`.
    pub debtor_account_currency: Option<String>,
    /// `DbtrAgt/FinInstnId/BIC` (.03) or `BICFI` (.09).
    pub debtor_agent_bic: Option<String>,
    /// `CdtTrfTxInf`s.
    pub payments: Vec<Payment>,
}

/// A pain.001 message as read from a schema-valid file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// Which version.
    pub version: Version,
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// `GrpHdr/CreDtTm`, as written.
    pub created: String,
    /// `GrpHdr/NbOfTxs`, as written.
    pub number_of_transactions: String,
    /// `GrpHdr/CtrlSum`.
    pub control_sum: Option<Decimal>,
    /// `GrpHdr/InitgPty/Nm`.
    pub initiating_party: Option<String>,
    /// `PmtInf`s.
    pub batches: Vec<Batch>,
}

impl Order {
    /// Every payment with its batch, in file order.
    pub fn payments(&self) -> impl Iterator<Item = (&Batch, &Payment)> {
        self.batches.iter().flat_map(|b| b.payments.iter().map(move |p| (b, p)))
    }
}

/// A file that passed every check, with what is shown before signing.
#[derive(Clone, Debug)]
pub struct CheckedOrder {
    /// What it says.
    pub order: Order,
    /// Its summary, built from `order` and the bytes' hash.
    pub summary: Summary,
}

impl CheckedOrder {
    /// Whether the order may still be signed `today`: the schema and every
    /// other check hold for good once passed (the bytes cannot change), so
    /// only the execution dates are looked at again.
    pub fn still_signable(&self, today: time::Date) -> Result<(), OrderError> {
        let refusals = checks::date_checks(&self.order, today);
        if refusals.is_empty() {
            Ok(())
        } else {
            Err(OrderError::Refused(refusals))
        }
    }
}

/// Parses, validates, reads, checks and summarises the exact bytes of a
/// file. `today` is the date execution dates must not precede.
///
/// The work runs on the process's one order-checking thread
/// ([`checker`]), which holds the compiled schemas: however many threads
/// ask, libxml2 compiles each schema once and allocates from one thread's
/// heap.
pub fn check(bytes: &[u8], today: time::Date) -> Result<CheckedOrder, OrderError> {
    let bytes = bytes.to_vec();
    checker::run(move || check_here(&bytes, today))
}

/// [`check`] on the calling thread.
fn check_here(bytes: &[u8], today: time::Date) -> Result<CheckedOrder, OrderError> {
    let document = xsd::parse(bytes)?;
    let version = read::version_of(&document)?;
    xsd::validate(&document, version)?;
    let order = read::order(&document, version)?;
    let mut refusals = read::unshown(&document);
    refusals.extend(checks::bank_checks(&order, today));
    if !refusals.is_empty() {
        return Err(OrderError::Refused(refusals));
    }
    let summary = Summary::of(&order, bytes);
    Ok(CheckedOrder { order, summary })
}

/// Reads the order in `bytes` as the schema accepts it, without the banks'
/// checks: what a status report repeats of an order that was checked when
/// it arrived (its execution dates may have passed since).
pub fn read_order(bytes: &[u8]) -> Result<Order, OrderError> {
    let bytes = bytes.to_vec();
    checker::run(move || {
        let document = xsd::parse(&bytes)?;
        let version = read::version_of(&document)?;
        xsd::validate(&document, version)?;
        read::order(&document, version)
    })
}

/// Today's date (UTC), for [`check`].
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}
