//! The key tier's CA against the `openssl` command line: certificates made
//! from the signing core's own PSS requests chain to the CA, CRLs revoke
//! them, and `openssl` reads every field the design asks for.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::common::now;
use signet_crypto::keys::UserKey;
use signet_keyserver::keys::ca::{CaError, CertificateAuthority, RevocationReason, RevokedEntry};
use signet_schema::{KeySize, RegistrationData, SignatureScheme};

fn ca() -> &'static CertificateAuthority {
    static CA: OnceLock<CertificateAuthority> = OnceLock::new();
    CA.get_or_init(|| CertificateAuthority::create("Signet Key Server CA", "Example Bank").expect("CA"))
}

fn user_key() -> &'static UserKey {
    static KEY: OnceLock<UserKey> = OnceLock::new();
    KEY.get_or_init(|| UserKey::generate(KeySize::Rsa3072).expect("keygen 3072"))
}

fn other_key() -> &'static UserKey {
    static KEY: OnceLock<UserKey> = OnceLock::new();
    KEY.get_or_init(|| UserKey::generate(KeySize::Rsa2048).expect("keygen 2048"))
}

fn alice() -> RegistrationData {
    RegistrationData {
        user_id: "alice".into(),
        common_name: "Alice Example".into(),
        organization: "Example Bank, Ltd".into(),
        organizational_unit: "Payments".into(),
        email: "alice@example.com".into(),
        country: "GB".into(),
    }
}

fn bob() -> RegistrationData {
    RegistrationData {
        user_id: "bob".into(),
        common_name: "Bob Example".into(),
        organizational_unit: String::new(),
        email: "bob@example.com".into(),
        ..alice()
    }
}

/// A PSS PKCS#10 request from the signing core.
fn request(key: &UserKey, registration: &RegistrationData) -> Vec<u8> {
    signet_crypto::csr::certification_request(key, registration, SignatureScheme::RsaPssSha256).expect("request")
}

fn pem(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).expect("pem")
}

/// `openssl` in a temporary directory.
struct Openssl {
    dir: tempfile::TempDir,
}

impl Openssl {
    fn new() -> Openssl {
        let openssl = Openssl {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        openssl.write("ca.pem", ca().ca_pem().expect("CA pem"));
        openssl
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.path(name), bytes).expect("write");
    }

    fn ok(&self, args: &[&str]) -> String {
        let (success, text) = crate::common::openssl_status(self.dir.path(), args);
        assert!(success, "openssl {} failed:\n{text}", args.join(" "));
        text
    }

    fn fails(&self, args: &[&str]) -> String {
        let (success, text) = crate::common::openssl_status(self.dir.path(), args);
        assert!(!success, "openssl {} succeeded:\n{text}", args.join(" "));
        text
    }
}

#[test]
fn issued_certificate_verifies_and_shows_its_profile() {
    let openssl = Openssl::new();
    let issued = ca()
        .issue_published(
            &request(user_key(), &alice()),
            &alice(),
            now(),
            365,
            Some("https://keys.bank.example:8443"),
        )
        .expect("issued");
    openssl.write("leaf.pem", pem("CERTIFICATE", &issued.der));

    let out = openssl.ok(&["verify", "-CAfile", "ca.pem", "leaf.pem"]);
    assert!(out.contains("leaf.pem: OK"), "{out}");

    let text = openssl.ok(&["x509", "-in", "leaf.pem", "-noout", "-text"]);
    assert!(text.contains("Version: 3 (0x2)"), "{text}");
    assert!(text.contains("Signature Algorithm: sha256WithRSAEncryption"), "{text}");
    assert!(text.contains("Public-Key: (3072 bit)"), "{text}");
    assert!(
        text.contains("X509v3 Key Usage: critical\n                Digital Signature, Non Repudiation"),
        "{text}"
    );
    assert!(
        text.contains("X509v3 Basic Constraints: critical\n                CA:FALSE"),
        "{text}"
    );
    assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");
    assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
    assert!(text.contains("email:alice@example.com"), "{text}");
    // What the certificate is for, and where its CRL and its issuer are.
    assert!(
        text.contains("X509v3 Extended Key Usage: \n                E-mail Protection, 1.3.6.1.4.1.61126.1.2"),
        "{text}"
    );
    assert!(
        text.contains("X509v3 CRL Distribution Points: \n                Full Name:\n                  URI:https://keys.bank.example:8443/v1/crl"),
        "{text}"
    );
    assert!(
        text.contains(
            "Authority Information Access: \n                CA Issuers - URI:https://keys.bank.example:8443/v1/ca.cer"
        ),
        "{text}"
    );
    assert!(
        text.contains("Subject: C = GB, O = \"Example Bank, Ltd\", OU = Payments, CN = Alice Example"),
        "{text}"
    );
    // Serial: 16 octets shown as 16 colon-separated pairs.
    let serial_line = text
        .lines()
        .skip_while(|l| !l.contains("Serial Number:"))
        .nth(1)
        .expect("serial line")
        .trim()
        .to_string();
    assert_eq!(serial_line.split(':').count(), 16, "{serial_line}");
    assert_eq!(serial_line.replace(':', "").to_uppercase(), issued.serial_hex);

    // SKI and AKI agree with the CA's SKI.
    let ca_text = openssl.ok(&["x509", "-in", "ca.pem", "-noout", "-text"]);
    let after = |text: &str, heading: &str| -> String {
        let line = text
            .lines()
            .skip_while(|l| !l.contains(heading))
            .nth(1)
            .expect("value line");
        line.trim().trim_start_matches("keyid:").to_string()
    };
    assert_eq!(
        after(&text, "Authority Key Identifier"),
        after(&ca_text, "Subject Key Identifier")
    );
    assert_ne!(
        after(&text, "Subject Key Identifier"),
        after(&ca_text, "Subject Key Identifier")
    );
    assert!(
        ca_text.contains("X509v3 Basic Constraints: critical\n                CA:TRUE"),
        "{ca_text}"
    );
    assert!(
        ca_text.contains("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"),
        "{ca_text}"
    );
    assert!(ca_text.contains("Public-Key: (3072 bit)"), "{ca_text}");

    // The SHA-256 fingerprint is openssl's.
    let fingerprint = openssl.ok(&["x509", "-in", "leaf.pem", "-noout", "-fingerprint", "-sha256"]);
    let fingerprint = fingerprint.trim().rsplit('=').next().expect("value").replace(':', "");
    assert_eq!(fingerprint, issued.sha256_fingerprint_hex);
}

#[test]
fn crl_revokes_the_listed_certificate_only() {
    let openssl = Openssl::new();
    let now = now();
    let revoked = ca()
        .issue(&request(user_key(), &alice()), &alice(), now, 365)
        .expect("issued");
    let kept = ca()
        .issue(&request(other_key(), &bob()), &bob(), now, 365)
        .expect("issued");
    openssl.write("revoked.pem", pem("CERTIFICATE", &revoked.der));
    openssl.write("kept.pem", pem("CERTIFICATE", &kept.der));

    let entries = [RevokedEntry {
        serial_hex: revoked.serial_hex.clone(),
        revoked_at: now - 60,
        reason: RevocationReason::KeyCompromise,
    }];
    let crl = ca().crl(42, now - 120, now + 7 * 86_400, &entries).expect("crl");
    openssl.write("crl.pem", pem("X509 CRL", &crl));

    let out = openssl.fails(&[
        "verify",
        "-crl_check",
        "-CAfile",
        "ca.pem",
        "-CRLfile",
        "crl.pem",
        "revoked.pem",
    ]);
    assert!(out.contains("certificate revoked"), "{out}");
    let out = openssl.ok(&[
        "verify",
        "-crl_check",
        "-CAfile",
        "ca.pem",
        "-CRLfile",
        "crl.pem",
        "kept.pem",
    ]);
    assert!(out.contains("kept.pem: OK"), "{out}");

    // The CRL's own signature, number, AKI and reason.
    let text = openssl.ok(&["crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout", "-text"]);
    assert!(text.contains("verify OK"), "{text}");
    assert!(text.contains("Version 2 (0x1)"), "{text}");
    assert!(text.contains("X509v3 CRL Number: \n                42"), "{text}");
    assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
    assert!(
        text.contains(&format!("Serial Number: {}", revoked.serial_hex)),
        "{text}"
    );
    assert!(
        text.contains("X509v3 CRL Reason Code: \n                Key Compromise"),
        "{text}"
    );
    assert!(!text.contains(&kept.serial_hex), "{text}");
    assert!(text.contains("Signature Algorithm: sha256WithRSAEncryption"), "{text}");
}

#[test]
fn superseded_and_cessation_reasons_and_empty_crls_are_read() {
    let openssl = Openssl::new();
    let now = now();
    let a = ca()
        .issue(&request(user_key(), &alice()), &alice(), now, 30)
        .expect("issued");
    let b = ca()
        .issue(&request(other_key(), &bob()), &bob(), now, 30)
        .expect("issued");
    let entries = [
        RevokedEntry {
            serial_hex: a.serial_hex.to_lowercase(),
            revoked_at: now - 10,
            reason: RevocationReason::Superseded,
        },
        RevokedEntry {
            serial_hex: b.serial_hex.clone(),
            revoked_at: now - 5,
            reason: RevocationReason::CessationOfOperation,
        },
    ];
    openssl.write(
        "crl.pem",
        pem("X509 CRL", &ca().crl(43, now - 60, now + 3600, &entries).expect("crl")),
    );
    let text = openssl.ok(&["crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout", "-text"]);
    assert!(text.contains("Superseded"), "{text}");
    assert!(text.contains("Cessation Of Operation"), "{text}");

    openssl.write(
        "empty.pem",
        pem("X509 CRL", &ca().crl(44, now - 60, now + 3600, &[]).expect("crl")),
    );
    let text = openssl.ok(&["crl", "-in", "empty.pem", "-CAfile", "ca.pem", "-noout", "-text"]);
    assert!(text.contains("No Revoked Certificates."), "{text}");
    openssl.write("leaf.pem", pem("CERTIFICATE", &a.der));
    openssl.ok(&[
        "verify",
        "-crl_check",
        "-CAfile",
        "ca.pem",
        "-CRLfile",
        "empty.pem",
        "leaf.pem",
    ]);
}

#[test]
fn the_signing_cores_request_is_accepted_by_openssl_too() {
    let openssl = Openssl::new();
    openssl.write("req.pem", pem("CERTIFICATE REQUEST", &request(user_key(), &alice())));
    let out = openssl.ok(&["req", "-in", "req.pem", "-verify", "-noout"]);
    assert!(
        out.contains("verify OK") || out.contains("Certificate request self-signature verify OK"),
        "{out}"
    );
}

#[test]
fn tampered_request_is_refused() {
    let der = request(user_key(), &alice());
    let at = der
        .windows(b"Alice Example".len())
        .position(|w| w == b"Alice Example")
        .expect("name in request");
    let mut tampered = der.clone();
    tampered[at] = b'M';
    let registration = RegistrationData {
        common_name: "Mlice Example".into(),
        ..alice()
    };
    assert!(matches!(
        ca().issue(&tampered, &registration, now(), 30),
        Err(CaError::BadRequestSignature)
    ));
}

#[test]
fn request_for_another_subject_is_refused() {
    let der = request(user_key(), &alice());
    let err = ca().issue(&der, &bob(), now(), 30).expect_err("refused");
    assert!(matches!(err, CaError::SubjectMismatch { .. }), "{err}");
}

#[test]
fn saved_ca_is_usable_by_openssl() {
    let openssl = Openssl::new();
    let dir = openssl.path("ca-dir");
    ca().save(&dir).expect("save");
    let loaded = CertificateAuthority::load(&dir).expect("load");
    // The PKCS#8 key file is what openssl reads, and it belongs to the certificate.
    let key_pub = openssl.ok(&["pkey", "-in", "ca-dir/ca-key.pem", "-pubout"]);
    let cert_pub = openssl.ok(&["x509", "-in", "ca-dir/ca-cert.pem", "-noout", "-pubkey"]);
    assert_eq!(key_pub, cert_pub);
    let issued = loaded
        .issue(&request(user_key(), &alice()), &alice(), now(), 30)
        .expect("issued");
    openssl.write("leaf.pem", pem("CERTIFICATE", &issued.der));
    openssl.ok(&["verify", "-CAfile", "ca-dir/ca-cert.pem", "leaf.pem"]);
}
