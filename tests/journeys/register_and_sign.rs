//! A person's first day, across the real processes: the signer generates
//! and seals a key; every body to and from the key server travels sealed
//! between the signer and the key tier; the operator bootstraps the
//! applicant as the first help-desk account and hands over the letter; the
//! person consents, signs in with a fresh signer, signs a payment order as
//! detached CMS, and OpenSSL verifies it against the published CA.

use base64::Engine as _;
use signet_client::child::SignerProcess;
use signet_journeys::{KeyServer, call, openssl, signer};
use signet_schema::api::{ApplyRequest, ConsentRequest, Policy, PreloginRequest, SigninRequest};
use signet_schema::channel::{OpenResponse, SealedMessage, SignedBootstrap};
use signet_schema::protocol::{Bytes, ChannelPeer, Passphrase, Request, Response, SignatureFormat};
use signet_schema::{RegistrationData, SignatureScheme};

const SEALED: &str = signet_schema::channel::SEALED_CONTENT_TYPE;

/// Opens a sealed channel from `signer` to the key server; returns the integrity key to pin.
fn open_channel(signer: &mut SignerProcess, server: &signet_journeys::Https, pinned: Option<Bytes>) -> Bytes {
    let (status, body) = server.get("/v1/bootstrap");
    assert_eq!(status, 200);
    let bootstrap: SignedBootstrap = serde_json::from_slice(&body).expect("bootstrap");
    let Response::ChannelOpened {
        open_request,
        session_id,
        integrity_key,
        ..
    } = call(
        signer,
        Request::ChannelOpen {
            peer: ChannelPeer::KeyServer,
            bootstrap,
            pinned_integrity_key: pinned,
        },
    )
    else {
        panic!("no channel")
    };
    let (status, body) = server.post(
        "/v1/channel/open",
        "application/json",
        &serde_json::to_vec(&open_request).expect("json"),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let opened: OpenResponse = serde_json::from_slice(&body).expect("open response");
    assert_eq!(opened.session_id, session_id);
    integrity_key
}

/// POSTs `body` to `path`, sealed and opened by the signer: (status, JSON answer).
fn sealed_post(
    signer: &mut SignerProcess,
    server: &signet_journeys::Https,
    path: &str,
    body: &impl serde::Serialize,
) -> (u16, serde_json::Value) {
    let plaintext = Bytes(serde_json::to_vec(body).expect("json"));
    let Response::ChannelSealed { message } = call(
        signer,
        Request::ChannelSeal {
            peer: ChannelPeer::KeyServer,
            method: "POST".into(),
            path: path.into(),
            plaintext,
        },
    ) else {
        panic!("not sealed")
    };
    let (status, answer) = server.post(path, SEALED, &serde_json::to_vec(&message).expect("json"));
    let message: SealedMessage = serde_json::from_slice(&answer).unwrap_or_else(|e| {
        panic!(
            "{path}: not a sealed answer ({e}): {}",
            String::from_utf8_lossy(&answer)
        )
    });
    let Response::ChannelResponse { plaintext } = call(
        signer,
        Request::ChannelOpenResponse {
            peer: ChannelPeer::KeyServer,
            method: "POST".into(),
            path: path.into(),
            message,
        },
    ) else {
        panic!("not opened")
    };
    (status, serde_json::from_slice(&plaintext.0).expect("json answer"))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[test]
fn apply_consent_sign_in_and_sign_a_payment_order() {
    let server = KeyServer::start();
    let https = server.client();
    let registration = RegistrationData {
        user_id: "dana".into(),
        common_name: "Dana Example".into(),
        organization: "Example Bank".into(),
        organizational_unit: "Payments".into(),
        email: "dana@example.com".into(),
        country: "GB".into(),
    };
    let passphrase = || Passphrase::new("a long pass phrase that dana remembers".into());

    // Apply: the signer makes the key, seals it and writes the request.
    let (_, policy) = https.get("/v1/policy");
    let policy: Policy = serde_json::from_slice(&policy).expect("policy");
    let mut first = signer();
    let pinned = open_channel(&mut first, &https, None);
    let Response::KeyGenerated {
        record,
        certification_request,
        verifier,
        ..
    } = call(
        &mut first,
        Request::GenerateKey {
            registration: registration.clone(),
            passphrase: passphrase(),
            kdf: policy.kdf,
            key_bits: policy.key_bits,
        },
    )
    else {
        panic!("no key")
    };
    let apply = ApplyRequest {
        registration: registration.clone(),
        record,
        certification_request,
        verifier,
        nonce: "journey-nonce-0001-dana".into(),
        timestamp: now(),
    };
    let (status, applied) = sealed_post(&mut first, &https, "/v1/apply", &apply);
    assert_eq!(status, 200, "{applied}");
    assert_eq!(call(&mut first, Request::End), Response::Ended);

    // The operator makes dana the first help-desk account and prints her letter.
    let phrase = server.bootstrap("dana");

    // Consent, sealed, through a new signer that pins the server's key.
    let mut second = signer();
    open_channel(&mut second, &https, Some(pinned.clone()));
    let (status, consented) = sealed_post(
        &mut second,
        &https,
        "/v1/consent",
        &ConsentRequest {
            user_id: "dana".into(),
            phrase,
        },
    );
    assert_eq!(status, 200, "{consented}");
    let certificate = base64::engine::general_purpose::STANDARD
        .decode(consented["certificate"].as_str().expect("certificate"))
        .expect("base64");

    // Sign in: pre-login, unlock, release, open — the key exists only in this signer.
    let (_, pre) = sealed_post(
        &mut second,
        &https,
        "/v1/prelogin",
        &PreloginRequest { user_id: "dana".into() },
    );
    let pre: signet_schema::api::PreloginResponse = serde_json::from_value(pre).expect("prelogin");
    let Response::Unlocked { verifier } = call(
        &mut second,
        Request::Unlock {
            user_id: "dana".into(),
            kdf: pre.kdf,
            salt: pre.salt,
            passphrase: passphrase(),
        },
    ) else {
        panic!("not unlocked")
    };
    let (status, signed_in) = sealed_post(
        &mut second,
        &https,
        "/v1/signin",
        &SigninRequest {
            user_id: "dana".into(),
            verifier,
        },
    );
    assert_eq!(status, 200, "{signed_in}");
    let signed_in: signet_schema::api::SigninResponse = serde_json::from_value(signed_in).expect("signin");
    let Response::RecordOpened { .. } = call(
        &mut second,
        Request::OpenRecord {
            record: signed_in.record,
            registration: signed_in.registration,
        },
    ) else {
        panic!("record not opened")
    };

    // Sign a payment order as detached CMS; OpenSSL checks it with the published CA.
    let order = b"<Document><CstmrCdtTrfInitn><GrpHdr><MsgId>JOURNEY-1</MsgId></GrpHdr></CstmrCdtTrfInitn></Document>";
    let Response::Signed { signature } = call(
        &mut second,
        Request::Sign {
            content: Bytes(order.to_vec()),
            scheme: SignatureScheme::RsaPssSha256,
            format: SignatureFormat::Cms,
            certificate: Some(Bytes(certificate)),
        },
    ) else {
        panic!("not signed")
    };
    assert_eq!(call(&mut second, Request::End), Response::Ended);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("ca.pem"), https.get("/v1/ca.pem").1).expect("ca");
    std::fs::write(dir.path().join("order.xml"), order).expect("order");
    std::fs::write(dir.path().join("order.p7s"), &signature.0).expect("signature");
    let verify = [
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        "order.p7s",
        "-content",
        "order.xml",
    ];
    let (ok, text) = openssl(
        dir.path(),
        &[&verify[..], &["-CAfile", "ca.pem", "-out", "/dev/null"]].concat(),
    );
    assert!(ok && text.contains("Verification successful"), "{text}");
    std::fs::write(dir.path().join("order.xml"), b"<Document>changed</Document>").expect("tamper");
    let (ok, _) = openssl(
        dir.path(),
        &[&verify[..], &["-CAfile", "ca.pem", "-out", "/dev/null"]].concat(),
    );
    assert!(!ok, "a changed order must not verify");
}
