//! Load benchmark of `signet-keyserver serve`, each figure next to a
//! reference measured on the same machine in the same run:
//!
//! * record release (`POST /v1/signin`, 64 keep-alive HTTPS connections)
//!   against a bare warp endpoint behind the same TLS accept loop;
//! * full sealed sign-ins (bootstrap, channel open, sealed pre-login and
//!   sign-in) against 0.8 × cores ÷ one RSA-3072 OAEP decryption;
//! * registrations (`POST /v1/apply`) against cores ÷ one RSA-3072 PSS
//!   signature (the audit event each application signs);
//! * record release with 10³, 10⁵ and 10⁶ users in the database;
//! * the server's resident memory under the sign-in load;
//! * a legitimate client's full sealed sign-ins, quiet and while one address
//!   runs each attack of [`under_attack`] (SQLite only; the attacker is this
//!   executable again, niced, with `SIGNET_BENCH_ATTACKER` set);
//!
//! on SQLite and, when reachable, PostgreSQL. Writes a JSON of figures to
//! `SIGNET_BENCH_KEYSERVER_JSON` (default `keyserver-load.json`).
//!
//! While iterating, `SIGNET_BENCH_ONLY` runs some loads alone: a comma-separated
//! list of `bare`, `release`, `sealed`, `register`, `attack` and `growth` (record
//! release at 10⁵ and 10⁶ users; `SIGNET_BENCH_MAX_USERS` caps it); an empty
//! `SIGNET_BENCH_POSTGRES_URL` leaves PostgreSQL out. Such partial runs write
//! their JSON but are not for BENCHMARKS.md.
//!
//! With `SIGNET_BENCH_BARE_DIR` set, the executable is the bare reference
//! server instead: it serves `POST /v1/signin` with a small JSON answer over
//! the key server's own TLS accept loop, on a loopback port it announces.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes as Body;
use diesel::connection::SimpleConnection;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rand::rngs::SysRng;
use rsa::traits::{Decryptor, RandomizedEncryptor};
use serde_json::{Value, json};
use sha2::Sha256;
use signet_crypto::channel::{ChannelClient, first_use_integrity_key};
use signet_crypto::keys::UserKey;
use signet_crypto::{csr, kdf, seal};
use signet_keyserver::keys::db::models::{self, Certificate, KeyRecord, NewUser, UserRole, UserState};
use signet_keyserver::keys::db::{AnyConnection, Database, DbError};
use signet_keyserver::keys::sealed::SEALED_CONTENT_TYPE;
use signet_keyserver::keys::server_keys::ServerKeys;
use signet_keyserver::keys::storage_key::{BlobKind, StorageKey};
use signet_keyserver::keys::{KeyTier, Policy, system_clock};
use signet_keyserver::web::connections::{self, ConnectionGate, ConnectionLimits};
use signet_keyserver::web::tls::{self, ServerIdentity, Timeouts};
use signet_schema::api::{ApiError, ApiErrorCode, ApplyRequest, PreloginRequest, SigninRequest};
use signet_schema::channel::{OpenResponse, SealedMessage, SignedBootstrap};
use signet_schema::protocol::Bytes;
use signet_schema::{KdfParams, KeySize, RegistrationData, SealedKeyRecord, SignatureScheme};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use warp::{Filter, Reply};

/// Concurrent keep-alive connections of every load.
const CONNECTIONS: usize = 64;
/// Users whose records are released (all real: sealed under the storage key, verifier tag matching).
const SAMPLE_USERS: usize = 1000;
/// Applications made ahead of the registration load (each needs an RSA-3072 PKCS#10 signature).
const REGISTRATION_POOL: usize = 2500;
/// Largest number of operations any one load may run, whatever its duration.
const MAX_OPERATIONS: usize = 2_000_000;
/// Longest wait for one operation (the web tier answers 503 after 30 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const PASS_PHRASE: &[u8] = b"load benchmark pass phrase";

fn seconds(name: &str, default: f64) -> Duration {
    let value = std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    Duration::from_secs_f64(value)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("OS random numbers");
    hex::encode(buf)
}

fn registration(user_id: &str) -> RegistrationData {
    RegistrationData {
        user_id: user_id.into(),
        common_name: format!("Person {user_id}"),
        organization: "Example Bank".into(),
        organizational_unit: "Payments".into(),
        email: format!("{user_id}@example.com"),
        country: "GB".into(),
    }
}

/// Sample user `k`: ids spread evenly over the id space the filler rows fill.
fn sample_user(k: usize) -> String {
    format!("u{:07}a", k * 1000 + 500)
}

/// Resident memory of a process from /proc: (VmRSS, VmHWM) in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

// ---------------------------------------------------------------- the bare reference server

/// The reference: the key server's TLS accept loop and HTTP/1.1 settings in
/// front of a handler that answers a small JSON.
fn bare_server(dir: &Path) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let bound = listener.local_addr().expect("address");
        let identity = ServerIdentity::self_signed(dir, &tls::names_for(&bound, &[])).expect("certificate");
        let route = warp::post()
            .and(warp::path!("v1" / "signin"))
            .and(warp::body::bytes())
            .map(|_body: Body| warp::reply::json(&json!({ "ok": true })).into_response())
            .recover(|_rejection: warp::Rejection| async {
                Ok::<_, Infallible>(warp::http::StatusCode::NOT_FOUND.into_response())
            })
            .unify();
        println!("listening on https://{bound}");
        tls::serve_tls(
            listener,
            &identity,
            warp::service(route),
            Timeouts::default(),
            // The same caps as the key server's listener.
            ConnectionGate::new(ConnectionLimits::for_descriptors(
                connections::raise_descriptor_limit(),
                connections::DEFAULT_MAX_PER_ADDRESS,
            )),
            tls::shutdown_signal(),
        )
        .await;
    });
}

// ---------------------------------------------------------------- processes under test

/// `signet-keyserver serve` on a loopback port with a fresh data directory
/// in a temporary directory named `prefix…` (its log there too): the
/// directory, the data directory and the command, to which a load adds flags.
fn serve_command(prefix: &str) -> (tempfile::TempDir, PathBuf, Command) {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let mut command = Command::new(env!("CARGO_BIN_EXE_signet-keyserver"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        // The sample records are sealed at the KDF's floor (their sign-ins
        // are under test, not the client's derivation).
        .args(["--kdf-memory-kib", &KdfParams::FLOOR.m_kib.to_string()])
        .args(["--kdf-passes", &KdfParams::FLOOR.t.to_string()])
        .args(["--kdf-lanes", &KdfParams::FLOOR.p.to_string()])
        .env("SIGNET_LOG", "warn")
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("server.log")).expect("log file"),
        ));
    (dir, data_dir, command)
}

/// A TLS client that trusts the certificates in `pem` alone.
fn connector_trusting(pem: &[u8]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        roots.add(cert.expect("PEM")).expect("trust anchor");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    connector: TlsConnector,
}

impl Server {
    /// Starts `command`, reads its `listening on https://…` line and trusts `certificate` (PEM).
    fn start(mut command: Command, certificate: impl Fn() -> PathBuf) -> Server {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the listening line");
        let addr: SocketAddr = line
            .trim()
            .strip_prefix("listening on https://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("address");
        let pem = std::fs::read(certificate()).expect("the server's certificate");
        Server {
            child,
            addr,
            connector: connector_trusting(&pem),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One keep-alive HTTPS connection.
struct Conn {
    sender: SendRequest<Full<Body>>,
    /// The sealed channel this connection's requests use, once opened.
    channel: Option<ChannelClient>,
}

async fn connect(addr: SocketAddr, connector: &TlsConnector) -> Result<Conn, String> {
    connect_from(None, addr, connector).await
}

/// A TCP connection to `addr`, from `source` when given (a loopback
/// address: the attacks of [`under_attack`] come from 127.0.0.2).
async fn tcp_from(source: Option<Ipv4Addr>, addr: SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    if let Some(source) = source {
        socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    }
    socket.connect(addr).await
}

/// A keep-alive HTTPS connection to `addr` from `source`.
async fn connect_from(source: Option<Ipv4Addr>, addr: SocketAddr, connector: &TlsConnector) -> Result<Conn, String> {
    let tcp = tcp_from(source, addr).await.map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let name = ServerName::IpAddress(addr.ip().into());
    let tls = connector.connect(name, tcp).await.map_err(|e| e.to_string())?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(Conn { sender, channel: None })
}

impl Conn {
    /// One request: (status, body).
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Body), String> {
        self.send_typed(method, path, content_type, body)
            .await
            .map(|(status, _, body)| (status, body))
    }

    /// One request: (status, whether the answer is sealed, body).
    async fn send_typed(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, bool, Body), String> {
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1")
            .header("content-type", content_type)
            .body(Full::new(Body::from(body)))
            .map_err(|e| e.to_string())?;
        let response = self.sender.send_request(request).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let sealed = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes() == SEALED_CONTENT_TYPE.as_bytes());
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, sealed, body))
    }

    /// Opens a sealed channel on this connection, trusting `pinned`.
    async fn open_channel(&mut self, pinned: &[u8]) -> Result<ChannelClient, String> {
        let answer = self
            .expect_ok("GET", "/v1/bootstrap", "application/json", Vec::new())
            .await?;
        let bootstrap: SignedBootstrap = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
        let (channel, open) = ChannelClient::open(&bootstrap, pinned, now()).map_err(|e| e.to_string())?;
        let open = serde_json::to_vec(&open).map_err(|e| e.to_string())?;
        let answer = self
            .expect_ok("POST", "/v1/channel/open", "application/json", open)
            .await?;
        let opened: OpenResponse = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
        if opened.session_id.0 != channel.session_id().to_vec() {
            return Err("the server named another session".into());
        }
        Ok(channel)
    }

    /// Seals `json` for POST `path` in `channel`, sends it and opens the
    /// answer: `Ok((status, opened answer))`, or `Err((status, body))` when
    /// the server answered unsealed (it refused the message unread).
    async fn exchange_sealed(
        &mut self,
        channel: &mut ChannelClient,
        path: &str,
        json: &[u8],
    ) -> Result<Result<(u16, Vec<u8>), (u16, Body)>, String> {
        let (counter, sealed) = channel.seal_request("POST", path, json).map_err(|e| e.to_string())?;
        let message = SealedMessage {
            session_id: Bytes(channel.session_id().to_vec()),
            counter,
            body: Bytes(sealed),
        };
        let wire = serde_json::to_vec(&message).map_err(|e| e.to_string())?;
        let (status, sealed, answer) = self.send_typed("POST", path, SEALED_CONTENT_TYPE, wire).await?;
        if !sealed {
            return Ok(Err((status, answer)));
        }
        let message: SealedMessage = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
        let plain = channel
            .open_response(message.counter, "POST", path, &message.body.0)
            .map_err(|e| e.to_string())?;
        Ok(Ok((status, plain.to_vec())))
    }

    /// POSTs `json` to `path` sealed on this connection's channel (opened on
    /// first use, and again when the server no longer holds it): (status,
    /// the opened answer).
    async fn sealed(&mut self, pinned: &[u8], path: &str, json: &[u8]) -> Result<(u16, Vec<u8>), String> {
        for _ in 0..2 {
            let mut channel = match self.channel.take() {
                Some(channel) => channel,
                None => self.open_channel(pinned).await?,
            };
            let (status, answer) = match self.exchange_sealed(&mut channel, path, json).await? {
                Ok(opened) => {
                    self.channel = Some(channel);
                    return Ok(opened);
                }
                Err(refused) => refused,
            };
            // Refused unread because the session expired or was dropped: once more on a new one.
            let gone = serde_json::from_slice::<ApiError>(&answer).is_ok_and(|e| e.code == ApiErrorCode::StaleRequest);
            if !gone {
                return Err(format!("{path}: {status} {}", String::from_utf8_lossy(&answer)));
            }
        }
        Err(format!("{path}: refused unread twice"))
    }

    async fn expect_ok(&mut self, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> Result<Body, String> {
        let (status, answer) = self.send(method, path, content_type, body).await?;
        if status != 200 {
            return Err(format!("{path}: {status} {}", String::from_utf8_lossy(&answer)));
        }
        Ok(answer)
    }
}

// ---------------------------------------------------------------- workloads

/// What one operation of a load is.
enum Work {
    /// POST /v1/signin, rotating over these bodies: sealed on one channel
    /// per connection, trusting this integrity key, as a client that
    /// signs in again does; plain JSON to the bare reference (`None`).
    Release {
        bodies: Vec<Vec<u8>>,
        pinned: Option<Vec<u8>>,
    },
    /// A new sealed session per sign-in for these users.
    Sealed {
        users: Vec<String>,
        verifier: Vec<u8>,
        pinned: Vec<u8>,
    },
    /// POST /v1/apply, one prepared application each, until they run out.
    /// Sealed, trusting this integrity key.
    Register {
        pool: Vec<ApplyRequest>,
        next: AtomicUsize,
        pinned: Vec<u8>,
    },
}

impl Work {
    /// Runs operation `seq` of worker `worker`; `Ok(false)` when there is no more work.
    async fn one(&self, conn: &mut Conn, worker: usize, seq: usize) -> Result<bool, String> {
        match self {
            Work::Release { bodies, pinned } => {
                let body = bodies[(worker + seq * CONNECTIONS) % bodies.len()].clone();
                match pinned {
                    Some(pinned) => match conn.sealed(pinned, "/v1/signin", &body).await? {
                        (200, _) => {}
                        (status, answer) => {
                            return Err(format!("/v1/signin: {status} {}", String::from_utf8_lossy(&answer)));
                        }
                    },
                    None => {
                        conn.expect_ok("POST", "/v1/signin", "application/json", body).await?;
                    }
                }
                Ok(true)
            }
            Work::Sealed {
                users,
                verifier,
                pinned,
            } => {
                let user = &users[(worker + seq * CONNECTIONS) % users.len()];
                let mut channel = conn.open_channel(pinned).await?;
                let prelogin =
                    serde_json::to_value(PreloginRequest { user_id: user.clone() }).map_err(|e| e.to_string())?;
                sealed_post(conn, &mut channel, "/v1/prelogin", &prelogin).await?;
                let signin = serde_json::to_value(SigninRequest {
                    user_id: user.clone(),
                    verifier: Bytes(verifier.clone()),
                })
                .map_err(|e| e.to_string())?;
                let released = sealed_post(conn, &mut channel, "/v1/signin", &signin).await?;
                if !released["record"].is_string() {
                    return Err(format!("no record released: {released}"));
                }
                Ok(true)
            }
            Work::Register { pool, next, pinned } => {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(prepared) = pool.get(index) else {
                    return Ok(false);
                };
                let mut request = prepared.clone();
                request.nonce = random_hex(16);
                request.timestamp = now();
                let body = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
                match conn.sealed(pinned, "/v1/apply", &body).await? {
                    (200, _) => Ok(true),
                    (status, answer) => Err(format!("/v1/apply: {status} {}", String::from_utf8_lossy(&answer))),
                }
            }
        }
    }
}

/// Seals `body` for POST `path`, sends it and opens the answer.
async fn sealed_post(conn: &mut Conn, channel: &mut ChannelClient, path: &str, body: &Value) -> Result<Value, String> {
    let json = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    match conn.exchange_sealed(channel, path, &json).await? {
        Ok((200, plain)) => serde_json::from_slice(&plain).map_err(|e| e.to_string()),
        Ok((status, plain)) => Err(format!("{path}: {status} {}", String::from_utf8_lossy(&plain))),
        Err((status, answer)) => Err(format!("{path}: {status} {}", String::from_utf8_lossy(&answer))),
    }
}

/// What a load measured.
#[derive(Debug, Default)]
struct Measured {
    ok: usize,
    errors: usize,
    first_error: Option<String>,
    seconds: f64,
    latencies_us: Vec<u64>,
    /// CPU time the server process used during the measured window (user + system).
    server_cpu_seconds: f64,
}

impl Measured {
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * (self.latencies_us.len() - 1) as f64).round() as usize;
        self.latencies_us[rank] as f64 / 1000.0
    }

    fn rate(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    /// Two measurements of the same load as one: their requests and
    /// latencies together over their time together.
    fn pooled(a: &Measured, b: &Measured) -> Measured {
        let mut latencies_us = [a.latencies_us.as_slice(), b.latencies_us.as_slice()].concat();
        latencies_us.sort_unstable();
        Measured {
            ok: a.ok + b.ok,
            errors: a.errors + b.errors,
            first_error: a.first_error.clone().or_else(|| b.first_error.clone()),
            seconds: a.seconds + b.seconds,
            latencies_us,
            server_cpu_seconds: a.server_cpu_seconds + b.server_cpu_seconds,
        }
    }

    fn json(&self) -> Value {
        json!({
            "ok": self.ok,
            "errors": self.errors,
            "first_error": self.first_error,
            "seconds": self.seconds,
            "per_second": self.rate(),
            "p50_ms": self.percentile_ms(50.0),
            "p99_ms": self.percentile_ms(99.0),
            "server_cpu_seconds": self.server_cpu_seconds,
            "server_cpu_us_per_op": self.server_cpu_seconds * 1e6 / self.ok.max(1) as f64,
        })
    }
}

/// CPU time a process has used so far (user + system), in seconds, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are the line's fields 14 and 15, in clock ticks of
    // USER_HZ, which Linux reports to user space as 100 per second.
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `work` on [`CONNECTIONS`] connections: `warmup` unmeasured, then
/// `measure`; only operations that start and end inside the measured window
/// count. Stops early when the work runs out (the window then ends at the
/// last completion).
async fn load(server: &Server, work: Arc<Work>, warmup: Duration, measure: Duration) -> Measured {
    let start = Instant::now();
    let window = start + warmup;
    let end = window + measure;
    let pid = server.pid();
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(window.into()).await;
        let before = cpu_seconds(pid);
        tokio::time::sleep_until(end.into()).await;
        cpu_seconds(pid) - before
    });
    let mut tasks = Vec::new();
    for worker in 0..CONNECTIONS {
        let work = work.clone();
        let (addr, connector) = (server.addr, server.connector.clone());
        tasks.push(tokio::spawn(async move {
            let mut measured = Measured::default();
            let mut last = window;
            let mut conn = None;
            let mut reconnects = 0;
            for seq in 0..MAX_OPERATIONS {
                let began = Instant::now();
                if began >= end {
                    break;
                }
                if conn.is_none() {
                    match connect(addr, &connector).await {
                        Ok(c) => conn = Some(c),
                        Err(e) if reconnects < 100 => {
                            reconnects += 1;
                            measured.errors += 1;
                            measured.first_error.get_or_insert(format!("connect: {e}"));
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                        Err(_) => break,
                    }
                }
                let Some(c) = conn.as_mut() else { break };
                let began = Instant::now();
                let outcome = tokio::time::timeout(REQUEST_TIMEOUT, work.one(c, worker, seq))
                    .await
                    .unwrap_or_else(|_| Err("no answer in time".into()));
                let done = Instant::now();
                let counted = began >= window && done <= end;
                match outcome {
                    Ok(false) => break,
                    Ok(true) if counted => {
                        measured.ok += 1;
                        measured.latencies_us.push((done - began).as_micros() as u64);
                        last = last.max(done);
                    }
                    Ok(true) => {}
                    Err(e) => {
                        if counted {
                            measured.errors += 1;
                            measured.first_error.get_or_insert(e);
                        }
                        // A refused request may have left the connection or session unusable: start afresh.
                        conn = None;
                    }
                }
            }
            (measured, last)
        }));
    }
    let mut all = Measured::default();
    let mut last = window;
    for task in tasks {
        let (m, l) = task.await.expect("worker");
        all.ok += m.ok;
        all.errors += m.errors;
        if all.first_error.is_none() {
            all.first_error = m.first_error;
        }
        all.latencies_us.extend(m.latencies_us);
        last = last.max(l);
    }
    all.latencies_us.sort_unstable();
    all.server_cpu_seconds = cpu.await.unwrap_or(f64::NAN);
    all.seconds = if matches!(*work, Work::Register { .. }) {
        (last - window).as_secs_f64().max(1e-3)
    } else {
        measure.as_secs_f64()
    };
    all
}

// ---------------------------------------------------------------- under attack

/// Where every attack comes from; the legitimate client is 127.0.0.1.
const ATTACKER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// The legitimate client's full sealed sign-ins per second (an office at its busiest).
const LEGITIMATE_RATE: u64 = 10;
/// Keep-alive connections each request-sending attack uses.
const ATTACK_CONNECTIONS: usize = 8;

/// What one address does to the server while the legitimate client signs in.
#[derive(Clone, Copy, Debug)]
enum Attack {
    /// Nothing: the quiet reference.
    None,
    /// Request bodies sent a byte every two seconds, on as many connections as it can hold.
    SlowBodies,
    /// Connections opened and never used, as many as it can hold.
    IdleConnections,
    /// Sealed sessions opened as fast as it can.
    Sessions,
    /// Wrong pass phrases at every id, registered or not.
    Guesses,
    /// Applications, as fast as it can.
    Applications,
}

const ATTACKS: [Attack; 6] = [
    Attack::None,
    Attack::SlowBodies,
    Attack::IdleConnections,
    Attack::Sessions,
    Attack::Guesses,
    Attack::Applications,
];

impl Attack {
    /// The attack named `key` (see [`Attack::key`]).
    fn from_key(key: &str) -> Option<Attack> {
        ATTACKS.into_iter().find(|a| a.key() == key)
    }

    /// A short name, passed to the attacking process.
    fn key(self) -> &'static str {
        match self {
            Attack::None => "none",
            Attack::SlowBodies => "slow-bodies",
            Attack::IdleConnections => "idle-connections",
            Attack::Sessions => "sessions",
            Attack::Guesses => "guesses",
            Attack::Applications => "applications",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Attack::None => "none (quiet)",
            Attack::SlowBodies => "slow request bodies",
            Attack::IdleConnections => "idle connections",
            Attack::Sessions => "sealed-session flood",
            Attack::Guesses => "pass-phrase guesses at every id",
            Attack::Applications => "application flood",
        }
    }

    /// Runs the attack until `stop`; answers how many connections or requests it made.
    async fn run(self, server: Arc<(SocketAddr, TlsConnector, Vec<u8>)>, stop: Arc<AtomicBool>) -> usize {
        let made = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        match self {
            Attack::None => {}
            Attack::SlowBodies | Attack::IdleConnections => {
                // Connections opened a few at a time, each held until the server closes it, then opened again.
                for held in 0..2000 {
                    let (server, stop, made) = (server.clone(), stop.clone(), made.clone());
                    tasks.push(tokio::spawn(async move {
                        while !stop.load(Ordering::Relaxed) {
                            made.fetch_add(1, Ordering::Relaxed);
                            let _ = hold_connection(self, &server, &stop).await;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }));
                    if held % 50 == 49 {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            Attack::Sessions | Attack::Guesses | Attack::Applications => {
                for worker in 0..ATTACK_CONNECTIONS {
                    let (server, stop, made) = (server.clone(), stop.clone(), made.clone());
                    tasks.push(tokio::spawn(async move {
                        let mut conn = None;
                        let mut seq = 0usize;
                        while !stop.load(Ordering::Relaxed) {
                            if conn.is_none() {
                                conn = connect_from(Some(ATTACKER), server.0, &server.1).await.ok();
                            }
                            let Some(c) = conn.as_mut() else {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                continue;
                            };
                            seq += 1;
                            made.fetch_add(1, Ordering::Relaxed);
                            if attack_request(self, c, &server.2, worker, seq).await.is_err() {
                                conn = None;
                            }
                        }
                    }));
                }
            }
        }
        for task in tasks {
            let _ = task.await;
        }
        made.load(Ordering::Relaxed)
    }
}

/// One connection of the connection attacks, held until the server closes it or `stop`.
async fn hold_connection(
    attack: Attack,
    server: &(SocketAddr, TlsConnector, Vec<u8>),
    stop: &AtomicBool,
) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = tcp_from(Some(ATTACKER), server.0).await.map_err(|e| e.to_string())?;
    if matches!(attack, Attack::IdleConnections) {
        let mut tcp = tcp;
        let mut byte = [0u8; 1];
        while !stop.load(Ordering::Relaxed) {
            if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut byte)).await {
                return Ok(());
            }
        }
        return Ok(());
    }
    let mut tls = server
        .1
        .connect(ServerName::IpAddress(server.0.ip().into()), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let head = "POST /v1/signin HTTP/1.1\r\nhost: signet\r\ncontent-type: application/vnd.signet.sealed+json\r\ncontent-length: 1000000\r\n\r\n";
    tls.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
    while !stop.load(Ordering::Relaxed) {
        tls.write_all(b" ").await.map_err(|e| e.to_string())?;
        tls.flush().await.map_err(|e| e.to_string())?;
        let mut answer = [0u8; 64];
        // Anything read (an answer, or the end) means the server gave up on the body.
        if tokio::time::timeout(Duration::from_secs(2), tls.read(&mut answer))
            .await
            .is_ok()
        {
            return Ok(());
        }
    }
    Ok(())
}

/// One request of the request-sending attacks.
async fn attack_request(
    attack: Attack,
    conn: &mut Conn,
    pinned: &[u8],
    worker: usize,
    seq: usize,
) -> Result<(), String> {
    match attack {
        Attack::Sessions => {
            let answer = conn
                .expect_ok("GET", "/v1/bootstrap", "application/json", Vec::new())
                .await?;
            let bootstrap: SignedBootstrap = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
            let (_, open) = ChannelClient::open(&bootstrap, pinned, now()).map_err(|e| e.to_string())?;
            let open = serde_json::to_vec(&open).map_err(|e| e.to_string())?;
            conn.send("POST", "/v1/channel/open", "application/json", open).await?;
        }
        Attack::Guesses => {
            // Registered ids and unknown ones in turn, each with a wrong verifier.
            let user_id = if seq.is_multiple_of(2) {
                sample_user((worker * 7919 + seq) % SAMPLE_USERS)
            } else {
                format!("nobody{worker}x{seq}")
            };
            let body = serde_json::to_vec(&SigninRequest {
                user_id,
                verifier: Bytes(vec![7; 32]),
            })
            .map_err(|e| e.to_string())?;
            conn.sealed(pinned, "/v1/signin", &body).await?;
        }
        Attack::Applications => {
            let body = serde_json::to_vec(&json!({
                "registration": registration(&format!("squat{worker}x{seq}")),
                "record": "AAAA", "certification_request": "AAAA", "verifier": "AAAA",
                "nonce": random_hex(16), "timestamp": now(),
            }))
            .map_err(|e| e.to_string())?;
            conn.sealed(pinned, "/v1/apply", &body).await?;
        }
        Attack::None | Attack::SlowBodies | Attack::IdleConnections => {}
    }
    Ok(())
}

/// The attacking process (`SIGNET_BENCH_ATTACKER` names the attack): runs it
/// against the server at `SIGNET_BENCH_ATTACK_TARGET`, trusting the
/// certificate in `SIGNET_BENCH_ATTACK_CERT`, for `SIGNET_BENCH_ATTACK_SECONDS`,
/// then prints how many connections or requests it made. It runs niced, in
/// a process of its own: on these shared cores an attacker's own work would
/// otherwise be charged to the server, which on a real network it is not.
fn attacker_process(key: &str) {
    let attack = Attack::from_key(key).unwrap_or_else(|| panic!("no attack {key:?}"));
    let target: SocketAddr = std::env::var("SIGNET_BENCH_ATTACK_TARGET")
        .expect("target")
        .parse()
        .expect("target address");
    let connector =
        connector_trusting(&std::fs::read(std::env::var("SIGNET_BENCH_ATTACK_CERT").expect("cert")).expect("cert"));
    let duration = seconds("SIGNET_BENCH_ATTACK_SECONDS", 10.0);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let made = runtime.block_on(async move {
        let mut conn = connect(target, &connector).await.expect("connect");
        let answer = conn
            .expect_ok("GET", "/v1/bootstrap", "application/json", Vec::new())
            .await
            .expect("bootstrap");
        let bootstrap: SignedBootstrap = serde_json::from_slice(&answer).expect("bootstrap");
        let pinned = first_use_integrity_key(&bootstrap, now()).expect("self-signed bootstrap");
        let stop = Arc::new(AtomicBool::new(false));
        let run = tokio::spawn(attack.run(Arc::new((target, connector, pinned)), stop.clone()));
        tokio::time::sleep(duration).await;
        stop.store(true, Ordering::Relaxed);
        run.await.unwrap_or(0)
    });
    println!("{made}");
}

/// The legitimate client: [`LEGITIMATE_RATE`] full sealed sign-ins a second
/// from 127.0.0.1 for `measure`, one after another on one keep-alive
/// connection (a new one after a failure); each latency from its turn to its
/// answer, connecting included.
async fn legitimate(server: &Server, work: &Work, measure: Duration) -> Measured {
    let mut measured = Measured::default();
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_millis(1000 / LEGITIMATE_RATE));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut conn: Option<Conn> = None;
    let mut seq = 0;
    while started.elapsed() < measure {
        ticks.tick().await;
        let began = Instant::now();
        seq += 1;
        let outcome = async {
            if conn.is_none() {
                conn = Some(connect(server.addr, &server.connector).await?);
            }
            let c = conn.as_mut().ok_or("no connection")?;
            tokio::time::timeout(REQUEST_TIMEOUT, work.one(c, 0, seq))
                .await
                .unwrap_or_else(|_| Err("no answer in time".into()))
        }
        .await;
        match outcome {
            Ok(_) => {
                measured.ok += 1;
                measured.latencies_us.push(began.elapsed().as_micros() as u64);
            }
            Err(e) => {
                measured.errors += 1;
                measured.first_error.get_or_insert(e);
                conn = None;
            }
        }
    }
    measured.seconds = started.elapsed().as_secs_f64();
    measured.latencies_us.sort_unstable();
    measured
}

/// The server's integrity key, trusted on first use as the app does.
fn integrity_key(runtime: &tokio::runtime::Runtime, server: &Server) -> Vec<u8> {
    let answer = runtime.block_on(async {
        let mut conn = connect(server.addr, &server.connector).await.expect("connect");
        conn.expect_ok("GET", "/v1/bootstrap", "application/json", Vec::new())
            .await
            .expect("bootstrap")
    });
    let bootstrap: SignedBootstrap = serde_json::from_slice(&answer).expect("bootstrap");
    first_use_integrity_key(&bootstrap, now()).expect("self-signed bootstrap")
}

/// A legitimate client's sign-ins, quiet and under each attack from one
/// address, against a `serve` of its own with the shipped limits (only the
/// per-address request and session-opening rates raised, to the legitimate
/// client's pace with room to spare: the attacker gets them too).
fn under_attack(runtime: &tokio::runtime::Runtime, settings: &Settings, material: &Material) -> Value {
    // The connection attacks hold a thousand sockets or more on this side too.
    connections::raise_descriptor_limit();
    let (_dir, data_dir, mut command) = serve_command("signet-attack-");
    command.args(["--address-rate", "3000", "--address-burst", "500"]);
    command.args(["--opening-rate", "900", "--opening-burst", "100"]);
    let server = Server::start(command, || data_dir.join("tls").join("cert.pem"));
    let tier = KeyTier::open(&data_dir, None, Policy::default(), system_clock()).expect("open the key tier");
    insert_sample_users(&tier, material);
    drop(tier);
    let pinned = integrity_key(runtime, &server);
    let work = Work::Sealed {
        users: (0..SAMPLE_USERS).map(sample_user).collect(),
        verifier: material.verifier(),
        pinned: pinned.clone(),
    };
    let ramp = settings.warmup * 2;
    // Three windows' worth per attack: a p99 from some 300 sign-ins, not 100.
    let window = settings.measure * 3;
    let mut rows = Vec::new();
    for attack in ATTACKS {
        let attacker = (!matches!(attack, Attack::None)).then(|| {
            Command::new("nice")
                .args(["-n", "19"])
                .arg(std::env::current_exe().expect("this executable"))
                .env("SIGNET_BENCH_ATTACKER", attack.key())
                .env("SIGNET_BENCH_ATTACK_TARGET", server.addr.to_string())
                .env("SIGNET_BENCH_ATTACK_CERT", data_dir.join("tls").join("cert.pem"))
                .env("SIGNET_BENCH_ATTACK_SECONDS", (ramp + window).as_secs_f64().to_string())
                .stdout(Stdio::piped())
                .spawn()
                .expect("start the attacker")
        });
        // The attack takes hold before the measured window.
        runtime.block_on(async move { tokio::time::sleep(ramp).await });
        let measured = runtime.block_on(legitimate(&server, &work, window));
        let made: usize = attacker.map_or(0, |child| {
            let output = child.wait_with_output().expect("the attacker");
            String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or(0)
        });
        eprintln!(
            "   under attack ({}): {} sign-ins ok, {} failed, p99 {:.1} ms; attacker made {made}",
            attack.name(),
            measured.ok,
            measured.errors,
            measured.percentile_ms(99.0)
        );
        rows.push(json!({ "attack": attack.name(), "attacker_made": made, "legitimate": measured.json() }));
        // Whatever the attack left behind (its address's waits, held sessions) drains.
        runtime.block_on(async { tokio::time::sleep(Duration::from_secs(2)).await });
    }
    json!({ "legitimate_rate": LEGITIMATE_RATE, "measure_seconds": window.as_secs_f64(), "rows": rows })
}

// ---------------------------------------------------------------- in-process references

/// Median of `runs` timings of `f`, in seconds.
fn median_time(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// One RSA-OAEP-SHA256 decryption with the key tier's confidentiality key and
/// one RSA-PSS-SHA256 signature with its integrity key, in seconds.
fn rsa_references(data_dir: &Path) -> (f64, f64, u32) {
    use rsa::pkcs8::DecodePrivateKey;
    let keys = ServerKeys::load_or_create(data_dir).expect("server keys");
    let der = keys.confidentiality.to_pkcs8_der().expect("PKCS#8");
    let private = rsa::PrivateKey::from_pkcs8_der(&der).expect("RSA key");
    let ciphertext = rsa::oaep::EncryptingKey::<Sha256>::new(private.to_public_key())
        .encrypt_with_rng(&mut SysRng, &[7u8; 32])
        .expect("encrypt");
    let decrypting = rsa::oaep::DecryptingKey::<Sha256>::new(private);
    let oaep = median_time(100, || {
        let plain = decrypting.decrypt(&ciphertext).expect("decrypt");
        assert_eq!(plain.len(), 32);
    });
    let pss = median_time(100, || {
        signet_crypto::sign::sign(&keys.integrity, SignatureScheme::RsaPssSha256, b"an audit event").expect("sign");
    });
    (oaep, pss, keys.confidentiality.bits())
}

// ---------------------------------------------------------------- data

/// What every user of the benchmark shares: one key and one sealed record,
/// relabelled for each user id. The key server cannot open a sealed record
/// (it checks its form, owner and KDF range, never its MAC), so a relabelled
/// record costs it what a real one does, without an Argon2id run per user.
struct Material {
    key: UserKey,
    keys: signet_crypto::kdf::PassphraseKeys,
    salt: Vec<u8>,
    record: SealedKeyRecord,
}

impl Material {
    fn new() -> Material {
        let key = UserKey::generate(KeySize::Rsa3072).expect("key generation");
        let salt = kdf::new_salt().expect("salt").to_vec();
        let keys = kdf::derive(PASS_PHRASE, "bench", KdfParams::FLOOR, &salt).expect("KDF");
        let record = seal::seal(&key, &registration("bench"), &keys).expect("seal");
        Material {
            key,
            keys,
            salt,
            record,
        }
    }

    /// The sealed record, its header naming `user_id`.
    fn record_for(&self, user_id: &str) -> Vec<u8> {
        let mut record = self.record.clone();
        record.header.user_id = user_id.to_owned();
        record.encode().expect("encode")
    }

    fn verifier(&self) -> Vec<u8> {
        self.keys.verifier().to_vec()
    }

    /// Applications for distinct user ids, each with its own sealed record
    /// and PKCS#10 request, made on every core.
    fn applications(&self, count: usize) -> Vec<ApplyRequest> {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let per = count.div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        (t * per..((t + 1) * per).min(count))
                            .map(|i| {
                                let reg = registration(&format!("applicant{i:06}"));
                                let record = self.record_for(&reg.user_id);
                                let request =
                                    csr::certification_request(&self.key, &reg, SignatureScheme::RsaPssSha256)
                                        .expect("PKCS#10");
                                ApplyRequest {
                                    registration: reg,
                                    record: Bytes(record),
                                    certification_request: Bytes(request),
                                    verifier: Bytes(self.verifier()),
                                    nonce: String::new(),
                                    timestamp: 0,
                                }
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("thread")).collect()
        })
    }
}

/// Inserts the sample users as the flows would leave them after consent:
/// active, the record sealed under the storage key, the verifier's keyed tag,
/// an active certificate. Answers the template rows for the filler.
fn insert_sample_users(tier: &KeyTier, material: &Material) -> (KeyRecord, Certificate, String) {
    let storage = StorageKey::load_or_create(tier.data_dir()).expect("storage key");
    let t = now();
    let template = registration("template");
    let request = csr::certification_request(&material.key, &template, SignatureScheme::RsaPssSha256).expect("csr");
    let issued = tier.ca().issue(&request, &template, t, 365).expect("certificate");
    let fingerprint = material.key.public_key().fingerprint().expect("fingerprint").to_vec();
    let verifier = material.verifier();
    let mut rows = Vec::new();
    for k in 0..SAMPLE_USERS {
        let user_id = sample_user(k);
        let reg = registration(&user_id);
        let record = material.record_for(&user_id);
        let user = NewUser {
            user_id: user_id.clone(),
            registration: serde_json::to_string(&reg).expect("json"),
            role: UserRole::User,
            state: UserState::Active,
            created_at: t,
            updated_at: t,
        };
        let key_record = KeyRecord {
            user_id: user_id.clone(),
            sealed_record: storage
                .seal(BlobKind::KeyRecord, &user_id, &record)
                .expect("storage seal"),
            kdf_m: i64::from(KdfParams::FLOOR.m_kib),
            kdf_t: i64::from(KdfParams::FLOOR.t),
            kdf_p: i64::from(KdfParams::FLOOR.p),
            salt: material.salt.clone(),
            verifier_hash: tier.verifier_tag(&user_id, &verifier),
            public_key_fingerprint: fingerprint.clone(),
            updated_at: t,
        };
        let certificate = Certificate::issued(&issued, format!("A{k:031}"), &user_id, t);
        rows.push((user, key_record, certificate));
    }
    tier.database()
        .write(|c| -> Result<(), DbError> {
            for (user, record, certificate) in &rows {
                models::users::insert(c, user)?;
                models::key_records::upsert(c, record)?;
                models::certificates::insert(c, certificate)?;
            }
            Ok(())
        })
        .expect("insert the sample users");
    let (user, record, certificate) = rows.swap_remove(0);
    (record, certificate, user.registration)
}

/// Adds filler users `from..to` (active, a record and a certificate each, of
/// the sample users' sizes) in one transaction of `INSERT … SELECT` over a
/// generated series. Their ids `u{(i·7919) mod 10⁶}f` spread over the same
/// id space as the sample users'.
fn add_filler(database: &Database, template: &(KeyRecord, Certificate, String), from: usize, to: usize) {
    let (record, certificate, registration) = template;
    let t = now();
    database
        .write(|c| -> Result<(), DbError> {
            let sqlite = matches!(c, AnyConnection::Sqlite(_));
            let (series, tail, id, serial) = if sqlite {
                (
                    format!(
                        "WITH RECURSIVE s(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM s WHERE i + 1 < {to}) SELECT"
                    ),
                    " FROM s".to_owned(),
                    "'u' || printf('%07d', (i * 7919) % 1000000) || 'f'",
                    "'F' || printf('%031d', i)",
                )
            } else {
                (
                    "SELECT".to_owned(),
                    format!(" FROM generate_series({from}, {}) AS s(i)", to - 1),
                    "'u' || lpad(((i::bigint * 7919) % 1000000)::text, 7, '0') || 'f'",
                    "'F' || lpad(i::text, 31, '0')",
                )
            };
            let blob = |b: &[u8]| {
                if sqlite {
                    format!("X'{}'", hex::encode(b))
                } else {
                    format!("'\\x{}'::bytea", hex::encode(b))
                }
            };
            let text = |s: &str| format!("'{}'", s.replace('\'', "''"));
            let sql = format!(
                "INSERT INTO users (user_id, registration, role, state, failed_logins, locked_until, created_at, updated_at) \
                 {series} {id}, {reg}, 'user', 'active', 0, NULL, {t}, {t}{tail};\n\
                 INSERT INTO key_records (user_id, sealed_record, kdf_m, kdf_t, kdf_p, salt, verifier_hash, public_key_fingerprint, updated_at) \
                 {series} {id}, {sealed}, {m}, {kt}, {p}, {salt}, {tag}, {fp}, {t}{tail};\n\
                 INSERT INTO certificates (serial, user_id, der, sha256_fingerprint, subject, not_before, not_after, status, revoked_at, revocation_reason, issued_at) \
                 {series} {serial}, {id}, {der}, {sha}, {subject}, {nb}, {na}, 'active', NULL, NULL, {t}{tail};",
                reg = text(registration),
                sealed = blob(&record.sealed_record),
                m = record.kdf_m,
                kt = record.kdf_t,
                p = record.kdf_p,
                salt = blob(&record.salt),
                tag = blob(&[0u8; 32]),
                fp = blob(&record.public_key_fingerprint),
                der = blob(&certificate.der),
                sha = text(&certificate.sha256_fingerprint),
                subject = text(&certificate.subject),
                nb = certificate.not_before,
                na = certificate.not_after,
            );
            match c {
                AnyConnection::Sqlite(s) => s.batch_execute(&sql)?,
                AnyConnection::Postgresql(p) => p.batch_execute(&sql)?,
            }
            Ok(())
        })
        .expect("insert filler users");
    if database.backend() == signet_keyserver::keys::db::Backend::Postgres {
        // What autovacuum would do after so many inserts, done now rather than during the next load
        // (VACUUM runs outside a transaction: a connection of its own).
        if let Ok(AnyConnection::Postgresql(mut p)) = database.dedicated_connection() {
            p.batch_execute("VACUUM ANALYZE users, key_records, certificates, sign_in_generation")
                .ok();
        }
    }
}

fn count_users(database: &Database) -> i64 {
    use diesel::prelude::*;
    database
        .read(|c| -> Result<i64, DbError> {
            Ok(signet_keyserver::keys::db::schema::key_records::table
                .count()
                .get_result(c)?)
        })
        .expect("count")
}

// ---------------------------------------------------------------- PostgreSQL

/// A throwaway PostgreSQL database, dropped at the end.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    fn create(admin_url: &str) -> Result<PgDatabase, String> {
        use diesel::Connection;
        let mut admin = diesel::PgConnection::establish(admin_url).map_err(|e| e.to_string())?;
        let name = format!("signet_bench_{}", random_hex(6));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| e.to_string())?;
        let (base, _) = admin_url.rsplit_once('/').ok_or("no database in the URL")?;
        Ok(PgDatabase {
            admin_url: admin_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use diesel::Connection;
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

// ---------------------------------------------------------------- the run

struct Settings {
    warmup: Duration,
    measure: Duration,
    /// The loads to run (`SIGNET_BENCH_ONLY`); `None`: all of them.
    only: Option<Vec<String>>,
}

impl Settings {
    fn runs(&self, load: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.iter().any(|o| o == load))
    }
}

/// Every figure of one backend.
fn run_backend(
    runtime: &tokio::runtime::Runtime,
    settings: &Settings,
    material: &Material,
    applications: &[ApplyRequest],
    database_url: Option<&str>,
    references: &mut Option<(f64, f64, u32)>,
) -> Value {
    let (_dir, data_dir, mut command) = serve_command("signet-load-");
    for flag in [
        "--address-rate",
        "--user-rate",
        "--application-rate",
        "--application-rate-total",
        "--opening-rate",
    ] {
        command.args([flag, "1000000000"]);
    }
    for flag in [
        "--address-burst",
        "--user-burst",
        "--application-burst",
        "--application-burst-total",
        "--opening-burst",
    ] {
        command.args([flag, "1000000"]);
    }
    // The load comes from one address; many clients' openings are decrypted side by side.
    command.args(["--openings-at-once", "1000"]);
    if let Some(url) = database_url {
        command.args(["--database", url]);
    }
    let started = Instant::now();
    let server = Server::start(command, || data_dir.join("tls").join("cert.pem"));
    let startup = started.elapsed().as_secs_f64();
    let idle = memory_kib(server.pid());
    let backend = if database_url.is_some() { "postgres" } else { "sqlite" };
    eprintln!("== {backend}: serve started in {startup:.2} s, idle RSS {} KiB", idle.0);

    if references.is_none() {
        *references = Some(rsa_references(&data_dir));
    }
    let tier = KeyTier::open(&data_dir, database_url, Policy::default(), system_clock()).expect("open the key tier");
    let template = insert_sample_users(&tier, material);
    let bodies: Vec<Vec<u8>> = (0..SAMPLE_USERS)
        .map(|k| {
            serde_json::to_vec(&SigninRequest {
                user_id: sample_user(k),
                verifier: Bytes(material.verifier()),
            })
            .expect("json")
        })
        .collect();
    let pinned = integrity_key(runtime, &server);
    let release = Arc::new(Work::Release {
        bodies,
        pinned: Some(pinned.clone()),
    });

    let mut levels = Vec::new();
    let users = count_users(tier.database());
    // The server's first load: a longer warm-up fills its pools and caches.
    if settings.runs("release") {
        let at_1k = runtime.block_on(load(&server, release.clone(), settings.warmup * 3, settings.measure));
        eprintln!("   release at {users} users: {:.0}/s", at_1k.rate());
        levels.push(json!({ "users": users, "populate_seconds": 0.0, "load": at_1k.json() }));
    }
    let after_release = memory_kib(server.pid());

    // Full sign-ins, each in a new sealed session.
    let sealed = Arc::new(Work::Sealed {
        users: (0..SAMPLE_USERS).map(sample_user).collect(),
        verifier: material.verifier(),
        pinned: pinned.clone(),
    });
    let sealed = if settings.runs("sealed") {
        let sealed = runtime.block_on(load(&server, sealed, settings.warmup, settings.measure));
        eprintln!("   sealed sign-ins: {:.1}/s", sealed.rate());
        sealed
    } else {
        Measured::default()
    };
    let after_signin = memory_kib(server.pid());

    // Registrations: the prepared pool, until it or the time runs out.
    let registrations = if settings.runs("register") {
        let register = Arc::new(Work::Register {
            pool: applications.to_vec(),
            next: AtomicUsize::new(0),
            pinned: pinned.clone(),
        });
        let registrations = runtime.block_on(load(&server, register, Duration::ZERO, settings.measure));
        eprintln!("   registrations: {:.1}/s", registrations.rate());
        registrations
    } else {
        Measured::default()
    };

    // A legitimate client while one address attacks, on a server of its own.
    let attacks = if database_url.is_none() && settings.runs("attack") {
        under_attack(runtime, settings, material)
    } else {
        Value::Null
    };

    // Record release as the database grows.
    let mut filled = SAMPLE_USERS;
    let largest: usize = std::env::var("SIGNET_BENCH_MAX_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let growth = if settings.runs("growth") {
        vec![100_000usize, 1_000_000]
    } else {
        Vec::new()
    };
    for target in growth.into_iter().filter(|&n| n <= largest) {
        let began = Instant::now();
        let chunk = 100_000;
        while filled < target {
            let to = (filled + chunk).min(target);
            add_filler(tier.database(), &template, filled - SAMPLE_USERS, to - SAMPLE_USERS);
            filled = to;
        }
        let populate = began.elapsed().as_secs_f64();
        let users = count_users(tier.database());
        let measured = runtime.block_on(load(&server, release.clone(), settings.warmup, settings.measure));
        eprintln!(
            "   release at {users} users (populated in {populate:.1} s): {:.0}/s",
            measured.rate()
        );
        levels.push(json!({ "users": users, "populate_seconds": populate, "load": measured.json() }));
    }
    let end = memory_kib(server.pid());
    let database_bytes = match database_url {
        None => ["signet.db", "signet.db-wal"]
            .iter()
            .filter_map(|f| std::fs::metadata(data_dir.join(f)).ok())
            .map(|m| m.len())
            .sum::<u64>(),
        Some(_) => 0,
    };
    drop(tier);
    drop(server);
    json!({
        "backend": backend,
        "startup_seconds": startup,
        "release": levels,
        "sealed_signin": sealed.json(),
        "registrations": registrations.json(),
        "registration_pool": applications.len(),
        "under_attack": attacks,
        "memory_kib": {
            "idle_rss": idle.0,
            "after_release_rss": after_release.0,
            "after_signin_rss": after_signin.0,
            "after_signin_hwm": after_signin.1,
            "end_rss": end.0,
            "end_hwm": end.1,
        },
        "sqlite_file_bytes": database_bytes,
    })
}

fn main() {
    if let Some(dir) = std::env::var_os("SIGNET_BENCH_BARE_DIR") {
        bare_server(Path::new(&dir));
        return;
    }
    if let Ok(attack) = std::env::var("SIGNET_BENCH_ATTACKER") {
        attacker_process(&attack);
        return;
    }
    let settings = Settings {
        warmup: seconds("SIGNET_BENCH_WARMUP_SECONDS", 1.0),
        measure: seconds("SIGNET_BENCH_SECONDS", 10.0),
        only: std::env::var("SIGNET_BENCH_ONLY")
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect()),
    };
    let out = std::env::var("SIGNET_BENCH_KEYSERVER_JSON").unwrap_or_else(|_| "keyserver-load.json".into());
    let postgres = std::env::var("SIGNET_BENCH_POSTGRES_URL").unwrap_or_default();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let run_started = Instant::now();

    let pool = if settings.runs("register") {
        REGISTRATION_POOL
    } else {
        0
    };
    eprintln!("== preparing keys and {pool} applications");
    let material = Material::new();
    let applications = material.applications(pool);

    // The bare reference runs before the key server's loads and again after
    // them, and the figures use the mean of the two: the machine's pace
    // drifts over a run of several minutes, and both ends of it count.
    let bare = settings.runs("bare").then(|| {
        let bare_dir = tempfile::tempdir().expect("tempdir");
        let mut command = Command::new(std::env::current_exe().expect("this executable"));
        command.env("SIGNET_BENCH_BARE_DIR", bare_dir.path());
        let server = Server::start(command, || bare_dir.path().join("tls").join("cert.pem"));
        let body = serde_json::to_vec(&SigninRequest {
            user_id: sample_user(0),
            verifier: Bytes(material.verifier()),
        })
        .expect("json");
        let work = Work::Release {
            bodies: vec![body],
            pinned: None,
        };
        (bare_dir, server, Arc::new(work))
    });
    let measure_bare = |when: &str| match &bare {
        Some((_, server, work)) => {
            eprintln!("== bare warp reference ({when})");
            let figures = runtime.block_on(load(server, work.clone(), settings.warmup, settings.measure));
            eprintln!("   bare: {:.0}/s", figures.rate());
            figures
        }
        None => Measured::default(),
    };
    let bare_before = measure_bare("before");

    let mut references = None;
    let mut backends = vec![run_backend(
        &runtime,
        &settings,
        &material,
        &applications,
        None,
        &mut references,
    )];
    if postgres.is_empty() {
        eprintln!("== PostgreSQL skipped: SIGNET_BENCH_POSTGRES_URL is not set");
    } else {
        match PgDatabase::create(&postgres) {
            Ok(pg) => {
                backends.push(run_backend(
                    &runtime,
                    &settings,
                    &material,
                    &applications,
                    Some(&pg.url),
                    &mut references,
                ));
            }
            Err(e) => eprintln!("== PostgreSQL skipped: {postgres}: {e}"),
        }
    }
    let bare_after = measure_bare("after");
    let bare_memory = bare.as_ref().map_or((0, 0), |(_, server, _)| memory_kib(server.pid()));
    let bare_figures = Measured::pooled(&bare_before, &bare_after);
    let (oaep, pss, bits) = references.expect("references measured");
    let report = json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "connections": CONNECTIONS,
        "warmup_seconds": settings.warmup.as_secs_f64(),
        "measure_seconds": settings.measure.as_secs_f64(),
        "sample_users": SAMPLE_USERS,
        "rsa_bits": bits,
        "oaep_decrypt_seconds": oaep,
        "pss_sign_seconds": pss,
        "bare": bare_figures.json(),
        "bare_runs": [bare_before.json(), bare_after.json()],
        "bare_rss_kib": bare_memory.0,
        "backends": backends,
        "run_seconds": run_started.elapsed().as_secs_f64(),
    });
    std::fs::write(&out, serde_json::to_string_pretty(&report).expect("json")).expect("write the figures");
    eprintln!("== figures written to {out}");
}
