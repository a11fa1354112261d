//! What the flows promise about guesses, letters and what the server keeps,
//! checked where it happens: wrong consent phrases make the guesser wait
//! and never lock the letter out; a letter past its validity opens nothing,
//! even before the sweep expires it; revocation erases the key record (the
//! row, and its bytes in the database files); and the database never holds
//! the client's sealed record or a verifier as the client sent them.

use std::path::Path;

use signet_crypto::keys::UserKey;
use signet_keyserver::keys::Policy;
use signet_keyserver::keys::db::DbError;
use signet_keyserver::keys::db::models::{self, ApplicationState, GuessPurpose, UserState};
use signet_schema::KeySize;
use signet_schema::api::{ApiErrorCode, RevocationReason, RevokeRequest, SigninRequest};
use signet_schema::protocol::Bytes;

use crate::common::KeyServer;
use crate::common::in_process::{Clocked, stray_phrase};
use crate::roles::{apply, consent};

#[test]
fn wrong_consent_phrases_make_the_guesser_wait_and_never_lock_the_letter() {
    let rig = Clocked::open(crate::common::test_policy());
    let free = Policy::default().free_consent_attempts;
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    let (_, phrase) = rig.apply("dora", &key);
    let counted = |rig: &Clocked| {
        rig.tier
            .database()
            .read(|c| models::guesses::get(c, GuessPurpose::Consent, "dora"))
            .expect("read")
            .failures
    };
    for n in 1..=free {
        let (code, message) = rig.consent("dora", &stray_phrase()).expect_err("a wrong phrase");
        assert_eq!(code, ApiErrorCode::WrongPhrase, "failure {n}: {message}");
    }
    // Past the free attempts each wrong phrase is counted and makes the next
    // one wait, one second and doubling; inside the wait a wrong phrase is
    // refused untried and not counted.
    let mut wait = 1;
    for n in free + 1..=free + 6 {
        let (code, message) = rig.consent("dora", &stray_phrase()).expect_err("a wrong phrase");
        assert_eq!(code, ApiErrorCode::Locked, "failure {n}: {message}");
        assert!(
            message.contains(&format!("try again in {wait} s")),
            "failure {n}: {message}"
        );
        assert_eq!(counted(&rig), n);
        let (code, _) = rig.consent("dora", &stray_phrase()).expect_err("waiting");
        assert_eq!(code, ApiErrorCode::Locked);
        assert_eq!(counted(&rig), n, "a phrase sent inside the wait is not tried");
        rig.advance(wait);
        wait *= 2;
    }
    assert_eq!(rig.events("consent.failed", "dora"), (free + 6) as usize);
    // Inside a wait, the letter's own phrase is tried and accepted: no count
    // keeps its holder out, and nothing was ever locked.
    rig.consent("dora", &stray_phrase()).expect_err("a wrong phrase");
    rig.consent("dora", &phrase)
        .expect("the letter's phrase, inside a wait");
    assert_eq!(rig.events("application.locked", "dora"), 0);
    let user = rig
        .tier
        .database()
        .read(|c| models::users::get(c, "dora"))
        .expect("read");
    assert_eq!(user.state, UserState::Active);
}

#[test]
fn a_letter_past_its_validity_opens_nothing_even_before_the_sweep() {
    let rig = Clocked::open(crate::common::test_policy());
    let days = i64::from(Policy::default().letter_validity_days);
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    let (_, phrase) = rig.apply("emil", &key);
    let application = |rig: &Clocked| {
        rig.tier
            .database()
            .read(|c| models::applications::latest_for_user(c, "emil"))
            .expect("read")
            .expect("an application")
    };
    // One second past its validity, the letter's own phrase is refused and
    // nothing changes.
    rig.advance(days * 86_400 + 1);
    let (code, message) = rig.consent("emil", &phrase).expect_err("expired");
    assert_eq!(code, ApiErrorCode::LetterExpired, "{message}");
    assert_eq!(application(&rig).state, ApplicationState::AwaitingConsent);
    let user = rig
        .tier
        .database()
        .read(|c| models::users::get(c, "emil"))
        .expect("read");
    assert_eq!(user.state, UserState::Pending);
    // The sweep then expires it and frees the id.
    let swept = rig.tier.sweep().expect("sweep");
    assert_eq!((swept.expired, swept.freed), (1, 1), "{swept:?}");
    assert_eq!(rig.events("application.expired", "emil"), 1);
    let gone = rig
        .tier
        .database()
        .read(|c| models::users::find(c, "emil"))
        .expect("read");
    assert!(gone.is_none(), "the id is free again");
}

#[test]
fn a_letter_opens_on_its_last_second() {
    let rig = Clocked::open(crate::common::test_policy());
    let days = i64::from(Policy::default().letter_validity_days);
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    let (_, phrase) = rig.apply("fred", &key);
    rig.advance(days * 86_400);
    rig.consent("fred", &phrase).expect("the letter's last second");
}

/// Whether `needle` occurs in any of the SQLite files of `database` (the
/// database, its write-ahead log and shared memory), as they are: the
/// server checkpoints them itself.
fn on_disk(database: &Path, needle: &[u8]) -> bool {
    ["", "-wal", "-shm"].iter().any(|suffix| {
        let mut path = database.as_os_str().to_owned();
        path.push(suffix);
        std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
    })
}

/// Registration through the real server; then the database files hold
/// neither the sealed record nor the verifier as the client sent them (only
/// the storage key's seal of the one and a keyed tag of the other). A new
/// pass phrase leaves no copy of the record sealed under the old one. The
/// user's revocation then erases the key record: the row is gone, its
/// stored bytes are overwritten in the database and emptied from its log by
/// the server, and a sign-in answers as for any revoked key.
#[test]
fn the_database_keeps_no_record_or_verifier_as_sent_and_revocation_erases_the_key() {
    let server = KeyServer::start_sqlite();
    let client = server.client();
    let (reg, key, keys) = apply(&client, "gail");
    let phrase = crate::common::letter_phrase(&server, "gail");
    let gail = consent(&client, reg, key, keys, &phrase);
    let released: serde_json::Value = client.post_ok(
        "/v1/signin",
        &SigninRequest {
            user_id: "gail".into(),
            verifier: Bytes(gail.keys.verifier().to_vec()),
        },
    );
    let record = crate::common::b64(released["record"].as_str().expect("record"));
    let file = server.data_dir.join("signet.db");
    let verifier = gail.keys.verifier().to_vec();
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    for (what, bytes) in [("sealed record", &record), ("verifier", &verifier)] {
        // A window from the middle (past a record's public header, and for
        // base64 on a 3-byte boundary, so it shows as it would in the whole).
        let middle = bytes.len() / 2 / 3 * 3;
        let window = &bytes[middle..middle + 15];
        assert!(!on_disk(&file, window), "the {what} as sent is in the database");
        for shown in [b64(window), hex::encode(window)] {
            assert!(
                !on_disk(&file, shown.as_bytes()),
                "the {what} is in the database as text"
            );
        }
    }
    let database = signet_keyserver::keys::db::open(&server.database_url()).expect("open the database");
    let stored = || {
        let sealed = database
            .read(|c| models::key_records::get(c, "gail"))
            .expect("the key record")
            .sealed_record;
        sealed[sealed.len() / 2..sealed.len() / 2 + 32].to_vec()
    };
    let first = stored();
    assert!(on_disk(&file, &first), "the stored seal is on disk");

    // A new pass phrase: the record sealed under the old one leaves the files.
    let new_keys = signet_crypto::kdf::derive(
        b"gail's next pass phrase",
        "gail",
        signet_schema::KdfParams::FLOOR,
        &signet_crypto::kdf::new_salt().expect("salt"),
    )
    .expect("kdf");
    let body = serde_json::to_vec(&signet_schema::api::ReregisterRequest {
        user_id: "gail".into(),
        verifier: Bytes(verifier.clone()),
        record: Bytes(
            signet_crypto::seal::seal(&gail.key, &gail.registration, &new_keys)
                .expect("seal")
                .encode()
                .expect("encode"),
        ),
        new_verifier: Bytes(new_keys.verifier().to_vec()),
        certification_request: None,
    })
    .expect("json");
    let headers = crate::roles::signed_by(&client, &gail, "gail", "POST", "/v1/reregister", &body);
    let (status, text) = client.request("POST", "/v1/reregister", &headers, &body);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&text));
    let second = stored();
    assert!(
        !on_disk(&file, &first),
        "the record under the old pass phrase remains in the files"
    );
    assert!(on_disk(&file, &second));

    let _: serde_json::Value = client.post_ok(
        "/v1/revoke",
        &RevokeRequest {
            user_id: "gail".into(),
            verifier: Bytes(new_keys.verifier().to_vec()),
            reason: RevocationReason::KeyCompromise,
        },
    );
    assert!(matches!(
        database.read(|c| models::key_records::get(c, "gail")),
        Err(DbError::NotFound)
    ));
    assert!(
        !on_disk(&file, &second),
        "the erased record's bytes remain in the files"
    );
    let error = client.post_err(
        "/v1/signin",
        &SigninRequest {
            user_id: "gail".into(),
            verifier: Bytes(new_keys.verifier().to_vec()),
        },
    );
    assert_eq!(error.code, ApiErrorCode::Revoked, "{}", error.message);
}

/// The CRL served names its next update at most a day away, and a new one
/// is served before that day ends, so a relying party that caches it learns
/// of a revocation within a day.
#[test]
fn the_crl_is_renewed_within_a_day() {
    use der::Decode as _;
    const DAY: u64 = 24 * 3600;
    let rig = Clocked::open(crate::common::test_policy());
    let served = |rig: &Clocked| {
        let der = rig.tier.current_crl().expect("a CRL");
        let crl = x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&der).expect("a CRL");
        let this_update = crl.tbs_cert_list.this_update.to_unix_duration().as_secs();
        let next_update = crl
            .tbs_cert_list
            .next_update
            .expect("a next update")
            .to_unix_duration()
            .as_secs();
        (this_update, next_update)
    };
    let (first, next) = served(&rig);
    assert!(next > first && next - first <= DAY, "{first} .. {next}");
    // Until shortly before its next update the same CRL is served; then a new one.
    rig.advance(3600);
    assert_eq!(served(&rig).0, first);
    rig.advance(DAY as i64 - 2 * 3600);
    let (renewed, next) = served(&rig);
    assert!(renewed > first, "renewed before the day ended");
    assert!(next > renewed && next - renewed <= DAY, "{renewed} .. {next}");
}

/// The data directory holds the storage key, the CA and the database: it is
/// private when the key tier makes it, and made private again when it finds
/// it (or the database in it) open to others.
#[test]
fn the_data_directory_and_its_database_are_private() {
    use signet_keyserver::keys::{KeyTier, system_clock};
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mode = |path: &Path| std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777;
    let files = [
        data.join("signet.db"),
        data.join("signet.db-wal"),
        data.join("signet.db-shm"),
    ];
    let tier = KeyTier::open(&data, None, Policy::default(), system_clock()).expect("first start");
    assert_eq!((mode(&data), mode(&data.join("ca"))), (0o700, 0o700));
    for file in files.iter().filter(|f| f.exists()) {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    drop(tier);
    // Opened to others, as a careless copy or another umask would leave them.
    for (path, wide) in [(&data, 0o755), (&data.join("ca"), 0o755), (&files[0], 0o644)] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(wide)).expect("chmod");
    }
    let _tier = KeyTier::open(&data, None, Policy::default(), system_clock()).expect("second start");
    assert_eq!((mode(&data), mode(&data.join("ca"))), (0o700, 0o700));
    for file in files.iter().filter(|f| f.exists()) {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
}

/// New records and keys meet the key tier's own policy, whatever the client
/// was told: a record derived more cheaply, or a shorter key, is refused
/// (400 naming the field) and nothing is stored; the policy clients follow
/// is the one the bootstrap document signs.
#[test]
fn records_and_keys_below_the_servers_policy_are_refused() {
    use signet_schema::KdfParams;
    use signet_schema::channel::{BootstrapDocument, SignedBootstrap};
    let policy = KdfParams {
        m_kib: 24 * 1024,
        t: 3,
        p: 1,
    };
    let server = KeyServer::launch()
        .arg("--kdf-memory-kib", &policy.m_kib.to_string())
        .arg("--kdf-passes", &policy.t.to_string())
        .arg("--kdf-lanes", &policy.p.to_string())
        .arg("--key-bits", "3072")
        .start();
    let client = server.client();
    let signed: SignedBootstrap = serde_json::from_slice(&client.get_bytes("/v1/bootstrap")).expect("bootstrap");
    let document = BootstrapDocument::from_json(&signed.document.0).expect("document");
    assert_eq!(
        (document.policy.kdf, document.policy.key_bits),
        (policy, KeySize::Rsa3072)
    );

    let short = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    let cheap = crate::common::application_with("hana", &short, KdfParams::FLOOR);
    let error = client.post_err("/v1/apply", &cheap);
    assert_eq!(
        (error.code, error.field.as_deref()),
        (ApiErrorCode::BadRequest, Some("record")),
        "{}",
        error.message
    );
    let shorter = crate::common::application_with("hana", &short, policy);
    let error = client.post_err("/v1/apply", &shorter);
    assert_eq!(
        (error.code, error.field.as_deref()),
        (ApiErrorCode::BadRequest, Some("certification_request")),
        "{}",
        error.message
    );
    let database = signet_keyserver::keys::db::open(&server.database_url()).expect("open the database");
    let stored = database.read(|c| models::users::find(c, "hana")).expect("read");
    assert!(stored.is_none(), "nothing was stored");
    // At the policy, the same person applies.
    let long = UserKey::generate(KeySize::Rsa3072).expect("keygen");
    let applied: serde_json::Value =
        client.post_ok("/v1/apply", &crate::common::application_with("hana", &long, policy));
    assert!(applied["application_id"].is_string(), "{applied}");
}

/// The policy for new records and keys is the operator's, set at start; a
/// start under another policy than the last is on the audit log, from and
/// to, and a start under the same one is not.
#[test]
fn a_change_of_policy_is_audited() {
    use signet_keyserver::keys::{KeyTier, system_clock};
    use signet_schema::KdfParams;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let open = |kdf: KdfParams| {
        KeyTier::open(
            &data,
            None,
            Policy {
                kdf,
                ..Policy::default()
            },
            system_clock(),
        )
        .expect("start")
    };
    let changes = |tier: &KeyTier| {
        tier.database()
            .read(|c| models::events::range(c, 1, 100_000))
            .expect("events")
            .into_iter()
            .filter(|e| e.kind == "policy.changed")
            .map(|e| e.detail)
            .collect::<Vec<_>>()
    };
    assert!(
        changes(&open(KdfParams::DEFAULT)).is_empty(),
        "the first start sets the policy"
    );
    assert!(changes(&open(KdfParams::DEFAULT)).is_empty(), "the same policy again");
    let raised = KdfParams {
        m_kib: 96 * 1024,
        ..KdfParams::DEFAULT
    };
    let tier = open(raised);
    let logged = changes(&tier);
    assert_eq!(logged.len(), 1, "{logged:?}");
    let detail: serde_json::Value = serde_json::from_str(&logged[0]).expect("JSON detail");
    assert_eq!(detail["from"]["kdf"]["m_kib"], 64 * 1024);
    assert_eq!(detail["to"]["kdf"]["m_kib"], 96 * 1024);
    drop(tier);
    assert_eq!(changes(&open(raised)).len(), 1);
}

/// A user's certificate says what it is for (e-mail protection and the
/// Signet user purpose, never the host's) and where its CRL and its issuer
/// are published, under the key server's public address; both addresses
/// answer what they name.
#[test]
fn certificates_name_their_purpose_crl_and_issuer() {
    use der::{Decode as _, Encode as _};
    use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, CrlDistributionPoints, ExtendedKeyUsage};
    let server = KeyServer::launch()
        .arg("--public-url", "https://keys.bank.example")
        .start();
    let client = server.client();
    let (reg, key, keys) = apply(&client, "ines");
    let phrase = crate::common::letter_phrase(&server, "ines");
    let ines = consent(&client, reg, key, keys, &phrase);
    let info = client.get_json(&format!("/v1/certificates/{}", ines.serial));
    let der = crate::common::b64(info["der"].as_str().expect("the certificate"));
    let certificate = x509_cert::Certificate::from_der(&der).expect("a certificate");
    let tbs = certificate.tbs_certificate();
    let purposes: ExtendedKeyUsage = tbs.get_extension().expect("decodes").expect("an EKU").1;
    assert_eq!(
        purposes.0,
        [
            signet_crypto::pki::ID_KP_EMAIL_PROTECTION,
            signet_crypto::pki::ID_KP_SIGNET_USER
        ]
    );
    let points: CrlDistributionPoints = tbs.get_extension().expect("decodes").expect("a CDP").1;
    let access: AuthorityInfoAccessSyntax = tbs.get_extension().expect("decodes").expect("an AIA").1;
    let shown = format!("{points:?} {access:?}");
    assert!(shown.contains("https://keys.bank.example/v1/crl"), "{shown}");
    assert!(shown.contains("https://keys.bank.example/v1/ca.cer"), "{shown}");
    // The paths answer the CRL and the CA certificate, DER.
    let crl = client.get_bytes("/v1/crl");
    x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&crl).expect("a CRL");
    let issuer_der = client.get_bytes("/v1/ca.cer");
    let issuer = x509_cert::Certificate::from_der(&issuer_der).expect("the CA certificate");
    assert_eq!(issuer.tbs_certificate().subject(), tbs.issuer());
    let pem = String::from_utf8(client.get_bytes("/v1/ca.pem")).expect("PEM");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(
        crate::common::b64(&body),
        issuer_der,
        "the same CA certificate as /v1/ca.pem"
    );
    assert_eq!(issuer.to_der().expect("DER"), issuer_der);
}
