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
