//! Forwarding an admitted request to the key tier: over the internal link
//! with hyper's pooling client, or — when both tiers run in one process
//! (`serve`) — straight to the key tier's routes in this process, behind the
//! same link guard ([`Guarded`]: the link secret is checked and the client's
//! address taken from its header exactly as on the socket).
//!
//! Only what a route needs crosses: the method, the path and query exactly as
//! sent (staff requests sign them), `Content-Type`, `Accept`, the `Signet-*`
//! headers of signed requests and the sealed channel (but never a
//! client's own [`LINK_HEADER`] or [`CLIENT_HEADER`]), the body, the link
//! secret and the client's address. Back come the status, `Content-Type`,
//! `Content-Disposition`, `Cache-Control`, `Retry-After`, the `Signet-*`
//! headers, and the body. When the key tier cannot be reached or
//! does not answer in time, the client gets 503 `unavailable`.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, RETRY_AFTER};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Body as _;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use signet_schema::api::ApiErrorCode;
use tower_service::Service;
use warp::reply::Response;

use crate::error::Failure;
use crate::link::{CLIENT_HEADER, Guarded, LINK_HEADER, LinkAddress, LinkSecret, LinkStream};

/// Largest answer accepted from the key tier (CRLs grow with revocations).
pub const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// Connects every request to the one key tier address, whatever the URI says.
#[derive(Clone, Debug)]
pub struct LinkConnector {
    address: LinkAddress,
}

type Connecting = Pin<Box<dyn Future<Output = std::io::Result<TokioIo<LinkStream>>> + Send>>;

impl tower_service::Service<http::Uri> for LinkConnector {
    type Response = TokioIo<LinkStream>;
    type Error = std::io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: http::Uri) -> Self::Future {
        let address = self.address.clone();
        Box::pin(async move { LinkStream::connect(&address).await.map(TokioIo::new) })
    }
}

type Answering = Pin<Box<dyn Future<Output = Response> + Send>>;

/// The key tier's routes in this process, guarded as on the internal link.
#[derive(Clone)]
pub struct KeyTierService(Arc<dyn Fn(http::Request<Full<Bytes>>) -> Answering + Send + Sync>);

impl std::fmt::Debug for KeyTierService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyTierService(..)")
    }
}

impl KeyTierService {
    /// The key tier's `routes` (a `warp::service`) behind the link guard that
    /// expects `secret`.
    pub fn new<S>(secret: Arc<LinkSecret>, routes: S) -> Self
    where
        S: Service<http::Request<Full<Bytes>>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
    {
        let guarded = Guarded::new(secret, routes);
        KeyTierService(Arc::new(move |request| {
            let mut guarded = guarded.clone();
            // A task of its own: warp keeps the request being filtered in a
            // scoped thread-local, and the web tier's own filter is still
            // running around this call.
            let answering = tokio::spawn(async move {
                match guarded.call(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            });
            Box::pin(async move {
                answering.await.unwrap_or_else(|e| {
                    crate::json::failure_reply(Failure::internal(format!("the key tier's task failed: {e}")))
                })
            })
        }))
    }
}

/// How the web tier reaches the key tier.
enum Transport {
    /// Over the internal link.
    Link {
        client: Box<Client<LinkConnector, Full<Bytes>>>,
        address: LinkAddress,
    },
    /// In this process.
    InProcess(KeyTierService),
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Link { address, .. } => address.fmt(f),
            Transport::InProcess(_) => f.write_str("the key tier in this process"),
        }
    }
}

/// The web tier's client of the key tier.
pub struct Forwarder {
    transport: Transport,
    secret: LinkSecret,
    timeout: Duration,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("key_tier", &self.transport.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Forwarder {
    /// A client of the key tier at `address` that shows `secret`, giving up
    /// on a request after `timeout`.
    pub fn new(address: LinkAddress, secret: LinkSecret, timeout: Duration) -> Self {
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(32)
            .build(LinkConnector {
                address: address.clone(),
            });
        Forwarder {
            transport: Transport::Link {
                client: Box::new(client),
                address,
            },
            secret,
            timeout,
        }
    }

    /// A client of the key tier's routes in this process, showing `secret`
    /// to their guard, giving up on a request after `timeout`.
    pub fn in_process(key_tier: KeyTierService, secret: LinkSecret, timeout: Duration) -> Self {
        Forwarder {
            transport: Transport::InProcess(key_tier),
            secret,
            timeout,
        }
    }

    /// Sends `method path_and_query` with `body` to the key tier on behalf of `client`
    /// and returns its answer, or 503 `unavailable`.
    pub async fn forward(
        &self,
        method: http::Method,
        path_and_query: &str,
        headers: &http::HeaderMap,
        body: Bytes,
        client: Option<IpAddr>,
    ) -> Response {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("http://key-tier{path_and_query}"))
            .header(LINK_HEADER, self.secret.header_value());
        for (name, value) in headers {
            if name == CONTENT_TYPE || name == ACCEPT || is_signet_header(name) {
                builder = builder.header(name, value);
            }
        }
        if let Some(client) = client {
            builder = builder.header(CLIENT_HEADER, client.to_string());
        }
        let request = match builder.body(Full::new(body)) {
            Ok(request) => request,
            Err(e) => return crate::json::failure_reply(Failure::internal(format!("building the request: {e}"))),
        };
        match tokio::time::timeout(self.timeout, self.exchange(request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(detail)) => unavailable(detail),
            Err(_) => unavailable(format!("no answer from {} within {:?}", self.transport, self.timeout)),
        }
    }

    async fn exchange(&self, request: http::Request<Full<Bytes>>) -> Result<Response, String> {
        match &self.transport {
            Transport::Link { client, address } => {
                let answer = client
                    .request(request)
                    .await
                    .map_err(|e| format!("{address}: {e} ({:?})", std::error::Error::source(&e)))?;
                self.relay(answer).await
            }
            Transport::InProcess(key_tier) => {
                // What hyper's client writes on the socket from the body's size.
                let mut request = request;
                let length = http::HeaderValue::from(request.body().size_hint().exact().unwrap_or(0));
                request.headers_mut().insert(CONTENT_LENGTH, length);
                self.relay((key_tier.0)(request).await).await
            }
        }
    }

    /// The key tier's answer as the web tier passes it on: status, the
    /// allowed headers and the body (at most [`MAX_ANSWER`] bytes).
    async fn relay<B>(&self, answer: http::Response<B>) -> Result<Response, String>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = answer.into_parts();
        let body = Limited::new(body, MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| format!("{}: reading the answer: {e}", self.transport))?
            .to_bytes();
        let mut response = Response::new(body.into());
        *response.status_mut() = parts.status;
        for (name, value) in &parts.headers {
            if [CONTENT_TYPE, CONTENT_DISPOSITION, CACHE_CONTROL, RETRY_AFTER].contains(name) || is_signet_header(name)
            {
                response.headers_mut().append(name, value.clone());
            }
        }
        Ok(response)
    }
}

/// A `Signet-*` header other than the link's own two.
fn is_signet_header(name: &HeaderName) -> bool {
    let name = name.as_str();
    name.starts_with("signet-") && name != LINK_HEADER && name != CLIENT_HEADER
}

fn unavailable(detail: String) -> Response {
    crate::json::failure_reply(Failure {
        detail: Some(detail),
        ..Failure::new(
            ApiErrorCode::Unavailable,
            "the key server is unavailable; try again in a moment",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::ClientAddress;
    use warp::{Filter, Reply};

    /// The key tier's side, reduced to one route that reports what reached it.
    fn echo() -> KeyTierService {
        let secret = Arc::new(LinkSecret::generate().expect("secret"));
        echo_behind(secret)
    }

    fn echo_behind(secret: Arc<LinkSecret>) -> KeyTierService {
        let route = warp::path!("v1" / "echo")
            .and(warp::ext::optional::<ClientAddress>())
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .map(|client: Option<ClientAddress>, headers: http::HeaderMap, body: Bytes| {
                let names: Vec<String> = headers.keys().map(|n| n.as_str().to_owned()).collect();
                warp::reply::with_header(
                    warp::reply::json(&serde_json::json!({
                        "client": client.map(|c| c.0.to_string()),
                        "headers": names,
                        "body": String::from_utf8_lossy(&body),
                    })),
                    "x-not-forwarded",
                    "1",
                )
                .into_response()
            });
        KeyTierService::new(secret, warp::service(route))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, http::HeaderValue::from_str(value).expect("value"));
        }
        map
    }

    async fn json(response: Response) -> (u16, serde_json::Value, http::HeaderMap) {
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        (
            parts.status.as_u16(),
            serde_json::from_slice(&bytes).expect("json"),
            parts.headers,
        )
    }

    #[test]
    fn in_process_requests_cross_the_same_guard_and_filters_as_the_socket() {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let secret = LinkSecret::generate().expect("secret");
            let key_tier = echo_behind(Arc::new(secret.clone()));
            let forwarder = Forwarder::in_process(key_tier, secret, Duration::from_secs(5));
            let sent = headers(&[
                ("content-type", "application/json"),
                ("signet-nonce", "n1"),
                ("cookie", "dropped"),
                // A client's own link headers never cross.
                ("signet-link", &"00".repeat(32)),
                ("signet-client-address", "10.9.8.7"),
            ]);
            let answer = forwarder
                .forward(
                    http::Method::POST,
                    "/v1/echo",
                    &sent,
                    Bytes::from_static(b"{\"a\":1}"),
                    Some("192.0.2.1".parse().expect("ip")),
                )
                .await;
            let (status, seen, back) = json(answer).await;
            assert_eq!(status, 200, "{seen}");
            assert_eq!(seen["client"], "192.0.2.1");
            assert_eq!(seen["body"], "{\"a\":1}");
            let names: Vec<&str> = seen["headers"]
                .as_array()
                .expect("names")
                .iter()
                .map(|v| v.as_str().expect("name"))
                .collect();
            for name in ["content-type", "signet-nonce", "content-length"] {
                assert!(names.contains(&name), "{name} missing from {names:?}");
            }
            for name in ["cookie", "signet-link", "signet-client-address"] {
                assert!(!names.contains(&name), "{name} crossed: {names:?}");
            }
            assert!(back.get("x-not-forwarded").is_none());
            assert_eq!(back.get(CONTENT_TYPE).expect("content type"), "application/json");

            // Another secret than the key tier's: refused by its guard.
            let wrong = Forwarder::in_process(echo(), LinkSecret::generate().expect("secret"), Duration::from_secs(5));
            let answer = wrong
                .forward(http::Method::POST, "/v1/echo", &headers(&[]), Bytes::new(), None)
                .await;
            let (status, error, _) = json(answer).await;
            assert_eq!((status, error["code"].as_str()), (403, Some("forbidden")));
        });
    }
}
