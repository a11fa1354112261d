//! Shared by the key server's process tests: start the real binary on a
//! temporary data directory (SQLite) or a throwaway PostgreSQL database, and
//! talk to it over HTTP.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use diesel::{Connection, RunQueryDsl};
use serde::Serialize;
use signet_schema::RegistrationData;
use signet_schema::api::ApiError;

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
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

/// A throwaway PostgreSQL database, dropped with this guard.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    /// A new empty database on the server named by SIGNET_TEST_POSTGRES_URL,
    /// or `None` (after saying so) when the variable is not set.
    pub fn create() -> Option<PgDatabase> {
        let Ok(admin_url) = std::env::var("SIGNET_TEST_POSTGRES_URL") else {
            eprintln!("PostgreSQL tests skipped: SIGNET_TEST_POSTGRES_URL is not set");
            return None;
        };
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("rng");
        let name = format!("signet_test_{}", hex::encode(bytes));
        let mut admin = diesel::PgConnection::establish(&admin_url).expect("connect to PostgreSQL");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create database");
        let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        Some(PgDatabase { admin_url, name, url })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin);
        }
    }
}

/// A running `signet-keyserver serve`.
pub struct KeyServer {
    child: Child,
    pub base_url: String,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
    pub postgres: Option<PgDatabase>,
}

impl KeyServer {
    pub fn start_sqlite() -> KeyServer {
        Self::start(None)
    }

    pub fn start_postgres() -> Option<KeyServer> {
        PgDatabase::create().map(|pg| Self::start(Some(pg)))
    }

    fn start(postgres: Option<PgDatabase>) -> KeyServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let mut command = Command::new(env!("CARGO_BIN_EXE_signet-keyserver"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir);
        if let Some(pg) = &postgres {
            command.args(["--database", &pg.url]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start key server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read listening line");
        let base_url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        KeyServer {
            child,
            base_url,
            data_dir,
            _dir: dir,
            postgres,
        }
    }

    /// `--database URL` when the server runs on PostgreSQL.
    pub fn database_args(&self) -> Vec<String> {
        self.postgres
            .as_ref()
            .map(|pg| vec!["--database".to_owned(), pg.url.clone()])
            .unwrap_or_default()
    }

    /// A client of the web tier that trusts the server's self-signed
    /// certificate (DATA_DIR/tls/cert.pem).
    pub fn client(&self) -> Client {
        let pem = std::fs::read(self.data_dir.join("tls").join("cert.pem")).expect("the server's certificate");
        Client::with_root(&self.base_url, &pem)
    }

    pub fn database_url(&self) -> String {
        match &self.postgres {
            Some(pg) => pg.url.clone(),
            None => self.data_dir.join("signet.db").display().to_string(),
        }
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The consent phrase printed on the newest letter for `user_id`, read from
/// the PDF the server produced.
pub fn letter_phrase(server: &KeyServer, user_id: &str) -> String {
    use signet_keyserver::db::{Database, models};
    let db = Database::open(&server.database_url()).expect("open database");
    let app = db
        .read(|c| models::applications::latest_for_user(c, user_id))
        .expect("read")
        .expect("an application");
    let pdf = app.letter_pdf.expect("the letter is still queued");
    phrase_in_pdf(&pdf).expect("a consent phrase in the letter")
}

/// Finds the consent phrase among the PDF's text strings.
pub fn phrase_in_pdf(pdf: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(pdf);
    text.split('(')
        .filter_map(|s| s.split_once(')').map(|(inside, _)| inside.to_owned()))
        .find(|s| s.len() > 20 && signet_keyserver::consent::ConsentPhrase::parse(s).is_ok())
}

/// A small HTTP client over ureq; errors are data, not exceptions.
pub struct Client {
    agent: ureq::Agent,
    base: String,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        Client {
            agent,
            base: base.to_owned(),
        }
    }

    /// A client that trusts only the PEM certificate `root_pem` (a pinned
    /// self-signed server certificate).
    pub fn with_root(base: &str, root_pem: &[u8]) -> Client {
        use ureq::tls::{Certificate, RootCerts, TlsConfig};
        let root = Certificate::from_pem(root_pem).expect("PEM certificate");
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::new_with_certs(&[root]))
                    .build(),
            )
            .build()
            .new_agent();
        Client {
            agent,
            base: base.to_owned(),
        }
    }

    /// Any request: (status, Retry-After, body text). Errors are data.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> (u16, Option<String>, String) {
        let url = format!("{}{path}", self.base);
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
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

    /// Any request, with extra headers; a body is sent for POST (with its
    /// length), none for GET. Answers the status and the body's bytes.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, Vec<u8>) {
        let url = format!("{}{path}", self.base);
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            builder = builder.header(*name, value.as_str());
        }
        let mut response = if method == "GET" {
            self.agent.run(builder.body(()).expect("request")).expect("send")
        } else {
            builder = builder.header("content-type", "application/json");
            self.agent
                .run(builder.body(body.to_vec()).expect("request"))
                .expect("send")
        };
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_vec().expect("body"))
    }

    pub fn post_raw(&self, path: &str, body: Vec<u8>) -> (u16, ApiError) {
        let mut response = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .send(&body[..])
            .expect("send");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().expect("body");
        let error = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not an error body ({e}): {text}"));
        (status, error)
    }

    fn post(&self, path: &str, body: &impl Serialize) -> (u16, String) {
        let mut response = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .send(&serde_json::to_vec(body).expect("json")[..])
            .expect("send");
        (
            response.status().as_u16(),
            response.body_mut().read_to_string().expect("body"),
        )
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
        let mut response = self.agent.get(&format!("{}{path}", self.base)).call().expect("get");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        response.body_mut().read_to_vec().expect("body")
    }

    pub fn get_json(&self, path: &str) -> serde_json::Value {
        serde_json::from_slice(&self.get_bytes(path)).expect("json")
    }
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
