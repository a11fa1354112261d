//! What is shown before signing, built only from the order read from the
//! exact bytes and from the bytes' SHA-256: totals per currency and per
//! debtor account, the number of payments, the largest ones, the execution
//! dates, and every payment as a row for the searchable table.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Account, Amount, Order};

/// How many of the largest payments the summary lists.
pub const LARGEST: usize = 5;

/// A total in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CurrencyTotal {
    /// ISO 4217 code.
    pub currency: String,
    /// The sum, exact, as a decimal string.
    pub amount: String,
    /// How many payments.
    pub payments: usize,
}

/// A total from one debtor account in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AccountTotal {
    /// The debtor's IBAN.
    pub account: String,
    /// The debtor's name.
    pub debtor: String,
    /// ISO 4217 code.
    pub currency: String,
    /// The sum, as a decimal string.
    pub amount: String,
    /// How many payments.
    pub payments: usize,
}

/// One payment, as a row of the table shown before signing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PaymentRow {
    /// Position in the file, from 1.
    pub number: usize,
    /// Its batch (`PmtInfId`).
    pub batch: String,
    /// `EndToEndId`.
    pub end_to_end_id: String,
    /// Requested execution date.
    pub execution_date: String,
    /// The paying account.
    pub debtor_account: String,
    /// Payee.
    pub creditor: String,
    /// Payee's account.
    pub creditor_account: String,
    /// Amount, as a decimal string.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Remittance information.
    pub remittance: String,
}

/// The summary of a checked order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// `pain.001.001.09` or `pain.001.001.03`.
    pub version: String,
    /// `MsgId`.
    pub message_id: String,
    /// `CreDtTm`, as written.
    pub created: String,
    /// Who initiates it, when named.
    pub initiating_party: Option<String>,
    /// Size of the file in bytes.
    pub size: usize,
    /// SHA-256 of the exact bytes, upper-case hex.
    pub sha256: String,
    /// Number of payments.
    pub payments: usize,
    /// Number of payment-information blocks.
    pub batches: usize,
    /// Totals per currency.
    pub totals: Vec<CurrencyTotal>,
    /// Totals per debtor account and currency.
    pub accounts: Vec<AccountTotal>,
    /// The distinct execution dates, earliest first.
    pub execution_dates: Vec<String>,
    /// The largest payments, largest first.
    pub largest: Vec<PaymentRow>,
    /// Every payment, in file order.
    pub rows: Vec<PaymentRow>,
}

impl Summary {
    /// The summary of `order`, read from `bytes`.
    pub fn of(order: &Order, bytes: &[u8]) -> Summary {
        let mut totals: BTreeMap<&str, (Decimal, usize)> = BTreeMap::new();
        let mut accounts: BTreeMap<(&str, &str), (String, Decimal, usize)> = BTreeMap::new();
        let mut dates: Vec<String> = Vec::new();
        let mut rows = Vec::new();
        let mut amounts = Vec::new();
        for (batch, payment) in order.payments() {
            let (value, currency) = match &payment.amount {
                Amount::Instructed { value, currency } => (*value, currency.as_str()),
                Amount::Equivalent => (Decimal::ZERO, ""),
            };
            let total = totals.entry(currency).or_default();
            total.0 += value;
            total.1 += 1;
            let account = accounts
                .entry((batch.debtor_account.as_str(), currency))
                .or_insert_with(|| (batch.debtor.name.clone().unwrap_or_default(), Decimal::ZERO, 0));
            account.1 += value;
            account.2 += 1;
            if !dates.contains(&batch.execution_date) {
                dates.push(batch.execution_date.clone());
            }
            amounts.push((value, rows.len()));
            rows.push(PaymentRow {
                number: payment.number,
                batch: batch.id.clone(),
                end_to_end_id: payment.end_to_end_id.clone(),
                execution_date: batch.execution_date.clone(),
                debtor_account: batch.debtor_account.as_str().to_owned(),
                creditor: payment.creditor.name.clone().unwrap_or_default(),
                creditor_account: payment
                    .creditor_account
                    .as_ref()
                    .map(Account::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                amount: value.to_string(),
                currency: currency.to_owned(),
                remittance: payment.remittance.clone().unwrap_or_default(),
            });
        }
        dates.sort();
        // Largest first; among equal amounts, file order.
        amounts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let largest = amounts.iter().take(LARGEST).map(|&(_, i)| rows[i].clone()).collect();
        Summary {
            version: order.version.as_str().to_owned(),
            message_id: order.message_id.clone(),
            created: order.created.clone(),
            initiating_party: order.initiating_party.clone(),
            size: bytes.len(),
            sha256: hex::encode_upper(Sha256::digest(bytes)),
            payments: rows.len(),
            batches: order.batches.len(),
            totals: totals
                .into_iter()
                .map(|(currency, (amount, payments))| CurrencyTotal {
                    currency: currency.to_owned(),
                    amount: amount.to_string(),
                    payments,
                })
                .collect(),
            accounts: accounts
                .into_iter()
                .map(|((account, currency), (debtor, amount, payments))| AccountTotal {
                    account: account.to_owned(),
                    debtor,
                    currency: currency.to_owned(),
                    amount: amount.to_string(),
                    payments,
                })
                .collect(),
            execution_dates: dates,
            largest,
            rows,
        }
    }

    /// The summary as lines for a terminal.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!("{} {} created {}", self.version, self.message_id, self.created),
            format!(
                "{} payment(s) in {} batch(es), to be executed on {}",
                self.payments,
                self.batches,
                self.execution_dates.join(", ")
            ),
        ];
        for total in &self.totals {
            out.push(format!(
                "total {} {} ({} payment(s))",
                total.amount, total.currency, total.payments
            ));
        }
        for account in &self.accounts {
            out.push(format!(
                "from {} ({}): {} {} ({} payment(s))",
                account.account, account.debtor, account.amount, account.currency, account.payments
            ));
        }
        for row in &self.largest {
            out.push(format!(
                "largest: {} {} to {} ({}), {}",
                row.amount, row.currency, row.creditor, row.creditor_account, row.end_to_end_id
            ));
        }
        out.push(format!("SHA-256 {}", self.sha256));
        out
    }
}
