//! Writes `pain.001.001.09` (the EPC SEPA rulebook's version since 2024)
//! from a [`NewOrder`]: one payment-information block per [`NewBatch`]
//! (debtor account, agent and date), any number of payments each. Every
//! field is checked first and named when it is wrong (`batches[0].payments[2].amount`);
//! the bytes written then go through [`super::check`] — the schema and the
//! bank checks — before they are handed out, so nothing this module returns
//! can be refused by them.

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::checks::{
    amount_problem, bic_problem, execution_date_problem, iban_problem, identifier_problem, sepa_text_problem,
};
use super::{CheckedOrder, OrderError, Version};

/// A structured postal address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NewAddress {
    /// Street name.
    pub street: String,
    /// Building number.
    pub building: String,
    /// Post code.
    pub post_code: String,
    /// Town (required).
    pub town: String,
    /// ISO 3166 country code (required).
    pub country: String,
}

/// One payment to write.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NewPayment {
    /// End-to-end id; made from the message id when empty.
    pub end_to_end_id: String,
    /// Amount, a decimal with at most 2 decimals, e.g. `1250.00`.
    pub amount: String,
    /// ISO 4217 code; `EUR` when empty.
    pub currency: String,
    /// Payee.
    pub creditor_name: String,
    /// Payee's IBAN.
    pub creditor_iban: String,
    /// Payee's bank (BIC), optional within SEPA.
    pub creditor_bic: String,
    /// Payee's address, optional.
    pub creditor_address: Option<NewAddress>,
    /// Remittance information (at most 140 characters).
    pub remittance: String,
}

/// Payments from one debtor account on one date.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NewBatch {
    /// Payment-information id; made from the message id when empty.
    pub id: String,
    /// Requested execution date, `YYYY-MM-DD`.
    pub execution_date: String,
    /// Paying account holder.
    pub debtor_name: String,
    /// Paying account.
    pub debtor_iban: String,
    /// Paying bank (BIC); `NOTPROVIDED` is written when empty.
    pub debtor_bic: String,
    /// Debtor's address, optional.
    pub debtor_address: Option<NewAddress>,
    /// The payments.
    pub payments: Vec<NewPayment>,
}

/// An order to write.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NewOrder {
    /// Message id; made from the time and random bits when empty.
    pub message_id: String,
    /// Who initiates the payments (usually the company); the first debtor when empty.
    pub initiating_party: String,
    /// One or more batches.
    pub batches: Vec<NewBatch>,
}

/// Longest remittance text (`Max140Text`).
pub const MAX_REMITTANCE: usize = 140;
/// Longest name (`Max140Text`; the EPC guidelines use 70).
pub const MAX_NAME: usize = 70;

fn input(field: impl Into<String>, problem: impl Into<String>) -> OrderError {
    OrderError::Input {
        field: field.into(),
        problem: problem.into(),
    }
}

fn text_field(field: &str, value: &str, max: usize, required: bool) -> Result<(), OrderError> {
    if value.is_empty() {
        return if required {
            Err(input(field, "is required"))
        } else {
            Ok(())
        };
    }
    if value.chars().count() > max {
        return Err(input(field, format!("is longer than {max} characters")));
    }
    sepa_text_problem(value).map_or(Ok(()), |p| Err(input(field, p)))
}

fn address_fields(field: &str, address: &NewAddress) -> Result<(), OrderError> {
    text_field(&format!("{field}.street"), &address.street, 70, false)?;
    text_field(&format!("{field}.building"), &address.building, 16, false)?;
    text_field(&format!("{field}.postCode"), &address.post_code, 16, false)?;
    text_field(&format!("{field}.town"), &address.town, 35, true)?;
    if !(address.country.len() == 2 && address.country.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(input(format!("{field}.country"), "must be a two-letter ISO 3166 code"));
    }
    Ok(())
}

/// Checks one field of the form as the app's live checks do: `name` is
/// `iban`, `bic`, `amount`, `date`, `id`, `name` or `text`. `today` bounds dates.
pub fn field_problem(name: &str, value: &str, today: time::Date) -> Option<String> {
    let value = value.trim();
    match name {
        "iban" => iban_problem(value),
        "bic" => (!value.is_empty()).then(|| bic_problem(value)).flatten(),
        "amount" => match Decimal::from_str_exact(value) {
            Ok(amount) => amount_problem(amount),
            Err(_) => Some(format!("{value:?} is not an amount like 1250.00")),
        },
        "date" => execution_date_problem(value, today),
        "id" => (!value.is_empty()).then(|| identifier_problem(value)).flatten(),
        "name" => text_field("name", value, MAX_NAME, true).err().map(|e| e.to_string()),
        _ => text_field("text", value, MAX_REMITTANCE, false)
            .err()
            .map(|e| e.to_string()),
    }
}

/// A message id: `S`, the UTC time to the second, and 8 random hex digits.
fn new_message_id(now: time::OffsetDateTime) -> Result<String, OrderError> {
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(|e| input("messageId", format!("no randomness: {e}")))?;
    let stamp = now
        .format(time::macros::format_description!(
            "[year][month][day][hour][minute][second]"
        ))
        .map_err(|e| input("messageId", e.to_string()))?;
    Ok(format!("S{stamp}{}", hex::encode_upper(random)))
}

/// The order's fields, trimmed, with ids and defaults filled in and every
/// field checked.
fn completed(order: &NewOrder, now: time::OffsetDateTime) -> Result<NewOrder, OrderError> {
    let today = now.date();
    let mut order = order.clone();
    order.message_id = order.message_id.trim().to_owned();
    if order.message_id.is_empty() {
        order.message_id = new_message_id(now)?;
    }
    if let Some(p) = identifier_problem(&order.message_id) {
        return Err(input("messageId", p));
    }
    if order.batches.is_empty() {
        return Err(input("batches", "an order needs at least one batch of payments"));
    }
    if order.initiating_party.trim().is_empty() {
        order.initiating_party = order.batches[0].debtor_name.clone();
    }
    order.initiating_party = order.initiating_party.trim().to_owned();
    text_field("initiatingParty", &order.initiating_party, MAX_NAME, true)?;
    let message_id = order.message_id.clone();
    let mut payment_number = 0usize;
    for (b, batch) in order.batches.iter_mut().enumerate() {
        let at = |f: &str| format!("batches[{b}].{f}");
        batch.id = batch.id.trim().to_owned();
        if batch.id.is_empty() {
            batch.id = format!("{message_id}-B{}", b + 1);
        }
        if let Some(p) = identifier_problem(&batch.id) {
            return Err(input(at("id"), p));
        }
        batch.execution_date = batch.execution_date.trim().to_owned();
        if let Some(p) = field_problem("date", &batch.execution_date, today) {
            return Err(input(at("executionDate"), p));
        }
        batch.debtor_name = batch.debtor_name.trim().to_owned();
        text_field(&at("debtorName"), &batch.debtor_name, MAX_NAME, true)?;
        batch.debtor_iban = batch.debtor_iban.split_whitespace().collect();
        if let Some(p) = iban_problem(&batch.debtor_iban) {
            return Err(input(at("debtorIban"), p));
        }
        batch.debtor_bic = batch.debtor_bic.trim().to_owned();
        if let Some(p) = field_problem("bic", &batch.debtor_bic, today) {
            return Err(input(at("debtorBic"), p));
        }
        if let Some(address) = &batch.debtor_address {
            address_fields(&at("debtorAddress"), address)?;
        }
        if batch.payments.is_empty() {
            return Err(input(at("payments"), "a batch needs at least one payment"));
        }
        for (p, payment) in batch.payments.iter_mut().enumerate() {
            payment_number += 1;
            let at = |f: &str| format!("batches[{b}].payments[{p}].{f}");
            payment.end_to_end_id = payment.end_to_end_id.trim().to_owned();
            if payment.end_to_end_id.is_empty() {
                payment.end_to_end_id = format!("{message_id}-{payment_number}");
            }
            if let Some(problem) = identifier_problem(&payment.end_to_end_id) {
                return Err(input(at("endToEndId"), problem));
            }
            payment.amount = payment.amount.trim().to_owned();
            if let Some(problem) = field_problem("amount", &payment.amount, today) {
                return Err(input(at("amount"), problem));
            }
            // Written as banks expect it: digits, a point, exactly two decimals.
            let mut amount =
                Decimal::from_str_exact(&payment.amount).map_err(|e| input(at("amount"), e.to_string()))?;
            amount.rescale(2);
            payment.amount = amount.to_string();
            payment.currency = payment.currency.trim().to_ascii_uppercase();
            if payment.currency.is_empty() {
                payment.currency = "EUR".into();
            }
            if !(payment.currency.len() == 3 && payment.currency.bytes().all(|c| c.is_ascii_uppercase())) {
                return Err(input(at("currency"), "must be a three-letter ISO 4217 code"));
            }
            payment.creditor_name = payment.creditor_name.trim().to_owned();
            text_field(&at("creditorName"), &payment.creditor_name, MAX_NAME, true)?;
            payment.creditor_iban = payment.creditor_iban.split_whitespace().collect();
            if let Some(problem) = iban_problem(&payment.creditor_iban) {
                return Err(input(at("creditorIban"), problem));
            }
            payment.creditor_bic = payment.creditor_bic.trim().to_owned();
            if let Some(problem) = field_problem("bic", &payment.creditor_bic, today) {
                return Err(input(at("creditorBic"), problem));
            }
            if let Some(address) = &payment.creditor_address {
                address_fields(&at("creditorAddress"), address)?;
            }
            payment.remittance = payment.remittance.trim().to_owned();
            text_field(&at("remittance"), &payment.remittance, MAX_REMITTANCE, false)?;
        }
    }
    Ok(order)
}

pub(crate) fn element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name).write_text_content(BytesText::new(text))?;
    Ok(())
}

fn address(w: &mut Writer<Vec<u8>>, address: &NewAddress) -> io::Result<()> {
    w.create_element("PstlAdr").write_inner_content(|w| {
        for (name, value) in [
            ("StrtNm", &address.street),
            ("BldgNb", &address.building),
            ("PstCd", &address.post_code),
            ("TwnNm", &address.town),
            ("Ctry", &address.country),
        ] {
            if !value.is_empty() {
                element(w, name, value)?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

fn party(w: &mut Writer<Vec<u8>>, tag: &str, name: &str, addr: Option<&NewAddress>) -> io::Result<()> {
    w.create_element(tag).write_inner_content(|w| {
        element(w, "Nm", name)?;
        if let Some(a) = addr {
            address(w, a)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn iban_account(w: &mut Writer<Vec<u8>>, tag: &str, iban: &str) -> io::Result<()> {
    w.create_element(tag).write_inner_content(|w| {
        w.create_element("Id")
            .write_inner_content(|w| element(w, "IBAN", iban))?;
        Ok(())
    })?;
    Ok(())
}

fn agent(w: &mut Writer<Vec<u8>>, tag: &str, bic: &str) -> io::Result<()> {
    w.create_element(tag).write_inner_content(|w| {
        w.create_element("FinInstnId").write_inner_content(|w| {
            if bic.is_empty() {
                w.create_element("Othr")
                    .write_inner_content(|w| element(w, "Id", super::checks::NOT_PROVIDED))?;
                Ok(())
            } else {
                element(w, "BICFI", bic)
            }
        })?;
        Ok(())
    })?;
    Ok(())
}

fn sum(payments: &[NewPayment]) -> Decimal {
    payments
        .iter()
        .filter_map(|p| Decimal::from_str_exact(&p.amount).ok())
        .sum()
}

fn xml(order: &NewOrder, created: &str) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let all = order.batches.iter().map(|b| b.payments.len()).sum::<usize>();
    let total: Decimal = order.batches.iter().map(|b| sum(&b.payments)).sum();
    w.create_element("Document")
        .with_attribute(("xmlns", Version::V09.namespace()))
        .write_inner_content(|w| {
            w.create_element("CstmrCdtTrfInitn").write_inner_content(|w| {
                w.create_element("GrpHdr").write_inner_content(|w| {
                    element(w, "MsgId", &order.message_id)?;
                    element(w, "CreDtTm", created)?;
                    element(w, "NbOfTxs", &all.to_string())?;
                    element(w, "CtrlSum", &total.to_string())?;
                    w.create_element("InitgPty")
                        .write_inner_content(|w| element(w, "Nm", &order.initiating_party))?;
                    Ok(())
                })?;
                for batch in &order.batches {
                    w.create_element("PmtInf").write_inner_content(|w| {
                        element(w, "PmtInfId", &batch.id)?;
                        element(w, "PmtMtd", "TRF")?;
                        element(w, "NbOfTxs", &batch.payments.len().to_string())?;
                        element(w, "CtrlSum", &sum(&batch.payments).to_string())?;
                        w.create_element("PmtTpInf").write_inner_content(|w| {
                            w.create_element("SvcLvl")
                                .write_inner_content(|w| element(w, "Cd", "SEPA"))?;
                            Ok(())
                        })?;
                        w.create_element("ReqdExctnDt")
                            .write_inner_content(|w| element(w, "Dt", &batch.execution_date))?;
                        party(w, "Dbtr", &batch.debtor_name, batch.debtor_address.as_ref())?;
                        iban_account(w, "DbtrAcct", &batch.debtor_iban)?;
                        agent(w, "DbtrAgt", &batch.debtor_bic)?;
                        element(w, "ChrgBr", "SLEV")?;
                        for payment in &batch.payments {
                            w.create_element("CdtTrfTxInf").write_inner_content(|w| {
                                w.create_element("PmtId")
                                    .write_inner_content(|w| element(w, "EndToEndId", &payment.end_to_end_id))?;
                                w.create_element("Amt").write_inner_content(|w| {
                                    w.create_element("InstdAmt")
                                        .with_attribute(("Ccy", payment.currency.as_str()))
                                        .write_text_content(BytesText::new(&payment.amount))?;
                                    Ok(())
                                })?;
                                if !payment.creditor_bic.is_empty() {
                                    agent(w, "CdtrAgt", &payment.creditor_bic)?;
                                }
                                party(w, "Cdtr", &payment.creditor_name, payment.creditor_address.as_ref())?;
                                iban_account(w, "CdtrAcct", &payment.creditor_iban)?;
                                if !payment.remittance.is_empty() {
                                    w.create_element("RmtInf")
                                        .write_inner_content(|w| element(w, "Ustrd", &payment.remittance))?;
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
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes `order` as pain.001.001.09, created at `now`, and checks what was
/// written. Returns the bytes and the checked order.
pub fn write(order: &NewOrder, now: time::OffsetDateTime) -> Result<(Vec<u8>, CheckedOrder), OrderError> {
    let order = completed(order, now)?;
    let created = now
        .replace_nanosecond(0)
        .map_err(|e| input("created", e.to_string()))?
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| input("created", e.to_string()))?;
    let bytes = xml(&order, &created).map_err(|e| input("file", e.to_string()))?;
    let checked = super::check(&bytes, now.date())?;
    Ok((bytes, checked))
}

/// [`write`] at the current time.
pub fn write_now(order: &NewOrder) -> Result<(Vec<u8>, CheckedOrder), OrderError> {
    write(order, time::OffsetDateTime::now_utc())
}
