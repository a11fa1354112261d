//! The checks banks apply on top of the schema (EPC SEPA Credit Transfer
//! rulebook and implementation guidelines, pain.001.001.09 and .03):
//!
//! * accounts are IBANs with valid check digits and their country's length
//!   (`iban_validate`, the registry's rules); agents' BICs are ISO 9362;
//! * each amount is an instructed amount of 0.01 to 999,999,999.99 with at
//!   most two decimals (exact decimals, never floats), and the method is
//!   `TRF`;
//! * names, remittance information and addresses use the SEPA character set
//!   (`a–z A–Z 0–9 / - ? : ( ) . , ' +` and space); identifiers (message,
//!   payment-information, instruction and end-to-end ids) also must not
//!   start or end with `/` nor contain `//`;
//! * the number of transactions and the control sum of the group header and
//!   of every payment-information block match the payments;
//! * message, payment-information and end-to-end ids are unique in the file
//!   (an end-to-end id of `NOTPROVIDED` may repeat, as the rulebook allows);
//! * the requested execution date is not in the past;
//! * a postal address is structured (town and country in their own
//!   elements, with at most two address lines besides: "hybrid");
//!   free-text-only addresses are refused since November 2026.
//!
//! Every refusal names where it is (group header, batch, payment with its
//! number and end-to-end id) and the field.

use std::collections::HashSet;

use iban::Iban;
use rust_decimal::Decimal;
use serde::Serialize;

use super::{Account, Address, Amount, Batch, Order, Party, Payment};

/// One reason a file is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// Where: `group header`, `batch PMT-1`, `payment 3 (E2E-0003)`.
    pub place: String,
    /// The element, e.g. `CdtrAcct/Id/IBAN`.
    pub field: String,
    /// What is wrong, for a person.
    pub problem: String,
}

impl Refusal {
    /// An element Signet does not show, at `path` below `CstmrCdtTrfInitn`.
    pub fn unshown(path: String) -> Refusal {
        Refusal {
            place: "file".into(),
            field: path,
            problem: "Signet does not show this element, so it does not sign it; remove it or ask for it to be \
                      supported"
                .into(),
        }
    }

    /// Remittance information given more than once in a payment.
    pub fn twice(path: String) -> Refusal {
        Refusal {
            place: "file".into(),
            field: path,
            problem: "a payment may carry one remittance information (Ustrd or Strd), not several".into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {}: {}", self.place, self.field, self.problem)
    }
}

/// The smallest amount of a payment.
pub fn min_amount() -> Decimal {
    Decimal::new(1, 2)
}

/// The largest amount of a payment.
pub fn max_amount() -> Decimal {
    Decimal::new(99_999_999_999, 2)
}

/// The end-to-end id that may repeat.
pub const NOT_PROVIDED: &str = "NOTPROVIDED";

/// Whether `c` is in the SEPA basic Latin character set.
pub fn is_sepa_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " /-?:().,'+".contains(c)
}

/// Why `text` is not SEPA text, if it is not.
pub fn sepa_text_problem(text: &str) -> Option<String> {
    text.chars()
        .find(|c| !is_sepa_char(*c))
        .map(|c| format!("{c:?} is outside the SEPA character set (a-z A-Z 0-9 / - ? : ( ) . , ' + space)"))
}

/// Why `id` is not a valid identifier, if it is not.
pub fn identifier_problem(id: &str) -> Option<String> {
    if id.is_empty() || id.chars().count() > 35 {
        return Some("must be 1 to 35 characters".into());
    }
    if id.starts_with('/') || id.ends_with('/') || id.contains("//") {
        return Some("must not start or end with '/' nor contain '//'".into());
    }
    sepa_text_problem(id)
}

/// Why `iban` is not a valid IBAN, if it is not.
pub fn iban_problem(iban: &str) -> Option<String> {
    iban.parse::<Iban>()
        .err()
        .map(|e| format!("{iban:?} is not a valid IBAN ({e})"))
}

/// Why `bic` is not an ISO 9362 BIC, if it is not: 4 letters or digits
/// (party), 2 letters (country), 2 letters or digits (location), and
/// optionally 3 letters or digits (branch).
pub fn bic_problem(bic: &str) -> Option<String> {
    let b = bic.as_bytes();
    let ok = matches!(b.len(), 8 | 11)
        && b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b[4..6].iter().all(u8::is_ascii_uppercase);
    (!ok).then(|| format!("{bic:?} is not a BIC (8 or 11 capitals and digits, country in letters 5-6)"))
}

/// Why `amount` may not be paid, if it may not.
pub fn amount_problem(amount: Decimal) -> Option<String> {
    if amount.scale() > 2 {
        return Some(format!("{amount} has more than 2 decimals"));
    }
    if amount < min_amount() || amount > max_amount() {
        return Some(format!("{amount} is outside 0.01 to 999999999.99"));
    }
    None
}

/// Why `address` is refused, if it is.
pub fn address_problem(address: &Address) -> Option<String> {
    if address.town.is_none() || address.country.is_none() {
        return Some(
            "the address must give the town (TwnNm) and country (Ctry) in their own elements; \
             free-text-only addresses are refused since November 2026"
                .into(),
        );
    }
    if address.lines.len() > 2 {
        return Some("a hybrid address has at most 2 address lines besides town and country".into());
    }
    None
}

/// Every check; an empty list means the order may be signed.
pub fn bank_checks(order: &Order, today: time::Date) -> Vec<Refusal> {
    let mut out = Checker::default();
    let header = "group header".to_owned();
    out.identifier(&header, "GrpHdr/MsgId", &order.message_id);
    if let Some(name) = &order.initiating_party {
        out.text(&header, "GrpHdr/InitgPty/Nm", name);
    }
    let all: Vec<&Payment> = order.payments().map(|(_, p)| p).collect();
    out.counts(
        &header,
        "GrpHdr",
        &order.number_of_transactions,
        order.control_sum,
        &all,
    );
    let mut batch_ids = HashSet::new();
    let mut end_to_end_ids = HashSet::new();
    for batch in &order.batches {
        let place = format!("batch {}", batch.id);
        out.batch(&place, batch, today);
        if !batch_ids.insert(batch.id.as_str()) {
            out.refuse(
                &place,
                "PmtInf/PmtInfId",
                "the same payment-information id is used twice".into(),
            );
        }
        for payment in &batch.payments {
            let place = format!("payment {} ({})", payment.number, payment.end_to_end_id);
            out.payment(&place, payment);
            if payment.end_to_end_id != NOT_PROVIDED && !end_to_end_ids.insert(payment.end_to_end_id.as_str()) {
                out.refuse(
                    &place,
                    "PmtId/EndToEndId",
                    "the same end-to-end id is used twice".into(),
                );
            }
        }
    }
    out.refusals
}

/// The checks that depend on the day, for an order checked earlier and
/// signed now (a review left open past midnight): every batch's execution
/// date is still today or later.
pub fn date_checks(order: &Order, today: time::Date) -> Vec<Refusal> {
    let mut out = Checker::default();
    for batch in &order.batches {
        out.check(
            &format!("batch {}", batch.id),
            "PmtInf/ReqdExctnDt",
            execution_date_problem(&batch.execution_date, today),
        );
    }
    out.refusals
}

/// What is wrong with a requested execution date (`YYYY-MM-DD`, not before
/// `today`): the bank check and the form's live check alike.
pub fn execution_date_problem(date: &str, today: time::Date) -> Option<String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(date, format) {
        Ok(date) if date < today => Some(format!("{date} is in the past (today is {today})")),
        Ok(_) => None,
        Err(_) => Some(format!("{date:?} is not a date like 2026-12-31")),
    }
}

#[derive(Default)]
struct Checker {
    refusals: Vec<Refusal>,
}

impl Checker {
    fn refuse(&mut self, place: &str, field: &'static str, problem: String) {
        self.refusals.push(Refusal {
            place: place.to_owned(),
            field: field.to_owned(),
            problem,
        });
    }

    fn check(&mut self, place: &str, field: &'static str, problem: Option<String>) {
        if let Some(problem) = problem {
            self.refuse(place, field, problem);
        }
    }

    fn identifier(&mut self, place: &str, field: &'static str, id: &str) {
        self.check(place, field, identifier_problem(id));
    }

    fn text(&mut self, place: &str, field: &'static str, text: &str) {
        self.check(place, field, sepa_text_problem(text));
    }

    fn party(&mut self, place: &str, element: &'static str, party: &Party) {
        let (name_field, address_field, lines_field) = match element {
            "Dbtr" => ("Dbtr/Nm", "Dbtr/PstlAdr", "Dbtr/PstlAdr/AdrLine"),
            _ => ("Cdtr/Nm", "Cdtr/PstlAdr", "Cdtr/PstlAdr/AdrLine"),
        };
        match &party.name {
            Some(name) => self.text(place, name_field, name),
            None => self.refuse(place, name_field, "the name is required".into()),
        }
        if let Some(address) = &party.address {
            self.check(place, address_field, address_problem(address));
            for part in [&address.street, &address.building, &address.post_code, &address.town]
                .into_iter()
                .flatten()
                .chain(&address.lines)
            {
                self.text(place, lines_field, part);
            }
        }
    }

    fn counts(
        &mut self,
        place: &str,
        element: &'static str,
        number: &str,
        control_sum: Option<Decimal>,
        payments: &[&Payment],
    ) {
        let (number_field, sum_field) = match element {
            "GrpHdr" => ("GrpHdr/NbOfTxs", "GrpHdr/CtrlSum"),
            _ => ("PmtInf/NbOfTxs", "PmtInf/CtrlSum"),
        };
        if number.parse::<usize>().ok() != Some(payments.len()) {
            self.refuse(
                place,
                number_field,
                format!("says {number} transactions, the file has {}", payments.len()),
            );
        }
        if let Some(declared) = control_sum {
            let sum: Decimal = payments
                .iter()
                .filter_map(|p| match &p.amount {
                    Amount::Instructed { value, .. } => Some(*value),
                    Amount::Equivalent => None,
                })
                .sum();
            if declared != sum {
                self.refuse(
                    place,
                    sum_field,
                    format!("says {declared}, the amounts add up to {sum}"),
                );
            }
        }
    }

    fn batch(&mut self, place: &str, batch: &Batch, today: time::Date) {
        self.identifier(place, "PmtInf/PmtInfId", &batch.id);
        if batch.method != "TRF" {
            self.refuse(
                place,
                "PmtInf/PmtMtd",
                format!("{} is not a credit transfer (TRF)", batch.method),
            );
        }
        let payments: Vec<&Payment> = batch.payments.iter().collect();
        if let Some(number) = &batch.number_of_transactions {
            self.counts(place, "PmtInf", number, batch.control_sum, &payments);
        } else if batch.control_sum.is_some() {
            self.counts(
                place,
                "PmtInf",
                &payments.len().to_string(),
                batch.control_sum,
                &payments,
            );
        }
        self.check(
            place,
            "PmtInf/ReqdExctnDt",
            execution_date_problem(&batch.execution_date, today),
        );
        self.party(place, "Dbtr", &batch.debtor);
        match &batch.debtor_account {
            Account::Iban(iban) => self.check(place, "DbtrAcct/Id/IBAN", iban_problem(iban)),
            Account::Other(_) => self.refuse(place, "DbtrAcct/Id", "the debtor account must be an IBAN".into()),
        }
        if let Some(bic) = &batch.debtor_agent_bic {
            self.check(place, "DbtrAgt/FinInstnId/BICFI", bic_problem(bic));
        }
    }

    fn payment(&mut self, place: &str, payment: &Payment) {
        self.identifier(place, "PmtId/EndToEndId", &payment.end_to_end_id);
        if let Some(id) = &payment.instruction_id {
            self.identifier(place, "PmtId/InstrId", id);
        }
        match &payment.amount {
            Amount::Instructed { value, .. } => self.check(place, "Amt/InstdAmt", amount_problem(*value)),
            Amount::Equivalent => self.refuse(
                place,
                "Amt/EqvtAmt",
                "only an instructed amount (InstdAmt) is accepted".into(),
            ),
        }
        if let Some(bic) = &payment.creditor_agent_bic {
            self.check(place, "CdtrAgt/FinInstnId/BICFI", bic_problem(bic));
        }
        self.party(place, "Cdtr", &payment.creditor);
        match &payment.creditor_account {
            Some(Account::Iban(iban)) => self.check(place, "CdtrAcct/Id/IBAN", iban_problem(iban)),
            Some(Account::Other(_)) | None => {
                self.refuse(place, "CdtrAcct/Id/IBAN", "the creditor's IBAN is required".into())
            }
        }
        if let Some(remittance) = &payment.remittance {
            self.text(place, "RmtInf/Ustrd", remittance);
        }
    }
}
