//! Consent tells no one which ids exist: an unknown id, an active person, a
//! revoked one and a pending application get the same answers and leave the
//! same audit trail, wrong phrase after wrong phrase, waits included; only
//! the letter's holder learns more (consent given already). The right
//! phrase is always tried, so no flood of wrong ones keeps the holder out.
//! In the key tier, on a clock the test moves. (Sign-in's counterpart is in
//! `signin.rs`; the timing of both in `enumeration_timing.rs`.)

use signet_crypto::keys::UserKey;
use signet_keyserver::keys::Policy;
use signet_schema::KeySize;
use signet_schema::api::{ApiErrorCode, RevocationReason, RevokeRequest};
use signet_schema::protocol::Bytes;

use crate::common::in_process::{Clocked, stray_phrase};

#[test]
fn consent_answers_every_id_alike() {
    let rig = Clocked::open(crate::common::test_policy());
    let policy = Policy::default();
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");

    let (_, active_phrase) = rig.apply("active", &key);
    rig.consent("active", &active_phrase).expect("consent");
    let (revoked_verifier, revoked_phrase) = rig.apply("revoked", &key);
    rig.consent("revoked", &revoked_phrase).expect("consent");
    rig.tier
        .revoke(RevokeRequest {
            user_id: "revoked".into(),
            verifier: Bytes(revoked_verifier),
            reason: RevocationReason::CessationOfOperation,
        })
        .expect("revoke");
    let (_, pending_phrase) = rig.apply("pending", &key);

    // The right phrase, once more: only its holder learns that consent was given.
    let again = rig.consent("active", &active_phrase).expect_err("consented already");
    assert_eq!(again.0, ApiErrorCode::WrongState);

    let wrong = stray_phrase();
    let ids = ["nobody", "active", "revoked", "pending"];
    let mut transcripts: Vec<Vec<(ApiErrorCode, String)>> = vec![Vec::new(); ids.len()];
    for _ in 0..policy.free_consent_attempts + 4 {
        for _ in 0..2 {
            for (i, user_id) in ids.iter().enumerate() {
                transcripts[i].push(rig.consent(user_id, &wrong).expect_err("a wrong phrase"));
            }
        }
        rig.advance(1);
    }
    for (user_id, transcript) in ids.iter().zip(&transcripts).skip(1) {
        assert_eq!(
            transcript, &transcripts[0],
            "{user_id} is answered unlike an unknown id"
        );
    }
    let first = &transcripts[0];
    assert_eq!(first[0].0, ApiErrorCode::WrongPhrase);
    assert!(first.iter().any(|(_, m)| m.contains("try again in")), "{first:?}");
    for user_id in ids {
        assert_eq!(
            rig.events("consent.failed", user_id),
            rig.events("consent.failed", "nobody"),
            "{user_id}"
        );
        assert_eq!(rig.events("application.locked", user_id), 0, "no letter is ever locked");
    }

    // Inside a wait, the letter's holder still consents: the phrase is always tried.
    let (code, message) = rig.consent("pending", &wrong).expect_err("waiting");
    assert!(
        code == ApiErrorCode::Locked && message.contains("try again in"),
        "{message}"
    );
    rig.consent("pending", &pending_phrase)
        .expect("the letter's holder consents");
}
