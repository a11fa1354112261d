//! `signet-keyserver serve` as a real process on a temporary data directory,
//! on SQLite or a throwaway PostgreSQL database.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::client::{BaseUrl, Client};
use signet_database::testing::PgDatabase;
use signet_schema::KdfParams;

/// How to start a key server: [`KeyServer::launch`], then
/// [`Launch::start`].
#[derive(Default)]
pub struct Launch {
    postgres: Option<PgDatabase>,
    database_url: Option<String>,
    args: Vec<String>,
    log_to_file: bool,
}

impl Launch {
    /// Runs on `postgres` instead of SQLite in the data directory.
    pub fn postgres(mut self, postgres: PgDatabase) -> Launch {
        self.postgres = Some(postgres);
        self
    }

    /// Gives the server `--database url` (a proxy in front of the database,
    /// say); the tests themselves still reach the database directly.
    pub fn database_url(mut self, url: String) -> Launch {
        self.database_url = Some(url);
        self
    }

    /// Per-address and per-user request rates and bursts so high that no rate
    /// limit answers in place of what the test looks at.
    pub fn rate_limits(mut self, rate: u64, burst: u64) -> Launch {
        for (flag, value) in [
            ("--address-rate", rate),
            ("--address-burst", burst),
            ("--user-rate", rate),
            ("--user-burst", burst),
            ("--application-rate", rate),
            ("--application-burst", burst),
            ("--application-rate-total", rate),
            ("--application-burst-total", burst),
            ("--opening-rate", rate),
            ("--opening-burst", burst),
        ] {
            self.args.extend([flag.to_owned(), value.to_string()]);
        }
        self
    }

    /// Per-user request rate (per minute) and burst, the address limits left as they are.
    pub fn user_limits(mut self, rate: u64, burst: u64) -> Launch {
        for (flag, value) in [("--user-rate", rate), ("--user-burst", burst)] {
            self.args.extend([flag.to_owned(), value.to_string()]);
        }
        self
    }

    /// Gives the server `flag value` on its command line.
    pub fn arg(mut self, flag: &str, value: &str) -> Launch {
        self.args.extend([flag.to_owned(), value.to_owned()]);
        self
    }

    /// Logs warnings and errors only, to `server.log` beside the data
    /// directory (see [`KeyServer::log`]), instead of to the test's stderr.
    pub fn log_to_file(mut self) -> Launch {
        self.log_to_file = true;
        self
    }

    pub fn start(mut self) -> KeyServer {
        // Tests register more people from one address than an office would at
        // once: unless a test sets them, the application limits are raised.
        if !self.args.iter().any(|a| a.starts_with("--application-")) {
            self.args
                .extend(["--application-burst", "1000", "--application-burst-total", "1000"].map(String::from));
        }
        // Tests make their keys and records cheaply (2048-bit keys, the
        // KDF's floor): unless a test sets it, the server's policy is that.
        if !self.args.iter().any(|a| a.starts_with("--kdf-") || a == "--key-bits") {
            self.args.extend([
                "--kdf-memory-kib".to_owned(),
                KdfParams::FLOOR.m_kib.to_string(),
                "--kdf-passes".to_owned(),
                KdfParams::FLOOR.t.to_string(),
                "--kdf-lanes".to_owned(),
                KdfParams::FLOOR.p.to_string(),
                "--key-bits".to_owned(),
                "2048".to_owned(),
            ]);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = KeyServer {
            child: None,
            base: Arc::new(RwLock::new(String::new())),
            data_dir: dir.path().join("data"),
            log: self.log_to_file.then(|| dir.path().join("server.log")),
            served_database: self
                .database_url
                .or_else(|| self.postgres.as_ref().map(|pg| pg.url.clone())),
            args: self.args,
            starts: 0,
            startup: Duration::ZERO,
            postgres: self.postgres,
            _dir: dir,
        };
        server.restart();
        server
    }
}

/// A running `signet-keyserver serve`, killed when dropped.
pub struct KeyServer {
    child: Option<Child>,
    /// `https://127.0.0.1:port` of the running process (the port changes on restart).
    base: BaseUrl,
    pub data_dir: PathBuf,
    log: Option<PathBuf>,
    /// What the process is given as `--database`.
    served_database: Option<String>,
    args: Vec<String>,
    starts: u32,
    startup: Duration,
    pub postgres: Option<PgDatabase>,
    _dir: tempfile::TempDir,
}

impl KeyServer {
    pub fn launch() -> Launch {
        Launch::default()
    }

    pub fn start_sqlite() -> KeyServer {
        Self::launch().start()
    }

    pub fn start_postgres() -> Option<KeyServer> {
        PgDatabase::create().map(|pg| Self::launch().postgres(pg).start())
    }

    /// Starts the process (again, after [`KeyServer::kill`]) on the same data
    /// directory and database.
    pub fn restart(&mut self) {
        let started = Instant::now();
        let mut command = Command::new(env!("CARGO_BIN_EXE_signet-keyserver"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&self.data_dir)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        if let Some(url) = &self.served_database {
            command.args(["--database", url]);
        }
        match &self.log {
            Some(path) => {
                let log = File::options().create(true).append(true).open(path).expect("log file");
                command.env("SIGNET_LOG", "warn").stderr(Stdio::from(log));
            }
            None => {
                command.stderr(Stdio::inherit());
            }
        }
        let mut child = command.spawn().expect("start the key server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the listening line");
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            panic!("unexpected first line {line:?}; log:\n{}", self.log_tail());
        };
        *self.base.write().expect("base URL lock") = base.to_owned();
        self.child = Some(child);
        self.starts += 1;
        self.startup += started.elapsed();
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
        }
    }

    /// The running process's id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The address it listens on.
    pub fn address(&self) -> std::net::SocketAddr {
        let base = self.base.read().expect("base URL lock").clone();
        base.trim_start_matches("https://").parse().expect("an address")
    }

    /// How many times the process was started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// The time all starts took, up to the `listening on` line.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// The base URL, shared: it follows the server across restarts.
    pub fn base(&self) -> BaseUrl {
        self.base.clone()
    }

    /// The server's self-signed TLS certificate (DATA_DIR/tls/cert.pem).
    pub fn certificate(&self) -> Vec<u8> {
        std::fs::read(self.data_dir.join("tls").join("cert.pem")).expect("the server's certificate")
    }

    /// A client of the web tier that trusts the server's self-signed
    /// certificate and follows the server across restarts.
    pub fn client(&self) -> Client {
        Client::following(self.base(), &self.certificate(), None)
    }

    /// The same, giving up on an answer after `timeout`.
    pub fn client_with_timeout(&self, timeout: Duration) -> Client {
        Client::following(self.base(), &self.certificate(), Some(timeout))
    }

    /// The database as the tests reach it: PostgreSQL directly, or the SQLite file.
    pub fn database_url(&self) -> String {
        match &self.postgres {
            Some(pg) => pg.url.clone(),
            None => self
                .served_database
                .clone()
                .unwrap_or_else(|| self.data_dir.join("signet.db").display().to_string()),
        }
    }

    /// `--database URL` when the server runs on PostgreSQL.
    pub fn database_args(&self) -> Vec<String> {
        self.postgres
            .as_ref()
            .map(|pg| pg.url.clone())
            .or_else(|| self.served_database.clone())
            .map(|url| vec!["--database".to_owned(), url])
            .unwrap_or_default()
    }

    /// `signet-keyserver args… --data-dir DATA_DIR [--database URL]`, on this
    /// server's data.
    pub fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_signet-keyserver"));
        command
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(self.database_args());
        command
    }

    /// `signet-keyserver admin args…` on this server's data.
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        self.command(&all).output().expect("run admin")
    }

    /// `signet-keyserver audit verify` on this server's data: its exit
    /// code, report (stdout) and log (stderr).
    fn run_audit_verify(&self) -> (Option<i32>, String, String) {
        let out = self
            .command(&["audit", "verify"])
            .env("SIGNET_LOG", "warn")
            .output()
            .expect("audit verify");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `signet-keyserver audit verify` must find the audit log intact; answers
    /// its report.
    pub fn audit_verify(&self) -> String {
        let (code, text, log) = self.run_audit_verify();
        assert!(code == Some(0) && text.contains("audit log intact"), "{text}{log}");
        text.trim().to_owned()
    }

    /// `signet-keyserver audit verify` on a log expected broken: its report.
    pub fn audit_broken(&self) -> String {
        let (code, text, log) = self.run_audit_verify();
        assert_eq!(code, Some(3), "{text}{log}");
        text
    }

    /// What the server has logged so far (with [`Launch::log_to_file`]).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    }

    /// The last few kilobytes of [`KeyServer::log`].
    pub fn log_tail(&self) -> String {
        let text = self.log();
        let mut start = text.len().saturating_sub(4000);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        text[start..].to_owned()
    }

    /// Lines of the server's log that contain `needle`.
    pub fn logged(&self, needle: &str) -> usize {
        self.log().lines().filter(|l| l.contains(needle)).count()
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
