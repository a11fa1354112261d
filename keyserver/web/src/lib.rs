//! The web tier: the key server's public face, a crate of its own so that
//! what faces the internet links no database, CA, letter or key code (the
//! architecture test reads `cargo tree` to check it). It holds no database
//! credentials and no keys — only the link secret that lets it talk to the
//! key tier, and its own TLS certificate.
//!
//! The crate also holds what both tiers share, so that the key tier depends
//! on it and never the other way round: the [`route_table`], the
//! [`rate_limit`]s, JSON bodies and the one `recover()` ([`json`]), typed
//! failures ([`error`]) and secret files ([`secret_file`]).
//!
//! Every request, in this order:
//!
//! 1. counts against its client address's rate ([`rate_limit`]; 429 with
//!    `Retry-After`);
//! 2. must match the allow-list ([`allow`]), else 404 `not-found` — it never
//!    reaches the key tier;
//! 3. must declare its body size: a body needs `Content-Length` (no chunked
//!    uploads, 400 `bad-request`), at most [`json::MAX_BODY`] bytes
//!    (413 `payload-too-large`), checked before the body is read; an
//!    oversized body is never forwarded (up to [`DRAIN_LIMIT`] it is read and
//!    dropped so that the client sees the answer); a body must be of the
//!    route's type: sealed on a route that carries secrets (415
//!    `sealing-required`, unread: this tier reads none of them, and the key
//!    tier counts their per-user rate), JSON on any other;
//! 4. on applications and sealed-session openings, counts against the
//!    address's own rate for them;
//! 5. is forwarded to the key tier (path and query as sent) over the internal link ([`link`],
//!    [`forward`]); when the key tier cannot be reached the answer is 503
//!    `unavailable`.
//!
//! Every refusal is the typed JSON error of [`crate::json`].

pub mod allow;
pub mod connections;
pub mod error;
pub mod forward;
pub mod json;
pub mod link;
pub mod rate_limit;
pub mod route_table;
pub mod secret_file;
pub mod tls;

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, TRANSFER_ENCODING};
use signet_schema::api::ApiErrorCode;
use warp::filters::path::FullPath;
use warp::reply::Response;
use warp::{Filter, Rejection};

use self::allow::{AllowList, Route};
use self::forward::{Forwarder, KeyTierService};
use self::link::{LinkAddress, LinkSecret};
use crate::error::Failure;
use crate::json::{MAX_BODY, Rejected, failure_reply};
use crate::rate_limit::{RateLimitConfig, RateLimits, retry_after_seconds};
use crate::tls::PeerAddress;

/// Bodies above [`MAX_BODY`] up to this size are read and dropped before
/// the 413 answer; larger ones are answered without reading.
pub const DRAIN_LIMIT: u64 = 1024 * 1024;

/// How long the key tier may take to answer a forwarded request.
pub const DEFAULT_FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

/// The web tier's state: allow-list, limiters and the client of the key tier.
#[derive(Debug)]
pub struct WebTier {
    allow: AllowList,
    limits: RateLimits,
    forwarder: Forwarder,
    /// The listener's gate, told to cool down flooding addresses (see [`WebTier::cool_floods_at`]).
    gate: std::sync::OnceLock<crate::connections::ConnectionGate>,
    /// Requests refused for their address's rate, per address, since the first of them.
    refusals: std::sync::Mutex<std::collections::HashMap<IpAddr, (u32, std::time::Instant)>>,
}

/// Requests an address may send over its rate within [`FLOOD_WINDOW`] before
/// its connections are closed and refused at accept for the wait its 429s
/// named: a client that honours `Retry-After` never comes near it.
pub const FLOOD_REFUSALS: u32 = 100;
/// Addresses whose refusals are counted at once at most.
const MAX_FLOOD_ADDRESSES: usize = 100_000;
/// The window [`FLOOD_REFUSALS`] is counted over.
pub const FLOOD_WINDOW: Duration = Duration::from_secs(10);

impl WebTier {
    /// A web tier in front of the key tier at `key_tier`.
    pub fn new(key_tier: LinkAddress, secret: LinkSecret, limits: RateLimitConfig, forward_timeout: Duration) -> Self {
        Self::with_forwarder(
            Forwarder::new(key_tier, secret, forward_timeout),
            RateLimits::new(limits),
        )
    }

    /// A web tier in front of the key tier's routes in this process (`serve`),
    /// showing `secret` to their link guard.
    ///
    /// `limits` are shared with the key tier in the same process, which
    /// counts the per-user allowance of the sealed requests this tier
    /// cannot read (see `KeyTier::limit_sealed_users`).
    pub fn in_process(
        key_tier: KeyTierService,
        secret: LinkSecret,
        limits: RateLimits,
        forward_timeout: Duration,
    ) -> Self {
        Self::with_forwarder(Forwarder::in_process(key_tier, secret, forward_timeout), limits)
    }

    fn with_forwarder(forwarder: Forwarder, limits: RateLimits) -> Self {
        WebTier {
            allow: AllowList::key_tier(),
            limits,
            forwarder,
            gate: std::sync::OnceLock::new(),
            refusals: std::sync::Mutex::default(),
        }
    }

    /// Has the listener's `gate` refuse, at accept time, the connections of
    /// an address that floods requests over its rate (more than
    /// [`FLOOD_REFUSALS`] refused within [`FLOOD_WINDOW`]), for as long as
    /// its 429s asked it to wait; its open connections are closed with the
    /// next answer. Answering a flood 429 by 429 costs a TLS record each
    /// way per request; refusing its connections costs next to nothing.
    pub fn cool_floods_at(&self, gate: crate::connections::ConnectionGate) {
        let _ = self.gate.set(gate);
    }

    /// Counts a request from `client` refused for its address's rate;
    /// answers whether the address now floods (and is cooling down).
    fn refused_for_rate(&self, client: IpAddr, wait: Duration) -> bool {
        let Some(gate) = self.gate.get() else {
            return false;
        };
        let now = std::time::Instant::now();
        let key = crate::rate_limit::address_key(client);
        let mut refusals = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
        if refusals.len() >= MAX_FLOOD_ADDRESSES && !refusals.contains_key(&key) {
            refusals.retain(|_, (_, since)| now.duration_since(*since) < FLOOD_WINDOW);
            if refusals.len() >= MAX_FLOOD_ADDRESSES {
                // Bounded: an address not yet counted waits for room (it still gets its 429s).
                return false;
            }
        }
        let entry = refusals.entry(key).or_insert((0, now));
        if now.duration_since(entry.1) >= FLOOD_WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
        if entry.0 < FLOOD_REFUSALS {
            return false;
        }
        refusals.remove(&key);
        drop(refusals);
        tracing::warn!(%client, wait_seconds = wait.as_secs(), "an address floods requests over its rate: its connections are refused while it waits");
        gate.cool_down(client, now + wait.max(Duration::from_secs(1)));
        true
    }

    /// Starts the task that forgets idle rate-limit keys once a minute.
    pub fn spawn_housekeeping(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let web = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            every.tick().await;
            loop {
                every.tick().await;
                match web.upgrade() {
                    Some(web) => web.limits.forget_idle(),
                    None => return,
                }
            }
        })
    }

    /// Steps 1–3: address rate, allow-list, body size.
    fn admit(
        &self,
        peer: Option<PeerAddress>,
        method: &http::Method,
        path: &FullPath,
        query: &str,
        headers: &http::HeaderMap,
    ) -> Result<Admission, Rejection> {
        let client = peer.map(|p| p.0.ip());
        let address = client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        self.limits.check_address(address).map_err(|wait| {
            let close = self.refused_for_rate(address, wait);
            warp::reject::custom(RateLimited(wait, close))
        })?;
        let route = self.allow.find(method.as_str(), path.as_str());
        if headers.contains_key(TRANSFER_ENCODING) {
            return Err(refuse(Failure::new(
                ApiErrorCode::BadRequest,
                "a body must be sent with a Content-Length header, not chunked",
            )));
        }
        let length = match headers.get(CONTENT_LENGTH) {
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .ok_or_else(|| {
                        refuse(Failure::new(
                            ApiErrorCode::BadRequest,
                            "the Content-Length is not a number",
                        ))
                    })?,
            ),
            None => None,
        };
        let too_large = || {
            Failure::new(
                ApiErrorCode::PayloadTooLarge,
                format!("the body is larger than {MAX_BODY} bytes"),
            )
        };
        let not_found = || Failure::new(ApiErrorCode::NotFound, "no such route");
        let refusal = match (route, length) {
            // An unknown route with no body, or one too large to drain: answered at once.
            (None, None | Some(0)) => return Err(refuse(not_found())),
            (None, Some(n)) if n > DRAIN_LIMIT => return Err(refuse(not_found())),
            // An unknown route with a body: read and dropped first, so that the
            // connection is not closed on unread bytes (the client would see a
            // reset instead of the 404).
            (None, Some(_)) => Some(not_found()),
            // Far too large: answered at once; the connection closes under the sender.
            (Some(_), Some(n)) if n > DRAIN_LIMIT => return Err(refuse(too_large())),
            // Too large: read and dropped first, so that the client, still
            // sending, can read the answer.
            (Some(_), Some(n)) if n > MAX_BODY => Some(too_large()),
            (Some(route), None) if route.method == "POST" => {
                return Err(refuse(Failure::new(
                    ApiErrorCode::BadRequest,
                    "a Content-Length header is required",
                )));
            }
            // A body of a type no route reads (a form, plain text: what a web
            // page can make a browser send across sites unasked) is read and
            // dropped, never parsed nor forwarded, and refused.
            // A plain body where only sealed ones are taken is refused unread
            // too: the key tier would refuse it alike.
            (Some(route), Some(n)) if n > 0 && !takes_media_type(&route, headers) => Some(if route.sealed {
                json::sealing_required()
            } else {
                json::unsupported_media_type(json::JSON_MEDIA_TYPE)
            }),
            _ => None,
        };
        Ok(Admission {
            refusal,
            route,
            path_and_query: if query.is_empty() {
                path.as_str().to_owned()
            } else {
                format!("{}?{query}", path.as_str())
            },
            headers: headers.clone(),
            client,
        })
    }

    /// Steps 4–5: the rates of applications and openings, then forwarding.
    async fn pass(&self, admission: Admission, body: Bytes) -> Response {
        let route = match (admission.refusal, admission.route) {
            (Some(refusal), _) => return failure_reply(refusal),
            (None, None) => return failure_reply(Failure::new(ApiErrorCode::NotFound, "no such route")),
            (None, Some(route)) => route,
        };
        // Routes with a rate of their own per address: applications, and
        // session openings (each an RSA decryption in the key tier).
        let address = admission.client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let own_rate = if crate::route_table::counts_as_application(route.pattern) {
            Some(("application", self.limits.check_application(address)))
        } else if crate::route_table::counts_as_opening(route.pattern) {
            Some(("session opening", self.limits.check_opening(address)))
        } else {
            None
        };
        if let Some((what, Err(wait))) = own_rate {
            tracing::info!(client = ?admission.client, "{what} rate limit reached");
            return rate_limited(wait);
        }
        // One opening per address decrypted at a time: a burst queues behind itself.
        let _turn = match crate::route_table::counts_as_opening(route.pattern) {
            true => match self.limits.opening_turn(address).await {
                Some(turn) => Some(turn),
                None => {
                    tracing::info!(client = ?admission.client, "openings from this address wait too long");
                    return rate_limited(Duration::from_secs(1));
                }
            },
            false => None,
        };
        let method = match http::Method::from_bytes(route.method.as_bytes()) {
            Ok(method) => method,
            Err(e) => return failure_reply(Failure::internal(format!("allow-list method: {e}"))),
        };
        self.forwarder
            .forward(
                method,
                &admission.path_and_query,
                &admission.headers,
                body,
                admission.client,
            )
            .await
    }
}

/// A request that passed steps 1–3.
struct Admission {
    /// Refused once the body is read (and dropped).
    refusal: Option<Failure>,
    /// The allow-listed route (`None` only with a refusal).
    route: Option<Route>,
    path_and_query: String,
    headers: http::HeaderMap,
    client: Option<IpAddr>,
}

/// A request refused by a rate limit; carries how long to wait.
#[derive(Debug)]
/// Refused for the address's rate: the wait, and whether to close the connection (a flood).
struct RateLimited(Duration, bool);

impl warp::reject::Reject for RateLimited {}

/// Whether a request for `route` declares the body type the route reads:
/// the sealed type on a sealed route, JSON on any other.
fn takes_media_type(route: &Route, headers: &http::HeaderMap) -> bool {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    match route.sealed {
        true => json::has_media_type(content_type, signet_schema::channel::SEALED_CONTENT_TYPE),
        false => json::has_media_type(content_type, json::JSON_MEDIA_TYPE),
    }
}

fn refuse(failure: Failure) -> Rejection {
    warp::reject::custom(Rejected(failure))
}

/// 429 `rate-limited` with `Retry-After`.
fn rate_limited(wait: Duration) -> Response {
    let seconds = retry_after_seconds(wait);
    let mut response = failure_reply(Failure::new(
        ApiErrorCode::RateLimited,
        format!("too many requests; try again in {seconds} s"),
    ));
    response
        .headers_mut()
        .insert(RETRY_AFTER, http::HeaderValue::from(seconds));
    response
}

async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    if let Some(RateLimited(wait, close)) = rejection.find::<RateLimited>() {
        let mut response = rate_limited(*wait);
        if *close {
            response
                .headers_mut()
                .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        }
        return Ok(response);
    }
    crate::json::recover(rejection).await
}

/// The web tier as one warp filter, every answer a reply (typed JSON on
/// refusal). Serve it with [`crate::tls::serve_tls`], which supplies the
/// [`PeerAddress`] the address limit keys on.
pub fn routes(web: Arc<WebTier>) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    let admitted = warp::any()
        .map(move || web.clone())
        .and(warp::ext::optional::<PeerAddress>())
        .and(warp::method())
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and_then(
            |web: Arc<WebTier>,
             peer: Option<PeerAddress>,
             method: http::Method,
             path: FullPath,
             query: String,
             headers: http::HeaderMap| async move {
                let admission = web.admit(peer, &method, &path, &query, &headers)?;
                Ok::<_, Rejection>((web, admission))
            },
        )
        .untuple_one();
    admitted
        .and(warp::body::bytes())
        .then(|web: Arc<WebTier>, admission: Admission, body: Bytes| async move { web.pass(admission, body).await })
        .recover(recover)
        .unify()
}
