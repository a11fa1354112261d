//! What every journey needs: the workspace's built binaries, a running key
//! server, a signer process, and HTTPS that trusts the server's certificate.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use signet_client::child::SignerProcess;
use signet_schema::protocol::{Request, Response};

pub mod webdriver;

/// A binary of the workspace, built next to this test (`cargo test --workspace` builds them all).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` (make test does)",
        path.display()
    );
    path
}

/// A running `signet-keyserver serve` on a temporary data directory.
pub struct KeyServer {
    child: Child,
    /// `https://127.0.0.1:PORT`.
    pub base_url: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    dir: tempfile::TempDir,
}

/// Starts a server `command` with its log at `SIGNET_TEST_SERVER_LOG`
/// (default `warn`; `info` shows every request when a journey fails) and
/// waits for its first line on standard output (`listening on …`).
fn serve(mut command: Command) -> (Child, String) {
    let mut child = command
        .env(
            "SIGNET_LOG",
            std::env::var("SIGNET_TEST_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    (child, line)
}

/// The exit code of a `signet` run is `code`, or the test fails showing its output.
#[track_caller]
pub fn expect_exit(run: &Run, code: i32) {
    assert_eq!(
        run.code, code,
        "exit code\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

/// SHA-256 of `bytes`, lower-case hex (how releases name their binaries).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The development release key's private half (`schema/release-keys/`),
/// whose public half the client is built to trust.
pub fn development_release_key() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/release-keys/development.key.pem")
}

impl KeyServer {
    /// Starts the server, publishes the signer built beside this test as
    /// release 1 (signed with the development release key), and waits until
    /// it listens: clients get their signer from it, as in production.
    pub fn start() -> KeyServer {
        let server = KeyServer::start_without_signer();
        server.publish_signer(1);
        server
    }

    /// Signs `binary` as release `version` with the release key `key`
    /// (offline, on files: `applet sign-release`), with `extra` arguments;
    /// answers the signed release's file.
    pub fn sign_release(&self, key: &Path, signer: &Path, version: u64, extra: &[&str]) -> PathBuf {
        let out = self.dir.path().join(format!("release-{version}-{}.json", extra.len()));
        let done = Command::new(binary("signet-keyserver"))
            .args(["applet", "sign-release", "--key"])
            .arg(key)
            .arg("--binary")
            .arg(signer)
            .args(["--version", &version.to_string(), "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .expect("run sign-release");
        assert!(
            done.status.success(),
            "applet sign-release: {}",
            String::from_utf8_lossy(&done.stderr)
        );
        out
    }

    /// Runs `signet-keyserver ARGS…` with no data directory (offline steps).
    pub fn admin_offline(&self, args: &[&str]) -> std::process::Output {
        Command::new(binary("signet-keyserver"))
            .args(args)
            .output()
            .expect("run")
    }

    /// `applet publish` of a signed release and its binary.
    pub fn publish(&self, manifest: &Path, signer: &Path) -> std::process::Output {
        Command::new(binary("signet-keyserver"))
            .args(["applet", "publish", "--manifest"])
            .arg(manifest)
            .arg("--binary")
            .arg(signer)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .output()
            .expect("run publish")
    }

    /// Signs the built signer with the development release key as release
    /// `version` and publishes it.
    pub fn publish_signer(&self, version: u64) {
        let signer = binary("signet-signer");
        let manifest = self.sign_release(&development_release_key(), &signer, version, &[]);
        let out = self.publish(&manifest, &signer);
        assert!(
            out.status.success(),
            "applet publish: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `signet-keyserver serve` on `listen` with the data in `data_dir`.
    fn serve_command(listen: &str, data_dir: &Path) -> Command {
        let mut command = Command::new(binary("signet-keyserver"));
        command
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(data_dir)
            // A journey runs a person's day in seconds: the per-user limit
            // (20 sign-ins' worth at once, then 10 a minute), the
            // applications from one address (10 at once) and its session
            // openings (300 at once; here 500) are raised.
            .args([
                "--user-rate",
                "600",
                "--user-burst",
                "200",
                "--application-burst",
                "200",
                "--opening-burst",
                "500",
            ]);
        command
    }

    /// Stops the server and starts it again on the same address and data,
    /// with `extra` flags: an operator changing its settings.
    pub fn restart_with(&mut self, extra: &[&str]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let address = self.base_url.strip_prefix("https://").expect("an https URL");
        let mut command = KeyServer::serve_command(address, &self.data_dir);
        command.args(extra);
        let (child, line) = serve(command);
        self.child = child;
        assert_eq!(
            line.trim(),
            format!("listening on {}", self.base_url),
            "the same address"
        );
    }

    /// Starts the server with no signer release published.
    pub fn start_without_signer() -> KeyServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let command = KeyServer::serve_command("127.0.0.1:0", &data_dir);
        let (child, line) = serve(command);
        let base_url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("a `listening on` line")
            .to_owned();
        KeyServer {
            child,
            base_url,
            data_dir,
            dir,
        }
    }

    /// An HTTPS client trusting this server's self-signed certificate.
    pub fn client(&self) -> Https {
        Https::trusting(&self.data_dir, &self.base_url)
    }

    /// Runs `signet-keyserver ARGS… --data-dir DIR`.
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        Command::new(binary("signet-keyserver"))
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .output()
            .expect("run")
    }

    /// The operator makes `user`, who has applied, the first help-desk
    /// account (`admin bootstrap`); the consent phrase on the letter written.
    pub fn bootstrap(&self, user: &str) -> String {
        let letter = self.data_dir.join(format!("{user}-letter.pdf"));
        let out = self.admin(&[
            "admin",
            "bootstrap",
            "--user-id",
            user,
            "--letter",
            &letter.display().to_string(),
        ]);
        assert!(
            out.status.success(),
            "admin bootstrap: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        phrase_in_letter(&std::fs::read(&letter).expect("the letter")).expect("a phrase on the letter")
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HTTPS to the key server.
pub struct Https {
    agent: ureq::Agent,
    base: String,
}

impl Https {
    /// HTTPS to `base`, trusting the self-signed certificate a server keeps
    /// in `data_dir/tls/cert.pem`.
    fn trusting(data_dir: &Path, base: &str) -> Https {
        use ureq::tls::{Certificate, RootCerts, TlsConfig};
        let pem = std::fs::read(data_dir.join("tls/cert.pem")).expect("the server's TLS certificate");
        let root = Certificate::from_pem(&pem).expect("PEM certificate");
        let tls = TlsConfig::builder()
            .root_certs(RootCerts::new_with_certs(&[root]))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .build()
            .new_agent();
        Https {
            agent,
            base: base.to_owned(),
        }
    }

    /// GET: (status, body).
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let mut r = self.agent.get(format!("{}{path}", self.base)).call().expect("GET");
        (r.status().as_u16(), r.body_mut().read_to_vec().expect("body"))
    }

    /// POST with a content type: (status, body).
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let mut r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .send(body)
            .expect("POST");
        (r.status().as_u16(), r.body_mut().read_to_vec().expect("body"))
    }
}

/// A signer process (the real `signet-signer`).
pub fn signer() -> SignerProcess {
    SignerProcess::start(&binary("signet-signer"), &[]).expect("start signet-signer")
}

/// Calls the signer; a refusal fails the journey with its message.
pub fn call(signer: &mut SignerProcess, request: Request) -> Response {
    signer
        .call(request)
        .unwrap_or_else(|e| panic!("the signer refused: {e}"))
}

/// The consent phrase on a letter: the `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX` text string in the PDF.
pub fn phrase_in_letter(pdf: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(pdf);
    text.split('(')
        .filter_map(|s| s.split_once(')').map(|(inside, _)| inside))
        .find_map(|s| {
            let groups: Vec<&str> = s.split('-').collect();
            let shaped = groups.len() == 6
                && groups
                    .iter()
                    .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_alphanumeric()));
            shaped.then(|| s.to_owned())
        })
}

/// Runs openssl in `dir`: (success, stdout and stderr).
pub fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
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

impl KeyServer {
    /// The SHA-256 fingerprint of the server's TLS certificate, as OpenSSL reads it (`AB:CD:…`).
    pub fn fingerprint(&self) -> String {
        let cert = self.data_dir.join("tls/cert.pem");
        let (ok, text) = openssl(
            &self.data_dir,
            &[
                "x509",
                "-in",
                &cert.display().to_string(),
                "-noout",
                "-fingerprint",
                "-sha256",
            ],
        );
        assert!(ok, "{text}");
        text.trim().rsplit('=').next().expect("fingerprint").to_owned()
    }
}

/// A private session bus with GNOME Keyring's Secret Service on it, unlocked,
/// in a throwaway home: what the desktop gives the app on a real machine.
pub struct SecretService {
    daemons: Vec<Child>,
    env: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

impl SecretService {
    /// Starts `dbus-daemon --session` and `gnome-keyring-daemon --unlock` and
    /// waits until `org.freedesktop.secrets` is on the bus.
    pub fn start() -> SecretService {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        let runtime = dir.path().join("run");
        for d in [&home, &runtime] {
            std::fs::create_dir_all(d).expect("mkdir");
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        }
        let mut env = vec![
            ("HOME".to_owned(), home.display().to_string()),
            ("XDG_RUNTIME_DIR".to_owned(), runtime.display().to_string()),
        ];
        let mut dbus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stderr(Stdio::null())
            .envs(env.iter().cloned())
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon (make deps installs it)");
        let mut address = String::new();
        BufReader::new(dbus.stdout.take().expect("stdout"))
            .read_line(&mut address)
            .expect("bus address");
        env.push(("DBUS_SESSION_BUS_ADDRESS".to_owned(), address.trim().to_owned()));
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--foreground"])
            .envs(env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (make deps installs it)");
        // An empty password for the login keyring, which it creates unlocked.
        let mut stdin = keyring.stdin.take().expect("stdin");
        stdin.write_all(b"\n").expect("password");
        drop(stdin);
        let service = SecretService {
            daemons: vec![keyring, dbus],
            env,
            dir,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let out = service
                .command("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()
                .expect("dbus-send");
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                return service;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the Secret Service did not come up"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// `program` with this session's bus, home and runtime directory.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.envs(self.env.iter().cloned());
        command
    }

    /// A scratch directory of this session (files to sign, pass-phrase files).
    pub fn scratch(&self) -> PathBuf {
        let path = self.dir.path().join("work");
        std::fs::create_dir_all(&path).expect("mkdir");
        path
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        for daemon in &mut self.daemons {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }
}

/// What a `signet` run gave back.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl SecretService {
    /// Runs the `signet` command line in this session, stdin closed.
    pub fn signet(&self, args: &[&str]) -> Run {
        self.signet_with(args, &[])
    }

    /// Runs the `signet` command line in this session with `env` added, stdin closed.
    pub fn signet_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = self
            .command(binary("signet"))
            .args(args)
            .envs(env.iter().copied())
            .env_remove("SIGNET_USER")
            .stdin(Stdio::null())
            .output()
            .expect("run signet");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl SecretService {
    /// Writes `text` to the scratch file `name`; its path.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.scratch().join(name);
        std::fs::write(&path, text).expect("write a scratch file");
        path.display().to_string()
    }

    /// `user` applies from the command line, at Example Bank; the application id.
    pub fn apply(&self, user: &str, name: &str, passphrase_file: &str) -> String {
        let run = self.signet(&[
            "register",
            "--user-id",
            user,
            "--name",
            name,
            "--organization",
            "Example Bank",
            "--unit",
            "Payments",
            "--email",
            &format!("{user}@example.com"),
            "--country",
            "GB",
            "--passphrase-file",
            passphrase_file,
        ]);
        assert_eq!(run.code, 0, "register {user}: {run:?}");
        run.stdout.trim().to_owned()
    }

    /// The help desk (`staff`) prints the letter of `application` to the
    /// scratch directory; the consent phrase on it.
    pub fn print_letter(&self, staff: &str, staff_passphrase_file: &str, application: &str) -> String {
        let letter = self.scratch().join(format!("letter-{application}.pdf"));
        let run = self.signet(&[
            "helpdesk",
            "-u",
            staff,
            "--passphrase-file",
            staff_passphrase_file,
            "letter",
            "print",
            application,
            "--out",
            &letter.display().to_string(),
        ]);
        assert_eq!(run.code, 0, "print the letter of {application}: {run:?}");
        phrase_in_letter(&std::fs::read(&letter).expect("the printed letter")).expect("a phrase on the letter")
    }

    /// `user` consents with `phrase` from the command line.
    pub fn consent(&self, user: &str, phrase: &str) {
        let phrase_file = self.write(&format!("{user}-phrase"), phrase);
        let run = self.signet(&["consent", "-u", user, "--phrase-file", &phrase_file]);
        assert_eq!(run.code, 0, "consent of {user}: {run:?}");
    }

    /// `user` applies, the help desk prints the letter, `user` consents:
    /// an active account. The path of the user's pass-phrase file.
    pub fn registered_user(
        &self,
        staff: &str,
        staff_passphrase_file: &str,
        user: &str,
        name: &str,
        passphrase: &str,
    ) -> String {
        let passphrase_file = self.write(&format!("{user}-pass"), passphrase);
        let application = self.apply(user, name, &passphrase_file);
        let phrase = self.print_letter(staff, staff_passphrase_file, &application);
        self.consent(user, &phrase);
        passphrase_file
    }
}

/// A running `signet-host serve` (the bank's order desk), certified by a
/// key server's CA through the operator commands on each side.
pub struct HostApp {
    child: Child,
    /// `https://127.0.0.1:PORT`.
    pub base_url: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
}

/// A TCP port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl HostApp {
    /// `signet-host keys`, the key server's `admin certify-host`,
    /// `signet-host certificate`, then `signet-host serve`, fetching its CRL
    /// from `server`; `extra` arguments go to `serve`.
    pub fn start(server: &KeyServer, name: &str, extra: &[&str]) -> HostApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("host");
        let run = |args: &[&str]| {
            let out = Command::new(binary("signet-host"))
                .args(args)
                .arg("--data-dir")
                .arg(&data_dir)
                .output()
                .expect("run signet-host");
            assert!(
                out.status.success(),
                "signet-host {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&["keys", "--name", name]);
        let port = free_port();
        let base_url = format!("https://127.0.0.1:{port}");
        let certificate = dir.path().join("host-cert.pem");
        let out = server.admin(&[
            "admin",
            "certify-host",
            "--name",
            name,
            "--url",
            &base_url,
            "--csr",
            &data_dir.join("host.csr.pem").display().to_string(),
            "--out",
            &certificate.display().to_string(),
        ]);
        assert!(
            out.status.success(),
            "admin certify-host: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (status, ca) = server.client().get("/v1/ca.pem");
        assert_eq!(status, 200);
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca).expect("write the CA certificate");
        run(&[
            "certificate",
            "--certificate",
            &certificate.display().to_string(),
            "--ca",
            &ca_file.display().to_string(),
        ]);
        let mut command = Command::new(binary("signet-host"));
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--crl-url"])
            .arg(format!("{}/v1/crl", server.base_url))
            .arg("--data-dir")
            .arg(&data_dir)
            .args(extra);
        let (child, line) = serve(command);
        assert_eq!(line.trim(), format!("listening on {base_url}"));
        HostApp {
            child,
            base_url,
            data_dir,
            _dir: dir,
        }
    }

    /// `signet-host mandate add`: `user` signs for `iban` with `class` up to `limit` EUR.
    pub fn mandate(&self, iban: &str, user: &str, class: &str, limit: Option<&str>) {
        let mut command = Command::new(binary("signet-host"));
        command
            .args([
                "mandate",
                "add",
                "--iban",
                iban,
                "--user",
                user,
                "--class",
                class,
                "--data-dir",
            ])
            .arg(&self.data_dir);
        if let Some(limit) = limit {
            command.args(["--limit", limit]);
        }
        let out = command.output().expect("run signet-host mandate");
        assert!(
            out.status.success(),
            "signet-host mandate add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// HTTPS to the host, trusting its self-signed certificate.
    pub fn client(&self) -> Https {
        Https::trusting(&self.data_dir, &self.base_url)
    }
}

impl Drop for HostApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
