//! What the key tier reads from outside beyond the channel: the consent
//! phrase a person types, the audit head file (checked against the
//! integrity key), the signing headers of a staff request, and a PKCS#10
//! request at the CA. The first byte picks the parser; none may panic, and
//! neither a made-up head nor a made-up request may pass its checks.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signet_crypto::keys::{PublicKey, UserKey};
use signet_keyserver::keys::audit::Head;
use signet_keyserver::keys::ca::request;
use signet_keyserver::keys::consent::ConsentPhrase;
use signet_keyserver::keys::staff::{SignedHeaders, SignedRequest};
use signet_schema::RegistrationData;

/// A fixed key stands for the integrity key.
fn integrity_key() -> &'static PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    KEY.get_or_init(|| {
        UserKey::from_pkcs8_der(include_bytes!("../../schema/crypto/tests/vectors/sign/key.pk8.der"))
            .expect("the vector key parses")
            .public_key()
    })
}

fn registration() -> RegistrationData {
    RegistrationData {
        user_id: "alice".into(),
        common_name: "Alice Example".into(),
        organization: "Example Ltd".into(),
        organizational_unit: String::new(),
        email: "alice@example.com".into(),
        country: "GB".into(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match which % 4 {
        0 => {
            let _ = ConsentPhrase::parse(&text);
        }
        1 => assert!(
            Head::parse(&text, integrity_key()).is_err(),
            "a made-up audit head verified"
        ),
        2 => {
            let mut fields = text.split('\n').map(|s| Some(s.to_owned()));
            let headers = SignedHeaders {
                signer: fields.next().flatten(),
                timestamp: fields.next().flatten(),
                nonce: fields.next().flatten(),
                signature: fields.next().flatten(),
            };
            let path = fields.next().flatten().unwrap_or_default();
            let _ = SignedRequest::from_parts("POST", &path, "", headers, bytes::Bytes::new());
        }
        _ => assert!(
            request::check(rest, &registration()).is_err(),
            "a made-up PKCS#10 request passed the CA's checks"
        ),
    }
});
