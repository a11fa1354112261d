//! Plumbing shared by the key server's routes: JSON bodies with a size
//! limit, one `recover()` that turns every rejection into a typed JSON error,
//! and running blocking work (Diesel, RSA) off the async threads.

use std::convert::Infallible;

use serde::Serialize;
use serde::de::DeserializeOwned;
use signet_schema::api::{ApiError, ApiErrorCode};
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

use crate::error::{Failure, status_of};

/// Largest JSON body any route accepts (a 4096-bit sealed record and request
/// fit in under 8 KiB once base64-encoded).
pub const MAX_BODY: u64 = 64 * 1024;

/// The media type of every plain request and answer body.
pub const JSON_MEDIA_TYPE: &str = "application/json";

/// Whether a `Content-Type` header names the media type `expected` (its
/// parameters, such as `charset`, aside; case-insensitive, RFC 9110 §8.3.1).
pub fn has_media_type(content_type: Option<&str>, expected: &str) -> bool {
    content_type
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(expected))
}

/// The refusal of a plain body where only sealed ones are taken: it is not
/// read.
pub fn sealing_required() -> Failure {
    Failure::new(
        ApiErrorCode::SealingRequired,
        format!(
            "this route takes only bodies sealed end to end ({}); open a secure session",
            signet_schema::channel::SEALED_CONTENT_TYPE
        ),
    )
}

/// The refusal of a body whose `Content-Type` the route does not take. Only
/// JSON (or, where sealed, only the sealed type) is read: a browser cannot send
/// either across sites without asking first, which no route answers.
pub fn unsupported_media_type(takes: &str) -> Failure {
    Failure::new(
        ApiErrorCode::UnsupportedMediaType,
        format!("the body must be sent with Content-Type: {takes}"),
    )
}

/// A JSON body of type `T`, at most [`MAX_BODY`] bytes, sent as
/// `application/json` (else 415 `unsupported-media-type`, unread). Malformed
/// JSON or a wrong shape is rejected with `bad-request` naming what serde saw.
pub fn json_body<T: DeserializeOwned + Send>() -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    warp::header::optional::<String>("content-type")
        .and_then(|content_type: Option<String>| async move {
            if has_media_type(content_type.as_deref(), JSON_MEDIA_TYPE) {
                Ok(())
            } else {
                Err(warp::reject::custom(Rejected(unsupported_media_type(JSON_MEDIA_TYPE))))
            }
        })
        .untuple_one()
        .and(warp::body::content_length_limit(MAX_BODY))
        .and(warp::body::bytes())
        .and_then(|bytes: bytes::Bytes| async move {
            serde_json::from_slice::<T>(&bytes).map_err(|e| {
                warp::reject::custom(Rejected(Failure::new(
                    ApiErrorCode::BadRequest,
                    format!("the body is not a valid request: {e}"),
                )))
            })
        })
}

/// A failure carried through warp's rejection machinery.
#[derive(Debug)]
pub struct Rejected(pub Failure);

impl warp::reject::Reject for Rejected {}

/// Runs blocking work (database, RSA) on tokio's blocking pool and turns its
/// outcome into a reply.
pub async fn blocking<T, F>(work: F) -> Result<Response, Infallible>
where
    T: Serialize + Send + 'static,
    F: FnOnce() -> Result<T, Failure> + Send + 'static,
{
    let outcome = tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(Failure::internal(format!("task failed: {e}"))));
    Ok(match outcome {
        Ok(value) => warp::reply::json(&value).into_response(),
        Err(failure) => failure_reply(failure),
    })
}

/// Like [`blocking`] for work that answers with raw bytes and a content type.
pub async fn blocking_bytes<F>(content_type: &'static str, work: F) -> Result<Response, Infallible>
where
    F: FnOnce() -> Result<Vec<u8>, Failure> + Send + 'static,
{
    let outcome = tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(Failure::internal(format!("task failed: {e}"))));
    Ok(match outcome {
        Ok(bytes) => warp::reply::with_header(bytes, "content-type", content_type).into_response(),
        Err(failure) => failure_reply(failure),
    })
}

/// The JSON error reply for a failure; internal detail goes to the log only.
pub fn failure_reply(failure: Failure) -> Response {
    let status = failure.status();
    if let Some(detail) = &failure.detail {
        if status.is_server_error() {
            tracing::error!(code = ?failure.body.code, %detail, "request failed");
        } else {
            tracing::info!(code = ?failure.body.code, %detail, "request refused");
        }
    }
    warp::reply::with_status(warp::reply::json(&failure.body), status).into_response()
}

/// The one `recover()`: every rejection becomes a typed JSON error, never a
/// bare 500.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    let failure = if let Some(Rejected(f)) = rejection.find::<Rejected>() {
        Failure {
            body: f.body.clone(),
            detail: f.detail.clone(),
        }
    } else if rejection.is_not_found() {
        Failure::new(ApiErrorCode::NotFound, "no such route")
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        Failure::new(
            ApiErrorCode::PayloadTooLarge,
            format!("the body is larger than {MAX_BODY} bytes"),
        )
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        Failure::new(ApiErrorCode::BadRequest, "a Content-Length header is required")
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        Failure::new(
            ApiErrorCode::MethodNotAllowed,
            "this method is not allowed on this route",
        )
    } else if rejection.find::<warp::reject::UnsupportedMediaType>().is_some()
        || rejection.find::<warp::reject::InvalidHeader>().is_some()
        || rejection.find::<warp::reject::MissingHeader>().is_some()
        || rejection.find::<warp::reject::InvalidQuery>().is_some()
    {
        Failure::new(ApiErrorCode::BadRequest, format!("bad request: {rejection:?}"))
    } else if format!("{rejection:?}").contains("BodyReadError") {
        // warp does not export the type: a body that broke off or missed its
        // deadline (the connection then answers 408) is the client's doing.
        Failure::new(ApiErrorCode::BadRequest, "the body could not be read whole")
    } else {
        Failure::internal(format!("unhandled rejection: {rejection:?}"))
    };
    Ok(failure_reply(failure))
}

/// The status code of an [`ApiError`] body (for clients and tests).
pub fn expected_status(error: &ApiError) -> StatusCode {
    status_of(error.code)
}
