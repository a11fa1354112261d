//! The key server as a real process on a real socket, driven by a client
//! that uses the real signing core: apply → consent → sign in → revoke, with
//! OpenSSL checking the certificates and the CRL, on SQLite and (when
//! configured) PostgreSQL.

use crate::common::{KeyServer, alice, letter_phrase};
use signet_crypto::keys::UserKey;
use signet_crypto::{csr, kdf, seal};
use signet_schema::api::{
    ApiErrorCode, ApplyRequest, ConsentRequest, PreloginRequest, RevocationReason, RevokeRequest, SigninRequest,
};
use signet_schema::protocol::Bytes;
use signet_schema::{KdfParams, KeySize, SealedKeyRecord, SignatureScheme};

const PASS: &[u8] = b"correct horse battery staple, twice";

fn journey(server: &KeyServer) {
    let client = server.client();
    let reg = alice();

    // Apply, as the signing core would.
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    let salt = kdf::new_salt().expect("salt");
    let keys = kdf::derive(PASS, &reg.user_id, KdfParams::FLOOR, &salt).expect("derive");
    let record = seal::seal(&key, &reg, &keys).expect("seal").encode().expect("encode");
    let request = csr::certification_request(&key, &reg, SignatureScheme::RsaPssSha256).expect("csr");
    let apply = |nonce: &str| ApplyRequest {
        registration: reg.clone(),
        record: Bytes(record.clone()),
        certification_request: Bytes(request.clone()),
        verifier: Bytes(keys.verifier().to_vec()),
        nonce: nonce.into(),
        timestamp: crate::common::now(),
    };
    let applied: serde_json::Value = client.post_ok("/v1/apply", &apply("0123456789abcdef0001"));
    assert!(applied["application_id"].as_str().is_some_and(|id| id.len() == 32));
    // The same nonce again is a replay; the identity is now taken.
    assert_eq!(
        client.post_err("/v1/apply", &apply("0123456789abcdef0001")).code,
        ApiErrorCode::NonceReused
    );
    assert_eq!(
        client.post_err("/v1/apply", &apply("0123456789abcdef0002")).code,
        ApiErrorCode::IdentityTaken
    );

    // Consent, with the phrase printed on the letter.
    let phrase = letter_phrase(server, "alice");
    // In the database the queued letter is sealed under the storage key: a copy
    // of the database alone does not give the phrase away.
    let database = signet_keyserver::keys::db::open(&server.database_url()).expect("open database");
    let stored = database
        .read(|c| signet_keyserver::keys::db::models::applications::latest_for_user(c, "alice"))
        .expect("read")
        .and_then(|app| app.letter_pdf)
        .expect("a queued letter");
    assert!(!stored.starts_with(b"%PDF"));
    assert!(!String::from_utf8_lossy(&stored).contains(&phrase[..9]));
    let wrong = signet_keyserver::keys::consent::ConsentPhrase::generate()
        .expect("phrase")
        .display()
        .to_string();
    let refused = client.post_err(
        "/v1/consent",
        &ConsentRequest {
            user_id: "alice".into(),
            phrase: wrong,
        },
    );
    assert_eq!(refused.code, ApiErrorCode::WrongPhrase);
    let mut typo = phrase.clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(typo).expect("ascii");
    assert_eq!(
        client
            .post_err(
                "/v1/consent",
                &ConsentRequest {
                    user_id: "alice".into(),
                    phrase: typo
                }
            )
            .code,
        ApiErrorCode::PhraseTypo
    );
    let consented: serde_json::Value = client.post_ok(
        "/v1/consent",
        &ConsentRequest {
            user_id: "alice".into(),
            phrase: phrase.to_lowercase(),
        },
    );
    let serial = consented["serial"].as_str().expect("serial").to_owned();
    let cert_der = crate::common::b64(consented["certificate"].as_str().expect("certificate"));

    // OpenSSL accepts the certificate with the published CA.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("ca.pem"), client.get_bytes("/v1/ca.pem")).expect("ca");
    std::fs::write(dir.path().join("leaf.der"), &cert_der).expect("leaf");
    crate::common::openssl(
        dir.path(),
        &["x509", "-inform", "DER", "-in", "leaf.der", "-out", "leaf.pem"],
    );
    let verified = crate::common::openssl(dir.path(), &["verify", "-CAfile", "ca.pem", "leaf.pem"]);
    assert!(verified.contains("leaf.pem: OK"), "{verified}");

    // Pre-login: the real salt; an unknown user gets a stable decoy of the same shape.
    let pre: serde_json::Value = client.post_ok(
        "/v1/prelogin",
        &PreloginRequest {
            user_id: "alice".into(),
        },
    );
    assert_eq!(crate::common::b64(pre["salt"].as_str().expect("salt")), salt.to_vec());
    let decoy1: serde_json::Value = client.post_ok(
        "/v1/prelogin",
        &PreloginRequest {
            user_id: "mallory".into(),
        },
    );
    let decoy2: serde_json::Value = client.post_ok(
        "/v1/prelogin",
        &PreloginRequest {
            user_id: "mallory".into(),
        },
    );
    assert_eq!(decoy1, decoy2);
    assert_eq!(crate::common::b64(decoy1["salt"].as_str().expect("salt")).len(), 16);

    // Sign in: a wrong verifier is refused; the right one releases the record.
    let wrong_keys = kdf::derive(b"not the pass phrase", "alice", KdfParams::FLOOR, &salt).expect("derive");
    let failed = client.post_err(
        "/v1/signin",
        &SigninRequest {
            user_id: "alice".into(),
            verifier: Bytes(wrong_keys.verifier().to_vec()),
        },
    );
    assert_eq!(failed.code, ApiErrorCode::SigninFailed);
    let signed_in: serde_json::Value = client.post_ok(
        "/v1/signin",
        &SigninRequest {
            user_id: "alice".into(),
            verifier: Bytes(keys.verifier().to_vec()),
        },
    );
    let released = crate::common::b64(signed_in["record"].as_str().expect("record"));
    assert_eq!(released, record, "the record comes back exactly as sealed");
    let opened = seal::open(&SealedKeyRecord::parse(&released).expect("parse"), &reg, &keys).expect("open");
    assert_eq!(opened.public_key(), key.public_key());
    assert_eq!(
        crate::common::b64(signed_in["certificate"].as_str().expect("certificate")),
        cert_der
    );

    // The certificate as published.
    let published: serde_json::Value = client.get_json(&format!("/v1/certificates/{serial}"));
    assert_eq!(published["status"], "active");

    // Revoke: erased, revoked, on the next CRL.
    let revoked: serde_json::Value = client.post_ok(
        "/v1/revoke",
        &RevokeRequest {
            user_id: "alice".into(),
            verifier: Bytes(keys.verifier().to_vec()),
            reason: RevocationReason::CessationOfOperation,
        },
    );
    assert_eq!(revoked["serial"], serde_json::json!(serial));
    std::fs::write(dir.path().join("crl.der"), client.get_bytes("/v1/crl")).expect("crl");
    crate::common::openssl(
        dir.path(),
        &["crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem"],
    );
    let check = crate::common::openssl_status(
        dir.path(),
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            "crl.pem",
            "leaf.pem",
        ],
    );
    assert!(!check.0 && check.1.contains("certificate revoked"), "{}", check.1);
    let after = client.post_err(
        "/v1/signin",
        &SigninRequest {
            user_id: "alice".into(),
            verifier: Bytes(keys.verifier().to_vec()),
        },
    );
    assert_eq!(after.code, ApiErrorCode::Revoked);
    let published: serde_json::Value = client.get_json(&format!("/v1/certificates/{serial}"));
    assert_eq!(published["status"], "revoked");
    assert_eq!(published["revocation_reason"], "cessation-of-operation");

    // Every step left an intact, signed audit trail.
    server.audit_verify();
}

/// The audit head kept outside the database: once it names the newest
/// event, deleting that event from the database is found by `audit verify`.
fn events_cut_off_the_end_are_found(server: &mut KeyServer) {
    use diesel::RunQueryDsl as _;
    use signet_keyserver::keys::db::{DbError, models};

    let db = signet_keyserver::keys::db::open(&server.database_url()).expect("the database");
    let newest = db
        .read(models::events::last)
        .expect("read the log")
        .expect("events")
        .seq;
    let head_file = server.data_dir.join("audit-head");
    let named = format!("\nseq {newest}\n");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !std::fs::read_to_string(&head_file).is_ok_and(|text| text.contains(&named)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the audit head never named event {newest}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server.kill();
    db.write(|c| {
        diesel::sql_query(format!("DELETE FROM events WHERE seq = {newest}"))
            .execute(c)
            .map_err(DbError::from)
    })
    .expect("cut the newest event off");
    let text = server.audit_broken();
    assert!(
        text.contains(&format!("BROKEN at event {newest}")) && text.contains("cut off the end"),
        "{text}"
    );
    // Nor does the key tier move the head past the cut: new events written
    // after it would otherwise make the log look whole again.
    let tier = signet_keyserver::keys::KeyTier::open(
        &server.data_dir,
        Some(&server.database_url()),
        signet_keyserver::keys::Policy::default(),
        signet_keyserver::keys::system_clock(),
    )
    .expect("the key tier");
    let refused = tier.record_audit_head().expect_err("the head moved past the cut");
    assert!(refused.contains(&format!("event {newest}")), "{refused}");

    // A head file that is not the key tier's is itself a broken link.
    std::fs::write(&head_file, "signet-audit-head v1\nseq 1\nhash 00\nsignature 00\n").expect("tamper with the head");
    let text = server.audit_broken();
    assert!(
        text.starts_with("audit log BROKEN: the head kept outside the database cannot be trusted"),
        "{text}"
    );
}

#[test]
fn journey_on_sqlite() {
    let mut server = KeyServer::start_sqlite();
    journey(&server);
    events_cut_off_the_end_are_found(&mut server);
}

#[test]
fn journey_on_postgres() {
    let Some(mut server) = KeyServer::start_postgres() else {
        return;
    };
    journey(&server);
    events_cut_off_the_end_are_found(&mut server);
}

#[test]
fn bad_input_gets_typed_errors_and_changes_nothing() {
    let server = KeyServer::start_sqlite();
    let client = server.client();
    let cases: Vec<(&str, Vec<u8>, u16, ApiErrorCode)> = vec![
        ("/v1/apply", b"{not json".to_vec(), 400, ApiErrorCode::BadRequest),
        ("/v1/apply", b"[]".to_vec(), 400, ApiErrorCode::BadRequest),
        (
            "/v1/signin",
            br#"{"user_id":5,"verifier":"AA=="}"#.to_vec(),
            400,
            ApiErrorCode::BadRequest,
        ),
        (
            "/v1/signin",
            br#"{"user_id":"a","verifier":"***"}"#.to_vec(),
            400,
            ApiErrorCode::BadRequest,
        ),
        (
            "/v1/consent",
            br#"{"user_id":"a","phrase":"x","extra":1}"#.to_vec(),
            400,
            ApiErrorCode::BadRequest,
        ),
        ("/v1/apply", vec![b' '; 70 * 1024], 413, ApiErrorCode::PayloadTooLarge),
        ("/v1/nowhere", b"{}".to_vec(), 404, ApiErrorCode::NotFound),
    ];
    for (path, body, status, code) in cases {
        let (got_status, error) = client.post_raw(path, body);
        assert_eq!((got_status, error.code), (status, code), "{path}");
    }
    // A garbage record and a garbage request name their fields.
    let reg = alice();
    let bad = ApplyRequest {
        registration: reg,
        record: Bytes(b"SGKR garbage".to_vec()),
        certification_request: Bytes(vec![0x30, 0x03, 0x02, 0x01, 0x00]),
        verifier: Bytes(vec![0; 32]),
        nonce: "0123456789abcdef9999".into(),
        timestamp: crate::common::now(),
    };
    let error = client.post_err("/v1/apply", &bad);
    assert_eq!(
        (error.code, error.field.as_deref()),
        (ApiErrorCode::BadRequest, Some("record"))
    );
    // Nothing was stored: the user id is still free.
    let pre: serde_json::Value = client.post_ok(
        "/v1/prelogin",
        &PreloginRequest {
            user_id: "alice".into(),
        },
    );
    // (An unknown id is answered with the server's policy, here the tests' floor.)
    assert_eq!(pre["kdf"], serde_json::json!(KdfParams::FLOOR));
}

/// Parallel wrong guesses from one address cannot outrun its lock on the
/// account, and a guess that arrives after the lock neither lifts it nor
/// gets evaluated. (The waits before the lock are switched off here: the
/// lock alone is under test.)
#[test]
fn the_signin_lock_holds_under_parallel_guessing() {
    let server = KeyServer::launch()
        .rate_limits(100_000, 100_000)
        .arg("--free-sign-in-failures", "10")
        .arg("--free-guesses-per-address", "1000")
        .start();
    let client = server.client();
    let reg = alice();
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    let salt = kdf::new_salt().expect("salt");
    let keys = kdf::derive(PASS, &reg.user_id, KdfParams::FLOOR, &salt).expect("derive");
    let apply = ApplyRequest {
        registration: reg.clone(),
        record: Bytes(seal::seal(&key, &reg, &keys).expect("seal").encode().expect("encode")),
        certification_request: Bytes(
            csr::certification_request(&key, &reg, SignatureScheme::RsaPssSha256).expect("csr"),
        ),
        verifier: Bytes(keys.verifier().to_vec()),
        nonce: "0123456789abcdef7777".into(),
        timestamp: crate::common::now(),
    };
    let _: serde_json::Value = client.post_ok("/v1/apply", &apply);
    let phrase = crate::common::letter_phrase(&server, "alice");
    let _: serde_json::Value = client.post_ok(
        "/v1/consent",
        &ConsentRequest {
            user_id: "alice".into(),
            phrase,
        },
    );

    let outcomes: Vec<ApiErrorCode> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..24u8)
            .map(|i| {
                let client = server.client();
                scope.spawn(move || {
                    let wrong = SigninRequest {
                        user_id: "alice".into(),
                        verifier: Bytes(vec![i; 32]),
                    };
                    client.post_err("/v1/signin", &wrong).code
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    // Exactly ten guesses are tried and fail, the tenth locking this address
    // out of the account; every later guess meets the lock and is not tried.
    let failed = outcomes.iter().filter(|c| **c == ApiErrorCode::SigninFailed).count();
    let locked = outcomes.iter().filter(|c| **c == ApiErrorCode::Locked).count();
    assert_eq!((failed, locked), (10, 14), "{outcomes:?}");
    // Locked: even the right pass phrase is refused now, from this address.
    let right = SigninRequest {
        user_id: "alice".into(),
        verifier: Bytes(keys.verifier().to_vec()),
    };
    assert_eq!(client.post_err("/v1/signin", &right).code, ApiErrorCode::Locked);
}
