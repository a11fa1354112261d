//! Everything of the sealed channel that arrives from outside: the bootstrap
//! document and its signed envelope (checked against a pinned key), the
//! channel open request, and a sealed message opened with session keys.
//! None of them may panic, and nothing but a genuine signature or tag may
//! pass.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signet_crypto::channel::{Direction, SessionKeys, verify_bootstrap};
use signet_crypto::keys::UserKey;
use signet_schema::channel::{BootstrapDocument, OpenRequest, SealedMessage, SignedBootstrap};

/// A fixed key's SubjectPublicKeyInfo stands for the pinned integrity key.
fn pinned() -> &'static [u8] {
    static SPKI: OnceLock<Vec<u8>> = OnceLock::new();
    SPKI.get_or_init(|| {
        let key = UserKey::from_pkcs8_der(include_bytes!("../../schema/crypto/tests/vectors/sign/key.pk8.der"))
            .expect("the vector key parses");
        key.public_key().to_spki_der().expect("the vector key encodes")
    })
}

fn session() -> &'static SessionKeys {
    static KEYS: OnceLock<SessionKeys> = OnceLock::new();
    KEYS.get_or_init(|| SessionKeys::derive(&[7; 32], &[1; 16], &[2; 16]))
}

fuzz_target!(|data: &[u8]| {
    let _ = BootstrapDocument::from_json(data);
    if let Ok(signed) = serde_json::from_slice::<SignedBootstrap>(data) {
        assert!(
            verify_bootstrap(&signed, pinned(), 0).is_err(),
            "a made-up envelope verified against the pinned key"
        );
    }
    if let Ok(request) = serde_json::from_slice::<OpenRequest>(data) {
        let _ = request.validate();
    }
    if let Ok(sealed) = serde_json::from_slice::<SealedMessage>(data) {
        let _ = sealed.validate();
        assert!(
            session()
                .open(Direction::ClientToServer, sealed.counter, "POST", "/v1/signin", &sealed.body.0)
                .is_err(),
            "a made-up body opened under the session keys"
        );
    }
    // The raw bytes as a sealed body, too.
    assert!(session().open(Direction::ServerToClient, 0, "POST", "/v1/signin", data).is_err());
});
