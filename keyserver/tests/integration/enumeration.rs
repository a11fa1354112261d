//! Consent tells no one which ids exist: an unknown id, an active person, a
//! revoked one and an application whose letter could have arrived get the
//! same answers and leave the same audit trail, wrong phrase after wrong
//! phrase; only the letter's holder learns more (consent given already, the
//! letter locked). A new application cannot be locked by guesses before its
//! letter could have arrived: its waits only grow. In the key tier, on a
//! clock the test moves. (Sign-in's counterpart is in `signin.rs`; the
//! timing of both in `enumeration_timing.rs`.)

use signet_crypto::keys::UserKey;
use signet_keyserver::keys::Policy;
use signet_schema::KeySize;
use signet_schema::api::{ApiErrorCode, RevocationReason, RevokeRequest};
use signet_schema::protocol::Bytes;

use crate::common::in_process::{Clocked, stray_phrase};

#[test]
fn consent_answers_every_id_alike() {
    let rig = Clocked::open(Policy::default());
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
    let (_, old_phrase) = rig.apply("old", &key);
    rig.advance(policy.letter_arrival_seconds);
    let (_, young_phrase) = rig.apply("young", &key);

    // The right phrase, once more: only its holder learns that consent was given.
    let again = rig.consent("active", &active_phrase).expect_err("consented already");
    assert_eq!(again.0, ApiErrorCode::WrongState);

    let wrong = stray_phrase();
    let alike = ["nobody", "active", "revoked", "old"];
    let mut transcripts: Vec<Vec<(ApiErrorCode, String)>> = vec![Vec::new(); alike.len() + 1];
    for _ in 0..policy.max_consent_attempts + 2 {
        for _ in 0..2 {
            for (i, user_id) in alike.iter().chain(["young"].iter()).enumerate() {
                transcripts[i].push(rig.consent(user_id, &wrong).expect_err("a wrong phrase"));
            }
        }
        rig.advance(policy.longest_wait_seconds);
    }
    for (user_id, transcript) in alike.iter().zip(&transcripts).skip(1) {
        assert_eq!(
            transcript, &transcripts[0],
            "{user_id} is answered unlike an unknown id"
        );
    }
    let first = &transcripts[0];
    assert_eq!(first[0].0, ApiErrorCode::WrongPhrase);
    assert!(first.iter().any(|(_, m)| m.contains("try again in")), "{first:?}");
    assert!(first.last().is_some_and(|(_, m)| m.contains("new letter")), "{first:?}");
    for user_id in alike {
        assert_eq!(
            rig.events("consent.failed", user_id),
            rig.events("consent.failed", "nobody"),
            "{user_id}"
        );
        assert_eq!(rig.events("application.locked", user_id), 1, "{user_id}");
    }

    // The young application was never locked: it waits, and then its letter works.
    let young = transcripts.last().expect("young");
    assert!(young.iter().all(|(_, m)| !m.contains("new letter")), "{young:?}");
    assert_eq!(rig.events("application.locked", "young"), 0);
    rig.advance(policy.longest_wait_seconds);
    rig.consent("young", &young_phrase)
        .expect("the letter's holder consents");

    // The locked letter stays locked, even for its holder.
    let locked = rig.consent("old", &old_phrase).expect_err("locked");
    assert!(locked.1.contains("new letter"), "{locked:?}");
}
