//! `kill -9` of the host while orders arrive: every order it acknowledged
//! is stored, complete (its account, its signature, its signed report), and
//! nothing is stored half; the host starts again on the same database and
//! takes orders. The real `signet-host` binary, over HTTPS and the sealed
//! channel, four clients at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Pki, User};
use signet_crypto::channel::ChannelClient;
use signet_crypto::keys::PublicKey;
use signet_host::db;
use signet_schema::channel::{OpenResponse, SealedMessage, SignedBootstrap};
use signet_schema::host::{OrderState, OrderStatus, SUBMIT_PATH};
use signet_schema::protocol::Bytes;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Serves `crl` over plain HTTP on a loopback port (a CRL is trusted for the
/// CA's signature, not for how it travels); answers the URL.
fn serve_crl(crl: Vec<u8>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/crl", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut request = [0u8; 2048];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                crl.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&crl);
        }
    });
    url
}

fn start_host(pki: &Pki, port: u16, crl_url: &str) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_signet-host"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--crl-url",
            crl_url,
            "--data-dir",
        ])
        .arg(&pki.data_dir)
        .env("SIGNET_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start signet-host");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    assert!(line.starts_with("listening on"), "{line}");
    child
}

fn agent(pki: &Pki) -> ureq::Agent {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let pem = std::fs::read(pki.data_dir.join("tls/cert.pem")).expect("the host's TLS certificate");
    let root = Certificate::from_pem(&pem).expect("PEM");
    ureq::Agent::config_builder()
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&[root]))
                .build(),
        )
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent()
}

/// A client of the host: a channel from "its signing core" and `user`'s keys.
struct Client {
    agent: ureq::Agent,
    base: String,
    channel: ChannelClient,
    host: Vec<u8>,
}

impl Client {
    fn open(pki: &Pki, base: &str) -> Option<Client> {
        let agent = agent(pki);
        let mut answer = agent.get(format!("{base}/v1/bootstrap")).call().ok()?;
        let bootstrap: SignedBootstrap = serde_json::from_slice(&answer.body_mut().read_to_vec().ok()?).ok()?;
        let der = std::fs::read(pki.data_dir.join(signet_host::files::CERTIFICATE_FILE)).expect("certificate");
        let certificate: x509_cert::Certificate = der::DecodePem::from_pem(&der).expect("PEM");
        let host = der::Encode::to_der(&certificate).expect("DER");
        let pinned = PublicKey::from_certificate(&certificate)
            .and_then(|k| k.to_spki_der())
            .expect("key");
        let (channel, open) = ChannelClient::open(&bootstrap, &pinned, now()).expect("bootstrap");
        let mut answer = agent
            .post(format!("{base}/v1/channel/open"))
            .header("content-type", "application/json")
            .send(serde_json::to_vec(&open).expect("json"))
            .ok()?;
        let _: OpenResponse = serde_json::from_slice(&answer.body_mut().read_to_vec().ok()?).ok()?;
        Some(Client {
            agent,
            base: base.to_owned(),
            channel,
            host,
        })
    }

    /// Submits an order; the host's answer if it gave one.
    fn submit(&mut self, user: &User, bytes: &[u8]) -> Option<OrderStatus> {
        let request = common::submission(&self.host, user, bytes, now());
        let plaintext = serde_json::to_vec(&request).expect("json");
        let (counter, body) = self.channel.seal_request("POST", SUBMIT_PATH, &plaintext).ok()?;
        let message = SealedMessage {
            session_id: Bytes(self.channel.session_id().to_vec()),
            counter,
            body: Bytes(body),
        };
        let mut answer = self
            .agent
            .post(format!("{}{SUBMIT_PATH}", self.base))
            .header("content-type", signet_channel::SEALED_CONTENT_TYPE)
            .send(serde_json::to_vec(&message).expect("json"))
            .ok()?;
        if answer.status() != 200 {
            return None;
        }
        let sealed: SealedMessage = serde_json::from_slice(&answer.body_mut().read_to_vec().ok()?).ok()?;
        let opened = self
            .channel
            .open_response(sealed.counter, "POST", SUBMIT_PATH, &sealed.body.0)
            .ok()?;
        serde_json::from_slice(&opened).ok()
    }
}

#[test]
fn kill_9_during_submissions_loses_no_acknowledged_order_and_leaves_none_half_stored() {
    let t0 = now();
    let pki = Pki::new(t0);
    let users: Vec<User> = (0..4).map(|i| pki.user(&format!("user{i}"), t0)).collect();
    let database = db::open(
        &pki.data_dir
            .join(signet_host::files::DATABASE_FILE)
            .display()
            .to_string(),
    )
    .expect("database");
    for user in &users {
        common::mandate(&database, user, "E", None);
    }
    let crl_url = serve_crl(pki.crl(t0, &[]));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let base = format!("https://127.0.0.1:{port}");
    let mut host = start_host(&pki, port, &crl_url);
    // Until the host holds a current CRL, orders wait: submit once it has one.
    std::thread::sleep(Duration::from_millis(500));

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        for (i, user) in users.iter().enumerate() {
            let (acknowledged, stop, pki, base) = (acknowledged.clone(), stop.clone(), &pki, base.as_str());
            scope.spawn(move || {
                let Some(mut client) = Client::open(pki, base) else {
                    return;
                };
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let bytes = common::order(&format!("C{i}-{n}"), "10.00", now());
                    match client.submit(user, &bytes) {
                        Some(status) => acknowledged.lock().expect("lock").push(status.order.order_id),
                        None => break,
                    }
                }
            });
        }
        // Let orders flow, then kill the host without warning while they do.
        std::thread::sleep(Duration::from_millis(1500));
        host.kill().expect("kill -9");
        host.wait().expect("reaped");
        stop.store(true, Ordering::SeqCst);
    });

    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(!acknowledged.is_empty(), "no order was acknowledged before the kill");
    let (stored, incomplete) = database
        .read(|c| {
            let stored = db::orders::in_state(c, "accepted", 100_000)?;
            let mut incomplete = Vec::new();
            for order in &stored {
                let complete = db::orders::accounts(c, &order.order_id)?.len() == 1
                    && db::orders::signatures(c, &order.order_id)?.len() == 1
                    && signet_orders::status_report::read(&order.report_xml).is_ok()
                    && signet_crypto::cms::verify_detached(&order.report_signature, &order.report_xml).is_ok();
                if !complete {
                    incomplete.push(order.order_id.clone());
                }
            }
            Ok::<_, db::DbError>((stored, incomplete))
        })
        .expect("read");
    let stored: std::collections::HashSet<String> = stored.into_iter().map(|o| o.order_id).collect();
    let lost: Vec<&String> = acknowledged.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(lost.is_empty(), "acknowledged orders lost by the crash: {lost:?}");
    assert!(incomplete.is_empty(), "orders stored half: {incomplete:?}");

    // The host starts again on the same database and takes the next order.
    let mut host = start_host(&pki, port, &crl_url);
    std::thread::sleep(Duration::from_millis(500));
    let mut client = Client::open(&pki, &base).expect("channel");
    let status = client
        .submit(&users[0], &common::order("AFTER-RESTART", "10.00", now()))
        .expect("answered");
    assert_eq!(status.order.state, OrderState::Accepted);
    let _ = host.kill();
    let _ = host.wait();
}
