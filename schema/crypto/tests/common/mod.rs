//! Fixtures shared by the integration tests: keys made once per test binary,
//! a throw-away certification authority that issues signing certificates,
//! and a runner for the `openssl` command line in a temporary directory.

// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use signet_crypto::keys::UserKey;
use signet_schema::{KeySize, RegistrationData};
use tempfile::TempDir;

/// One 2048-bit key per test binary: generation costs 0.1–1 s.
pub fn key_2048() -> &'static UserKey {
    static KEY: OnceLock<UserKey> = OnceLock::new();
    KEY.get_or_init(|| UserKey::generate(KeySize::Rsa2048).expect("keygen 2048"))
}

/// One 3072-bit key (the product's default size) per test binary.
pub fn key_3072() -> &'static UserKey {
    static KEY: OnceLock<UserKey> = OnceLock::new();
    KEY.get_or_init(|| UserKey::generate(KeySize::Rsa3072).expect("keygen 3072"))
}

/// A registration with characters that need escaping in RFC 4514 strings.
pub fn registration() -> RegistrationData {
    RegistrationData {
        user_id: "alice".into(),
        common_name: "Alice Example".into(),
        organization: "Example Bank, Ltd".into(),
        organizational_unit: "Payments".into(),
        email: "alice@example.com".into(),
        country: "GB".into(),
    }
}

/// A test certification authority run by OpenSSL: a self-signed RSA-2048
/// root made by `openssl req -x509`, which issues signing certificates for
/// our PKCS#10 requests with `openssl x509 -req` — so the certificates under
/// test come from another implementation than the key server's CA.
pub struct TestCa {
    openssl: Openssl,
    next_serial: AtomicU32,
}

/// The one test CA of this test binary.
pub fn ca() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(TestCa::new)
}

/// Extensions of an end-entity signing certificate (RFC 5280 §4.2.1.3:
/// digitalSignature + nonRepudiation, critical).
const SIGNING_EXTENSIONS: &str = "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
";

impl TestCa {
    fn new() -> TestCa {
        let openssl = Openssl::in_temp_dir();
        openssl.ok(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/C=GB/O=Signet Tests/CN=Signet Test Root",
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl.write("signing.ext", SIGNING_EXTENSIONS);
        TestCa {
            openssl,
            next_serial: AtomicU32::new(2),
        }
    }

    /// The root certificate as PEM, for `-CAfile`.
    pub fn certificate_pem(&self) -> String {
        String::from_utf8(self.openssl.read("ca.pem")).expect("CA pem")
    }

    /// Issues a signing certificate for the subject and key of a PKCS#10
    /// request (OpenSSL checks the request's own signature as it issues).
    pub fn issue(&self, request_der: &[u8]) -> Vec<u8> {
        let serial = self.next_serial.fetch_add(1, Ordering::Relaxed).to_string();
        let request = format!("request-{serial}.der");
        let certificate = format!("certificate-{serial}.der");
        self.openssl.write(&request, request_der);
        self.openssl.ok(&[
            "x509",
            "-req",
            "-inform",
            "DER",
            "-in",
            &request,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            &serial,
            "-days",
            "1",
            "-extfile",
            "signing.ext",
            "-outform",
            "DER",
            "-out",
            &certificate,
        ]);
        self.openssl.read(&certificate)
    }
}

/// The `openssl` command line, run in a fresh temporary directory.
pub struct Openssl {
    dir: TempDir,
}

impl Openssl {
    pub fn in_temp_dir() -> Openssl {
        Openssl {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Path of `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `bytes` to `name` inside the directory.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.path(name), bytes).expect("write file");
    }

    /// Reads `name` from the directory.
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).expect("read file")
    }

    /// Runs `openssl args…` in the directory.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("openssl runs")
    }

    /// Runs `openssl args…` and fails the test unless it succeeds; returns
    /// stdout and stderr together.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "openssl {} failed:\n{text}", args.join(" "));
        text
    }

    /// Runs `openssl args…` and fails the test if it succeeds; returns
    /// stdout and stderr together, to check the reason.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !output.status.success(),
            "openssl {} unexpectedly succeeded:\n{text}",
            args.join(" ")
        );
        text
    }
}
