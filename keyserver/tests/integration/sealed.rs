//! The sealed channel over real HTTPS: bootstrap, open, then a whole
//! registration and sign-in with every body sealed between the client's
//! signing core and the key tier. Replays and reordering are refused, and
//! nothing secret crosses the web tier in a readable form.

use crate::common::{Client, KeyServer};
use signet_crypto::channel::{ChannelClient, first_use_integrity_key};
use signet_crypto::keys::UserKey;
use signet_crypto::{csr, kdf, seal};
use signet_keyserver::keys::sealed::SEALED_CONTENT_TYPE;
use signet_schema::api::{ApiError, ApiErrorCode, ApplyRequest, ConsentRequest, PreloginRequest, SigninRequest};
use signet_schema::channel::{OpenResponse, SealedMessage, SignedBootstrap};
use signet_schema::protocol::Bytes;
use signet_schema::{KdfParams, KeySize, SealedKeyRecord, SignatureScheme};

/// The client side of an open channel.
struct Sealed<'c> {
    client: &'c Client,
    channel: ChannelClient,
}

impl Sealed<'_> {
    fn connect(client: &Client) -> Sealed<'_> {
        let bootstrap: SignedBootstrap = serde_json::from_slice(&client.get_bytes("/v1/bootstrap")).expect("bootstrap");
        let pinned = first_use_integrity_key(&bootstrap, crate::common::now()).expect("self-signed, fresh bootstrap");
        let (channel, open) = ChannelClient::open(&bootstrap, &pinned, crate::common::now()).expect("open");
        let opened: OpenResponse = client.post_ok("/v1/channel/open", &open);
        assert_eq!(opened.session_id.0, channel.session_id().to_vec());
        Sealed { client, channel }
    }

    /// Seals `body` for POST `path`: the message as sent on the wire.
    fn seal(&mut self, path: &str, body: &impl serde::Serialize) -> Vec<u8> {
        let json = serde_json::to_vec(body).expect("json");
        let (counter, sealed) = self.channel.seal_request("POST", path, &json).expect("seal");
        let message = SealedMessage {
            session_id: Bytes(self.channel.session_id().to_vec()),
            counter,
            body: Bytes(sealed),
        };
        serde_json::to_vec(&message).expect("json")
    }

    /// A fresh sealed pre-login for `path` (to probe counters).
    fn seal_again(&mut self, path: &str) -> Vec<u8> {
        self.seal(
            path,
            &PreloginRequest {
                user_id: "alice".into(),
            },
        )
    }

    /// Sends a sealed message as it is: (status, raw answer).
    fn send(&self, path: &str, wire: &[u8]) -> (u16, Vec<u8>) {
        self.client
            .request("POST", path, &[("content-type", SEALED_CONTENT_TYPE.to_owned())], wire)
    }

    /// Seals, sends and opens the answer: (status, JSON).
    fn post(&mut self, path: &str, body: &impl serde::Serialize) -> (u16, serde_json::Value) {
        let wire = self.seal(path, body);
        let (status, answer) = self.send(path, &wire);
        let message: SealedMessage = serde_json::from_slice(&answer).unwrap_or_else(|e| {
            panic!(
                "{path}: not a sealed answer ({e}): {}",
                String::from_utf8_lossy(&answer)
            )
        });
        let plain = self
            .channel
            .open_response(message.counter, "POST", path, &message.body.0)
            .expect("open answer");
        (status, serde_json::from_slice(&plain).expect("json inside"))
    }
}

#[test]
fn a_registration_and_sign_in_sealed_end_to_end() {
    let server = KeyServer::start_sqlite();
    let client = server.client();
    let mut sealed = Sealed::connect(&client);

    let reg = crate::common::alice();
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    let salt = kdf::new_salt().expect("salt");
    let keys = kdf::derive(b"sealed all the way", "alice", KdfParams::FLOOR, &salt).expect("kdf");
    let record = seal::seal(&key, &reg, &keys).expect("seal").encode().expect("encode");
    let apply = ApplyRequest {
        registration: reg.clone(),
        record: Bytes(record.clone()),
        certification_request: Bytes(
            csr::certification_request(&key, &reg, SignatureScheme::RsaPssSha256).expect("csr"),
        ),
        verifier: Bytes(keys.verifier().to_vec()),
        nonce: crate::common::nonce(),
        timestamp: crate::common::now(),
    };
    let wire = sealed.seal("/v1/apply", &apply);
    // What crosses the web tier shows neither the record nor the verifier.
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let text = String::from_utf8_lossy(&wire);
    assert!(!text.contains(&b64(&record)[..40]) && !text.contains(&b64(keys.verifier())[..20]));
    let (status, answer) = sealed.send("/v1/apply", &wire);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let message: SealedMessage = serde_json::from_slice(&answer).expect("sealed answer");
    let plain = sealed
        .channel
        .open_response(message.counter, "POST", "/v1/apply", &message.body.0)
        .expect("open");
    let applied: serde_json::Value = serde_json::from_slice(&plain).expect("json");
    assert!(applied["application_id"].is_string());

    // A replay of the same sealed message is refused, in plain JSON.
    let (status, answer) = sealed.send("/v1/apply", &wire);
    let error: ApiError = serde_json::from_slice(&answer).expect("plain error");
    assert_eq!(
        (status, error.code),
        (409, ApiErrorCode::NonceReused),
        "{}",
        error.message
    );
    // So is a message moved to another route.
    let moved = sealed.seal(
        "/v1/prelogin",
        &PreloginRequest {
            user_id: "alice".into(),
        },
    );
    let (status, _) = sealed.send("/v1/signin", &moved);
    assert_eq!(status, 400);
    // The refused message used up a counter on this side only: as any client
    // that lost a message, open a new session.
    let next = sealed.seal_again("/v1/prelogin");
    let (status, _) = sealed.send("/v1/prelogin", &next);
    assert_eq!(status, 409, "the next counter is out of order for the server");
    let mut sealed = Sealed::connect(&client);

    // Typed errors come back sealed too: consent with a wrong phrase.
    let wrong = signet_keyserver::keys::consent::ConsentPhrase::generate()
        .expect("phrase")
        .display()
        .to_string();
    let (status, error) = sealed.post(
        "/v1/consent",
        &ConsentRequest {
            user_id: "alice".into(),
            phrase: wrong,
        },
    );
    assert_eq!((status, error["code"].as_str()), (401, Some("wrong-phrase")));
    let phrase = crate::common::letter_phrase(&server, "alice");
    let (status, consented) = sealed.post(
        "/v1/consent",
        &ConsentRequest {
            user_id: "alice".into(),
            phrase,
        },
    );
    assert_eq!(status, 200, "{consented}");

    // Sign in, sealed: the record comes back as sealed by the signing core.
    let (_, pre) = sealed.post(
        "/v1/prelogin",
        &PreloginRequest {
            user_id: "alice".into(),
        },
    );
    assert_eq!(crate::common::b64(pre["salt"].as_str().expect("salt")), salt.to_vec());
    let (status, signed_in) = sealed.post(
        "/v1/signin",
        &SigninRequest {
            user_id: "alice".into(),
            verifier: Bytes(keys.verifier().to_vec()),
        },
    );
    assert_eq!(status, 200);
    let released = crate::common::b64(signed_in["record"].as_str().expect("record"));
    let opened = seal::open(&SealedKeyRecord::parse(&released).expect("parse"), &reg, &keys).expect("open");
    assert_eq!(opened.public_key(), key.public_key());

    // A session unknown to the server is refused.
    let mut other = Sealed::connect(&client);
    let mut forged: SealedMessage = serde_json::from_slice(&other.seal(
        "/v1/prelogin",
        &PreloginRequest {
            user_id: "alice".into(),
        },
    ))
    .expect("json");
    forged.session_id = Bytes(vec![7; 16]);
    let (status, answer) = other.send("/v1/prelogin", &serde_json::to_vec(&forged).expect("json"));
    let error: ApiError = serde_json::from_slice(&answer).expect("plain error");
    assert_eq!((status, error.code), (400, ApiErrorCode::StaleRequest));
}

/// The web tier limits requests per user id when it can read them; sealed
/// ones only the key tier can read, so it counts them itself, and answers
/// the one over the limit sealed, like any other refusal.
#[test]
fn sealed_requests_are_limited_per_user_by_the_key_tier() {
    let server = KeyServer::launch().user_limits(1, 3).start();
    let client = server.client();
    let mut sealed = Sealed::connect(&client);
    let prelogin =
        |sealed: &mut Sealed<'_>, user: &str| sealed.post("/v1/prelogin", &PreloginRequest { user_id: user.into() });
    // Three at once for one user id (the same setting as the web tier's).
    for n in 0..3 {
        let (status, answer) = prelogin(&mut sealed, "bob");
        assert_eq!(status, 200, "request {n}: {answer}");
    }
    let (status, answer) = prelogin(&mut sealed, "bob");
    assert_eq!(status, 429, "{answer}");
    assert_eq!(answer["code"], "rate-limited", "{answer}");
    // The channel stays in step, and another user id is not affected.
    let (status, answer) = prelogin(&mut sealed, "carol");
    assert_eq!(status, 200, "{answer}");
}

/// Every route that carries a secret takes its body only sealed: a plain
/// one — well-formed, and what the route would otherwise act on — is
/// refused with `sealing-required`, whatever its content type, and changes
/// nothing. (The key tier refuses it alike: `tiers.rs`.)
#[test]
fn plain_bodies_are_refused_on_every_route_that_carries_a_secret() {
    let server = KeyServer::start_sqlite();
    let client = server.client();
    let reg = crate::common::alice();
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    let salt = kdf::new_salt().expect("salt");
    let keys = kdf::derive(b"plain is refused", "alice", KdfParams::FLOOR, &salt).expect("kdf");
    let record = seal::seal(&key, &reg, &keys).expect("seal").encode().expect("encode");
    let apply = ApplyRequest {
        registration: reg.clone(),
        record: Bytes(record),
        certification_request: Bytes(
            csr::certification_request(&key, &reg, SignatureScheme::RsaPssSha256).expect("csr"),
        ),
        verifier: Bytes(keys.verifier().to_vec()),
        nonce: crate::common::nonce(),
        timestamp: crate::common::now(),
    };
    let verifier = serde_json::json!({ "user_id": "alice", "verifier": Bytes(keys.verifier().to_vec()) });
    let bodies: Vec<(&str, serde_json::Value)> = vec![
        ("/v1/apply", serde_json::to_value(&apply).expect("json")),
        (
            "/v1/consent",
            serde_json::json!({ "user_id": "alice", "phrase": "ABCD-EFGH-JKMN-PQRS-TVWX" }),
        ),
        ("/v1/prelogin", serde_json::json!({ "user_id": "alice" })),
        ("/v1/signin", verifier.clone()),
        (
            "/v1/revoke",
            serde_json::json!({ "user_id": "alice", "verifier": verifier["verifier"], "reason": "key-compromise" }),
        ),
        (
            "/v1/reregister",
            serde_json::json!({ "user_id": "alice", "verifier": verifier["verifier"], "record": "AAAA", "new_verifier": "AAAA" }),
        ),
    ];
    let sealed: Vec<&str> = signet_keyserver::route_table::ROUTES
        .iter()
        .filter(|r| r.sealed)
        .map(|r| r.path)
        .collect();
    assert_eq!(
        sealed,
        bodies.iter().map(|(path, _)| *path).collect::<Vec<_>>(),
        "one case per sealed route"
    );
    for (path, body) in &bodies {
        let json = serde_json::to_vec(body).expect("json");
        for content_type in ["application/json", "text/plain", "application/x-www-form-urlencoded"] {
            let (status, answer) =
                client.request_plain("POST", path, &[("content-type", content_type.to_owned())], &json);
            let error: ApiError = serde_json::from_slice(&answer).expect("an API error");
            assert_eq!(
                (status, error.code),
                (415, ApiErrorCode::SealingRequired),
                "{path} as {content_type}"
            );
        }
        // With an empty content type, too.
        let (status, answer) = client.request_plain("POST", path, &[("content-type", String::new())], &json);
        let error: ApiError = serde_json::from_slice(&answer).expect("an API error");
        assert_eq!(
            (status, error.code),
            (415, ApiErrorCode::SealingRequired),
            "{path} untyped"
        );
    }
    // The plain application was not acted upon: the same one, sealed, is new.
    let applied: serde_json::Value = client.post_ok("/v1/apply", &apply);
    assert!(applied["application_id"].is_string(), "{applied}");
}
