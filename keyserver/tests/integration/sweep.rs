//! Applications and their ids expire with their letter: the sweep expires
//! applications whose letter ran out (awaiting consent, or locked by an
//! earlier version of the server), frees the
//! ids of people who never consented, puts a reset person who applied again
//! back to `reset`, and forgets old guess counters. The help desk can free a
//! squatted id at once. In the key tier, on a clock the test moves.

use signet_crypto::keys::UserKey;
use signet_keyserver::keys::Policy;
use signet_keyserver::keys::db::models::{self, GuessPurpose, UserState};
use signet_keyserver::keys::sweep::{GUESSES_KEPT_SECONDS, Swept};
use signet_schema::KeySize;
use signet_schema::api::ApiErrorCode;

use crate::common::in_process::{Clocked, stray_phrase};

fn user(rig: &Clocked, user_id: &str) -> Option<models::User> {
    rig.tier
        .database()
        .read(|c| models::users::find(c, user_id))
        .expect("read")
}

#[test]
fn ids_expire_with_their_letter() {
    let rig = Clocked::open(crate::common::test_policy());
    let policy = Policy::default();
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    // A squatter applies for two ids and never consents; someone guesses at one of them.
    let (_, squatted) = rig.apply("squatted", &key);
    rig.apply("guessed", &key);
    for _ in 0..2 * policy.free_consent_attempts {
        let _ = rig.consent("guessed", &stray_phrase());
    }
    // Meanwhile someone applies and consents in time.
    let (_, phrase) = rig.apply("kept", &key);
    rig.consent("kept", &phrase).expect("consent");
    assert_eq!(rig.tier.sweep().expect("sweep"), Swept::default());

    // The letters run out: both ids are freed, the active person stays.
    rig.advance(i64::from(policy.letter_validity_days) * 86_400 + 1);
    let swept = rig.tier.sweep().expect("sweep");
    assert_eq!((swept.expired, swept.freed), (2, 2), "{swept:?}");
    assert!(user(&rig, "squatted").is_none());
    assert!(user(&rig, "guessed").is_none());
    assert_eq!(user(&rig, "kept").expect("kept").state, UserState::Active);
    assert_eq!(rig.events("user.freed", "squatted"), 1);
    assert_eq!(rig.events("application.expired", "squatted"), 1);
    // The old letter's phrase opens nothing now; it is answered as for any unknown id.
    let old = rig.consent("squatted", &squatted).expect_err("expired");
    assert_eq!(old.0, ApiErrorCode::WrongPhrase);
    // Anyone may apply for the ids again.
    let (_, phrase) = rig.apply("squatted", &key);
    rig.consent("squatted", &phrase).expect("the id's new owner consents");
    rig.apply("guessed", &key);
    // Nothing is left to do.
    let swept = rig.tier.sweep().expect("sweep");
    assert_eq!((swept.expired, swept.freed), (0, 0));

    // Guess counters of unknown ids are forgotten a day after their last change.
    let _ = rig.consent("nobody", &stray_phrase());
    let kept = |rig: &Clocked| {
        rig.tier
            .database()
            .read(|c| models::guesses::get(c, GuessPurpose::Consent, "nobody"))
            .expect("read")
            .failures
    };
    assert_eq!(kept(&rig), 1);
    rig.advance(GUESSES_KEPT_SECONDS + 1);
    assert!(rig.tier.sweep().expect("sweep").forgotten >= 1);
    assert_eq!(kept(&rig), 0);
}

#[test]
fn a_reset_person_who_applies_again_goes_back_to_reset() {
    let rig = Clocked::open(crate::common::test_policy());
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    let (_, phrase) = rig.apply("dana", &key);
    rig.consent("dana", &phrase).expect("consent");
    // Reset by the help desk (as `reset_user` leaves it), then a new application that lapses.
    rig.tier
        .database()
        .write(|c| models::users::set_state(c, "dana", UserState::Reset, rig.now()))
        .expect("reset");
    rig.advance(1);
    rig.apply("dana", &key);
    rig.advance(i64::from(Policy::default().letter_validity_days) * 86_400 + 1);
    let swept = rig.tier.sweep().expect("sweep");
    assert_eq!((swept.expired, swept.freed), (1, 0));
    // Dana held a certificate: the id stays hers, and she may apply again.
    assert_eq!(user(&rig, "dana").expect("dana").state, UserState::Reset);
    rig.apply("dana", &key);
}
