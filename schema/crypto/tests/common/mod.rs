//! Fixtures shared by the integration tests: keys made once per test binary,
//! a throw-away certification authority that issues signing certificates,
//! and a runner for the `openssl` command line in a temporary directory.

// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use der::pem::LineEnding;
use der::{Decode, Encode, EncodePem};
use rand::rngs::SysRng;
use sha2::Sha256;
use signature::Keypair;
use signet_crypto::keys::UserKey;
use signet_schema::{KeySize, RegistrationData};
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use tempfile::TempDir;
use x509_cert::Certificate;
use x509_cert::builder::{self, Builder, CertificateBuilder, Profile, profile};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::request::CertReq;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

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

/// A test certification authority: a self-signed RSA-2048 root (CA/B Forum
/// root profile from x509-cert) that signs with PKCS#1 v1.5 / SHA-256.
pub struct TestCa {
    signer: rsa::pkcs1v15::SigningKey<Sha256>,
    certificate: Certificate,
    next_serial: AtomicU32,
}

/// The one test CA of this test binary.
pub fn ca() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(TestCa::new)
}

impl TestCa {
    fn new() -> TestCa {
        let key = rsa::PrivateKey::new(&mut SysRng, 2048).expect("CA keygen");
        let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key);
        let subject = Name::from_str("CN=Signet Test Root,O=Signet Tests,C=GB").expect("CA name");
        let profile = profile::cabf::Root::new(false, subject).expect("root profile");
        let spki = SubjectPublicKeyInfoOwned::from_key(&signer.verifying_key()).expect("CA spki");
        let builder = CertificateBuilder::new(profile, SerialNumber::from(1u32), validity(), spki).expect("CA builder");
        let certificate = builder
            .build::<_, rsa::pkcs1v15::Signature>(&signer)
            .expect("CA certificate");
        TestCa {
            signer,
            certificate,
            next_serial: AtomicU32::new(2),
        }
    }

    /// The root certificate as PEM, for `-CAfile`.
    pub fn certificate_pem(&self) -> String {
        self.certificate.to_pem(LineEnding::LF).expect("CA pem")
    }

    /// Issues a signing certificate for the subject and key of a PKCS#10
    /// request (the request's own signature is checked by the tests that
    /// run `openssl req -verify`).
    pub fn issue(&self, request_der: &[u8]) -> Vec<u8> {
        let request = CertReq::from_der(request_der).expect("request parses");
        let profile = SigningCertificate {
            issuer: self.certificate.tbs_certificate().subject().clone(),
            subject: request.info.subject.clone(),
        };
        let serial = SerialNumber::from(self.next_serial.fetch_add(1, Ordering::Relaxed));
        let builder =
            CertificateBuilder::new(profile, serial, validity(), request.info.public_key).expect("leaf builder");
        let certificate = builder
            .build::<_, rsa::pkcs1v15::Signature>(&self.signer)
            .expect("leaf certificate");
        certificate.to_der().expect("leaf der")
    }
}

fn validity() -> Validity {
    Validity::from_now(Duration::from_secs(24 * 3600)).expect("validity")
}

/// End-entity profile for a signing certificate (x509-cert 0.3 has none):
/// basicConstraints cA FALSE, keyUsage digitalSignature + nonRepudiation
/// (critical, RFC 5280 §4.2.1.3), subject and authority key identifiers.
struct SigningCertificate {
    issuer: Name,
    subject: Name,
}

impl Profile for SigningCertificate {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut extensions = Vec::new();
        let basic = BasicConstraints {
            ca: false,
            path_len_constraint: None,
        };
        extensions.push(basic.to_extension(subject, &extensions)?);
        let usage = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation);
        extensions.push(usage.to_extension(subject, &extensions)?);
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        extensions.push(ski.to_extension(subject, &extensions)?);
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(SubjectKeyIdentifier::try_from(issuer_spk)?.0),
            ..Default::default()
        };
        extensions.push(aki.to_extension(subject, &extensions)?);
        Ok(extensions)
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
