//! A small HTTP client of the key server over ureq: statuses and error
//! bodies are data, not exceptions.
//!
//! Like the app, it seals every body of a route that takes only sealed
//! ones (the route table's `sealed`), on a channel it opens on first use and
//! keeps (one per request under way, so that concurrent requests keep their
//! counters in order), and opens the sealed answer: tests read and write
//! plain JSON and the wire carries it sealed. A test that sets the
//! `content-type` itself, or calls [`Client::request_plain`], sends the
//! body as it is.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;
use signet_crypto::channel::{ChannelClient, first_use_integrity_key};
use signet_keyserver::route_table::{self, PathMatch};
use signet_schema::api::{ApiError, ApiErrorCode};
use signet_schema::channel::{OpenResponse, SEALED_CONTENT_TYPE, SealedMessage, SignedBootstrap};
use signet_schema::protocol::Bytes;

/// The base URL of a server, shared with its clients so that they follow it
/// to a new port when it is started again.
pub type BaseUrl = Arc<RwLock<String>>;

pub struct Client {
    agent: ureq::Agent,
    base: BaseUrl,
    /// Open channels not in use; the integrity key pinned on first use.
    channels: Mutex<(Vec<ChannelClient>, Option<Vec<u8>>)>,
}

impl Client {
    /// A client of `base` over plain HTTP.
    pub fn new(base: &str) -> Client {
        Client::build(Arc::new(RwLock::new(base.to_owned())), None, None)
    }

    /// A client that trusts only the PEM certificate `root_pem` (a pinned
    /// self-signed server certificate).
    pub fn with_root(base: &str, root_pem: &[u8]) -> Client {
        Client::build(Arc::new(RwLock::new(base.to_owned())), Some(root_pem), None)
    }

    /// A client of whatever `base` holds at each request, trusting only
    /// `root_pem`, that gives up on an answer after `timeout`.
    pub fn following(base: BaseUrl, root_pem: &[u8], timeout: Option<Duration>) -> Client {
        Client::build(base, Some(root_pem), timeout)
    }

    fn build(base: BaseUrl, root_pem: Option<&[u8]>, timeout: Option<Duration>) -> Client {
        use ureq::tls::{Certificate, RootCerts, TlsConfig};
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(timeout);
        if let Some(pem) = root_pem {
            let root = Certificate::from_pem(pem).expect("PEM certificate");
            config = config.tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::new_with_certs(&[root]))
                    .build(),
            );
        }
        Client {
            agent: config.build().new_agent(),
            base,
            channels: Mutex::new((Vec::new(), None)),
        }
    }

    /// Whether `method` `path` is a route whose body travels only sealed.
    fn sealed_route(method: &str, path_and_query: &str) -> bool {
        let path = path_and_query.split('?').next().unwrap_or_default();
        matches!(route_table::find(method, path), PathMatch::Route(route, _) if route.sealed)
    }

    /// The server's current bootstrap document.
    fn bootstrap(&self) -> Result<SignedBootstrap, String> {
        let (status, bootstrap) = self.try_request_plain("GET", "/v1/bootstrap", &[], b"")?;
        if status != 200 {
            return Err(format!("bootstrap: {status} {}", String::from_utf8_lossy(&bootstrap)));
        }
        serde_json::from_slice(&bootstrap).map_err(|e| e.to_string())
    }

    /// The server's integrity key, pinned on first use (from `bootstrap`, or
    /// a document fetched now).
    fn pinned(&self, bootstrap: Option<&SignedBootstrap>) -> Result<Vec<u8>, String> {
        if let Some(pinned) = self.channels.lock().expect("channels lock").1.clone() {
            return Ok(pinned);
        }
        let fetched;
        let bootstrap = match bootstrap {
            Some(bootstrap) => bootstrap,
            None => {
                fetched = self.bootstrap()?;
                &fetched
            }
        };
        let key = first_use_integrity_key(bootstrap, crate::common::now()).map_err(|e| e.to_string())?;
        self.channels.lock().expect("channels lock").1 = Some(key.clone());
        Ok(key)
    }

    /// The name signed requests give the server: the SHA-256 of its
    /// integrity key, as pinned.
    pub fn server_id(&self) -> String {
        signet_crypto::channel::server_id(&self.pinned(None).expect("the server's integrity key"))
    }

    /// An open channel not in use, opened now if there is none.
    fn channel(&self) -> Result<ChannelClient, String> {
        if let Some(channel) = self.channels.lock().expect("channels lock").0.pop() {
            return Ok(channel);
        }
        let bootstrap = self.bootstrap()?;
        let pinned = self.pinned(Some(&bootstrap))?;
        let now = crate::common::now();
        let (channel, open) = ChannelClient::open(&bootstrap, &pinned, now).map_err(|e| e.to_string())?;
        let (status, opened) = self.try_request_plain(
            "POST",
            "/v1/channel/open",
            &[],
            &serde_json::to_vec(&open).expect("json"),
        )?;
        if status != 200 {
            return Err(format!(
                "opening a channel: {status} {}",
                String::from_utf8_lossy(&opened)
            ));
        }
        let opened: OpenResponse = serde_json::from_slice(&opened).map_err(|e| e.to_string())?;
        assert_eq!(opened.session_id.0, channel.session_id().to_vec(), "the session opened");
        Ok(channel)
    }

    /// Sends `json` sealed to `method` `path_and_query` with `headers`, and
    /// opens the answer; a session the server no longer holds is opened
    /// again once.
    fn try_sealed(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, String)],
        json: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        let path = path_and_query.split('?').next().unwrap_or_default();
        for attempt in 0..2 {
            let mut channel = self.channel()?;
            let (counter, sealed) = channel.seal_request(method, path, json).map_err(|e| e.to_string())?;
            let message = SealedMessage {
                session_id: Bytes(channel.session_id().to_vec()),
                counter,
                body: Bytes(sealed),
            };
            let mut with_type = headers.to_vec();
            with_type.push(("content-type", SEALED_CONTENT_TYPE.to_owned()));
            let (status, content_type, answer) = self.exchange(
                method,
                path_and_query,
                &with_type,
                &serde_json::to_vec(&message).expect("json"),
            )?;
            if content_type.as_deref() == Some(SEALED_CONTENT_TYPE) {
                let message: SealedMessage = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
                let plain = channel
                    .open_response(message.counter, method, path, &message.body.0)
                    .map_err(|e| format!("opening the answer: {e}"))?;
                self.channels.lock().expect("channels lock").0.push(channel);
                return Ok((status, plain.to_vec()));
            }
            // Refused unread: the server's counter did not move while this
            // side's did, so the channel is dropped (the next request opens
            // another); when the session itself was gone, once more.
            let gone = serde_json::from_slice::<ApiError>(&answer).is_ok_and(|e| e.code == ApiErrorCode::StaleRequest);
            if !gone {
                return Ok((status, answer));
            }
            if attempt == 1 {
                return Ok((status, answer));
            }
        }
        unreachable!("two attempts")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.read().expect("base URL lock"))
    }

    /// Any request: (status, Retry-After, body text). Errors are data.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> (u16, Option<String>, String) {
        let mut builder = ureq::http::Request::builder().method(method).uri(self.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut response = match body {
            Some(body) => self
                .agent
                .run(builder.body(body.to_vec()).expect("request"))
                .expect("send"),
            None => self.agent.run(builder.body(()).expect("request")).expect("send"),
        };
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().expect("ascii").to_owned());
        let text = response.body_mut().read_to_string().expect("body");
        (response.status().as_u16(), retry_after, text)
    }

    /// Any request, with extra headers; a body (JSON unless a content type
    /// is given) is sent for every method but GET, none for GET. On a route
    /// that takes only sealed bodies, a body without a content type of its
    /// own goes sealed and the answer is opened. Answers the status and the
    /// body's bytes, or why no answer came (the connection failed, timed
    /// out, or broke off).
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        let typed = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if !typed && Client::sealed_route(method, path) {
            return self.try_sealed(method, path, headers, body);
        }
        self.try_request_plain(method, path, headers, body)
    }

    /// [`Client::try_request`], never sealed.
    pub fn try_request_plain(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        let mut with_type = headers.to_vec();
        if method != "GET"
            && !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            with_type.push(("content-type", "application/json".to_owned()));
        }
        self.exchange(method, path, &with_type, body)
            .map(|(status, _, body)| (status, body))
    }

    /// One request as given: (status, content type, body).
    fn exchange(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<(u16, Option<String>, Vec<u8>), String> {
        let mut builder = ureq::http::Request::builder().method(method).uri(self.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, value.as_str());
        }
        let answer = if method == "GET" {
            self.agent.run(builder.body(()).expect("request"))
        } else {
            self.agent.run(builder.body(body.to_vec()).expect("request"))
        };
        let mut response = answer.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .body_mut()
            .read_to_vec()
            .map_err(|e| format!("reading the answer: {e}"))?;
        Ok((status, content_type, body))
    }

    /// [`Client::try_request_plain`] for an answer that must come: a body
    /// sent as it is, even where only sealed ones are taken.
    pub fn request_plain(&self, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, Vec<u8>) {
        self.try_request_plain(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// [`Client::try_request`] for an answer that must come.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, Vec<u8>) {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// POSTs `body` as it is; the answer must be a typed error.
    pub fn post_raw(&self, path: &str, body: Vec<u8>) -> (u16, ApiError) {
        let (status, text) = self.request("POST", path, &[], &body);
        let text = String::from_utf8_lossy(&text);
        let error = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not an error body ({e}): {text}"));
        (status, error)
    }

    /// POSTs `body` as JSON: (status, body text).
    pub fn post(&self, path: &str, body: &impl Serialize) -> (u16, String) {
        let (status, text) = self.request("POST", path, &[], &serde_json::to_vec(body).expect("json"));
        (status, String::from_utf8(text).expect("UTF-8 body"))
    }

    pub fn post_ok<T: serde::de::DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> T {
        let (status, text) = self.post(path, body);
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).expect("json answer")
    }

    pub fn post_err(&self, path: &str, body: &impl Serialize) -> ApiError {
        let (status, text) = self.post(path, body);
        assert!(status >= 400, "{path} succeeded: {text}");
        let error: ApiError = serde_json::from_str(&text).expect("error body");
        assert_eq!(
            status,
            signet_keyserver::error::status_of(error.code).as_u16(),
            "{path}: {text}"
        );
        error
    }

    pub fn get_bytes(&self, path: &str) -> Vec<u8> {
        let (status, body) = self.request("GET", path, &[], b"");
        assert_eq!(status, 200, "{path}");
        body
    }

    pub fn get_json(&self, path: &str) -> serde_json::Value {
        serde_json::from_slice(&self.get_bytes(path)).expect("json")
    }
}
