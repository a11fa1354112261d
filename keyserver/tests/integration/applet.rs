//! The applet store: publishing signed releases of the signing core (what
//! the key tier refuses), and the public routes that deliver them.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use signet_crypto::keys::{PublicKey, ServerKey};
use signet_keyserver::keys::routes::routes;
use signet_keyserver::keys::{KeyTier, Policy, system_clock};
use signet_keyserver::offline_release::{ReleaseInfo, sign_release};
use signet_schema::api::ApiErrorCode;
use signet_schema::release::{BundledSigner, DEFAULT_FRESHNESS_SECS, Freshness, ReleaseManifest};
use signet_schema::{KeySize, SignatureScheme};

const BINARY: &[u8] = b"\x7fELF the signing core, for the tests";

fn key_tier() -> (tempfile::TempDir, Arc<KeyTier>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tier = KeyTier::open(&dir.path().join("data"), None, Policy::default(), system_clock()).expect("key tier");
    (dir, Arc::new(tier))
}

fn release(key: &ServerKey, version: u64) -> Vec<u8> {
    let info = ReleaseInfo {
        version,
        label: "0.1.0".into(),
        protocol_version: 1,
        published_at: 1_800_000_000,
    };
    let signed = sign_release(
        key,
        &info,
        &[("x86_64-unknown-linux-gnu".into(), BINARY.to_vec())],
        Vec::new(),
    )
    .expect("signed");
    serde_json::to_vec(&signed).expect("json")
}

#[tokio::test]
async fn published_releases_are_delivered_fresh_and_binaries_by_hash() {
    let (_dir, tier) = key_tier();
    let filter = routes(tier.clone());
    let get = |path: String| warp::test::request().method("GET").path(&path).reply(&filter);

    // Nothing published yet.
    assert_eq!(get("/v1/signer/release".into()).await.status(), 404);

    let key = ServerKey::generate(KeySize::Rsa2048).expect("release key");
    let published = tier
        .publish_signer(&release(&key, 3), &[BINARY.to_vec()])
        .expect("published");
    assert_eq!((published.version, published.builds.len()), (3, 1));

    let answer = get("/v1/signer/release".into()).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["cache-control"], "no-cache");
    let manifest: ReleaseManifest = serde_json::from_slice(answer.body()).expect("a manifest");
    let integrity = PublicKey::from_spki_der(&manifest.integrity_key.0).expect("integrity key");
    signet_crypto::sign::verify(
        &integrity,
        SignatureScheme::RsaPssSha256,
        &manifest.freshness.0,
        &manifest.freshness_signature.0,
    )
    .expect("the freshness statement is the integrity key's");
    let freshness = Freshness::from_json(&manifest.freshness.0).expect("freshness");
    assert_eq!(
        freshness.content_sha256.0,
        Sha256::digest(&manifest.release.content.0).to_vec()
    );
    assert_eq!(freshness.expires_at - freshness.issued_at, DEFAULT_FRESHNESS_SECS);
    assert_eq!(freshness.bundled_signer, BundledSigner::Refused);

    let sha256 = hex::encode(Sha256::digest(BINARY));
    let answer = get(format!("/v1/signer/binaries/{sha256}")).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.body().as_ref(), BINARY);
    assert_eq!(answer.headers()["content-type"], "application/octet-stream");
    assert!(
        answer.headers()["cache-control"]
            .to_str()
            .expect("text")
            .contains("immutable")
    );
    assert_eq!(
        get(format!("/v1/signer/binaries/{}", "0".repeat(64))).await.status(),
        404
    );
    assert_eq!(
        get(format!("/v1/signer/binaries/{}", "A".repeat(64))).await.status(),
        400
    );

    // The operator's policy travels in a new statement at once.
    tier.set_bundled_signer(BundledSigner::Allowed).expect("policy");
    let manifest: ReleaseManifest =
        serde_json::from_slice(get("/v1/signer/release".into()).await.body()).expect("a manifest");
    let freshness = Freshness::from_json(&manifest.freshness.0).expect("freshness");
    assert_eq!(freshness.bundled_signer, BundledSigner::Allowed);
    assert!(tier.verify_audit_log().expect("log").expect("intact") >= 2);
}

#[test]
fn the_key_tier_refuses_what_would_break_delivery() {
    let (_dir, tier) = key_tier();
    let key = ServerKey::generate(KeySize::Rsa2048).expect("release key");
    let code = |result: Result<_, signet_keyserver::error::Failure>| result.expect_err("refused").body.code;

    assert_eq!(
        code(tier.publish_signer(b"{}", &[BINARY.to_vec()])),
        ApiErrorCode::BadRequest
    );
    // A binary the release does not list; a build without its binary.
    assert_eq!(
        code(tier.publish_signer(&release(&key, 1), &[b"another binary".to_vec()])),
        ApiErrorCode::BadRequest
    );
    assert_eq!(
        code(tier.publish_signer(&release(&key, 1), &[])),
        ApiErrorCode::BadRequest
    );
    // A signature that does not match its content.
    let mut forged: serde_json::Value = serde_json::from_slice(&release(&key, 1)).expect("json");
    forged["signature"] = serde_json::to_value(signet_schema::protocol::Bytes(vec![0; 256])).expect("json");
    let forged = serde_json::to_vec(&forged).expect("json");
    assert_eq!(
        code(tier.publish_signer(&forged, &[BINARY.to_vec()])),
        ApiErrorCode::BadSignature
    );
    assert!(
        tier.signer_releases().expect("list").is_empty(),
        "nothing refused was kept"
    );

    tier.publish_signer(&release(&key, 2), &[BINARY.to_vec()])
        .expect("published");
    for version in [1, 2] {
        let refused = tier
            .publish_signer(&release(&key, version), &[BINARY.to_vec()])
            .expect_err("versions only grow");
        assert_eq!(refused.body.code, ApiErrorCode::WrongState);
        assert!(refused.body.message.contains("only grow"), "{}", refused.body.message);
    }
    let listed = tier.signer_releases().expect("list");
    assert_eq!(listed.iter().map(|r| r.version).collect::<Vec<_>>(), [2]);
}
