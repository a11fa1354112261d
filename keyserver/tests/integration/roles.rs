//! Roles, end to end over HTTP: the first help-desk account bootstrapped by
//! the operator, users registered through letters the help desk prints,
//! then every route × every kind of caller (anonymous, the user, another
//! user, help desk, auditor). No one reads another user's record; auditors
//! change nothing; the help desk's actions land in the audit log.

use crate::common::{Client, KeyServer, nonce, phrase_in_pdf, registration};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use signet_crypto::kdf::{self, PassphraseKeys};
use signet_crypto::keys::UserKey;
use signet_crypto::{csr, seal, sign};
use signet_schema::api::{
    ApiError, ApiErrorCode, ApplyRequest, ConsentRequest, ReregisterRequest, RevocationReason, SigninRequest,
    StaffRevokeRequest, UserPage, signed_headers, signed_request_bytes,
};
use signet_schema::protocol::Bytes;
use signet_schema::{KdfParams, KeySize, RegistrationData, SealedKeyRecord, SignatureScheme};

/// One registered person, as their signing core knows them.
pub(crate) struct Account {
    pub(crate) user_id: String,
    pub(crate) registration: RegistrationData,
    pub(crate) key: UserKey,
    pub(crate) keys: PassphraseKeys,
    pub(crate) serial: String,
}

/// Applies for `user_id` with a fresh key; returns what consent needs later.
pub(crate) fn apply(client: &Client, user_id: &str) -> (RegistrationData, UserKey, PassphraseKeys) {
    let reg = registration(user_id);
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    let salt = kdf::new_salt().expect("salt");
    let keys = kdf::derive(
        format!("pass phrase of {user_id}").as_bytes(),
        user_id,
        KdfParams::FLOOR,
        &salt,
    )
    .expect("kdf");
    let record = seal::seal(&key, &reg, &keys).expect("seal").encode().expect("encode");
    let request = csr::certification_request(&key, &reg, SignatureScheme::RsaPssSha256).expect("csr");
    let _: serde_json::Value = client.post_ok(
        "/v1/apply",
        &ApplyRequest {
            registration: reg.clone(),
            record: Bytes(record),
            certification_request: Bytes(request),
            verifier: Bytes(keys.verifier().to_vec()),
            nonce: nonce(),
            timestamp: crate::common::now(),
        },
    );
    (reg, key, keys)
}

pub(crate) fn consent(
    client: &Client,
    reg: RegistrationData,
    key: UserKey,
    keys: PassphraseKeys,
    phrase: &str,
) -> Account {
    let done: serde_json::Value = client.post_ok(
        "/v1/consent",
        &ConsentRequest {
            user_id: reg.user_id.clone(),
            phrase: phrase.into(),
        },
    );
    Account {
        user_id: reg.user_id.clone(),
        registration: reg,
        key,
        keys,
        serial: done["serial"].as_str().expect("serial").to_owned(),
    }
}

/// A request signed by `who` (or unsigned): (status, body).
fn call(client: &Client, who: Option<&Account>, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let headers = who.map_or_else(Vec::new, |a| signed_by(client, a, &a.user_id, method, path, body));
    client.request(method, path, &headers, body)
}

/// The signing headers of a request signed with `account`'s key in the name of `signer`.
pub(crate) fn signed_by(
    client: &Client,
    account: &Account,
    signer: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    signed_for(&client.server_id(), account, signer, method, path, body)
}

/// [`signed_by`], for the key tier named `server`.
fn signed_for(
    server: &str,
    account: &Account,
    signer: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let ts = crate::common::now();
    let n = nonce();
    let digest = hex::encode(Sha256::digest(body));
    let signed = signed_request_bytes(server, signer, method, path, ts, &n, &digest);
    let signature = sign::sign(&account.key, SignatureScheme::RsaPssSha256, &signed).expect("sign");
    vec![
        (signed_headers::SIGNER, signer.to_owned()),
        (signed_headers::TIMESTAMP, ts.to_string()),
        (signed_headers::NONCE, n),
        (
            signed_headers::SIGNATURE,
            base64::engine::general_purpose::STANDARD.encode(signature),
        ),
    ]
}

fn path_text(path: &std::path::Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn letter_of(client: &Client, helpdesk: &Account, user_id: &str) -> String {
    let (status, body) = call(client, Some(helpdesk), "GET", "/v1/helpdesk/letters", b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let page: serde_json::Value = serde_json::from_slice(&body).expect("letters");
    let app = page["letters"]
        .as_array()
        .expect("a page of letters")
        .iter()
        .find(|l| l["user_id"] == user_id)
        .expect("a letter for the user");
    let id = app["application_id"].as_str().expect("id");
    let (status, pdf) = call(
        client,
        Some(helpdesk),
        "GET",
        &format!("/v1/helpdesk/letters/{id}/pdf"),
        b"",
    );
    assert_eq!(status, 200);
    assert!(pdf.starts_with(b"%PDF"));
    let (status, _) = call(
        client,
        Some(helpdesk),
        "POST",
        &format!("/v1/helpdesk/letters/{id}/printed"),
        b"",
    );
    assert_eq!(status, 200);
    // Printed: the letter, and the phrase in it, are no longer kept.
    let (status, _) = call(
        client,
        Some(helpdesk),
        "GET",
        &format!("/v1/helpdesk/letters/{id}/pdf"),
        b"",
    );
    assert_eq!(status, 409);
    phrase_in_pdf(&pdf).expect("phrase in the letter")
}

#[test]
fn every_route_for_every_role() {
    // Rate limits out of the way: this test sends many requests in the name of a few users, from one address.
    let server = KeyServer::launch().rate_limits(6000, 600).start();
    let client = server.client();

    // The operator bootstraps the first help-desk account from its application.
    let (reg, key, keys) = apply(&client, "hd");
    let letter = server.data_dir.join("hd-letter.pdf");
    let out = server.admin(&["bootstrap", "--user-id", "hd", "--letter"]);
    assert!(!out.status.success(), "bootstrap without a letter path must fail");
    let out = server.admin(&["bootstrap", "--user-id", "hd", "--letter", path_text(&letter)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let phrase = phrase_in_pdf(&std::fs::read(&letter).expect("letter written")).expect("phrase");
    let helpdesk = consent(&client, reg, key, keys, &phrase);
    // A second bootstrap is refused.
    let (_, _, _) = apply(&client, "hd2");
    let again = server.admin(&[
        "bootstrap",
        "--user-id",
        "hd2",
        "--letter",
        path_text(&server.data_dir.join("hd2.pdf")),
    ]);
    assert!(!again.status.success());

    // Users and an auditor register through letters the help desk prints.
    let mut accounts = Vec::new();
    for user_id in ["alice", "bob", "aud"] {
        let (reg, key, keys) = apply(&client, user_id);
        let phrase = letter_of(&client, &helpdesk, user_id);
        accounts.push(consent(&client, reg, key, keys, &phrase));
    }
    let out = server.admin(&["set-role", "--user-id", "aud", "--role", "auditor"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let [alice, bob, auditor]: [Account; 3] = accounts.try_into().ok().expect("three accounts");

    // Route × caller. `None` is anonymous.
    let callers: [(&str, Option<&Account>); 5] = [
        ("anonymous", None),
        ("alice", Some(&alice)),
        ("bob", Some(&bob)),
        ("helpdesk", Some(&helpdesk)),
        ("auditor", Some(&auditor)),
    ];
    let staff_routes: Vec<(&str, String, Vec<u8>, &str)> = vec![
        ("GET", "/v1/helpdesk/letters".into(), vec![], "helpdesk"),
        ("GET", "/v1/helpdesk/users?q=ali".into(), vec![], "helpdesk"),
        ("POST", "/v1/helpdesk/users/bob/unlock".into(), vec![], "helpdesk"),
        (
            "GET",
            "/v1/audit/certificates?user=alice&status=active".into(),
            vec![],
            "auditor",
        ),
        ("GET", "/v1/audit/certificates.csv".into(), vec![], "auditor"),
        ("GET", "/v1/audit/events?subject=alice".into(), vec![], "auditor"),
        ("GET", "/v1/audit/verify".into(), vec![], "auditor"),
    ];
    for (method, path, body, allowed) in &staff_routes {
        for (name, who) in &callers {
            let (status, text) = call(&client, *who, method, path, body);
            if name == allowed {
                assert_eq!(
                    status,
                    200,
                    "{name} {method} {path}: {}",
                    String::from_utf8_lossy(&text)
                );
            } else {
                assert_eq!(
                    status,
                    403,
                    "{name} {method} {path} must be forbidden: {}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }
    // The help desk's user list, two to a page, through the route.
    let ids = |path: &str| {
        let mut seen = Vec::new();
        let mut page_path = path.to_owned();
        loop {
            let (status, body) = call(&client, Some(&helpdesk), "GET", &page_path, b"");
            assert_eq!(status, 200, "{page_path}: {}", String::from_utf8_lossy(&body));
            let page: UserPage = serde_json::from_slice(&body).expect("a page of users");
            assert!(page.users.len() <= 2, "{page_path}");
            seen.extend(page.users.into_iter().map(|u| u.user_id));
            match page.next {
                Some(after) => page_path = format!("{path}&after={after}"),
                None => break seen,
            }
        }
    };
    assert_eq!(ids("/v1/helpdesk/users?limit=2"), ["alice", "aud", "bob", "hd", "hd2"]);
    assert_eq!(ids("/v1/helpdesk/users?limit=2&q=PERSON+A"), ["alice", "aud"]);
    assert_eq!(ids("/v1/helpdesk/users?limit=2&q=example.com&state=pending"), ["hd2"]);
    // Bad paging and search words are typed errors naming the field.
    for (path, field) in [
        ("/v1/helpdesk/users?limit=0", "limit"),
        ("/v1/helpdesk/users?limit=201", "limit"),
        ("/v1/helpdesk/users?after=Alice%20Smith", "after"),
        ("/v1/helpdesk/users?q=a+b+c+d+e", "q"),
        ("/v1/helpdesk/users?q=%EF%BF%BF", "q"),
        ("/v1/helpdesk/letters?after=yesterday", "after"),
        ("/v1/helpdesk/letters?after=12.not-hex", "after"),
        ("/v1/helpdesk/letters?after=12.ABCD", "after"),
        ("/v1/helpdesk/users?q=person&after=alice", "after"),
        ("/v1/helpdesk/users?q=person&after=706572736f6e.alice", "after"),
        ("/v1/helpdesk/users?q=person&after=0.706572736f6e00.alice", "after"),
        ("/v1/helpdesk/users?q=person&after=0.7065+72736f6e.alice", "after"),
        // A cursor of another search: a word it does not have, a term that
        // does not begin with the word named.
        ("/v1/helpdesk/users?q=person&after=1.706572736f6e.alice", "after"),
        ("/v1/helpdesk/users?q=person&after=0.616c696365.alice", "after"),
    ] {
        let (status, body) = call(&client, Some(&helpdesk), "GET", path, b"");
        let error: ApiError = serde_json::from_slice(&body).expect("an API error");
        assert_eq!(
            (status, error.code, error.field.as_deref()),
            (400, ApiErrorCode::BadRequest, Some(field)),
            "{path}"
        );
    }

    // Public routes answer everyone.
    for path in [
        "/v1/policy",
        "/v1/ca.pem",
        "/v1/crl",
        &format!("/v1/certificates/{}", alice.serial),
    ] {
        for (name, who) in &callers {
            assert_eq!(call(&client, *who, "GET", path, b"").0, 200, "{name} GET {path}");
        }
    }
    // No one signs in as alice without alice's pass phrase.
    for other in [&bob, &helpdesk, &auditor] {
        let error = client.post_err(
            "/v1/signin",
            &SigninRequest {
                user_id: "alice".into(),
                verifier: Bytes(other.keys.verifier().to_vec()),
            },
        );
        assert_eq!(error.code, ApiErrorCode::SigninFailed);
    }
    // Bob cannot re-register alice, even with a valid signature of his own.
    let body = serde_json::to_vec(&ReregisterRequest {
        user_id: "alice".into(),
        verifier: Bytes(alice.keys.verifier().to_vec()),
        record: Bytes(vec![]),
        new_verifier: Bytes(vec![0; 32]),
        certification_request: None,
    })
    .expect("json");
    assert_eq!(call(&client, Some(&bob), "POST", "/v1/reregister", &body).0, 403);
    assert_eq!(call(&client, None, "POST", "/v1/reregister", &body).0, 403);
    // Bob guessing alice's pass phrase through re-registration, with requests
    // in her name that he cannot sign: each is refused for its signature
    // before its verifier is looked at, the same whether the verifier is
    // right or wrong, and none counts against her account.
    let guess = |verifier: Vec<u8>| {
        serde_json::to_vec(&ReregisterRequest {
            user_id: "alice".into(),
            verifier: Bytes(verifier),
            record: Bytes(vec![]),
            new_verifier: Bytes(vec![0; 32]),
            certification_request: None,
        })
        .expect("json")
    };
    let refusal = |body: &[u8]| {
        let headers = signed_by(&client, &bob, "alice", "POST", "/v1/reregister", body);
        client.request("POST", "/v1/reregister", &headers, body)
    };
    let right = refusal(&guess(alice.keys.verifier().to_vec()));
    assert_eq!(right.0, 400, "{}", String::from_utf8_lossy(&right.1));
    for n in 0..12u8 {
        let wrong = refusal(&guess(vec![n; 32]));
        assert_eq!(wrong, right, "a wrong verifier answered otherwise than the right one");
    }
    // A request the help desk signed for another key tier (another
    // integrity key), or whose signed bytes name another signer than its
    // header, is refused.
    let elsewhere = signed_for(&"00".repeat(32), &helpdesk, "hd", "GET", "/v1/helpdesk/users", b"");
    let mut renamed = signed_by(&client, &helpdesk, "hd2", "GET", "/v1/helpdesk/users", b"");
    renamed[0].1 = "hd".into();
    for (what, headers) in [("for another key tier", elsewhere), ("under another signer", renamed)] {
        let (status, text) = client.request("GET", "/v1/helpdesk/users", &headers, b"");
        let error: ApiError = serde_json::from_slice(&text).expect("an API error");
        assert_eq!(
            (status, error.code),
            (400, ApiErrorCode::BadSignature),
            "{what}: {}",
            error.message
        );
    }
    // Alice's own request with a wrong verifier counts once; replayed, it is refused as a replay and counts no more.
    let wrong = guess(vec![7; 32]);
    let headers = signed_by(&client, &alice, "alice", "POST", "/v1/reregister", &wrong);
    let first = client.request("POST", "/v1/reregister", &headers, &wrong);
    assert_eq!(first.0, 401, "{}", String::from_utf8_lossy(&first.1));
    for _ in 0..12 {
        let again = client.request("POST", "/v1/reregister", &headers, &wrong);
        assert_eq!(again.0, 409, "{}", String::from_utf8_lossy(&again.1));
    }
    // The auditor cannot revoke; a replayed signed request is refused.
    let revoke = serde_json::to_vec(&StaffRevokeRequest {
        reason: RevocationReason::KeyCompromise,
    })
    .expect("json");
    assert_eq!(
        call(
            &client,
            Some(&auditor),
            "POST",
            "/v1/helpdesk/users/alice/revoke",
            &revoke
        )
        .0,
        403
    );

    // Alice re-registers herself: a new pass phrase and a new key.
    let new_key = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    let new_keys = kdf::derive(
        b"a brand new pass phrase",
        "alice",
        KdfParams::FLOOR,
        &kdf::new_salt().expect("salt"),
    )
    .expect("kdf");
    let record = seal::seal(&new_key, &alice.registration, &new_keys)
        .expect("seal")
        .encode()
        .expect("encode");
    let request =
        csr::certification_request(&new_key, &alice.registration, SignatureScheme::RsaPssSha256).expect("csr");
    let body = serde_json::to_vec(&ReregisterRequest {
        user_id: "alice".into(),
        verifier: Bytes(alice.keys.verifier().to_vec()),
        record: Bytes(record.clone()),
        new_verifier: Bytes(new_keys.verifier().to_vec()),
        certification_request: Some(Bytes(request)),
    })
    .expect("json");
    let (status, text) = call(&client, Some(&alice), "POST", "/v1/reregister", &body);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&text));
    let answer: serde_json::Value = serde_json::from_slice(&text).expect("json");
    assert_eq!(answer["superseded"], serde_json::json!(alice.serial));
    let old: serde_json::Value = client.get_json(&format!("/v1/certificates/{}", alice.serial));
    assert_eq!(old["status"], "superseded");
    let signed_in: serde_json::Value = client.post_ok(
        "/v1/signin",
        &SigninRequest {
            user_id: "alice".into(),
            verifier: Bytes(new_keys.verifier().to_vec()),
        },
    );
    let released = crate::common::b64(signed_in["record"].as_str().expect("record"));
    let opened = seal::open(
        &SealedKeyRecord::parse(&released).expect("parse"),
        &alice.registration,
        &new_keys,
    )
    .expect("open");
    assert_eq!(opened.public_key(), new_key.public_key());

    // The help desk resets bob (lost pass phrase): erased, revoked; bob may apply again.
    let (status, text) = call(&client, Some(&helpdesk), "POST", "/v1/helpdesk/users/bob/reset", b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&text));
    let bob_cert: serde_json::Value = client.get_json(&format!("/v1/certificates/{}", bob.serial));
    assert_eq!(bob_cert["status"], "revoked");
    // Erased: the key record is gone from the database, not just refused.
    let database = signet_keyserver::keys::db::open(&server.database_url()).expect("open the database");
    assert!(matches!(
        database.read(|c| signet_keyserver::keys::db::models::key_records::get(c, "bob")),
        Err(signet_keyserver::keys::db::DbError::NotFound)
    ));
    // A stranger cannot take over the reset id with other registration data.
    let mut stranger = registration("bob");
    stranger.email = "mallory@example.net".into();
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    let keys = kdf::derive(
        b"mallory's pass phrase",
        "bob",
        KdfParams::FLOOR,
        &kdf::new_salt().expect("salt"),
    )
    .expect("kdf");
    let takeover = ApplyRequest {
        registration: stranger.clone(),
        record: Bytes(
            seal::seal(&key, &stranger, &keys)
                .expect("seal")
                .encode()
                .expect("encode"),
        ),
        certification_request: Bytes(
            csr::certification_request(&key, &stranger, SignatureScheme::RsaPssSha256).expect("csr"),
        ),
        verifier: Bytes(keys.verifier().to_vec()),
        nonce: nonce(),
        timestamp: crate::common::now(),
    };
    assert_eq!(
        client.post_err("/v1/apply", &takeover).code,
        ApiErrorCode::IdentityTaken
    );
    let (reg, key, keys) = apply(&client, "bob");
    let phrase = letter_of(&client, &helpdesk, "bob");
    let bob_again = consent(&client, reg, key, keys, &phrase);
    assert_ne!(bob_again.serial, bob.serial);

    // Someone squats the id "carol" and never consents: the help desk frees it.
    apply(&client, "carol");
    let (status, text) = call(&client, Some(&helpdesk), "POST", "/v1/helpdesk/users/carol/reset", b"");
    let text = String::from_utf8_lossy(&text);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("the id is free"), "{text}");
    let (reg, key, keys) = apply(&client, "carol");
    let phrase = letter_of(&client, &helpdesk, "carol");
    consent(&client, reg, key, keys, &phrase);

    // The auditor sees all of it, and the chain is intact.
    let (status, text) = call(&client, Some(&auditor), "GET", "/v1/audit/certificates?user=alice", b"");
    assert_eq!(status, 200);
    let certs: Vec<serde_json::Value> = serde_json::from_slice(&text).expect("json");
    assert_eq!(certs.len(), 2, "alice's active and superseded certificates");
    let (status, csv) = call(
        &client,
        Some(&auditor),
        "GET",
        "/v1/audit/certificates.csv?user=alice",
        b"",
    );
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).expect("utf-8");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("serial,user_id,subject,status,"));
    assert!(lines.iter().any(|l| l.contains(",superseded,")) && lines.iter().any(|l| l.contains(",active,")));
    let (_, text) = call(&client, Some(&auditor), "GET", "/v1/audit/events?subject=bob", b"");
    let events: Vec<serde_json::Value> = serde_json::from_slice(&text).expect("json");
    assert!(events.iter().any(|e| e["kind"] == "user.reset" && e["actor"] == "hd"));
    let (_, text) = call(&client, Some(&auditor), "GET", "/v1/audit/verify", b"");
    let verification: serde_json::Value = serde_json::from_slice(&text).expect("json");
    assert_eq!(verification["intact"], true, "{verification}");
}
