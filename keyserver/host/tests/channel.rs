//! What crosses the wire to the host: the host's routes driven over HTTP
//! (warp's test client) with the client's end of the sealed channel, as a
//! web tier or proxy in front of the host would see and touch the traffic.
//! It sees no order, signature, certificate or answer — only sealed bytes —
//! and a byte it changes makes the host refuse the request and store nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::Desk;
use signet_channel::SEALED_CONTENT_TYPE;
use signet_crypto::channel::ChannelClient;
use signet_crypto::keys::PublicKey;
use signet_host::db;
use signet_schema::channel::{OpenResponse, SealedMessage, SignedBootstrap};
use signet_schema::host::{OrderState, OrderStatus, SUBMIT_PATH};
use signet_schema::protocol::Bytes;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_web_tier_sees_only_sealed_bytes_and_its_change_is_refused() {
    let desk = Desk::open(None);
    let alice = desk.user("alice");
    desk.mandate(&alice, "E", None);
    let routes = signet_host::routes::routes(desk.host.clone());
    runtime().block_on(async {
        // The channel, keyed to the host's certified integrity key.
        let answer = warp::test::request()
            .method("GET")
            .path("/v1/bootstrap")
            .reply(&routes)
            .await;
        assert_eq!(answer.status(), 200);
        let bootstrap: SignedBootstrap = serde_json::from_slice(answer.body()).expect("bootstrap");
        let certificate = der::Decode::from_der(desk.host.certificate_der()).expect("host certificate");
        let pinned = PublicKey::from_certificate(&certificate)
            .and_then(|k| k.to_spki_der())
            .expect("key");
        let (mut client, open) = ChannelClient::open(&bootstrap, &pinned, desk.now()).expect("opened");
        let answer = warp::test::request()
            .method("POST")
            .path("/v1/channel/open")
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&open).expect("json"))
            .reply(&routes)
            .await;
        assert_eq!(answer.status(), 200, "{:?}", answer.body());
        let opened: OpenResponse = serde_json::from_slice(answer.body()).expect("session");
        assert_eq!(opened.session_id.0, client.session_id().as_slice());

        let bytes = desk.order("M-SEALED-1", "42.00");
        let request = common::submission(desk.host.certificate_der(), &alice, &bytes, desk.now());
        let plaintext = serde_json::to_vec(&request).expect("json");

        // Plain, the request is refused unread.
        let answer = warp::test::request()
            .method("POST")
            .path(SUBMIT_PATH)
            .header("content-type", "application/json")
            .body(plaintext.clone())
            .reply(&routes)
            .await;
        assert_eq!(answer.status(), 415);
        assert!(contains(answer.body(), b"sealing-required"));

        // Sealed, what a web tier forwards holds nothing it could read.
        let (counter, body) = client.seal_request("POST", SUBMIT_PATH, &plaintext).expect("sealed");
        let message = SealedMessage {
            session_id: Bytes(client.session_id().to_vec()),
            counter,
            body: Bytes(body),
        };
        let wire = serde_json::to_vec(&message).expect("json");
        for secret in [
            b"M-SEALED-1".to_vec(),
            B64.encode(&bytes).as_bytes()[..32].to_vec(),
            B64.encode(&alice.certificate).as_bytes()[..32].to_vec(),
            B64.encode(&request.signature.0).as_bytes()[..32].to_vec(),
            b"alice".to_vec(),
        ] {
            assert!(
                !contains(&wire, &secret),
                "the sealed request shows {:?}",
                String::from_utf8_lossy(&secret)
            );
        }

        // A web tier that changes one byte: refused, and nothing is stored.
        let mut changed = message.clone();
        changed.body.0[40] ^= 0x01;
        let answer = warp::test::request()
            .method("POST")
            .path(SUBMIT_PATH)
            .header("content-type", SEALED_CONTENT_TYPE)
            .body(serde_json::to_vec(&changed).expect("json"))
            .reply(&routes)
            .await;
        assert_eq!(answer.status(), 400, "{:?}", answer.body());
        let stored = desk
            .host
            .database()
            .read(|c| db::orders::in_state(c, "accepted", 10))
            .expect("read");
        assert!(stored.is_empty(), "a changed request was stored");

        // The request as sealed goes through, and so does its answer, sealed.
        let answer = warp::test::request()
            .method("POST")
            .path(SUBMIT_PATH)
            .header("content-type", SEALED_CONTENT_TYPE)
            .body(wire)
            .reply(&routes)
            .await;
        assert_eq!(answer.status(), 200);
        assert!(!contains(answer.body(), b"M-SEALED-1"), "the answer shows the order");
        assert!(!contains(answer.body(), b"accepted"), "the answer shows the state");
        let sealed: SealedMessage = serde_json::from_slice(answer.body()).expect("a sealed answer");
        let opened = client
            .open_response(sealed.counter, "POST", SUBMIT_PATH, &sealed.body.0)
            .expect("opened");
        let status: OrderStatus = serde_json::from_slice(&opened).expect("status");
        assert_eq!(status.order.state, OrderState::Accepted);
        assert_eq!(status.order.message_id, "M-SEALED-1");
    });
}
