use std::sync::OnceLock;

use der::asn1::Ia5String;
use sha1::Sha1;
use signet_crypto::keys::{PublicKey, UserKey};
use signet_schema::SignatureScheme;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};

use super::*;

const NOW: i64 = 1_795_000_000; // 2026-11-18

fn ca() -> &'static CertificateAuthority {
    static CA: OnceLock<CertificateAuthority> = OnceLock::new();
    CA.get_or_init(|| CertificateAuthority::create_at("Signet Test CA", "Example Bank", NOW - 3600, 3650).expect("CA"))
}

fn user_key() -> &'static UserKey {
    static KEY: OnceLock<UserKey> = OnceLock::new();
    KEY.get_or_init(|| UserKey::generate(KeySize::Rsa2048).expect("keygen"))
}

fn alice() -> RegistrationData {
    RegistrationData {
        user_id: "alice".into(),
        common_name: "Alice Example, Jr.".into(),
        organization: "Example Bank+Co".into(),
        organizational_unit: "Payments".into(),
        email: "alice@example.com".into(),
        country: "GB".into(),
    }
}

fn request(registration: &RegistrationData, scheme: SignatureScheme) -> Vec<u8> {
    signet_crypto::csr::certification_request(user_key(), registration, scheme).expect("request")
}

fn ca_public_key() -> PublicKey {
    let spki = ca()
        .certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .expect("spki");
    PublicKey::from_spki_der(&spki).expect("ca key")
}

/// The certificate's signature verifies with the CA key in PKCS#1 v1.5.
fn assert_signed_by_ca(certificate: &Certificate) {
    let tbs = certificate.tbs_certificate().to_der().expect("tbs");
    assert_eq!(
        certificate.signature_algorithm().oid,
        const_oid::db::rfc5912::SHA_256_WITH_RSA_ENCRYPTION
    );
    let signature = certificate.signature().as_bytes().expect("octets");
    signet_crypto::sign::verify(&ca_public_key(), SignatureScheme::RsaPkcs1v15Sha256, &tbs, signature)
        .expect("CA signature");
}

#[test]
fn ca_certificate_is_a_self_signed_v3_root() {
    let certificate = &ca().certificate;
    let tbs = certificate.tbs_certificate();
    assert_eq!(tbs.version(), x509_cert::certificate::Version::V3);
    assert_eq!(tbs.subject(), tbs.issuer());
    assert_eq!(ca().subject(), "CN=Signet Test CA,O=Example Bank");
    assert_signed_by_ca(certificate);
    assert_eq!(ca().key.bits(), 3072);
    assert_eq!(tbs.serial_number().as_bytes().len(), SERIAL_LEN);

    let (critical, basic) = tbs
        .get_extension::<BasicConstraints>()
        .expect("decodes")
        .expect("present");
    assert!(critical && basic.ca);
    let (critical, usage) = tbs.get_extension::<KeyUsage>().expect("decodes").expect("present");
    assert!(critical);
    assert_eq!(usage.0, KeyUsages::KeyCertSign | KeyUsages::CRLSign);
    let (_, ski) = tbs
        .get_extension::<SubjectKeyIdentifier>()
        .expect("decodes")
        .expect("present");
    let bits = tbs.subject_public_key_info().subject_public_key.raw_bytes();
    assert_eq!(ski.0.as_bytes(), Sha1::digest(bits).as_slice());
    assert_eq!(ca().key_identifier(), ski.0.as_bytes());
    let (_, aki) = tbs
        .get_extension::<AuthorityKeyIdentifier>()
        .expect("decodes")
        .expect("present");
    assert_eq!(aki.key_identifier, Some(ski.0));
    assert_eq!(unix_of(&tbs.validity().not_before), NOW - 3600);
    assert_eq!(unix_of(&tbs.validity().not_after), NOW - 3600 + 3650 * 86_400);
    assert!(ca().ca_pem().expect("pem").starts_with("-----BEGIN CERTIFICATE-----\n"));
}

#[test]
fn create_refuses_empty_names() {
    assert!(matches!(
        CertificateAuthority::create_at(" ", "Example Bank", NOW, 10),
        Err(CaError::Registration(_))
    ));
}

#[test]
fn issued_certificate_has_the_signing_profile() {
    for scheme in [SignatureScheme::RsaPssSha256, SignatureScheme::RsaPkcs1v15Sha256] {
        let issued = ca()
            .issue(&request(&alice(), scheme), &alice(), NOW, 365)
            .expect("issued");
        let certificate = Certificate::from_der(&issued.der).expect("parses");
        assert_signed_by_ca(&certificate);
        let tbs = certificate.tbs_certificate();
        assert_eq!(tbs.issuer(), ca().certificate.tbs_certificate().subject());
        assert_eq!(
            issued.subject,
            r"UID=alice,CN=Alice Example\, Jr.,OU=Payments,O=Example Bank\+Co,C=GB"
        );
        assert_eq!(tbs.subject().to_string(), issued.subject);
        assert_eq!(
            tbs.subject_public_key_info().to_der().expect("spki"),
            user_key().public_key().to_spki_der().expect("spki")
        );

        // Serial: 16 octets, positive, upper-case hex.
        let serial = tbs.serial_number().as_bytes();
        assert_eq!(serial.len(), 16);
        assert_eq!(serial[0] & 0xc0, 0x40);
        assert_eq!(issued.serial_hex, hex::encode_upper(serial));
        assert_eq!(
            issued.sha256_fingerprint_hex,
            hex::encode_upper(Sha256::digest(&issued.der))
        );

        assert_eq!(issued.not_before, NOW);
        assert_eq!(issued.not_after, NOW + 365 * 86_400);

        let (critical, usage) = tbs.get_extension::<KeyUsage>().expect("decodes").expect("present");
        assert!(critical);
        assert_eq!(usage.0, KeyUsages::DigitalSignature | KeyUsages::NonRepudiation);
        let (_, basic) = tbs
            .get_extension::<BasicConstraints>()
            .expect("decodes")
            .expect("present");
        assert!(!basic.ca);
        let (_, ski) = tbs
            .get_extension::<SubjectKeyIdentifier>()
            .expect("decodes")
            .expect("present");
        let bits = tbs.subject_public_key_info().subject_public_key.raw_bytes();
        assert_eq!(ski.0.as_bytes(), Sha1::digest(bits).as_slice());
        let (_, aki) = tbs
            .get_extension::<AuthorityKeyIdentifier>()
            .expect("decodes")
            .expect("present");
        assert_eq!(aki.key_identifier.expect("key id").as_bytes(), ca().key_identifier());
        assert!(aki.authority_cert_issuer.is_none() && aki.authority_cert_serial_number.is_none());
        let (critical, san) = tbs
            .get_extension::<SubjectAltName>()
            .expect("decodes")
            .expect("present");
        assert!(!critical);
        assert_eq!(
            san.0,
            vec![GeneralName::Rfc822Name(
                Ia5String::new("alice@example.com").expect("ia5")
            )]
        );
    }
}

#[test]
fn serials_are_random() {
    let der = request(&alice(), SignatureScheme::RsaPssSha256);
    let a = ca().issue(&der, &alice(), NOW, 30).expect("issued");
    let b = ca().issue(&der, &alice(), NOW, 30).expect("issued");
    assert_ne!(a.serial_hex, b.serial_hex);
    assert_eq!(a.serial_hex.len(), 32);
}

#[test]
fn validity_ends_with_the_ca_certificate() {
    let issued = ca()
        .issue(
            &request(&alice(), SignatureScheme::RsaPssSha256),
            &alice(),
            NOW,
            100 * 365,
        )
        .expect("issued");
    let ca_end = unix_of(&ca().certificate.tbs_certificate().validity().not_after);
    assert_eq!(issued.not_after, ca_end);
    assert!(matches!(
        ca().issue(&request(&alice(), SignatureScheme::RsaPssSha256), &alice(), NOW, 0),
        Err(CaError::Time(_))
    ));
    assert!(matches!(
        ca().issue(&request(&alice(), SignatureScheme::RsaPssSha256), &alice(), -5, 1),
        Err(CaError::Time(_))
    ));
}

#[test]
fn tampered_request_is_refused() {
    for scheme in [SignatureScheme::RsaPssSha256, SignatureScheme::RsaPkcs1v15Sha256] {
        let der = request(&alice(), scheme);
        // Flip a bit inside the e-mail address of the extension request:
        // still a well-formed request, but not the one that was signed.
        let at = der
            .windows(b"alice@example.com".len())
            .position(|w| w == b"alice@example.com")
            .expect("e-mail in request");
        let mut tampered = der.clone();
        tampered[at] ^= 0x01;
        assert!(matches!(
            ca().issue(&tampered, &alice(), NOW, 30),
            Err(CaError::BadRequestSignature)
        ));
        // And a flipped signature bit.
        let mut tampered = der.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 0x01;
        assert!(matches!(
            ca().issue(&tampered, &alice(), NOW, 30),
            Err(CaError::BadRequestSignature)
        ));
    }
}

#[test]
fn garbage_is_a_malformed_request() {
    for garbage in [&b""[..], b"\x30\x00", b"not der at all", &[0x30, 0x82, 0xff, 0xff]] {
        assert!(matches!(
            ca().issue(garbage, &alice(), NOW, 30),
            Err(CaError::MalformedRequest)
        ));
    }
    let der = request(&alice(), SignatureScheme::RsaPssSha256);
    assert!(matches!(
        ca().issue(&der[..der.len() - 10], &alice(), NOW, 30),
        Err(CaError::MalformedRequest)
    ));
}

#[test]
fn other_subject_is_refused() {
    let der = request(&alice(), SignatureScheme::RsaPssSha256);
    for registered in [
        RegistrationData {
            common_name: "Mallory Example".into(),
            ..alice()
        },
        RegistrationData {
            organizational_unit: String::new(),
            ..alice()
        },
        RegistrationData {
            country: "DE".into(),
            ..alice()
        },
    ] {
        match ca().issue(&der, &registered, NOW, 30) {
            Err(CaError::SubjectMismatch { requested, registered }) => {
                assert!(requested.contains("Alice"));
                assert_ne!(requested, registered);
            }
            other => panic!("expected a subject mismatch, got {other:?}"),
        }
    }
    // Invalid registration data is its own error.
    let bad = RegistrationData {
        country: "gb".into(),
        ..alice()
    };
    assert!(matches!(ca().issue(&der, &bad, NOW, 30), Err(CaError::Registration(_))));
}

#[test]
fn small_keys_are_refused() {
    use rand::rngs::SysRng;
    use x509_cert::builder::RequestBuilder;

    let key = rsa::PrivateKey::new(&mut SysRng, 1024).expect("keygen 1024");
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key);
    let subject = request::subject_name(&alice()).expect("name");
    let der = RequestBuilder::new(subject)
        .expect("builder")
        .build::<_, rsa::pkcs1v15::Signature>(&signer)
        .expect("request")
        .to_der()
        .expect("der");
    assert!(matches!(
        ca().issue(&der, &alice(), NOW, 30),
        Err(CaError::UnsupportedKey(_))
    ));
}

#[test]
fn pss_with_other_parameters_is_refused() {
    use rand::rngs::SysRng;
    use x509_cert::builder::RequestBuilder;

    // An RSASSA-PSS request with a 20-byte salt (the RFC 4055 default).
    let key = rsa::PrivateKey::new(&mut SysRng, 2048).expect("keygen");
    let signer = rsa::pss::SigningKey::<Sha256>::new_with_salt_len(key, 20);
    let subject = request::subject_name(&alice()).expect("name");
    let builder = RequestBuilder::new(subject).expect("builder");
    let der = builder
        .build_with_rng::<_, rsa::pss::Signature, _>(&signer, &mut rand::rng())
        .expect("request")
        .to_der()
        .expect("der");
    assert!(matches!(
        ca().issue(&der, &alice(), NOW, 30),
        Err(CaError::UnsupportedSignatureAlgorithm(_))
    ));
}

#[test]
fn crl_lists_entries_with_reasons() {
    let entries = vec![
        RevokedEntry {
            serial_hex: "4A0B0C".into(),
            revoked_at: NOW - 60,
            reason: RevocationReason::KeyCompromise,
        },
        RevokedEntry {
            serial_hex: "5f".repeat(16),
            revoked_at: NOW - 30,
            reason: RevocationReason::Superseded,
        },
        RevokedEntry {
            serial_hex: "0102".into(),
            revoked_at: NOW - 10,
            reason: RevocationReason::Unspecified,
        },
    ];
    let der = ca().crl(7, NOW, NOW + 86_400, &entries).expect("crl");
    let crl = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&der).expect("parses");
    let tbs = &crl.tbs_cert_list;
    assert_eq!(tbs.version, x509_cert::certificate::Version::V2);
    assert_eq!(&tbs.issuer, ca().certificate.tbs_certificate().subject());
    assert_eq!(unix_of(&tbs.this_update), NOW);
    assert_eq!(tbs.next_update.as_ref().map(unix_of), Some(NOW + 86_400));

    let extensions = tbs.crl_extensions.as_ref().expect("extensions");
    let number = extensions
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_NUMBER)
        .expect("crl number");
    assert_eq!(
        CrlNumber::from_der(number.extn_value.as_bytes())
            .expect("number")
            .0
            .as_bytes(),
        [7]
    );
    let aki = extensions
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER)
        .expect("aki");
    let aki = AuthorityKeyIdentifier::from_der(aki.extn_value.as_bytes()).expect("aki");
    assert_eq!(aki.key_identifier.expect("key id").as_bytes(), ca().key_identifier());

    let revoked = tbs.revoked_certificates.as_ref().expect("entries");
    assert_eq!(revoked.len(), 3);
    assert_eq!(revoked[0].serial_number.as_bytes(), [0x4a, 0x0b, 0x0c]);
    assert_eq!(revoked[1].serial_number.as_bytes(), [0x5f; 16]);
    assert_eq!(unix_of(&revoked[0].revocation_date), NOW - 60);
    let reason = |i: usize| {
        revoked[i].crl_entry_extensions.as_ref().map(|extensions| {
            assert_eq!(extensions.len(), 1);
            CrlReason::from_der(extensions[0].extn_value.as_bytes()).expect("reason")
        })
    };
    assert_eq!(reason(0), Some(CrlReason::KeyCompromise));
    assert_eq!(reason(1), Some(CrlReason::Superseded));
    assert_eq!(reason(2), None);

    let tbs_der = tbs.to_der().expect("tbs");
    let signature = crl.signature.as_bytes().expect("octets");
    signet_crypto::sign::verify(
        &ca_public_key(),
        SignatureScheme::RsaPkcs1v15Sha256,
        &tbs_der,
        signature,
    )
    .expect("CRL signature");
}

#[test]
fn empty_crl_has_no_revoked_certificates_field() {
    let der = ca().crl(1, NOW, NOW + 3600, &[]).expect("crl");
    let crl = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&der).expect("parses");
    assert!(crl.tbs_cert_list.revoked_certificates.is_none());
}

#[test]
fn crl_refuses_bad_input() {
    let entry = |serial: &str| RevokedEntry {
        serial_hex: serial.into(),
        revoked_at: NOW,
        reason: RevocationReason::CessationOfOperation,
    };
    for bad in ["", "xyz", "abc", &"11".repeat(21)] {
        assert!(
            matches!(ca().crl(2, NOW, NOW + 10, &[entry(bad)]), Err(CaError::BadSerial(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(ca().crl(2, NOW, NOW, &[]), Err(CaError::Time(_))));
    assert!(matches!(
        ca().crl(
            2,
            NOW,
            NOW + 10,
            &[RevokedEntry {
                revoked_at: -1,
                ..entry("01")
            }]
        ),
        Err(CaError::Time(_))
    ));
}

#[test]
fn reasons_round_trip_through_their_names() {
    for &reason in RevocationReason::ALL {
        assert_eq!(RevocationReason::from_rfc5280_name(reason.rfc5280_name()), Ok(reason));
    }
    assert!(RevocationReason::from_rfc5280_name("caCompromise").is_err());
}

#[test]
fn save_and_load_keep_the_ca() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ca");
    ca().save(&path).expect("save");
    let key_mode = fs::metadata(path.join(KEY_FILE))
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    let dir_mode = fs::metadata(&path).expect("dir").permissions().mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let pem = fs::read_to_string(path.join(KEY_FILE)).expect("key");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(
        fs::read_dir(&path)
            .expect("dir")
            .all(|e| !e.expect("entry").file_name().to_string_lossy().ends_with(".tmp"))
    );

    let loaded = CertificateAuthority::load(&path).expect("load");
    assert_eq!(loaded.ca_pem().expect("pem"), ca().ca_pem().expect("pem"));
    assert_eq!(loaded.key_identifier(), ca().key_identifier());
    // The loaded CA issues certificates that chain to the same root.
    let issued = loaded
        .issue(&request(&alice(), SignatureScheme::RsaPssSha256), &alice(), NOW, 30)
        .expect("issued");
    assert_signed_by_ca(&Certificate::from_der(&issued.der).expect("parses"));

    // Saving again replaces the files.
    ca().save(&path).expect("save again");
}

#[test]
fn load_refuses_open_key_files_and_mismatched_certificates() {
    let dir = tempfile::tempdir().expect("temp dir");
    ca().save(dir.path()).expect("save");
    let key_path = dir.path().join(KEY_FILE);
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o644)).expect("chmod");
    assert!(matches!(
        CertificateAuthority::load(dir.path()),
        Err(CaError::File { .. })
    ));
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).expect("chmod");

    // A certificate for another key.
    let other = CertificateAuthority::create_at("Other CA", "Elsewhere", NOW, 10).expect("other CA");
    fs::write(dir.path().join(CERTIFICATE_FILE), other.ca_pem().expect("pem")).expect("write");
    match CertificateAuthority::load(dir.path()) {
        Err(CaError::File { problem, .. }) => assert!(problem.contains("not for the key")),
        other => panic!("expected a file problem, got {other:?}"),
    }

    // Garbage and missing files.
    fs::write(&key_path, "not a key").expect("write");
    assert!(matches!(
        CertificateAuthority::load(dir.path()),
        Err(CaError::File { .. })
    ));
    let empty = tempfile::tempdir().expect("temp dir");
    assert!(matches!(
        CertificateAuthority::load(empty.path()),
        Err(CaError::Io { .. })
    ));
}

#[test]
fn debug_shows_only_the_subject() {
    let debug = format!("{:?}", ca());
    assert!(debug.contains("Signet Test CA"));
    assert!(!debug.contains("PRIVATE"));
}
