//! What gets signed in the app: a payment order composed in the form or a
//! pain.001 file the person chose. Both go through
//! `signet_client::orders` (schema, bank checks, summary of the exact
//! bytes); the shell keeps the bytes between review and confirmation, so
//! what the signer receives is what the summary was made from, never a
//! copy from the page.

use serde::Serialize;
use signet_client::orders::{self, CheckedOrder, NewOrder, Summary};

use crate::error::{CommandError, CommandResult};

/// The largest file the page may hand over.
pub const MAX_FILE_BYTES: usize = orders::xsd::MAX_ORDER_BYTES;

/// An order ready to be signed, kept in the shell.
#[derive(Clone, Debug)]
pub struct PreparedOrder {
    /// Handle the page confirms with.
    pub id: String,
    /// File name to save it under.
    pub name: String,
    /// The exact bytes to sign.
    pub bytes: Vec<u8>,
    /// What they say and their summary, which the person confirms.
    pub checked: CheckedOrder,
}

/// What the page shows before confirming.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct OrderReview {
    /// Handle to confirm with.
    pub id: String,
    /// File name.
    pub name: String,
    /// The summary of the exact bytes.
    pub summary: Summary,
}

impl PreparedOrder {
    /// What the page shows.
    pub fn review(&self) -> OrderReview {
        OrderReview {
            id: self.id.clone(),
            name: self.name.clone(),
            summary: self.checked.summary.clone(),
        }
    }
}

fn handle() -> CommandResult<String> {
    Ok(signet_client::session::random_nonce()?)
}

/// A new pain.001.001.09 order from the form.
pub fn compose(order: &NewOrder) -> CommandResult<PreparedOrder> {
    let (bytes, checked) = orders::write::write_now(order).map_err(signet_client::ClientError::from)?;
    Ok(PreparedOrder {
        id: handle()?,
        name: format!("{}.xml", checked.summary.message_id.replace('/', "-")),
        bytes,
        checked,
    })
}

/// A file the person chose, checked as it is.
pub fn import(name: &str, bytes: Vec<u8>) -> CommandResult<PreparedOrder> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(CommandError::input(
            "file",
            format!("the file is larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    import_checked(name, bytes).map_err(|e| signet_client::ClientError::from(e).into())
}

/// [`import`], with the order's own error (its lines name each problem).
pub fn import_checked(name: &str, bytes: Vec<u8>) -> Result<PreparedOrder, orders::OrderError> {
    let checked = orders::check(&bytes, orders::today())?;
    // A plain file name (the page's, or one made from the message id); it
    // is made safe again where it is saved.
    let name = std::path::Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && !n.starts_with('.'))
        .unwrap_or_else(|| format!("{}.xml", checked.summary.message_id));
    let id = signet_client::session::random_nonce().map_err(|e| orders::OrderError::Input {
        field: "handle".into(),
        problem: e.to_string(),
    })?;
    Ok(PreparedOrder {
        id,
        name,
        bytes,
        checked,
    })
}
