//! A database outage answers 503 and the server recovers by itself.
//!
//! `signet-keyserver serve` runs on PostgreSQL through a small TCP proxy.
//! With the proxy up a person registers and signs in. Then the proxy is cut
//! (listener closed, every open connection shut down): sign-in, pre-login
//! and apply answer 503 with the typed error `unavailable` within a bounded
//! time, never 500 and never a hang. The proxy comes back on the same port
//! and the same process serves again without a restart.
//!
//! Skipped (saying why) when `SIGNET_TEST_POSTGRES_URL` is not set.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::{Client, KeyServer, PgDatabase, letter_phrase_in, nonce, now, registration};
use signet_crypto::keys::UserKey;
use signet_crypto::{csr, kdf, seal};
use signet_keyserver::keys::db::Database;
use signet_schema::api::{
    ApiError, ApiErrorCode, ApplyRequest, ConsentRequest, PreloginRequest, SigninRequest, SigninResponse,
};
use signet_schema::protocol::Bytes;
use signet_schema::{KdfParams, KeySize, RegistrationData, SignatureScheme};

/// Longest acceptable wait for the 503 of a request during the outage.
const UNAVAILABLE_WITHIN: Duration = Duration::from_secs(10);
/// Longest acceptable time for the server to serve again once the database is back.
const RECOVERY_WITHIN: Duration = Duration::from_secs(20);
/// The client gives up on an answer after this long (a hang).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(40);

/// A TCP proxy that can be cut and brought back on the same port.
struct Proxy {
    address: SocketAddr,
    upstream: String,
    running: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    fn start(upstream: String) -> Proxy {
        let mut proxy = Proxy {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            upstream,
            running: Arc::new(AtomicBool::new(false)),
            connections: Arc::new(Mutex::new(Vec::new())),
            acceptor: None,
        };
        proxy.up();
        proxy
    }

    /// Listens (again) and relays every connection to the upstream server.
    fn up(&mut self) {
        let listener = TcpListener::bind(self.address).expect("bind the proxy");
        self.address = listener.local_addr().expect("proxy address");
        listener.set_nonblocking(true).expect("non-blocking listener");
        self.running.store(true, Ordering::SeqCst);
        let running = self.running.clone();
        let connections = self.connections.clone();
        let upstream = self.upstream.clone();
        self.acceptor = Some(std::thread::spawn(move || {
            while running.load(Ordering::SeqCst) {
                let client = match listener.accept() {
                    Ok((client, _)) => client,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    Err(_) => continue,
                };
                let _ = client.set_nonblocking(false);
                let Ok(server) = TcpStream::connect(&upstream) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                relay(&connections, client, server);
            }
            // The listener is dropped here: new connections are refused.
        }));
    }

    /// Closes the listener and shuts down every open connection.
    fn cut(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.join().expect("proxy acceptor");
        }
        for stream in self.connections.lock().expect("lock").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Copies both ways between `client` and `server` until either side ends.
fn relay(connections: &Mutex<Vec<TcpStream>>, client: TcpStream, server: TcpStream) {
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    {
        let mut open = connections.lock().expect("lock");
        for stream in [&client, &server] {
            if let Ok(s) = stream.try_clone() {
                open.push(s);
            }
        }
    }
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        });
    };
    pipe(client, server2);
    pipe(server, client2);
}

/// POSTs `body` as JSON: (status, body, time to answer). A lost answer fails the test.
fn post(http: &Client, path: &str, body: &impl serde::Serialize) -> (u16, Vec<u8>, Duration) {
    let started = Instant::now();
    let (status, text) = http
        .try_request("POST", path, &[], &serde_json::to_vec(body).expect("json"))
        .unwrap_or_else(|e| panic!("{path}: no answer after {:?}: {e}", started.elapsed()));
    (status, text, started.elapsed())
}

/// Answers 503 `unavailable` within [`UNAVAILABLE_WITHIN`]; returns how long it took.
fn expect_unavailable(http: &Client, path: &str, body: &impl serde::Serialize) -> Duration {
    let (status, text, took) = post(http, path, body);
    let text = String::from_utf8_lossy(&text);
    let error: ApiError =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {status} without a typed error ({e}): {text}"));
    assert_eq!(
        (status, error.code),
        (503, ApiErrorCode::Unavailable),
        "{path} during the outage: {text}"
    );
    assert!(took <= UNAVAILABLE_WITHIN, "{path}: 503 only after {took:?}");
    took
}

/// One person, as their signing core knows them.
struct Person {
    registration: RegistrationData,
    record: Vec<u8>,
    verifier: Vec<u8>,
}

impl Person {
    fn new(user_id: &str, key: &UserKey) -> (Person, ApplyRequest) {
        let registration = registration(user_id);
        let salt = kdf::new_salt().expect("salt");
        let keys = kdf::derive(b"a pass phrase for the outage", user_id, KdfParams::FLOOR, &salt).expect("kdf");
        let record = seal::seal(key, &registration, &keys)
            .expect("seal")
            .encode()
            .expect("encode");
        let request = csr::certification_request(key, &registration, SignatureScheme::RsaPssSha256).expect("csr");
        let apply = ApplyRequest {
            registration: registration.clone(),
            record: Bytes(record.clone()),
            certification_request: Bytes(request),
            verifier: Bytes(keys.verifier().to_vec()),
            nonce: nonce(),
            timestamp: now(),
        };
        let person = Person {
            registration,
            record,
            verifier: keys.verifier().to_vec(),
        };
        (person, apply)
    }

    fn user_id(&self) -> &str {
        &self.registration.user_id
    }

    fn signin(&self) -> SigninRequest {
        SigninRequest {
            user_id: self.user_id().to_owned(),
            verifier: Bytes(self.verifier.clone()),
        }
    }

    /// Applies and consents with the phrase of the letter (read straight from PostgreSQL).
    fn register(&self, http: &Client, apply: &ApplyRequest, direct: &Database, data_dir: &std::path::Path) {
        let (status, text, _) = post(http, "/v1/apply", apply);
        assert_eq!(status, 200, "apply: {}", String::from_utf8_lossy(&text));
        let phrase = letter_phrase_in(direct, data_dir, self.user_id());
        let consent = ConsentRequest {
            user_id: self.user_id().to_owned(),
            phrase,
        };
        let (status, text, _) = post(http, "/v1/consent", &consent);
        assert_eq!(status, 200, "consent: {}", String::from_utf8_lossy(&text));
    }

    fn signs_in(&self, http: &Client) {
        let (status, text, _) = post(http, "/v1/signin", &self.signin());
        assert_eq!(status, 200, "sign-in: {}", String::from_utf8_lossy(&text));
        let answer: SigninResponse = serde_json::from_slice(&text).expect("sign-in answer");
        assert!(
            answer.record.0 == self.record,
            "the record released is not the one sealed"
        );
    }
}

#[test]
fn database_outage_answers_503_and_the_server_recovers() {
    let Some(admin_url) = PgDatabase::admin_url() else {
        eprintln!("outage test skipped: SIGNET_TEST_POSTGRES_URL is not set (it needs PostgreSQL behind a proxy)");
        return;
    };
    let database = PgDatabase::create_on(&admin_url);
    let mut proxy = Proxy::start(database.server_address());
    let through_proxy = database.url_through(proxy.address);
    let server = KeyServer::launch()
        .postgres(database)
        .database_url(through_proxy)
        // The test polls one user's sign-in: no rate limit may answer in the database's place.
        .rate_limits(100_000, 10_000)
        .log_to_file()
        .start();
    let http = server.client_with_timeout(ANSWER_TIMEOUT);
    let direct = signet_keyserver::keys::db::open(&server.database_url()).expect("open the database directly");
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");

    // Up: registration and sign-in work through the proxy.
    let (alice, apply) = Person::new("alice", &key);
    alice.register(&http, &apply, &direct, &server.data_dir);
    alice.signs_in(&http);
    // Several pooled connections open, so that the cut has some to break.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| alice.signs_in(&server.client_with_timeout(ANSWER_TIMEOUT)));
        }
    });

    // Down: every kind of request answers 503 `unavailable`, in bounded time.
    proxy.cut();
    let (bob, bob_apply) = Person::new("bob", &key);
    let mut latencies = Vec::new();
    latencies.push(("signin", expect_unavailable(&http, "/v1/signin", &alice.signin())));
    let prelogin = PreloginRequest {
        user_id: "alice".into(),
    };
    latencies.push(("prelogin", expect_unavailable(&http, "/v1/prelogin", &prelogin)));
    latencies.push(("apply", expect_unavailable(&http, "/v1/apply", &bob_apply)));
    // Several at once: none waits for another's timeout in turn.
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                expect_unavailable(
                    &server.client_with_timeout(ANSWER_TIMEOUT),
                    "/v1/signin",
                    &alice.signin(),
                )
            });
        }
    });
    latencies.push(("4 concurrent sign-ins", started.elapsed()));
    eprintln!("503 latencies during the outage: {latencies:?}");

    // Back: the same process serves again without a restart.
    proxy.up();
    let back = Instant::now();
    let mut statuses = Vec::new();
    loop {
        let (status, _, _) = post(&http, "/v1/signin", &alice.signin());
        statuses.push(status);
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "sign-in after the database came back");
        assert!(
            back.elapsed() < RECOVERY_WITHIN,
            "no recovery after {:?}: {statuses:?}",
            back.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let recovered = back.elapsed();
    eprintln!(
        "recovered {recovered:?} after the database came back ({} requests: {statuses:?})",
        statuses.len()
    );
    alice.signs_in(&http);
    // Nothing of bob's refused applications was stored; he registers now.
    let bob_apply = ApplyRequest {
        nonce: nonce(),
        timestamp: now(),
        ..bob_apply
    };
    bob.register(&http, &bob_apply, &direct, &server.data_dir);
    bob.signs_in(&http);

    // The audit trail survived the outage intact.
    let audit = server.audit_verify();
    eprintln!(
        "{}; the server logged {} failed requests and {} failed connection attempts",
        audit,
        server.logged("request failed"),
        server.logged("r2d2")
    );
}
