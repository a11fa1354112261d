//! Shared by the key server's process tests: start the real binary on a
//! temporary data directory (SQLite) or a throwaway PostgreSQL database, and
//! talk to it over HTTP.

mod client;
pub mod in_process;
mod server;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
pub use client::{BaseUrl, Client};
pub use in_process::{letter_phrase_in, phrase_in_pdf, registration};
pub use server::KeyServer;
pub use signet_database::testing::PgDatabase;
use signet_schema::RegistrationData;

/// The key tier's policy with the test keys' size (2048 bits) and the
/// KDF's floor, which the tests' records are made under.
pub fn test_policy() -> signet_keyserver::keys::Policy {
    signet_keyserver::keys::Policy {
        kdf: signet_schema::KdfParams::FLOOR,
        key_bits: signet_schema::KeySize::Rsa2048,
        ..signet_keyserver::keys::Policy::default()
    }
}

/// A well-formed application for `user_id` with `key`, its record sealed
/// under `kdf`.
pub fn application_with(
    user_id: &str,
    key: &signet_crypto::keys::UserKey,
    kdf: signet_schema::KdfParams,
) -> signet_schema::api::ApplyRequest {
    use signet_crypto::{csr, seal};
    use signet_schema::protocol::Bytes;
    let registration = registration(user_id);
    let keys = signet_crypto::kdf::derive(
        b"a pass phrase long enough for the policy",
        user_id,
        kdf,
        &signet_crypto::kdf::new_salt().expect("salt"),
    )
    .expect("kdf");
    signet_schema::api::ApplyRequest {
        registration: registration.clone(),
        record: Bytes(
            seal::seal(key, &registration, &keys)
                .expect("seal")
                .encode()
                .expect("encode"),
        ),
        certification_request: Bytes(
            csr::certification_request(key, &registration, signet_schema::SignatureScheme::RsaPssSha256).expect("csr"),
        ),
        verifier: Bytes(keys.verifier().to_vec()),
        nonce: nonce(),
        timestamp: now(),
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
}

/// A single-use request nonce from the OS (clients seeded from one generator
/// would share sequences).
pub fn nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("rng");
    hex::encode(bytes)
}

pub fn alice() -> RegistrationData {
    RegistrationData {
        user_id: "alice".into(),
        common_name: "Alice Example".into(),
        organization: "Example Bank".into(),
        organizational_unit: "Payments".into(),
        email: "alice@example.com".into(),
        country: "GB".into(),
    }
}

/// The consent phrase printed on the newest letter for `user_id`, read from
/// the PDF the server produced.
pub fn letter_phrase(server: &KeyServer, user_id: &str) -> String {
    let database = signet_keyserver::keys::db::open(&server.database_url()).expect("open database");
    letter_phrase_in(&database, &server.data_dir, user_id)
}

/// A running `signet-keyserver key` or `signet-keyserver web`, its standard
/// error collected.
pub struct Tier {
    child: Child,
    /// The URL of its `listening on` line.
    pub url: String,
    /// Its further announcement lines (the web tier's `tls-sha256 …`).
    pub lines: Vec<String>,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Tier {
    /// Starts `signet-keyserver args…` and reads `lines` announcement lines.
    pub fn start<S: AsRef<std::ffi::OsStr>>(args: &[S], lines: usize) -> Tier {
        let mut child = Command::new(env!("CARGO_BIN_EXE_signet-keyserver"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a tier");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("[tier] {line}");
                let mut log = sink.lock().expect("log");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut read = Vec::new();
        for _ in 0..lines {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("read an announcement line");
            read.push(line.trim().to_owned());
        }
        let url = read
            .first()
            .and_then(|l| l.strip_prefix("listening on "))
            .unwrap_or_else(|| panic!("unexpected first lines {read:?}; log: {}", log.lock().expect("log")))
            .to_owned();
        Tier {
            child,
            url,
            lines: read[1..].to_vec(),
            log,
        }
    }

    /// What it has written to standard error so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// Kills it (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Tier {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs openssl in `dir`; panics unless it succeeds. Returns stdout+stderr.
pub fn openssl(dir: &Path, args: &[&str]) -> String {
    let (ok, text) = openssl_status(dir, args);
    assert!(ok, "openssl {args:?}: {text}");
    text
}

/// Runs openssl in `dir`: (success, stdout+stderr).
pub fn openssl_status(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
