//! Bodies sealed between the client's signing core and a server — the key
//! tier or the host application — (the patent's message security), as warp
//! filters and replies. A route that reads a body through these filters
//! takes it only sealed: a plain one is refused unread (`sealing-required`).
//! A client that opened a channel sends
//! `Content-Type: application/vnd.signet.sealed+json` and a
//! [`SealedMessage`] whose body, once unsealed for this route's method and
//! path and the next counter, is the route's ordinary JSON request; the
//! answer — success or typed error, with its status — comes back sealed for
//! the same counter. The web tier forwards what it cannot read.
//!
//! Failures of the channel itself (unknown session, replay, reordering, a
//! bad tag) cannot be sealed and are answered in plain JSON.

use std::convert::Infallible;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use signet_schema::api::ApiErrorCode;
use signet_schema::channel::SealedMessage;
use signet_schema::protocol::Bytes;
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

use signet_keyserver_web::error::Failure;
pub use signet_keyserver_web::json::sealing_required;
use signet_keyserver_web::json::{MAX_BODY, Rejected, failure_reply, has_media_type};
use zeroize::Zeroizing;

use crate::server::{ChannelError, ChannelServer};

/// A server that answers sealed requests: its channel end, and the
/// per-user allowance it counts sealed requests against (which the web tier
/// in front could not read).
pub trait SealedEnd: Send + Sync + 'static {
    /// The channel end that unseals requests and seals answers.
    fn channel(&self) -> &ChannelServer;

    /// Counts a sealed request for `user_id` from `client` (when known)
    /// against its limit; `Err(wait)` when it must be refused. No limit by
    /// default.
    fn check_sealed_user(&self, user_id: &str, client: Option<std::net::IpAddr>) -> Result<(), std::time::Duration> {
        let _ = (user_id, client);
        Ok(())
    }
}

pub use signet_schema::channel::SEALED_CONTENT_TYPE;

/// Where a sealed request came from, so its answer can be sealed to match.
#[derive(Clone, Debug)]
pub struct Sealing {
    session_id: Vec<u8>,
    counter: u64,
    method: String,
    path: String,
}

fn channel_failure(e: ChannelError) -> Failure {
    let message = match &e {
        ChannelError::UnknownSession | ChannelError::SessionExpired => {
            "the secure session is unknown or expired: open a new one".to_owned()
        }
        ChannelError::Sealing(
            signet_crypto::channel::ChannelError::Replay { .. }
            | signet_crypto::channel::ChannelError::OutOfOrder { .. },
        ) => "this sealed message was replayed or arrived out of order".to_owned(),
        other => format!("the sealed message was refused: {other}"),
    };
    Failure::new(e.api_code(), message)
}

/// The one field a server reads from a sealed body before its route
/// does: whom the request is about.
#[derive(serde::Deserialize)]
struct NamesUser {
    user_id: String,
}

/// A JSON body of type `T`, which must come sealed (a plain body is
/// refused unread with `sealing-required`). On a `per_user` route (a route
/// of the route table with `per_user_limit`) the request is counted against
/// its user id's limit here, since the web tier cannot read it. A body that
/// is not a `T`, or a request over the limit, is `Err` — to be answered,
/// sealed, with that failure.
pub fn body<T: DeserializeOwned + Send, E: SealedEnd>(
    tier: Arc<E>,
    per_user: bool,
) -> impl Filter<Extract = ((Result<T, Failure>, Sealing),), Error = warp::Rejection> + Clone {
    plaintext(tier, per_user, MAX_BODY)
        .map(|(plaintext, sealing): Unsealed| (plaintext.and_then(|json| parse::<T>(&json)), sealing))
}

/// A JSON body of type `T` that must come sealed, of at most `max_body`
/// bytes; every refusal is a rejection (answered in plain JSON), for a
/// server whose routes answer them alike.
pub fn sealed_body<T: DeserializeOwned + Send, E: SealedEnd>(
    tier: Arc<E>,
    max_body: u64,
) -> impl Filter<Extract = ((T, Sealing),), Error = warp::Rejection> + Clone {
    plaintext(tier, false, max_body).and_then(|(plaintext, sealing): Unsealed| async move {
        match plaintext.and_then(|json| parse::<T>(&json)) {
            Ok(request) => Ok((request, sealing)),
            Err(failure) => Err(warp::reject::custom(Rejected(failure))),
        }
    })
}

fn parse<T: DeserializeOwned>(json: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice::<T>(json).map_err(|e| {
        Failure::new(
            ApiErrorCode::BadRequest,
            format!("the body is not a valid request: {e}"),
        )
    })
}

/// What [`plaintext`] extracts: the unsealed bytes (or the refusal to
/// answer sealed), and where they came from.
pub type Unsealed = (Result<Zeroizing<Vec<u8>>, Failure>, Sealing);

/// The unsealed bytes of a sealed body of at most `max_body` bytes, and
/// where it came from. What cannot be answered sealed — a plain body, a
/// body that is no sealed message, a session unknown, a counter replayed —
/// is a rejection; a request over its user's limit (on a `per_user` route)
/// is `Err`, to be answered sealed.
pub fn plaintext<E: SealedEnd>(
    tier: Arc<E>,
    per_user: bool,
    max_body: u64,
) -> impl Filter<Extract = (Unsealed,), Error = warp::Rejection> + Clone {
    warp::method()
        .and(warp::path::full())
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::content_length_limit(max_body))
        .and(warp::body::bytes())
        .and(warp::ext::optional::<signet_keyserver_web::link::ClientAddress>())
        .and_then(
            move |method: warp::http::Method,
                  path: warp::path::FullPath,
                  content_type: Option<String>,
                  bytes: bytes::Bytes,
                  client: Option<signet_keyserver_web::link::ClientAddress>| {
                let tier = tier.clone();
                async move {
                    let reject = |f: Failure| warp::reject::custom(Rejected(f));
                    if !has_media_type(content_type.as_deref(), SEALED_CONTENT_TYPE) {
                        // A plain body is not read: what it says is not
                        // looked at, let alone acted upon.
                        return Err(reject(sealing_required()));
                    }
                    let message: SealedMessage = serde_json::from_slice(&bytes).map_err(|e| {
                        reject(Failure::new(
                            ApiErrorCode::BadRequest,
                            format!("the body is not a sealed message: {e}"),
                        ))
                    })?;
                    message.validate().map_err(|e| reject(Failure::from(e)))?;
                    let sealing = Sealing {
                        session_id: message.session_id.0,
                        counter: message.counter,
                        method: method.as_str().to_owned(),
                        path: path.as_str().to_owned(),
                    };
                    let plaintext = tier
                        .channel()
                        .unseal_request(
                            &sealing.session_id,
                            sealing.counter,
                            &sealing.method,
                            &sealing.path,
                            &message.body.0,
                        )
                        .map_err(|e| reject(channel_failure(e)))?;
                    if per_user
                        && let Ok(named) = serde_json::from_slice::<NamesUser>(&plaintext)
                        && let Err(wait) = tier.check_sealed_user(&named.user_id, client.map(|c| c.0))
                    {
                        let failure = Failure::new(
                            ApiErrorCode::RateLimited,
                            format!(
                                "too many requests for this user id; try again in {} s",
                                wait.as_secs().max(1)
                            ),
                        );
                        return Ok((Err(failure), sealing));
                    }
                    Ok((Ok(plaintext), sealing))
                }
            },
        )
}

/// Runs `work` on the blocking pool and answers it sealed.
pub async fn reply<T, F, E: SealedEnd>(tier: Arc<E>, sealing: Sealing, work: F) -> Result<Response, Infallible>
where
    T: Serialize + Send + 'static,
    F: FnOnce() -> Result<T, Failure> + Send + 'static,
{
    let outcome = tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(Failure::internal(format!("task failed: {e}"))))
        .and_then(|value| {
            serde_json::to_vec(&value)
                .map(bytes::Bytes::from)
                .map_err(Failure::internal)
        });
    Ok(answer(tier.as_ref(), sealing, outcome))
}

/// Answers `outcome` (the JSON of a successful answer, or the failure)
/// sealed for the request it answers.
pub fn answer<E: SealedEnd + ?Sized>(tier: &E, sealing: Sealing, outcome: Result<bytes::Bytes, Failure>) -> Response {
    let (status, json) = match outcome {
        Ok(json) => (StatusCode::OK, json),
        Err(failure) => {
            let status = failure.status();
            let json = serde_json::to_vec(&failure.body);
            // Logged as a plain failure would be; the client gets it sealed.
            let _ = failure_reply(failure);
            match json {
                Ok(json) => (status, bytes::Bytes::from(json)),
                Err(e) => return failure_reply(Failure::internal(e)),
            }
        }
    };
    match tier.channel().seal_response(
        &sealing.session_id,
        sealing.counter,
        &sealing.method,
        &sealing.path,
        &json,
    ) {
        Ok(body) => {
            let message = SealedMessage {
                session_id: Bytes(sealing.session_id),
                counter: sealing.counter,
                body: Bytes(body),
            };
            let reply = warp::reply::with_header(warp::reply::json(&message), "content-type", SEALED_CONTENT_TYPE);
            warp::reply::with_status(reply, status).into_response()
        }
        Err(e) => failure_reply(channel_failure(e)),
    }
}
