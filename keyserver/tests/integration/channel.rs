//! The sealed channel end to end: the signing core's client
//! (`signet_crypto::channel`) against the key tier's end
//! (`signet_keyserver::keys::channel`), every message passing through JSON as it
//! would through the web tier, which sees only sealed bodies.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use signet_crypto::channel::{self as client_side, ChannelClient};
use signet_keyserver::keys::channel::{ChannelError, ChannelLimits, ChannelServer};
use signet_keyserver::keys::server_keys::ServerKeys;
use signet_keyserver::keys::{Clock, Policy};
use signet_schema::channel::{OpenRequest, OpenResponse, SealedMessage, SignedBootstrap};
use signet_schema::protocol::Bytes;

const T0: i64 = 1_767_225_600;

/// JSON out and back in, as over HTTP.
fn wire<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> (T, Vec<u8>) {
    let bytes = serde_json::to_vec(value).expect("serialise");
    (serde_json::from_slice(&bytes).expect("parse"), bytes)
}

struct KeyTier {
    channel: ChannelServer,
    time: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
}

fn key_tier() -> KeyTier {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = ServerKeys::load_or_create(dir.path()).expect("server keys");
    let time = Arc::new(AtomicI64::new(T0));
    let t = time.clone();
    let clock: Clock = Arc::new(move || t.load(Ordering::SeqCst));
    let channel =
        ChannelServer::new(&keys.integrity, &keys.confidentiality, ChannelLimits::default(), clock).expect("channel");
    KeyTier {
        channel,
        time,
        _dir: dir,
    }
}

/// The key tier's handler for one sealed request: echo the JSON with a mark.
fn handle(tier: &KeyTier, method: &str, path: &str, message: &SealedMessage) -> Result<SealedMessage, ChannelError> {
    message.validate()?;
    let request = tier
        .channel
        .unseal_request(&message.session_id.0, message.counter, method, path, &message.body.0)?;
    let value: serde_json::Value = serde_json::from_slice(&request).expect("json");
    let answer = serde_json::to_vec(&serde_json::json!({ "seen": value })).expect("json");
    let body = tier
        .channel
        .seal_response(&message.session_id.0, message.counter, method, path, &answer)?;
    Ok(SealedMessage {
        session_id: message.session_id.clone(),
        counter: message.counter,
        body: Bytes(body),
    })
}

fn connect(tier: &KeyTier, now: i64) -> ChannelClient {
    let signed = tier
        .channel
        .bootstrap_document((&Policy::default()).into())
        .expect("bootstrap");
    let (signed, _) = wire(&signed);
    let (client, request) = ChannelClient::open(&signed, tier.channel.integrity_spki(), now).expect("client");
    let (request, _): (OpenRequest, _) = wire(&request);
    assert_eq!(request.encrypted_key.0.len(), 384, "RSA-3072 confidentiality key");
    let id = tier.channel.open_session(&request, None).expect("open");
    let (response, _) = wire(&OpenResponse {
        session_id: Bytes(id.to_vec()),
    });
    assert_eq!(response.session_id.0, client.session_id());
    client
}

fn send(client: &mut ChannelClient, method: &str, path: &str, json: &serde_json::Value) -> SealedMessage {
    let plaintext = serde_json::to_vec(json).expect("json");
    let (counter, body) = client.seal_request(method, path, &plaintext).expect("seal");
    SealedMessage {
        session_id: Bytes(client.session_id().to_vec()),
        counter,
        body: Bytes(body),
    }
}

#[test]
fn requests_and_responses_cross_the_web_tier_sealed() {
    let tier = key_tier();
    let mut client = connect(&tier, T0 + 30);
    for i in 0..5 {
        let secret = format!("pass phrase verifier {i}");
        let message = send(
            &mut client,
            "POST",
            "/v1/signin",
            &serde_json::json!({ "verifier": secret }),
        );
        let (message, bytes) = wire(&message);
        // What the web tier forwards does not show the content.
        assert!(!String::from_utf8_lossy(&bytes).contains("verifier"));
        let reply = handle(&tier, "POST", "/v1/signin", &message).expect("handled");
        let (reply, bytes) = wire(&reply);
        assert!(!String::from_utf8_lossy(&bytes).contains("verifier"));
        let plain = client
            .open_response(reply.counter, "POST", "/v1/signin", &reply.body.0)
            .expect("open response");
        let value: serde_json::Value = serde_json::from_slice(&plain).expect("json");
        assert_eq!(value["seen"]["verifier"], secret);
    }
}

#[test]
fn the_web_tier_cannot_replay_reorder_drop_or_redirect() {
    let tier = key_tier();
    let mut client = connect(&tier, T0);
    let first = send(&mut client, "POST", "/v1/apply", &serde_json::json!({"n": 0}));
    handle(&tier, "POST", "/v1/apply", &first).expect("first");
    assert!(matches!(
        handle(&tier, "POST", "/v1/apply", &first),
        Err(ChannelError::Sealing(client_side::ChannelError::Replay {
            counter: 0,
            expected: 1
        }))
    ));
    // Redirected to another route.
    let second = send(&mut client, "POST", "/v1/apply", &serde_json::json!({"n": 1}));
    assert!(matches!(
        handle(&tier, "POST", "/v1/revoke", &second),
        Err(ChannelError::Sealing(client_side::ChannelError::BadTag))
    ));
    // Dropped, and the next one sent on: refused (the client opens a new session).
    let third = send(&mut client, "POST", "/v1/apply", &serde_json::json!({"n": 2}));
    assert!(matches!(
        handle(&tier, "POST", "/v1/apply", &third),
        Err(ChannelError::Sealing(client_side::ChannelError::OutOfOrder {
            counter: 2,
            expected: 1
        }))
    ));
    // The held-back one still goes through in order, then the third.
    handle(&tier, "POST", "/v1/apply", &second).expect("second");
    let reply = handle(&tier, "POST", "/v1/apply", &third).expect("third");
    // A response replayed to the client.
    client
        .open_response(reply.counter, "POST", "/v1/apply", &reply.body.0)
        .expect("reply");
    assert!(matches!(
        client.open_response(reply.counter, "POST", "/v1/apply", &reply.body.0),
        Err(client_side::ChannelError::Replay { .. })
    ));
    // A replayed session opening.
    let signed = tier
        .channel
        .bootstrap_document((&Policy::default()).into())
        .expect("bootstrap");
    let (_, request) = ChannelClient::open(&signed, tier.channel.integrity_spki(), T0).expect("client");
    tier.channel.open_session(&request, None).expect("open");
    assert!(matches!(
        tier.channel.open_session(&request, None),
        Err(ChannelError::UnknownBootstrap)
    ));
}

#[test]
fn another_server_or_an_old_document_is_refused() {
    let tier = key_tier();
    let impostor = key_tier();
    let signed: SignedBootstrap = impostor
        .channel
        .bootstrap_document((&Policy::default()).into())
        .expect("bootstrap");
    assert!(matches!(
        ChannelClient::open(&signed, tier.channel.integrity_spki(), T0),
        Err(client_side::ChannelError::ServerKeyMismatch)
    ));
    let signed = tier
        .channel
        .bootstrap_document((&Policy::default()).into())
        .expect("bootstrap");
    assert!(matches!(
        ChannelClient::open(&signed, tier.channel.integrity_spki(), T0 + 3600),
        Err(client_side::ChannelError::BootstrapStale { .. })
    ));
    // The document names the policy the key tier serves, under the signature.
    let (client, _) = ChannelClient::open(&signed, tier.channel.integrity_spki(), T0).expect("client");
    let policy = Policy::default();
    assert_eq!(client.policy().kdf, policy.kdf);
    assert_eq!(client.policy().key_bits, policy.key_bits);
}

#[test]
fn sessions_expire() {
    let tier = key_tier();
    let mut client = connect(&tier, T0);
    let message = send(&mut client, "GET", "/v1/policy", &serde_json::json!({}));
    tier.time.store(T0 + 30 * 60, Ordering::SeqCst);
    assert!(matches!(
        handle(&tier, "GET", "/v1/policy", &message),
        Err(ChannelError::SessionExpired)
    ));
    // A new session works at the new time.
    let mut client = connect(&tier, T0 + 30 * 60);
    let message = send(&mut client, "GET", "/v1/policy", &serde_json::json!({}));
    handle(&tier, "GET", "/v1/policy", &message).expect("new session");
}
