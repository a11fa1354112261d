//! New orders from files of transactions, for `signet orders new`: JSON in
//! the shape of [`NewOrder`], or CSV with one payment a row. CSV rows are
//! grouped into batches by debtor account, debtor name, debtor BIC and
//! execution date, in the order they first appear.
//!
//! CSV columns (a header row names them, in any order; the optional ones
//! may be left out): `execution_date`, `debtor_name`, `debtor_iban`,
//! `debtor_bic`?, `creditor_name`, `creditor_iban`, `creditor_bic`?,
//! `amount`, `currency`?, `remittance`?, `end_to_end_id`?.

use serde::Deserialize;

use super::{NewBatch, NewOrder, NewPayment, OrderError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    execution_date: String,
    debtor_name: String,
    debtor_iban: String,
    #[serde(default)]
    debtor_bic: String,
    creditor_name: String,
    creditor_iban: String,
    #[serde(default)]
    creditor_bic: String,
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    remittance: String,
    #[serde(default)]
    end_to_end_id: String,
}

fn input(field: impl Into<String>, problem: impl Into<String>) -> OrderError {
    OrderError::Input {
        field: field.into(),
        problem: problem.into(),
    }
}

/// An order from JSON.
pub fn from_json(bytes: &[u8]) -> Result<NewOrder, OrderError> {
    serde_json::from_slice(bytes).map_err(|e| input(format!("line {}", e.line()), e.to_string()))
}

/// An order from CSV rows; `initiating_party` may be empty.
pub fn from_csv(bytes: &[u8], initiating_party: &str) -> Result<NewOrder, OrderError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(bytes);
    let mut order = NewOrder {
        initiating_party: initiating_party.to_owned(),
        ..NewOrder::default()
    };
    for (i, row) in reader.deserialize::<Row>().enumerate() {
        let row = row.map_err(|e| {
            let line = e
                .position()
                .map_or(i + 2, |p| usize::try_from(p.line()).unwrap_or(i + 2));
            input(format!("line {line}"), e.to_string())
        })?;
        let key = (&row.debtor_iban, &row.debtor_name, &row.debtor_bic, &row.execution_date);
        let batch = match order
            .batches
            .iter()
            .position(|b| (&b.debtor_iban, &b.debtor_name, &b.debtor_bic, &b.execution_date) == key)
        {
            Some(index) => &mut order.batches[index],
            None => {
                order.batches.push(NewBatch {
                    execution_date: row.execution_date.clone(),
                    debtor_name: row.debtor_name.clone(),
                    debtor_iban: row.debtor_iban.clone(),
                    debtor_bic: row.debtor_bic.clone(),
                    ..NewBatch::default()
                });
                let last = order.batches.len() - 1;
                &mut order.batches[last]
            }
        };
        batch.payments.push(NewPayment {
            end_to_end_id: row.end_to_end_id,
            amount: row.amount,
            currency: row.currency,
            creditor_name: row.creditor_name,
            creditor_iban: row.creditor_iban,
            creditor_bic: row.creditor_bic,
            creditor_address: None,
            remittance: row.remittance,
        });
    }
    if order.batches.is_empty() {
        return Err(input("file", "no transactions in it"));
    }
    Ok(order)
}
