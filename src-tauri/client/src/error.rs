//! One error type for the client: what happened, in words a person can act
//! on, with a stable code for the desktop app and an exit code for scripts.

use crate::child::ChildError;
use signet_schema::api::ApiErrorCode;
use signet_schema::protocol::ErrorCode as SignerCode;

use crate::tls::Fingerprint;

/// Everything that can go wrong on the client side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No key server has been set up on this computer yet.
    #[error("no key server is set up on this computer: connect to one first (`signet connect URL`)")]
    NotConfigured,
    /// The OS keyring (Secret Service, Keychain, Credential Manager) is not available.
    #[error(
        "the system keyring is not available ({0}); Signet keeps the server address and its pinned identity only \
         there: start your desktop's keyring (e.g. GNOME Keyring) and try again"
    )]
    Keyring(String),
    /// The key server could not be reached.
    #[error("cannot reach the key server at {url}: {detail}; check the address and your network, then try again")]
    Unreachable {
        /// The server's address.
        url: String,
        /// What the connection attempt reported.
        detail: String,
    },
    /// The server presented a certificate other than the pinned one.
    #[error(
        "the key server's identity has changed: it shows certificate {presented}, but this computer trusts \
         {pinned}; do not sign in — ask your help desk whether the server was replaced"
    )]
    IdentityChanged {
        /// The fingerprint confirmed on first use.
        pinned: Fingerprint,
        /// The one the server showed now.
        presented: Fingerprint,
    },
    /// The key server refused the request.
    #[error("{message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's stable error code.
        code: ApiErrorCode,
        /// The server's explanation.
        message: String,
    },
    /// The server's answer was not what the protocol says.
    #[error("the key server gave an answer this client does not understand: {0}")]
    UnexpectedAnswer(String),
    /// The signer program could not be found or started.
    #[error("the signing process could not be started: {0}; reinstall Signet")]
    SignerUnavailable(String),
    /// The signing core the key server delivered failed a check and was not run.
    #[error("the signing core the key server delivered was refused and did not run: {0}")]
    SignerRejected(String),
    /// The signer refused a request (wrong pass phrase, damaged record…).
    #[error("{message}")]
    SignerRefused {
        /// The signer's stable code.
        code: SignerCode,
        /// Its explanation.
        message: String,
    },
    /// The signer process broke off.
    #[error("the signing process stopped unexpectedly ({0}); sign in again")]
    SignerFailed(String),
    /// Bad local input: a field, a file, an argument.
    #[error("{field}: {message}")]
    Input {
        /// What was wrong.
        field: String,
        /// Why, and what to do.
        message: String,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// A signature or certificate did not verify.
    #[error("not valid: {0}")]
    NotValid(String),
    /// A payment order that may not be signed (schema, bank checks, form).
    #[error("payment order: {0}")]
    Order(#[from] crate::orders::OrderError),
    /// A document was signed and saved with its signature, but the history
    /// of signatures could not record it: signed, so not to be signed again.
    #[error("signed and saved ({signature_path}), but not recorded in the history of signatures: {source}")]
    NotRecorded {
        /// Where the signature was saved.
        signature_path: String,
        /// Why the history could not be written.
        source: Box<ClientError>,
    },
}

/// Exit codes of the `signet` command line, stable for scripts.
pub mod exit {
    /// Done.
    pub const OK: u8 = 0;
    /// The request was refused or failed for another reason.
    pub const FAILED: u8 = 1;
    /// The command line was wrong.
    pub const USAGE: u8 = 2;
    /// Wrong user id, pass phrase or consent phrase; account locked or revoked.
    pub const AUTHENTICATION: u8 = 3;
    /// The key server could not be reached, is unavailable, or asks to slow
    /// down: worth trying again later.
    pub const UNREACHABLE: u8 = 4;
    /// No server set up, or its identity changed.
    pub const SERVER_IDENTITY: u8 = 5;
    /// The OS keyring is not available.
    pub const KEYRING: u8 = 6;
    /// A signature, certificate or log did not verify.
    pub const NOT_VALID: u8 = 7;
    /// The signing process could not start or broke off.
    pub const SIGNER: u8 = 8;
}

impl ClientError {
    /// A stable code for the desktop app.
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::NotConfigured => "not-configured",
            ClientError::Keyring(_) => "keyring-unavailable",
            ClientError::Unreachable { .. } => "unreachable",
            ClientError::IdentityChanged { .. } => "identity-changed",
            ClientError::Server { code, .. } => match code {
                ApiErrorCode::SigninFailed => "signin-failed",
                ApiErrorCode::Locked => "locked",
                ApiErrorCode::Revoked => "revoked",
                ApiErrorCode::WrongPhrase => "wrong-phrase",
                ApiErrorCode::PhraseTypo => "phrase-typo",
                ApiErrorCode::LetterExpired => "letter-expired",
                ApiErrorCode::IdentityTaken => "identity-taken",
                ApiErrorCode::Forbidden => "forbidden",
                ApiErrorCode::RateLimited => "rate-limited",
                ApiErrorCode::Unavailable => "unavailable",
                ApiErrorCode::NotFound => "not-found",
                ApiErrorCode::WrongState => "wrong-state",
                ApiErrorCode::BadRequest => "bad-request",
                _ => "server-refused",
            },
            ClientError::UnexpectedAnswer(_) => "unexpected-answer",
            ClientError::SignerUnavailable(_) => "signer-unavailable",
            ClientError::SignerRejected(_) => "signer-rejected",
            ClientError::SignerRefused { code, .. } => match code {
                SignerCode::WrongPassphrase => "wrong-passphrase",
                SignerCode::KdfTooWeak => "kdf-too-weak",
                SignerCode::RecordInvalid => "record-invalid",
                SignerCode::ChannelRefused => "channel-refused",
                _ => "signer-refused",
            },
            ClientError::SignerFailed(_) => "signer-failed",
            ClientError::Input { .. } => "bad-input",
            ClientError::Order(crate::orders::OrderError::Input { .. }) => "bad-input",
            ClientError::Order(crate::orders::OrderError::Refused(_)) => "order-refused",
            ClientError::Order(_) => "order-invalid",
            ClientError::File { .. } => "file",
            ClientError::NotValid(_) => "not-valid",
            ClientError::NotRecorded { .. } => "not-recorded",
        }
    }

    /// The `signet` exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::NotConfigured | ClientError::IdentityChanged { .. } => exit::SERVER_IDENTITY,
            ClientError::Keyring(_) => exit::KEYRING,
            ClientError::Unreachable { .. } => exit::UNREACHABLE,
            ClientError::Server {
                code: ApiErrorCode::Unavailable | ApiErrorCode::RateLimited | ApiErrorCode::RequestTimeout,
                ..
            } => exit::UNREACHABLE,
            ClientError::Server { code, .. } if is_authentication(*code) => exit::AUTHENTICATION,
            ClientError::SignerRefused {
                code: SignerCode::WrongPassphrase,
                ..
            } => exit::AUTHENTICATION,
            ClientError::SignerUnavailable(_) | ClientError::SignerRejected(_) | ClientError::SignerFailed(_) => {
                exit::SIGNER
            }
            ClientError::NotValid(_) => exit::NOT_VALID,
            ClientError::Input { .. } => exit::USAGE,
            ClientError::Order(crate::orders::OrderError::Input { .. }) => exit::USAGE,
            _ => exit::FAILED,
        }
    }

    /// A local input error.
    pub fn input(field: impl Into<String>, message: impl Into<String>) -> ClientError {
        ClientError::Input {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A file error for `path`.
    pub fn file(path: &std::path::Path, source: std::io::Error) -> ClientError {
        ClientError::File {
            path: path.display().to_string(),
            source,
        }
    }
}

fn is_authentication(code: ApiErrorCode) -> bool {
    matches!(
        code,
        ApiErrorCode::SigninFailed
            | ApiErrorCode::Locked
            | ApiErrorCode::Revoked
            | ApiErrorCode::WrongPhrase
            | ApiErrorCode::PhraseTypo
            | ApiErrorCode::LetterExpired
            | ApiErrorCode::Forbidden
    )
}

impl From<ChildError> for ClientError {
    fn from(error: ChildError) -> Self {
        match error {
            ChildError::Transport(e) => ClientError::SignerFailed(e.to_string()),
            ChildError::Protocol { code, message } => ClientError::SignerRefused { code, message },
        }
    }
}

/// Results of the client library.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status: u16, code: ApiErrorCode) -> ClientError {
        ClientError::Server {
            status,
            code,
            message: String::new(),
        }
    }

    #[test]
    fn a_script_can_tell_try_again_from_refused() {
        assert_eq!(server(503, ApiErrorCode::Unavailable).exit_code(), exit::UNREACHABLE);
        assert_eq!(server(429, ApiErrorCode::RateLimited).exit_code(), exit::UNREACHABLE);
        assert_eq!(
            server(401, ApiErrorCode::SigninFailed).exit_code(),
            exit::AUTHENTICATION
        );
        assert_eq!(server(400, ApiErrorCode::BadRequest).exit_code(), exit::FAILED);
    }
}
