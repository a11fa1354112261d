//! Forwarding an admitted request to the key tier over the internal link,
//! with hyper's pooling client.
//!
//! Only what a route needs crosses: the method, the path and query exactly as
//! sent (staff requests sign them), `Content-Type`, `Accept`, the `Signet-*`
//! headers of signed requests and the sealed channel (but never a
//! client's own [`LINK_HEADER`] or [`CLIENT_HEADER`]), the body, the link
//! secret and the client's address. Back come the status, `Content-Type`,
//! `Content-Disposition`, `Cache-Control`, `Retry-After`, the `Signet-*`
//! headers, and the body. When the key tier cannot be reached or
//! does not answer in time, the client gets 503 `unavailable`.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, HeaderName, RETRY_AFTER};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use signet_schema::api::ApiErrorCode;
use warp::reply::Response;

use super::link::{CLIENT_HEADER, LINK_HEADER, LinkAddress, LinkSecret, LinkStream};
use crate::error::Failure;

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

/// The web tier's client of the key tier.
pub struct Forwarder {
    client: Client<LinkConnector, Full<Bytes>>,
    secret: LinkSecret,
    address: LinkAddress,
    timeout: Duration,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("address", &self.address)
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
            client,
            secret,
            address,
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
            Err(e) => return crate::http::failure_reply(Failure::internal(format!("building the request: {e}"))),
        };
        match tokio::time::timeout(self.timeout, self.exchange(request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(detail)) => unavailable(detail),
            Err(_) => unavailable(format!("no answer from {} within {:?}", self.address, self.timeout)),
        }
    }

    async fn exchange(&self, request: http::Request<Full<Bytes>>) -> Result<Response, String> {
        let answer = self
            .client
            .request(request)
            .await
            .map_err(|e| format!("{}: {e} ({:?})", self.address, std::error::Error::source(&e)))?;
        let (parts, body) = answer.into_parts();
        let body = Limited::new(body, MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| format!("{}: reading the answer: {e}", self.address))?
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
    crate::http::failure_reply(Failure {
        detail: Some(detail),
        ..Failure::new(
            ApiErrorCode::Unavailable,
            "the key server is unavailable; try again in a moment",
        )
    })
}
