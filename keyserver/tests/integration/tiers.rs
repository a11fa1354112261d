//! The two tiers as separate processes on real sockets: the key tier on the
//! internal link (TCP or Unix socket, link secret required), the web tier on
//! HTTPS in front of it, a client pinned to the web tier's certificate.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{Client, Tier};
use sha2::{Digest, Sha256};
use signet_schema::api::{ApiError, ApiErrorCode};

/// A key tier and the files the web tier shares with it.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn secret_file(&self) -> PathBuf {
        self.path("link.secret")
    }

    /// `signet-keyserver key` on `internal` (`127.0.0.1:0` or `unix:…`).
    fn key(&self, internal: &str) -> Tier {
        let data = self.path("data");
        let secret = self.secret_file();
        Tier::start(
            &[
                "key".as_ref(),
                "--data-dir".as_ref(),
                data.as_os_str(),
                "--internal".as_ref(),
                internal.as_ref(),
                "--link-secret-file".as_ref(),
                secret.as_os_str(),
            ],
            1,
        )
    }

    /// `signet-keyserver web` in front of `key_tier`, with `extra` flags.
    fn web(&self, key_tier: &str, extra: &[&str]) -> Tier {
        let state = self.path("web-state");
        let secret = self.secret_file();
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "web".as_ref(),
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--key-tier".as_ref(),
            key_tier.as_ref(),
            "--link-secret-file".as_ref(),
            secret.as_os_str(),
            "--state-dir".as_ref(),
            state.as_os_str(),
        ];
        args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
        Tier::start(&args, 2)
    }

    /// A client of `web` that trusts only its certificate, after checking
    /// that the certificate file is the one whose fingerprint was printed.
    fn client(&self, web: &Tier) -> Client {
        let pem = std::fs::read(self.path("web-state").join("tls").join("cert.pem")).expect("certificate");
        let der = ureq::tls::Certificate::from_pem(&pem).expect("PEM").der().to_vec();
        let printed = web.lines[0].strip_prefix("tls-sha256 ").expect("fingerprint line");
        assert_eq!(hex::encode(Sha256::digest(&der)), printed, "pinned fingerprint");
        assert!(web.url.starts_with("https://"), "{}", web.url);
        Client::with_root(&web.url, &pem)
    }
}

/// The key tier's address as the web tier's --key-tier wants it.
fn key_address(key: &Tier) -> String {
    key.url
        .strip_prefix("http://")
        .map(str::to_owned)
        .unwrap_or_else(|| key.url.clone())
}

fn error_of(text: &str) -> ApiError {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not a typed error ({e}): {text}"))
}

fn wait_for_log(tier: &Tier, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !tier.log().contains(needle) {
        assert!(Instant::now() < deadline, "{needle:?} never logged:\n{}", tier.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_web_tier_forwards_only_the_allow_list() {
    let setup = Setup::new();
    let key = setup.key("127.0.0.1:0");
    let web = setup.web(&key_address(&key), &[]);
    let client = setup.client(&web);

    // Allowed routes go through.
    let (status, _, policy) = client.send("GET", "/v1/policy", &[], None);
    assert_eq!(status, 200, "{policy}");
    let policy: serde_json::Value = serde_json::from_str(&policy).expect("policy JSON");
    assert!(policy.get("kdf").is_some(), "{policy}");
    let (status, _, pre) = client.send(
        "POST",
        "/v1/prelogin",
        &[("content-type", "application/json")],
        Some(br#"{"user_id":"alice"}"#),
    );
    assert_eq!(status, 200, "{pre}");
    let pre: serde_json::Value = serde_json::from_str(&pre).expect("prelogin JSON");
    assert!(pre["salt"].as_str().is_some(), "{pre}");
    wait_for_log(&key, "/v1/prelogin");

    // Anything else is 404 at the web tier and never reaches the key tier.
    for (method, path) in [
        ("GET", "/v1/../"),
        ("GET", "/v1/policy/../admin"),
        ("POST", "/v1/admin"),
        ("GET", "/v1/admin"),
        ("POST", "/v1/policy"),
        ("GET", "/v1/certificates/..%2F..%2Fadmin"),
    ] {
        let (status, _, text) = client.send(method, path, &[("content-type", "application/json")], Some(b"{}"));
        assert_eq!(status, 404, "{method} {path}: {text}");
        assert_eq!(error_of(&text).code, ApiErrorCode::NotFound, "{method} {path}");
    }
    // An oversized body is refused before it is read or forwarded.
    let big = vec![b' '; 70 * 1024];
    let (status, _, text) = client.send("POST", "/v1/apply", &[("content-type", "application/json")], Some(&big));
    assert_eq!(status, 413, "{text}");
    assert_eq!(error_of(&text).code, ApiErrorCode::PayloadTooLarge);
    // A client cannot pose as the web tier or choose its reported address.
    let (status, _, text) = client.send(
        "GET",
        "/v1/policy",
        &[
            ("signet-link", &"00".repeat(32)),
            ("signet-client-address", "203.0.113.9"),
        ],
        None,
    );
    assert_eq!(status, 200, "{text}");

    // One more request that is logged, so that everything before it was.
    assert_eq!(client.send("GET", "/v1/ca.pem", &[], None).0, 200);
    wait_for_log(&key, "/v1/ca.pem");
    let log = key.log();
    for leaked in ["admin", "/v1/apply", "..", "203.0.113.9"] {
        assert!(!log.contains(leaked), "{leaked:?} reached the key tier:\n{log}");
    }
    assert!(
        log.contains("client=Some(127.0.0.1)"),
        "the client address is passed on:\n{log}"
    );
}

#[test]
fn the_key_tier_refuses_anyone_without_the_link_secret() {
    let setup = Setup::new();
    let key = setup.key("127.0.0.1:0");
    let direct = Client::new(&key.url);

    let (status, _, text) = direct.send("GET", "/v1/policy", &[], None);
    assert_eq!(status, 403, "{text}");
    assert_eq!(error_of(&text).code, ApiErrorCode::Forbidden);
    for wrong in ["00".repeat(32), "not hex".into(), String::new()] {
        let (status, _, text) = direct.send("GET", "/v1/policy", &[("signet-link", &wrong)], None);
        assert_eq!(status, 403, "{wrong:?}: {text}");
        assert_eq!(error_of(&text).code, ApiErrorCode::Forbidden);
    }
    // The secret file is private, and with its content the key tier answers.
    use std::os::unix::fs::PermissionsExt;
    let file = setup.secret_file();
    assert_eq!(
        std::fs::metadata(&file).expect("secret").permissions().mode() & 0o777,
        0o600
    );
    let secret = std::fs::read_to_string(&file).expect("secret");
    assert_eq!(secret.trim().len(), 64);
    let (status, _, text) = direct.send("GET", "/v1/policy", &[("signet-link", secret.trim())], None);
    assert_eq!(status, 200, "{text}");
}

/// A raw HTTP/1.1 request over a Unix socket: (status, body).
fn unix_request(socket: &Path, head: &str) -> (u16, String) {
    let mut stream = std::os::unix::net::UnixStream::connect(socket).expect("connect");
    stream
        .write_all(format!("{head}\r\nHost: key-tier\r\nConnection: close\r\n\r\n").as_bytes())
        .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{answer}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn an_unreachable_key_tier_is_503_until_it_returns() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let setup = Setup::new();
    let socket = setup.path("key.sock");
    let internal = format!("unix:{}", socket.display());
    let mut key = setup.key(&internal);
    assert_eq!(key.url, internal);
    let meta = std::fs::metadata(&socket).expect("socket");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let (status, body) = unix_request(&socket, "GET /v1/policy HTTP/1.1");
    assert_eq!(status, 403, "{body}");

    let web = setup.web(&internal, &[]);
    let client = setup.client(&web);
    assert_eq!(client.send("GET", "/v1/policy", &[], None).0, 200);

    key.kill();
    let (status, _, text) = client.send("GET", "/v1/policy", &[], None);
    assert_eq!(status, 503, "{text}");
    assert_eq!(error_of(&text).code, ApiErrorCode::Unavailable);

    let _key = setup.key(&internal);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, text) = client.send("GET", "/v1/policy", &[], None);
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "{text}");
        assert!(Instant::now() < deadline, "the web tier did not recover: {text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let setup = Setup::new();
    let key = setup.key("127.0.0.1:0");
    let web = setup.web(
        &key_address(&key),
        &[
            "--address-rate",
            "1",
            "--address-burst",
            "8",
            "--user-rate",
            "1",
            "--user-burst",
            "3",
        ],
    );
    let client = setup.client(&web);
    let prelogin = |user: &str| {
        client.send(
            "POST",
            "/v1/prelogin",
            &[("content-type", "application/json")],
            Some(format!(r#"{{"user_id":"{user}"}}"#).as_bytes()),
        )
    };
    let limited = |(status, retry_after, text): (u16, Option<String>, String)| {
        assert_eq!(status, 429, "{text}");
        assert_eq!(error_of(&text).code, ApiErrorCode::RateLimited);
        let seconds: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
        assert!((1..=60).contains(&seconds), "{seconds}");
    };

    // Per user: three at once for bob, then refused; carol is not affected.
    for _ in 0..3 {
        let (status, _, text) = prelogin("bob");
        assert_eq!(status, 200, "{text}");
    }
    limited(prelogin("bob"));
    assert_eq!(prelogin("carol").0, 200);
    // Per address: eight at once in all (five used above), then refused.
    for _ in 0..3 {
        let (status, _, text) = client.send("GET", "/v1/policy", &[], None);
        assert_eq!(status, 200, "{text}");
    }
    limited(client.send("GET", "/v1/policy", &[], None));
    limited(client.send("GET", "/v1/nowhere", &[], None));
}
