//! The key server over HTTPS, its certificate pinned (see [`crate::tls`]).
//!
//! Blocking on purpose: the command line is sequential, and the desktop app
//! runs these calls on its blocking pool.

use std::sync::Arc;
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::CONTENT_TYPE;
use serde::Serialize;
use serde::de::DeserializeOwned;
use signet_schema::api::{ApiError, ApiErrorCode};

use crate::error::{ClientError, Result};

/// The largest answer read from the key server: 16 MiB, what its web tier forwards at most.
pub const MAX_ANSWER: u64 = signet_schema::release::MAX_BINARY_LEN;
use crate::tls::{Fingerprint, PinnedServer};

/// Content type of a sealed body.
pub const SEALED: &str = signet_schema::channel::SEALED_CONTENT_TYPE;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// A key server at a known address whose certificate is pinned.
pub struct KeyServer {
    base: String,
    pinned: Fingerprint,
    check: Arc<PinnedServer>,
    http: Client,
}

impl std::fmt::Debug for KeyServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyServer")
            .field("base", &self.base)
            .field("pinned", &self.pinned)
            .finish_non_exhaustive()
    }
}

/// An answer: status, content type and body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, when given.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// Normalises `url` to `https://host[:port]` without a trailing slash.
pub fn normalise_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(url).map_err(|e| ClientError::input("server", format!("not a URL: {e}")))?;
    if parsed.scheme() != "https" {
        return Err(ClientError::input(
            "server",
            "the key server's address must start with https://",
        ));
    }
    if parsed.host_str().is_none() || parsed.path() != "/" || parsed.query().is_some() {
        return Err(ClientError::input(
            "server",
            "give only the server's address, e.g. https://keys.example.com:8443",
        ));
    }
    Ok(url.to_string())
}

/// Connects to `url` without trusting it and returns the fingerprint of the
/// certificate it shows, for the person to compare before pinning it. No
/// request is sent: the handshake is refused as soon as the certificate is seen.
pub fn probe_fingerprint(url: &str) -> Result<Fingerprint> {
    let url = normalise_url(url)?;
    let check = PinnedServer::probe();
    let http = client(&check)?;
    let outcome = http.get(format!("{url}/v1/policy")).send();
    match (check.seen(), outcome) {
        (Some(fingerprint), _) => Ok(fingerprint),
        (None, Err(e)) => Err(unreachable(&url, &e)),
        (None, Ok(_)) => Err(ClientError::UnexpectedAnswer(
            "the server answered without showing a certificate".into(),
        )),
    }
}

fn client(check: &Arc<PinnedServer>) -> Result<Client> {
    let tls = check
        .client_config()
        .map_err(|e| ClientError::SignerUnavailable(format!("TLS set-up: {e}")))?;
    Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(ANSWER_TIMEOUT)
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ClientError::UnexpectedAnswer(format!("HTTPS client set-up: {e}")))
}

fn unreachable(url: &str, error: &(dyn std::error::Error + 'static)) -> ClientError {
    let mut detail = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        detail = format!("{detail}: {cause}");
        source = cause.source();
    }
    ClientError::Unreachable {
        url: url.to_string(),
        detail,
    }
}

impl KeyServer {
    /// The server at `url`, accepted only with the certificate `pinned`.
    pub fn new(url: &str, pinned: Fingerprint) -> Result<KeyServer> {
        let base = normalise_url(url)?;
        let check = PinnedServer::pinned(pinned);
        let http = client(&check)?;
        Ok(KeyServer {
            base,
            pinned,
            check,
            http,
        })
    }

    /// The server's address.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The pinned certificate fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.pinned
    }

    /// Sends a request; any HTTP status comes back as an [`Answer`].
    pub fn send(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, String)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Answer> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| ClientError::input("method", format!("{method} is not an HTTP method")))?;
        let mut request = self.http.request(method, format!("{}{path_and_query}", self.base));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some((content_type, bytes)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(bytes);
        }
        let response = request.send().map_err(|e| self.failed(&e))?;
        self.answer(response)
    }

    fn answer(&self, response: Response) -> Result<Answer> {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // No answer of the key server is larger (the signer binary is at most
        // `MAX_BINARY_LEN`): a server or proxy in the way cannot exhaust memory.
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(response, MAX_ANSWER + 1), &mut body)
            .map_err(|e| unreachable(&self.base, &e))?;
        if body.len() as u64 > MAX_ANSWER {
            return Err(ClientError::UnexpectedAnswer(format!(
                "an answer larger than {} MiB",
                MAX_ANSWER >> 20
            )));
        }
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    fn failed(&self, error: &reqwest::Error) -> ClientError {
        match self.check.seen() {
            Some(presented) if presented != self.pinned => ClientError::IdentityChanged {
                pinned: self.pinned,
                presented,
            },
            _ => unreachable(&self.base, error),
        }
    }

    /// `GET path`, the body on 2xx, the server's typed error otherwise.
    pub fn get_bytes(&self, path_and_query: &str) -> Result<Vec<u8>> {
        let answer = self.send("GET", path_and_query, &[], None)?;
        success(answer).map(|a| a.body)
    }

    /// `GET path` decoded from JSON.
    pub fn get_json<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T> {
        decode(&self.get_bytes(path_and_query)?)
    }

    /// `POST path` with a JSON body, decoded from JSON.
    pub fn post_json<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::input("body", e.to_string()))?;
        let answer = self.send("POST", path, &[], Some(("application/json", bytes)))?;
        decode(&success(answer)?.body)
    }
}

/// The answer when its status is 2xx; the server's typed error otherwise.
pub fn success(answer: Answer) -> Result<Answer> {
    if (200..300).contains(&answer.status) {
        return Ok(answer);
    }
    Err(refusal(answer.status, &answer.body))
}

/// The typed error in a refusal's body.
pub fn refusal(status: u16, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<ApiError>(body) {
        Ok(error) => ClientError::Server {
            status,
            code: error.code,
            message: error.message,
        },
        Err(_) => ClientError::Server {
            status,
            code: if status == 503 {
                ApiErrorCode::Unavailable
            } else {
                ApiErrorCode::Internal
            },
            message: format!(
                "the key server answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ),
        },
    }
}

/// JSON into `T`, or a clear error.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| ClientError::UnexpectedAnswer(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_https_addresses_are_taken() {
        assert_eq!(
            normalise_url("https://keys.example:8443/").ok().as_deref(),
            Some("https://keys.example:8443")
        );
        for bad in [
            "http://keys.example",
            "keys.example",
            "https://keys.example/v1",
            "https://k?x=1",
            "",
        ] {
            assert!(normalise_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refusals_keep_the_servers_code_and_words() {
        let body = br#"{"code":"locked","message":"too many failed sign-ins"}"#;
        let error = refusal(429, body);
        assert_eq!(error.code(), "locked");
        assert_eq!(error.to_string(), "too many failed sign-ins");
        assert_eq!(refusal(503, b"<html>").code(), "unavailable");
    }
}
