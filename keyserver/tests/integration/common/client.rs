//! A small HTTP client of the key server over ureq: statuses and error
//! bodies are data, not exceptions.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use signet_schema::api::ApiError;

/// The base URL of a server, shared with its clients so that they follow it
/// to a new port when it is started again.
pub type BaseUrl = Arc<RwLock<String>>;

pub struct Client {
    agent: ureq::Agent,
    base: BaseUrl,
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
        }
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
    /// is given) is sent for every method but GET, none for GET. Answers the status and the body's bytes, or why
    /// no answer came (the connection failed, timed out, or broke off).
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        let mut builder = ureq::http::Request::builder().method(method).uri(self.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, value.as_str());
        }
        let answer = if method == "GET" {
            self.agent.run(builder.body(()).expect("request"))
        } else {
            if !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            {
                builder = builder.header("content-type", "application/json");
            }
            self.agent.run(builder.body(body.to_vec()).expect("request"))
        };
        let mut response = answer.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_vec()
            .map_err(|e| format!("reading the answer: {e}"))?;
        Ok((status, body))
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
