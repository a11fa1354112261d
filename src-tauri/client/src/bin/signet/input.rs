//! Pass phrases and consent phrases: from a hidden prompt on the terminal or
//! from a file, never from the command line (where `ps` and shell history
//! would keep them).

use std::io::IsTerminal;
use std::path::Path;

use signet_client::passphrase;
use signet_client::{ClientError, Result};
use signet_schema::protocol::Passphrase;
use zeroize::Zeroizing;

/// The first line of `path`, without its line ending.
fn first_line(path: &Path) -> Result<Zeroizing<String>> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| ClientError::file(path, e))?);
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(ClientError::input(
            path.display().to_string(),
            "the first line is empty: put the pass phrase on it",
        ));
    }
    Ok(Zeroizing::new(line.to_string()))
}

fn prompt(label: &str, flag: &str) -> Result<Zeroizing<String>> {
    if !std::io::stdin().is_terminal() && !Path::new("/dev/tty").exists() {
        return Err(ClientError::input(
            flag,
            format!("no terminal to ask on: give {flag} FILE"),
        ));
    }
    let text = rpassword::prompt_password(format!("{label}: ")).map_err(|e| {
        ClientError::input(
            flag,
            format!("could not read from the terminal ({e}): give {flag} FILE"),
        )
    })?;
    Ok(Zeroizing::new(text))
}

/// The current pass phrase, from `file` or a hidden prompt.
pub fn passphrase(file: Option<&Path>, label: &str) -> Result<Passphrase> {
    let text = match file {
        Some(path) => first_line(path)?,
        None => prompt(label, "--passphrase-file")?,
    };
    Ok(Passphrase::new(text.to_string()))
}

/// A new pass phrase: from `file`, or typed twice; refused unless strong enough.
pub fn new_passphrase(file: Option<&Path>, personal: &[&str]) -> Result<Passphrase> {
    let text = match file {
        Some(path) => first_line(path)?,
        None => {
            let first = prompt("New pass phrase (at least 15 characters)", "--new-passphrase-file")?;
            let second = prompt("The same pass phrase again", "--new-passphrase-file")?;
            if *first != *second {
                return Err(ClientError::input(
                    "pass phrase",
                    "the two entries differ: nothing was changed",
                ));
            }
            first
        }
    };
    let strength = passphrase::assess(&text, personal);
    if !strength.acceptable {
        let mut message = strength.problems.join("; ");
        if !strength.suggestions.is_empty() {
            message = format!("{message} ({})", strength.suggestions.join(" "));
        }
        return Err(ClientError::input(
            "pass phrase",
            format!("not strong enough: {message}"),
        ));
    }
    Ok(Passphrase::new(text.to_string()))
}

/// The consent phrase from the letter, from `file` or a hidden prompt.
pub fn consent_phrase(file: Option<&Path>) -> Result<Zeroizing<String>> {
    match file {
        Some(path) => first_line(path),
        None => prompt("Consent phrase from your letter", "--phrase-file"),
    }
}

/// Asks a yes/no question on the terminal; `false` without one.
pub fn confirm(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes" | "YES")
}
