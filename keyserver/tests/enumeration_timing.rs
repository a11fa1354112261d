//! Do consent, pre-login and sign-in tell, by how long they take, which ids
//! exist? An unknown id, an active person, a revoked one and a pending
//! application are each asked many times with a wrong phrase or pass
//! phrase, in one randomly interleaved sequence (so that machine noise falls
//! on every class alike), in the key tier on SQLite with its audit log and
//! fsyncs. The stated bound: each class's median within 15 % of the unknown
//! id's or 0.3 ms (a tenth of one disk write); for pre-login, a read of
//! some 50 µs, within 20 % or 15 µs. Before the work was made
//! alike, a wrong sign-in for a known user took a median 12 ms against
//! 1.5 ms for an unknown one. A noisy run is retried once with fresh samples.
//!
//! Runs apart, in its own process, so that no other test shares its clock.
//! Run with `-- --nocapture` to see the figures.

#[allow(dead_code)]
#[path = "integration/common/in_process.rs"]
mod in_process;

use std::sync::Mutex;
use std::time::Instant;

use in_process::{Clocked, stray_phrase};
use signet_crypto::keys::UserKey;
use signet_keyserver::keys::Policy;
use signet_schema::KeySize;
use signet_schema::api::{PreloginRequest, RevocationReason, RevokeRequest, SigninRequest};
use signet_schema::protocol::Bytes;

/// The tests of this file run one at a time: each would be the other's noise.
static SERIAL: Mutex<()> = Mutex::new(());

/// The classes, the unknown id first: every other is compared with it.
const IDS: [&str; 4] = ["nobody", "active", "revoked", "pending"];

/// A key tier where no count of wrong guesses ever makes anyone wait (the
/// work of a refusal is under test, not the waits), with one id of each class.
fn rig() -> Clocked {
    let rig = Clocked::open(Policy {
        free_account_failures: i64::MAX,
        free_consent_attempts: i64::MAX,
        kdf: signet_schema::KdfParams::FLOOR,
        key_bits: KeySize::Rsa2048,
        ..Policy::default()
    });
    let key = UserKey::generate(KeySize::Rsa2048).expect("keygen");
    let (_, phrase) = rig.apply("active", &key);
    rig.consent("active", &phrase).expect("consent");
    let (verifier, phrase) = rig.apply("revoked", &key);
    rig.consent("revoked", &phrase).expect("consent");
    rig.tier
        .revoke(RevokeRequest {
            user_id: "revoked".into(),
            verifier: Bytes(verifier),
            reason: RevocationReason::KeyCompromise,
        })
        .expect("revoke");
    rig.apply("pending", &key);
    rig
}

fn random_below(n: usize) -> usize {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("rng");
    (u64::from_le_bytes(b) % n as u64) as usize
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Times `samples` calls of `ask` per id in one shuffled sequence; answers
/// each id's median in milliseconds.
fn medians(samples: usize, ask: &dyn Fn(&str)) -> Vec<f64> {
    let mut order: Vec<usize> = (0..IDS.len()).flat_map(|i| std::iter::repeat_n(i, samples)).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, random_below(i + 1));
    }
    let mut timings: Vec<Vec<f64>> = vec![Vec::with_capacity(samples); IDS.len()];
    for class in order {
        let start = Instant::now();
        ask(IDS[class]);
        timings[class].push(start.elapsed().as_secs_f64() * 1e3);
    }
    timings.into_iter().map(median).collect()
}

/// Whether every id's median is within `relative` of the unknown id's, or
/// within `floor_ms`; prints the figures.
fn alike(label: &str, medians: &[f64], relative: f64, floor_ms: f64) -> bool {
    let reference = medians[0];
    let bound = (reference * relative).max(floor_ms);
    let mut ok = true;
    for (id, m) in IDS.iter().zip(medians) {
        let within = (m - reference).abs() <= bound;
        eprintln!(
            "  {label} {id:<8} median {m:.3} ms ({:+.1} % against an unknown id){}",
            (m / reference - 1.0) * 100.0,
            if within { "" } else { "  OUT OF BOUND" }
        );
        ok &= within;
    }
    ok
}

/// Measures `ask` (after a warm-up) and checks the bound, once more with
/// fresh samples if the first run was out of it.
fn check(label: &str, samples: usize, relative: f64, floor_ms: f64, ask: &dyn Fn(&str)) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..10 {
        for id in IDS {
            ask(id);
        }
    }
    if alike(label, &medians(samples, ask), relative, floor_ms) {
        return;
    }
    let second = medians(samples, ask);
    assert!(
        alike(&format!("{label} (retry)"), &second, relative, floor_ms),
        "{label}: the time taken tells ids apart: {second:?} ms"
    );
}

#[test]
fn a_wrong_sign_in_takes_as_long_for_every_id() {
    let rig = rig();
    check("sign-in", 300, 0.15, 0.3, &|id| {
        let refused = rig.tier.signin(SigninRequest {
            user_id: id.into(),
            verifier: Bytes(vec![9; 32]),
        });
        assert!(refused.is_err(), "{id}");
    });
}

#[test]
fn a_wrong_consent_phrase_takes_as_long_for_every_id() {
    let rig = rig();
    let wrong = stray_phrase();
    check("consent", 300, 0.15, 0.3, &|id| {
        assert!(rig.consent(id, &wrong).is_err(), "{id}");
    });
}

#[test]
fn pre_login_takes_as_long_for_every_id() {
    let rig = rig();
    check("pre-login", 3000, 0.20, 0.015, &|id| {
        rig.tier
            .prelogin(PreloginRequest { user_id: id.into() })
            .expect("prelogin");
    });
}
