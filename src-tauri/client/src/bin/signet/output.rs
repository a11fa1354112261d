//! What the command line prints: aligned tables for people, CSV for
//! spreadsheets, and certificate summaries.

use std::io::Write;

use der::Decode;
use signet_schema::time::date_time;
use x509_cert::Certificate;

/// Prints `rows` under `header` as aligned columns, or as CSV (RFC 4180).
pub fn table(header: &[&str], rows: &[Vec<String>], csv: bool) {
    let mut out = std::io::stdout().lock();
    if csv {
        let line = |cells: Vec<String>| cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",");
        let _ = writeln!(out, "{}", line(header.iter().map(|h| h.to_string()).collect()));
        for row in rows {
            let _ = writeln!(out, "{}", line(row.clone()));
        }
        return;
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(
        out,
        "{}",
        line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>())
    );
    for row in rows {
        let _ = writeln!(out, "{}", line(row));
    }
    if rows.is_empty() {
        let _ = writeln!(out, "(none)");
    }
}

/// One CSV field: quoted when it holds a comma, quote or line break; a
/// leading `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet does
/// not run it as a formula.
pub fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// A time for a listing, or `-`.
pub fn when(unix: Option<i64>) -> String {
    unix.map(date_time).unwrap_or_else(|| "-".into())
}

/// A few lines about a certificate.
pub fn certificate_summary(der: &[u8]) -> String {
    match Certificate::from_der(der) {
        Ok(certificate) => {
            let tbs = certificate.tbs_certificate();
            let validity = tbs.validity();
            let digest = <sha2::Sha256 as sha2::Digest>::digest(der);
            format!(
                "subject:      {}\nissuer:       {}\nserial:       {}\nvalid:        {} to {}\nSHA-256:      {}",
                tbs.subject(),
                tbs.issuer(),
                hex::encode_upper(tbs.serial_number().as_bytes()),
                validity.not_before,
                validity.not_after,
                hex::encode_upper(digest)
            )
        }
        Err(e) => format!("(the certificate does not parse: {e})"),
    }
}

/// PEM of a DER certificate.
pub fn certificate_pem(der: &[u8]) -> String {
    use der::EncodePem;
    Certificate::from_der(der)
        .and_then(|c| c.to_pem(der::pem::LineEnding::LF))
        .unwrap_or_else(|_| String::new())
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
