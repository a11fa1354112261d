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
        self.key_with(internal, &[])
    }

    /// [`Setup::key`] with `extra` flags. Its policy is the tests' cheap
    /// one: 2048-bit keys, the KDF's floor.
    fn key_with(&self, internal: &str, extra: &[&str]) -> Tier {
        let data = self.path("data");
        let secret = self.secret_file();
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "key".as_ref(),
            "--data-dir".as_ref(),
            data.as_os_str(),
            "--internal".as_ref(),
            internal.as_ref(),
            "--link-secret-file".as_ref(),
            secret.as_os_str(),
            "--kdf-memory-kib".as_ref(),
            "19456".as_ref(),
            "--kdf-passes".as_ref(),
            "2".as_ref(),
            "--kdf-lanes".as_ref(),
            "1".as_ref(),
            "--key-bits".as_ref(),
            "2048".as_ref(),
        ];
        args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
        Tier::start(&args, 1)
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
    let (status, pre) = client.request("POST", "/v1/prelogin", &[], br#"{"user_id":"alice"}"#);
    let pre: serde_json::Value = serde_json::from_slice(&pre).expect("prelogin JSON");
    assert_eq!(status, 200, "{pre}");
    assert!(pre["salt"].as_str().is_some(), "{pre}");
    wait_for_log(&key, "/v1/prelogin");
    // A route that takes only sealed bodies: a plain one is refused here, unread.
    let (status, _, text) = client.send(
        "POST",
        "/v1/revoke",
        &[("content-type", "application/json")],
        Some(br#"{"user_id":"alice","verifier":"AAAA","reason":"key-compromise"}"#),
    );
    assert_eq!(
        (status, error_of(&text).code),
        (415, ApiErrorCode::SealingRequired),
        "{text}"
    );

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
    for leaked in ["admin", "/v1/apply", "/v1/revoke", "..", "203.0.113.9"] {
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
    // The key tier itself takes a body that carries a secret only sealed:
    // a web tier that forwarded a plain one would get it refused, unread.
    for path in signet_keyserver::route_table::ROUTES
        .iter()
        .filter(|r| r.sealed)
        .map(|r| r.path)
    {
        let (status, _, text) = direct.send(
            "POST",
            path,
            &[("signet-link", secret.trim()), ("content-type", "application/json")],
            Some(br#"{"user_id":"alice"}"#),
        );
        assert_eq!(
            (status, error_of(&text).code),
            (415, ApiErrorCode::SealingRequired),
            "{path}: {text}"
        );
    }
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
    let key = setup.key_with("127.0.0.1:0", &["--user-rate", "1", "--user-burst", "3"]);
    let web = setup.web(&key_address(&key), &["--address-rate", "1", "--address-burst", "10"]);
    let client = setup.client(&web);
    let prelogin = |user: &str| {
        client.request(
            "POST",
            "/v1/prelogin",
            &[],
            format!(r#"{{"user_id":"{user}"}}"#).as_bytes(),
        )
    };
    let limited = |(status, retry_after, text): (u16, Option<String>, String)| {
        assert_eq!(status, 429, "{text}");
        assert_eq!(error_of(&text).code, ApiErrorCode::RateLimited);
        let seconds: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
        assert!((1..=60).contains(&seconds), "{seconds}");
    };

    // Per user, counted by the key tier on the sealed body the web tier
    // cannot read: three at once for bob, then refused (sealed); carol is
    // not affected.
    for _ in 0..3 {
        let (status, text) = prelogin("bob");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&text));
    }
    let (status, text) = prelogin("bob");
    assert_eq!(status, 429, "{}", String::from_utf8_lossy(&text));
    let refused: ApiError = serde_json::from_slice(&text).expect("error");
    assert_eq!(refused.code, ApiErrorCode::RateLimited);
    assert!(refused.message.contains("try again in"), "{}", refused.message);
    assert_eq!(prelogin("carol").0, 200);
    // Per address, by the web tier: ten at once in all (seven used above:
    // the channel's bootstrap and opening, five pre-logins), then refused.
    for _ in 0..3 {
        let (status, _, text) = client.send("GET", "/v1/policy", &[], None);
        assert_eq!(status, 200, "{text}");
    }
    limited(client.send("GET", "/v1/policy", &[], None));
    limited(client.send("GET", "/v1/nowhere", &[], None));
}

/// A TCP relay from a local port to `to` that keeps every byte it carries,
/// both ways: what the web tier forwards to the key tier and gets back.
fn recording_relay(to: std::net::SocketAddr) -> (std::net::SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let log = recorded.clone();
    std::thread::spawn(move || {
        for inbound in listener.incoming() {
            let Ok(inbound) = inbound else { return };
            let Ok(outbound) = TcpStream::connect(to) else { return };
            for (mut from, mut into) in [
                (
                    inbound.try_clone().expect("clone"),
                    outbound.try_clone().expect("clone"),
                ),
                (outbound, inbound),
            ] {
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut buffer = [0u8; 16 * 1024];
                    while let Ok(n @ 1..) = from.read(&mut buffer) {
                        log.lock().expect("log").extend_from_slice(&buffer[..n]);
                        if into.write_all(&buffer[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = into.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    (address, recorded)
}

/// The web tier holds nothing and must learn nothing: every exchange of a
/// registration, sign-in, re-registration and revocation, recorded on the
/// link between the tiers, shows no verifier, sealed record, pass-phrase key
/// or consent phrase, in any encoding the API uses.
#[test]
fn what_the_web_tier_forwards_holds_no_secret() {
    use crate::roles::{apply, consent, signed_by};
    use signet_crypto::kdf;
    use signet_schema::KdfParams;
    use signet_schema::api::{ReregisterRequest, RevocationReason, RevokeRequest, SigninRequest};
    use signet_schema::protocol::Bytes;

    let setup = Setup::new();
    let key = setup.key("127.0.0.1:0");
    let key_tier: std::net::SocketAddr = key_address(&key).parse().expect("a TCP address");
    let (relay, recorded) = recording_relay(key_tier);
    let web = setup.web(&relay.to_string(), &[]);
    let client = setup.client(&web);

    let (reg, user_key, keys) = apply(&client, "carol");
    let database = signet_keyserver::keys::db::open(&setup.path("data").join("signet.db").display().to_string())
        .expect("open the database");
    let phrase = crate::common::letter_phrase_in(&database, &setup.path("data"), "carol");
    let carol = consent(&client, reg, user_key, keys, &phrase);
    let released: serde_json::Value = client.post_ok(
        "/v1/signin",
        &SigninRequest {
            user_id: "carol".into(),
            verifier: Bytes(carol.keys.verifier().to_vec()),
        },
    );
    let record = crate::common::b64(released["record"].as_str().expect("record"));
    // A new pass phrase, through the signed (and sealed) re-registration.
    let new_keys = kdf::derive(
        b"carol's next phrase",
        "carol",
        KdfParams::FLOOR,
        &kdf::new_salt().expect("salt"),
    )
    .expect("kdf");
    let new_record = signet_crypto::seal::seal(&carol.key, &carol.registration, &new_keys)
        .expect("seal")
        .encode()
        .expect("encode");
    let body = serde_json::to_vec(&ReregisterRequest {
        user_id: "carol".into(),
        verifier: Bytes(carol.keys.verifier().to_vec()),
        record: Bytes(new_record.clone()),
        new_verifier: Bytes(new_keys.verifier().to_vec()),
        certification_request: None,
    })
    .expect("json");
    let headers = signed_by(&client, &carol, "carol", "POST", "/v1/reregister", &body);
    let (status, text) = client.request("POST", "/v1/reregister", &headers, &body);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&text));
    let _: serde_json::Value = client.post_ok(
        "/v1/revoke",
        &RevokeRequest {
            user_id: "carol".into(),
            verifier: Bytes(new_keys.verifier().to_vec()),
            reason: RevocationReason::KeyCompromise,
        },
    );

    let recorded = recorded.lock().expect("log").clone();
    let text = String::from_utf8_lossy(&recorded);
    assert!(text.contains("POST /v1/revoke"), "the relay carried the exchanges");
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("verifier", carol.keys.verifier().to_vec()),
        ("new verifier", new_keys.verifier().to_vec()),
        ("sealed record", record),
        ("new sealed record", new_record),
    ];
    for (what, bytes) in &secrets {
        // A window from the middle (past a record's public header, and for
        // base64 on a 3-byte boundary, so it shows as it would in the whole).
        let middle = bytes.len() / 2 / 3 * 3;
        let window = &bytes[middle..middle + 15];
        for shown in [b64(window), hex::encode(window)] {
            assert!(!text.contains(&shown), "the {what} crossed the web tier");
        }
        assert!(
            !recorded.windows(15).any(|w| w == window),
            "the {what} crossed the web tier raw"
        );
    }
    for shown in [phrase.clone(), phrase.replace('-', ""), phrase.to_lowercase()] {
        assert!(!text.contains(&shown), "the consent phrase crossed the web tier");
    }
}
