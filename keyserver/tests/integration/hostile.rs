//! Attacks from one address against the real `signet-keyserver serve` on
//! loopback, each bounded in count and time: the attacker connects from
//! 127.0.0.2, the legitimate client from 127.0.0.1, and the legitimate client
//! must still be served.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;

use crate::common::KeyServer;

const ATTACKER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A TCP connection to `to` from `source`.
async fn connect_from(source: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).expect("bind");
    socket.connect(to).await.expect("connect")
}

/// A TLS connection to the server from `source`, trusting its certificate.
async fn tls_from(source: Ipv4Addr, server: &KeyServer) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = server.certificate();
    for certificate in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(certificate.expect("PEM")).expect("root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::IpAddress(server.address().ip().into());
    let tcp = connect_from(source, server.address()).await;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

/// Whether the server closed the connection within `wait` without sending
/// anything (a read ends, or fails, at once).
async fn closed_within(stream: &mut (impl AsyncRead + Unpin), wait: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(wait, stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[test]
fn connections_held_by_one_address_leave_room_for_everyone_else() {
    let server = KeyServer::launch()
        .arg("--max-connections-per-address", "8")
        .log_to_file()
        .start();
    let address = server.address();
    let runtime = runtime();

    // The server raised its open-file limit to the hard limit at start.
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).expect("limits");
    let open_files: Vec<&str> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("the open-file line")
        .split_whitespace()
        .collect();
    assert_eq!(
        open_files[3], open_files[4],
        "soft limit raised to the hard one: {limits}"
    );

    // The attacker opens connections and never sends a byte: its first 8 are held ...
    let mut held = Vec::new();
    runtime.block_on(async {
        for _ in 0..8 {
            held.push(connect_from(ATTACKER, address).await);
        }
        // ... and every further one is closed at once, before any handshake.
        for attempt in 0..40 {
            let mut extra = connect_from(ATTACKER, address).await;
            assert!(
                closed_within(&mut extra, Duration::from_secs(2)).await,
                "connection {attempt} beyond the share was left open"
            );
        }
        for stream in &mut held {
            assert!(
                !closed_within(stream, Duration::from_millis(20)).await,
                "a held connection was closed"
            );
        }
    });

    // Meanwhile a client from another address is served as usual.
    let client = server.client_with_timeout(Duration::from_secs(5));
    let started = Instant::now();
    for _ in 0..10 {
        let (status, _) = client.request("GET", "/v1/policy", &[], &[]);
        assert_eq!(status, 200);
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        server.log().contains("connections refused at accept"),
        "{}",
        server.log()
    );

    // Once the attacker lets go, its address gets in again.
    drop(held);
    runtime.block_on(async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut again = tls_from(ATTACKER, &server).await;
        again
            .write_all(b"GET /v1/policy HTTP/1.1\r\nhost: signet\r\nconnection: close\r\n\r\n")
            .await
            .expect("send");
        let mut answer = Vec::new();
        again.read_to_end(&mut answer).await.expect("answer");
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    });
}

#[test]
fn a_body_sent_a_byte_at_a_time_is_cut_off_at_its_deadline() {
    let server = KeyServer::launch().arg("--request-body-timeout", "2").start();
    let runtime = runtime();
    let (answer, took) = runtime.block_on(async {
        let stream = tls_from(ATTACKER, &server).await;
        let (mut reader, mut writer) = tokio::io::split(stream);
        writer
            .write_all(
                b"POST /v1/channel/open HTTP/1.1\r\nhost: signet\r\ncontent-type: application/json\r\n\
                  content-length: 4000\r\n\r\n{",
            )
            .await
            .expect("head");
        let head_sent = Instant::now();
        // One byte every 300 ms, as long as the server reads them.
        let trickle = tokio::spawn(async move {
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if writer.write_all(b" ").await.is_err() || writer.flush().await.is_err() {
                    break;
                }
            }
        });
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(15), reader.read_to_end(&mut answer)).await;
        let took = head_sent.elapsed();
        trickle.abort();
        assert!(read.is_ok(), "the connection was still open after 15 s");
        (String::from_utf8_lossy(&answer).into_owned(), took)
    });
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request-timeout"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(6),
        "answered after {took:?}"
    );
    // The server is still there for everyone.
    let (status, _) = server.client().request("GET", "/v1/policy", &[], &[]);
    assert_eq!(status, 200);
}

#[test]
fn bodies_a_web_page_could_send_across_sites_are_refused_unparsed() {
    let server = KeyServer::start_sqlite();
    let client = server.client();
    for (path, content_type) in [
        ("/v1/channel/open", "text/plain"),
        ("/v1/channel/open", "application/x-www-form-urlencoded"),
        ("/v1/apply", "multipart/form-data; boundary=x"),
        ("/v1/signin", "text/plain;charset=UTF-8"),
        ("/v1/reregister", "application/jsonp"),
    ] {
        let (status, body) = client.request(
            "POST",
            path,
            &[("content-type", content_type.to_owned())],
            br#"{"user_id":"alice"}"#,
        );
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 415, "{path} as {content_type}: {text}");
        // A route that takes only sealed bodies says so; another names JSON.
        let expected = match path {
            "/v1/channel/open" => "unsupported-media-type",
            _ => "sealing-required",
        };
        assert!(text.contains(expected), "{path} as {content_type}: {text}");
    }
}

/// One HTTPS request from `source` on a connection of its own: (status, body).
async fn https_from(
    source: Ipv4Addr,
    server: &KeyServer,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
) -> (u16, Vec<u8>) {
    let mut stream = tls_from(source, server).await;
    let mut request = format!("{method} {path} HTTP/1.1\r\nhost: signet\r\nconnection: close\r\n");
    if let Some((content_type, bytes)) = body {
        request.push_str(&format!(
            "content-type: {content_type}\r\ncontent-length: {}\r\n",
            bytes.len()
        ));
    }
    request.push_str("\r\n");
    let mut wire = request.into_bytes();
    wire.extend_from_slice(body.map_or(&[][..], |(_, bytes)| bytes));
    stream.write_all(&wire).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("answer");
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
    let status = std::str::from_utf8(&answer[9..12])
        .expect("status")
        .parse()
        .expect("status");
    // Small answers come whole (Content-Length); a chunked one is not expected here.
    (status, answer[end..].to_vec())
}

/// Opens a sealed session from `source`, as the signing core does.
async fn open_session_from(source: Ipv4Addr, server: &KeyServer) -> signet_crypto::channel::ChannelClient {
    use signet_crypto::channel::{ChannelClient, first_use_integrity_key};
    let (status, bootstrap) = https_from(source, server, "GET", "/v1/bootstrap", None).await;
    assert_eq!(status, 200);
    let bootstrap = serde_json::from_slice(&bootstrap).expect("bootstrap");
    let now = crate::common::now();
    let pinned = first_use_integrity_key(&bootstrap, now).expect("bootstrap");
    let (channel, open) = ChannelClient::open(&bootstrap, &pinned, now).expect("open");
    let open = serde_json::to_vec(&open).expect("json");
    let (status, answer) = https_from(
        source,
        server,
        "POST",
        "/v1/channel/open",
        Some(("application/json", &open)),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    channel
}

/// A sealed pre-login in `channel`: the status, once the answer opened.
async fn sealed_prelogin(
    source: Ipv4Addr,
    server: &KeyServer,
    channel: &mut signet_crypto::channel::ChannelClient,
) -> Result<u16, String> {
    let (status, sealed, answer) =
        sealed_from(source, server, channel, "/v1/prelogin", br#"{"user_id":"somebody"}"#).await;
    match sealed {
        true => Ok(status),
        false => Err(String::from_utf8_lossy(&answer).into_owned()),
    }
}

/// POSTs `json` to `path` sealed in `channel` from `source`: the status,
/// whether the answer came sealed, and the answer (opened when it did).
async fn sealed_from(
    source: Ipv4Addr,
    server: &KeyServer,
    channel: &mut signet_crypto::channel::ChannelClient,
    path: &str,
    json: &[u8],
) -> (u16, bool, Vec<u8>) {
    use signet_schema::channel::{SEALED_CONTENT_TYPE, SealedMessage};
    use signet_schema::protocol::Bytes;
    let (counter, sealed) = channel.seal_request("POST", path, json).expect("seal");
    let message = serde_json::to_vec(&SealedMessage {
        session_id: Bytes(channel.session_id().to_vec()),
        counter,
        body: Bytes(sealed),
    })
    .expect("json");
    let (status, answer) = https_from(source, server, "POST", path, Some((SEALED_CONTENT_TYPE, &message))).await;
    let Ok(sealed) = serde_json::from_slice::<SealedMessage>(&answer) else {
        return (status, false, answer);
    };
    let plain = channel
        .open_response(sealed.counter, "POST", path, &sealed.body.0)
        .expect("open the answer");
    (status, true, plain.to_vec())
}

#[test]
fn addresses_opening_sessions_cannot_shut_out_another_client() {
    let server = KeyServer::launch()
        .arg("--max-sessions", "12")
        .arg("--max-sessions-per-address", "4")
        .rate_limits(100_000, 100_000)
        .start();
    let runtime = runtime();
    runtime.block_on(async {
        // Four attacking addresses open 8 sessions each: 32 in a table of 12.
        let mut first_of_flood = None;
        for round in 0..8 {
            for last in 2..=5 {
                let channel = open_session_from(Ipv4Addr::new(127, 0, 0, last), &server).await;
                if round == 0 && last == 2 {
                    first_of_flood = Some(channel);
                }
            }
        }
        // A legitimate client opens its session and is served in it, repeatedly.
        let legitimate = Ipv4Addr::LOCALHOST;
        let mut channel = open_session_from(legitimate, &server).await;
        for _ in 0..3 {
            assert_eq!(sealed_prelogin(legitimate, &server, &mut channel).await, Ok(200));
        }
        // Even while the flood goes on.
        for last in 2..=5 {
            open_session_from(Ipv4Addr::new(127, 0, 0, last), &server).await;
        }
        assert_eq!(sealed_prelogin(legitimate, &server, &mut channel).await, Ok(200));
        // The flood's own first sessions were the ones dropped.
        let mut dropped = first_of_flood.expect("a first session");
        let refused = sealed_prelogin(Ipv4Addr::new(127, 0, 0, 2), &server, &mut dropped).await;
        assert!(refused.is_err(), "{refused:?}");
    });
}

#[test]
fn session_openings_are_limited_per_address_before_any_key_work() {
    let server = KeyServer::launch()
        .arg("--opening-rate", "1")
        .arg("--opening-burst", "3")
        .start();
    let runtime = runtime();
    runtime.block_on(async {
        for _ in 0..3 {
            open_session_from(ATTACKER, &server).await;
        }
        // The fourth opening is refused by the web tier: the key tier decrypts nothing for it.
        let bootstrap = https_from(ATTACKER, &server, "GET", "/v1/bootstrap", None).await;
        assert_eq!(bootstrap.0, 200, "other routes keep the address's own rate");
        let (status, answer) = https_from(
            ATTACKER,
            &server,
            "POST",
            "/v1/channel/open",
            Some(("application/json", b"{}")),
        )
        .await;
        assert_eq!(status, 429, "{}", String::from_utf8_lossy(&answer));
        // Another address opens its session and is served in it.
        let legitimate = Ipv4Addr::LOCALHOST;
        let mut channel = open_session_from(legitimate, &server).await;
        assert_eq!(sealed_prelogin(legitimate, &server, &mut channel).await, Ok(200));
    });
}

#[test]
fn re_registration_guesses_count_against_the_user_they_name() {
    let server = KeyServer::start_sqlite();
    let client = server.client();
    let body = br#"{"user_id":"victim","verifier":"AAAA","record":"","new_verifier":"AAAA"}"#;
    let statuses: Vec<u16> = (0..25)
        .map(|_| client.request("POST", "/v1/reregister", &[], body).0)
        .collect();
    // Unsigned, each is refused; after the user's burst (20), the key tier
    // (which alone reads the sealed body) answers 429 before the signature.
    assert!(statuses[..20].iter().all(|&s| s == 403), "{statuses:?}");
    assert!(statuses[20..].iter().all(|&s| s == 429), "{statuses:?}");
    // Another user's requests are not held up.
    let other = br#"{"user_id":"someone-else","verifier":"AAAA","record":"","new_verifier":"AAAA"}"#;
    assert_eq!(client.request("POST", "/v1/reregister", &[], other).0, 403);
}

#[test]
fn applications_are_limited_per_address_and_for_everyone() {
    let server = KeyServer::launch()
        .arg("--application-rate", "1")
        .arg("--application-burst", "3")
        .arg("--application-rate-total", "1")
        .arg("--application-burst-total", "2")
        .start();
    let client = server.client();
    let sealed = [("content-type", signet_schema::channel::SEALED_CONTENT_TYPE.to_owned())];
    let garbage = br#"{"session_id":"AAAA","counter":0,"body":"AAAA"}"#;
    // Forwarded (and refused by the key tier for what they hold) until the address's share is spent ...
    let statuses: Vec<u16> = (0..6)
        .map(|_| client.request("POST", "/v1/apply", &sealed, garbage).0)
        .collect();
    assert!(statuses[..3].iter().all(|&s| s == 400), "{statuses:?}");
    assert!(statuses[3..].iter().all(|&s| s == 429), "{statuses:?}");
    // ... while another address has its own share, and the garbage spent none of everyone's.
    let runtime = runtime();
    let well_formed = |user_id: &str| {
        let body = serde_json::to_value(application(user_id)).expect("json");
        let (status, answer) = post_from(&runtime, ATTACKER, &server, "/v1/apply", &body);
        (status, answer.into_bytes())
    };
    assert_eq!(well_formed("first").0, 200);
    assert_eq!(well_formed("second").0, 200);
    // Everyone's two are spent: the third well-formed application waits.
    let (status, answer) = well_formed("third");
    assert_eq!(status, 429, "{}", String::from_utf8_lossy(&answer));
    assert!(String::from_utf8_lossy(&answer).contains("rate-limited"));
    // Other routes are not held up.
    assert_eq!(client.request("GET", "/v1/policy", &[], &[]).0, 200);
}

/// A well-formed application for `user_id` (one key for every call: made once).
fn application(user_id: &str) -> signet_schema::api::ApplyRequest {
    use signet_crypto::keys::UserKey;
    use signet_schema::{KdfParams, KeySize};
    static KEY: std::sync::OnceLock<UserKey> = std::sync::OnceLock::new();
    let key = KEY.get_or_init(|| UserKey::generate(KeySize::Rsa2048).expect("keygen"));
    crate::common::application_with(user_id, key, KdfParams::FLOOR)
}

/// A sign-in or consent body from `source`, as JSON: (status, answer text).
fn post_from(
    runtime: &tokio::runtime::Runtime,
    source: Ipv4Addr,
    server: &KeyServer,
    path: &str,
    body: &serde_json::Value,
) -> (u16, String) {
    let bytes = serde_json::to_vec(body).expect("json");
    let (status, _, answer) = runtime.block_on(async {
        let mut channel = open_session_from(source, server).await;
        sealed_from(source, server, &mut channel, path, &bytes).await
    });
    (status, String::from_utf8_lossy(&answer).into_owned())
}

/// Ten requests used to lock any account for 30 minutes, and five well-formed
/// phrases any application. Now wrong phrases never keep the letter's holder
/// out; wrong pass phrases lock only the address that sends them out of the
/// account; many addresses guessing together make the account wait, but
/// not for an address its owner signed in from; and an address spraying
/// guesses over many ids is slowed down whatever ids it names.
#[test]
fn a_flood_of_guesses_locks_no_one_out() {
    let server = KeyServer::launch().rate_limits(100_000, 100_000).start();
    let runtime = runtime();
    let owner = Ipv4Addr::LOCALHOST;
    let wrong_verifier = signet_schema::protocol::Bytes(vec![7; 32]);

    // An application, flooded with wrong phrases: its holder consents at once.
    let applied = application("owner");
    let verifier = applied.verifier.clone();
    let applied = serde_json::to_value(&applied).expect("json");
    let (status, answer) = post_from(&runtime, owner, &server, "/v1/apply", &applied);
    assert_eq!(status, 200, "{answer}");
    let guess = serde_json::json!({ "user_id": "owner", "phrase": crate::common::in_process::stray_phrase() });
    for _ in 0..30 {
        let (status, answer) = post_from(&runtime, ATTACKER, &server, "/v1/consent", &guess);
        assert!(matches!(status, 401 | 423 | 429), "{status} {answer}");
    }
    let consent = serde_json::json!({ "user_id": "owner", "phrase": crate::common::letter_phrase(&server, "owner") });
    let (status, answer) = post_from(&runtime, owner, &server, "/v1/consent", &consent);
    assert_eq!(status, 200, "{answer}");

    // The owner signs in; then one address floods the account with wrong pass phrases.
    let right = serde_json::json!({ "user_id": "owner", "verifier": verifier });
    assert_eq!(post_from(&runtime, owner, &server, "/v1/signin", &right).0, 200);
    let guess = serde_json::json!({ "user_id": "owner", "verifier": wrong_verifier });
    let attacker = Ipv4Addr::new(127, 0, 0, 3);
    let answers: Vec<(u16, String)> = (0..15)
        .map(|_| post_from(&runtime, attacker, &server, "/v1/signin", &guess))
        .collect();
    assert!(
        answers.iter().all(|(status, _)| matches!(status, 401 | 423)),
        "{answers:?}"
    );
    // It locked out itself (even with the right pass phrase), not the owner.
    let (status, answer) = post_from(&runtime, attacker, &server, "/v1/signin", &right);
    assert_eq!(status, 423, "{answer}");
    assert_eq!(post_from(&runtime, owner, &server, "/v1/signin", &right).0, 200);

    // Many addresses together push the account into waits: a stranger's
    // address waits even with the right pass phrase; the owner's does not.
    for last in 20..30 {
        for _ in 0..4 {
            post_from(&runtime, Ipv4Addr::new(127, 0, 0, last), &server, "/v1/signin", &guess);
        }
    }
    // (Each try right after another guess: the account's waits are a second or more.)
    let stranger_waits = (30..35).any(|last| {
        post_from(&runtime, Ipv4Addr::new(127, 0, 0, last), &server, "/v1/signin", &guess);
        let (status, answer) = post_from(&runtime, Ipv4Addr::new(127, 0, 0, 40), &server, "/v1/signin", &right);
        status == 423 && answer.contains("try again in")
    });
    assert!(stranger_waits, "the account's waits never held a stranger's address");
    assert_eq!(post_from(&runtime, owner, &server, "/v1/signin", &right).0, 200);

    // One address guessing at many ids waits after its first 20 failures, whatever ids it names.
    let sprayer = Ipv4Addr::new(127, 0, 0, 50);
    let statuses: Vec<u16> = (0..25)
        .map(|i| {
            let body = serde_json::json!({ "user_id": format!("someone{i}"), "verifier": wrong_verifier });
            post_from(&runtime, sprayer, &server, "/v1/signin", &body).0
        })
        .collect();
    assert!(statuses[..20].iter().all(|&s| s == 401), "{statuses:?}");
    assert!(
        statuses[21..].iter().filter(|&&s| s == 429).count() >= 2,
        "{statuses:?}"
    );
}

/// An address that keeps sending requests far over its rate, whatever the
/// 429s tell it, has its connections closed and refused at accept (before
/// any handshake) for the wait its 429s named; answering such a flood 429 by
/// 429 would cost a TLS record each way per request. Everyone else is served.
#[test]
fn an_address_flooding_over_its_rate_is_refused_at_accept() {
    let server = KeyServer::launch()
        .arg("--address-rate", "60")
        .arg("--address-burst", "5")
        .log_to_file()
        .start();
    let runtime = runtime();
    let flooder = Ipv4Addr::new(127, 0, 0, 7);
    runtime.block_on(async {
        // One keep-alive connection, requests back to back until the server closes it.
        let mut stream = tls_from(flooder, &server).await;
        let request = b"GET /v1/policy HTTP/1.1\r\nhost: signet\r\n\r\n";
        let mut refused = 0;
        let mut buffer = vec![0u8; 64 * 1024];
        for _ in 0..1000 {
            if stream.write_all(request).await.is_err() {
                break;
            }
            let read = match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
                Ok(Ok(n)) if n > 0 => n,
                _ => break,
            };
            let answer = String::from_utf8_lossy(&buffer[..read]);
            refused += usize::from(answer.starts_with("HTTP/1.1 429"));
            if answer.to_ascii_lowercase().contains("connection: close") {
                break;
            }
        }
        assert!((100..=200).contains(&refused), "closed after {refused} refusals");
        // New connections from it are closed at once, unread.
        let mut again = connect_from(flooder, server.address()).await;
        assert!(
            closed_within(&mut again, Duration::from_secs(2)).await,
            "a new connection was kept"
        );
    });
    // Another client is served meanwhile.
    let (status, _) = server.client().request("GET", "/v1/policy", &[], &[]);
    assert_eq!(status, 200);
    assert!(
        server.log().contains("floods requests over its rate"),
        "{}",
        server.log()
    );
}
