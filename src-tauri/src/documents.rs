//! What gets signed: a payment order typed into the form (turned into a
//! document here, in Rust) or a file the person chose; its summary is made
//! from the exact bytes that will be signed, and those bytes — not a copy
//! from the page — are what the signer receives.
//!
//! Signed documents and their `.p7s` signatures are written under
//! `~/Signet/signed/`; nothing key-related is ever written to disk.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{CommandError, CommandResult};

/// A document ready to be signed.
#[derive(Clone, Debug)]
pub struct PreparedDocument {
    /// Handle the page uses to confirm.
    pub id: String,
    /// File name to save it under.
    pub name: String,
    /// The exact bytes to sign.
    pub bytes: Vec<u8>,
    /// What the person confirms.
    pub summary: DocumentSummary,
}

/// What the person sees before confirming.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DocumentSummary {
    /// Handle to confirm with.
    pub id: String,
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: usize,
    /// SHA-256 of the bytes, upper-case hex.
    pub sha256: String,
    /// Key facts, label and value (for a payment order).
    pub facts: Vec<(String, String)>,
    /// The start of the text, when it is text.
    pub preview: Option<String>,
}

/// The payment-order form.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentOrderForm {
    /// Paying account holder.
    pub debtor_name: String,
    /// Paying account (IBAN).
    pub debtor_iban: String,
    /// Payee.
    pub creditor_name: String,
    /// Payee's account (IBAN).
    pub creditor_iban: String,
    /// Amount, e.g. `1250.00`.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Remittance information.
    pub reference: String,
    /// Requested execution date, `YYYY-MM-DD`.
    pub execution_date: String,
}

/// An IBAN without spaces, upper case, if its ISO 13616 check digits hold.
pub fn iban(field: &str, text: &str) -> CommandResult<String> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    let shaped = (15..=34).contains(&compact.len())
        && compact.chars().take(2).all(|c| c.is_ascii_uppercase())
        && compact.chars().skip(2).take(2).all(|c| c.is_ascii_digit())
        && compact.chars().all(|c| c.is_ascii_alphanumeric());
    if !shaped {
        return Err(CommandError::input(
            field,
            "an IBAN is 15 to 34 letters and digits, starting with a country code",
        ));
    }
    // Move the first four characters to the end, letters to numbers, mod 97 = 1.
    let rearranged = compact[4..].chars().chain(compact[..4].chars());
    let mut remainder: u32 = 0;
    for c in rearranged {
        let value = c.to_digit(36).unwrap_or(0);
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    if remainder != 1 {
        return Err(CommandError::input(
            field,
            "the IBAN's check digits are wrong: check for a typo",
        ));
    }
    Ok(compact)
}

/// An amount with at most two decimals, above zero, in cents.
pub fn amount_cents(text: &str) -> CommandResult<u64> {
    let text = text.trim().replace(',', "");
    let (units, cents) = match text.split_once('.') {
        Some((units, cents)) if !cents.is_empty() && cents.len() <= 2 => (units, format!("{cents:0<2}")),
        Some(_) => return Err(CommandError::input("amount", "use at most two decimals, e.g. 1250.00")),
        None => (text.as_str(), "00".to_string()),
    };
    let parse = |s: &str| {
        s.parse::<u64>()
            .ok()
            .filter(|_| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
    };
    match (parse(units), parse(&cents)) {
        (Some(units), Some(cents)) if units < 1_000_000_000_000 && units * 100 + cents > 0 => Ok(units * 100 + cents),
        _ => Err(CommandError::input("amount", "give an amount above zero, e.g. 1250.00")),
    }
}

fn xml_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn required(field: &str, text: &str, max: usize) -> CommandResult<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(CommandError::input(
            field,
            format!("required, at most {max} characters"),
        ));
    }
    Ok(text.to_string())
}

/// Cents grouped for reading, `1,250.00`.
fn grouped(cents: u64) -> String {
    let units = (cents / 100).to_string();
    let mut out = String::new();
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out}.{:02}", cents % 100)
}

/// Turns the form into a payment-order document (ISO 20022 pain.001 shape)
/// and its summary; `message_id` names it.
pub fn payment_order(form: &PaymentOrderForm, message_id: &str, now: i64) -> CommandResult<PreparedDocument> {
    let debtor_name = required("debtor name", &form.debtor_name, 70)?;
    let creditor_name = required("payee", &form.creditor_name, 70)?;
    let debtor_iban = iban("paying account", &form.debtor_iban)?;
    let creditor_iban = iban("payee's account", &form.creditor_iban)?;
    let cents = amount_cents(&form.amount)?;
    let currency = form.currency.trim().to_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(CommandError::input(
            "currency",
            "a three-letter code such as EUR or GBP",
        ));
    }
    let reference = form.reference.trim().to_string();
    if reference.chars().count() > 140 {
        return Err(CommandError::input("reference", "at most 140 characters"));
    }
    let execution = signet_schema::time::parse_date(&form.execution_date)
        .ok_or_else(|| CommandError::input("execution date", "a date as YYYY-MM-DD"))?;
    if execution + 86_400 <= now {
        return Err(CommandError::input("execution date", "the date is in the past"));
    }
    let date = signet_schema::time::date(execution);
    let created = signet_schema::time::date_time(now).replace(' ', "T");
    let amount = format!("{}.{:02}", cents / 100, cents % 100);
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09\">\n\
  <CstmrCdtTrfInitn>\n\
    <GrpHdr><MsgId>{id}</MsgId><CreDtTm>{created}</CreDtTm><NbOfTxs>1</NbOfTxs><CtrlSum>{amount}</CtrlSum>\
<InitgPty><Nm>{debtor}</Nm></InitgPty></GrpHdr>\n\
    <PmtInf><PmtInfId>{id}</PmtInfId><PmtMtd>TRF</PmtMtd><ReqdExctnDt><Dt>{date}</Dt></ReqdExctnDt>\
<Dbtr><Nm>{debtor}</Nm></Dbtr><DbtrAcct><Id><IBAN>{debtor_iban}</IBAN></Id></DbtrAcct>\n\
      <CdtTrfTxInf><PmtId><EndToEndId>{id}</EndToEndId></PmtId>\
<Amt><InstdAmt Ccy=\"{currency}\">{amount}</InstdAmt></Amt><Cdtr><Nm>{creditor}</Nm></Cdtr>\
<CdtrAcct><Id><IBAN>{creditor_iban}</IBAN></Id></CdtrAcct><RmtInf><Ustrd>{reference}</Ustrd></RmtInf></CdtTrfTxInf>\n\
    </PmtInf>\n\
  </CstmrCdtTrfInitn>\n\
</Document>\n",
        id = xml_text(message_id),
        debtor = xml_text(&debtor_name),
        creditor = xml_text(&creditor_name),
        reference = xml_text(&reference),
    );
    let facts = vec![
        ("Pay".to_string(), format!("{} {currency}", grouped(cents))),
        (
            "To".to_string(),
            format!("{creditor_name} ({})", spaced(&creditor_iban)),
        ),
        ("From".to_string(), format!("{debtor_name} ({})", spaced(&debtor_iban))),
        ("On".to_string(), date),
        (
            "Reference".to_string(),
            if reference.is_empty() { "-".into() } else { reference },
        ),
        ("Order id".to_string(), message_id.to_string()),
    ];
    Ok(prepared(format!("{message_id}.xml"), xml.into_bytes(), facts))
}

/// An IBAN in groups of four, as printed.
fn spaced(iban: &str) -> String {
    iban.as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A file the person chose, as it is.
pub fn file(name: &str, bytes: Vec<u8>) -> CommandResult<PreparedDocument> {
    const MAX: usize = 8 * 1024 * 1024;
    if bytes.is_empty() {
        return Err(CommandError::input("file", "the file is empty"));
    }
    if bytes.len() > MAX {
        return Err(CommandError::input(
            "file",
            "files up to 8 MiB can be signed here; use `signet sign` for larger ones",
        ));
    }
    let name = Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && !n.starts_with('.'))
        .unwrap_or("document")
        .to_string();
    Ok(prepared(name, bytes, Vec::new()))
}

fn prepared(name: String, bytes: Vec<u8>, facts: Vec<(String, String)>) -> PreparedDocument {
    let sha256 = hex::encode_upper(Sha256::digest(&bytes));
    let id = sha256[..16].to_string();
    let preview = std::str::from_utf8(&bytes)
        .ok()
        .map(|text| text.lines().take(40).collect::<Vec<_>>().join("\n"));
    let summary = DocumentSummary {
        id: id.clone(),
        name: name.clone(),
        size: bytes.len(),
        sha256,
        facts,
        preview,
    };
    PreparedDocument {
        id,
        name,
        bytes,
        summary,
    }
}

/// `dir/name`, or `dir/stem (2).ext` and so on when taken.
pub fn unused_path(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) => (stem.to_string(), format!(".{extension}")),
        None => (name.to_string(), String::new()),
    };
    (2..)
        .map(|n| dir.join(format!("{stem} ({n}){extension}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

/// Writes through a temporary file and a rename: complete or absent.
pub fn write_file(path: &Path, bytes: &[u8]) -> CommandResult<()> {
    let fail = |e: std::io::Error| CommandError::new("file", format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut temporary = path.as_os_str().to_os_string();
    temporary.push(".partial");
    std::fs::write(&temporary, bytes).map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> PaymentOrderForm {
        PaymentOrderForm {
            debtor_name: "Example Bank Payments".into(),
            debtor_iban: "GB82 WEST 1234 5698 7654 32".into(),
            creditor_name: "ACME <Supplies> & Co".into(),
            creditor_iban: "DE89370400440532013000".into(),
            amount: "1,250.5".into(),
            currency: "eur".into(),
            reference: "Invoice 4711".into(),
            execution_date: "2026-12-01".into(),
        }
    }

    #[test]
    fn ibans_are_checked_with_iso_13616_digits() {
        assert_eq!(
            iban("x", "GB82 WEST 1234 5698 7654 32").ok().as_deref(),
            Some("GB82WEST12345698765432")
        );
        assert!(iban("x", "GB83 WEST 1234 5698 7654 32").is_err());
        assert!(iban("x", "not an iban").is_err());
    }

    #[test]
    fn amounts_are_whole_cents_above_zero() {
        assert_eq!(amount_cents("1,250.5").ok(), Some(125_050));
        assert_eq!(amount_cents("7").ok(), Some(700));
        for bad in ["0", "0.00", "1.234", "-5", "abc", "", "1.", "1e3"] {
            assert!(amount_cents(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_order_is_escaped_and_summarised_from_its_own_bytes() {
        let order = payment_order(&form(), "SGN-1", 1_795_000_000).expect("order");
        let text = String::from_utf8(order.bytes.clone()).expect("utf-8");
        assert!(text.contains("ACME &lt;Supplies&gt; &amp; Co"));
        assert!(text.contains("<InstdAmt Ccy=\"EUR\">1250.50</InstdAmt>"));
        assert_eq!(order.summary.sha256, hex::encode_upper(Sha256::digest(&order.bytes)));
        assert!(order.summary.facts.contains(&("Pay".into(), "1,250.50 EUR".into())));
        let mut late = form();
        late.execution_date = "2020-01-01".into();
        assert!(payment_order(&late, "SGN-2", 1_795_000_000).is_err());
    }
}
