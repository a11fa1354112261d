//! What a failed command tells the webview: a stable code to branch on and a
//! message that says what happened and what to do. Details stay in the log.

use serde::Serialize;
use signet_client::ClientError;

/// A command's failure, as the UI receives it.
#[derive(Debug, Serialize, thiserror::Error)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[error("{message}")]
pub struct CommandError {
    /// Stable code (`signin-failed`, `locked`, `unreachable`, …).
    pub code: String,
    /// For a person.
    pub message: String,
}

impl CommandError {
    /// A failure with `code` and `message`.
    pub fn new(code: &str, message: impl Into<String>) -> CommandError {
        CommandError {
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// Nobody is signed in.
    pub fn not_signed_in() -> CommandError {
        CommandError::new(
            "not-signed-in",
            "You are not signed in (or were signed out after a pause): sign in again.",
        )
    }

    /// Bad input in a field.
    pub fn input(field: &str, message: impl Into<String>) -> CommandError {
        CommandError::new("bad-input", format!("{field}: {}", message.into()))
    }
}

impl From<ClientError> for CommandError {
    fn from(error: ClientError) -> Self {
        tracing::info!(code = error.code(), "command failed: {error}");
        CommandError::new(error.code(), error.to_string())
    }
}

/// What every command returns.
pub type CommandResult<T> = Result<T, CommandError>;
