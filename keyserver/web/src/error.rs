//! Failures of a request, as the client sees them and as the log records
//! them: a stable code and a message for the person, the detail for the log.

use signet_schema::api::{ApiError, ApiErrorCode};
use warp::http::StatusCode;

/// A request failed.
#[derive(Debug)]
pub struct Failure {
    /// What the client is told.
    pub body: ApiError,
    /// What the log is told (never a secret), when it differs.
    pub detail: Option<String>,
}

impl Failure {
    /// A failure with a code and a message.
    pub fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        Failure {
            body: ApiError {
                code,
                message: message.into(),
                field: None,
            },
            detail: None,
        }
    }

    /// A bad request naming the field at fault.
    pub fn bad_field(field: &str, message: impl Into<String>) -> Self {
        let mut f = Failure::new(ApiErrorCode::BadRequest, message);
        f.body.field = Some(field.to_owned());
        f
    }

    /// An internal failure: the client learns nothing, the log gets `detail`.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Failure {
            body: ApiError {
                code: ApiErrorCode::Internal,
                message: "the server failed to complete the request; it has been logged".into(),
                field: None,
            },
            detail: Some(detail.to_string()),
        }
    }

    /// The HTTP status for this failure.
    pub fn status(&self) -> StatusCode {
        status_of(self.body.code)
    }
}

/// HTTP status of each error code. The match is exhaustive (the enum is
/// not `non_exhaustive`): a new code does not compile until it has a status,
/// so it cannot become a 500 by default.
pub fn status_of(code: ApiErrorCode) -> StatusCode {
    use ApiErrorCode as C;
    match code {
        C::BadRequest | C::PhraseTypo | C::BadSignature => StatusCode::BAD_REQUEST,
        C::SealingRequired | C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        C::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        C::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::NotFound => StatusCode::NOT_FOUND,
        C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        C::IdentityTaken | C::NonceReused | C::WrongState => StatusCode::CONFLICT,
        C::StaleRequest => StatusCode::BAD_REQUEST,
        C::SigninFailed | C::WrongPhrase => StatusCode::UNAUTHORIZED,
        C::Locked => StatusCode::LOCKED,
        C::LetterExpired | C::Revoked => StatusCode::GONE,
        C::Forbidden => StatusCode::FORBIDDEN,
        C::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        C::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        C::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<signet_schema::FormatError> for Failure {
    fn from(e: signet_schema::FormatError) -> Self {
        Failure::bad_field(e.field, e.to_string())
    }
}
