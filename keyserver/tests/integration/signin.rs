//! Sign-in inside the key tier, on SQLite and (when configured) PostgreSQL:
//! the right pass phrase for an account with nothing to reset is answered by
//! a read transaction and never waits for the write lock, while every wrong
//! guess, every lock and every counter reset still goes through the one
//! write transaction that counts failures serially. Answers kept in the
//! release cache are served only while nothing they depend on has changed,
//! whoever changed it.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use signet_keyserver::error::Failure;
use signet_keyserver::keys::db::models::{
    self, Certificate, CertificateStatus, KeyRecord, NewUser, UserRole, UserState,
};
use signet_keyserver::keys::db::{DbError, WRITE_LOCK_KEY};
use signet_keyserver::keys::storage_key::{BlobKind, StorageKey};
use signet_keyserver::keys::{Clock, KeyTier, Policy, system_clock};
use signet_schema::api::{ApiErrorCode, RevocationReason, RevokeRequest, SigninRequest, SigninResponse};
use signet_schema::protocol::Bytes;

use crate::common::PgDatabase;

const RIGHT: [u8; 32] = [7; 32];

/// A key tier on a fresh database, with its data directory.
struct Rig {
    tier: Arc<KeyTier>,
    /// What the write lock is taken on from outside the tier.
    database_url: String,
    _dir: tempfile::TempDir,
    _postgres: Option<PgDatabase>,
}

impl Rig {
    fn sqlite() -> Rig {
        Rig::open(None)
    }

    fn postgres() -> Option<Rig> {
        PgDatabase::create().map(|pg| Rig::open(Some(pg)))
    }

    fn open(postgres: Option<PgDatabase>) -> Rig {
        Rig::open_with(postgres, crate::common::test_policy(), system_clock())
    }

    fn open_with(postgres: Option<PgDatabase>, policy: Policy, clock: Clock) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let url = postgres.as_ref().map(|pg| pg.url.clone());
        let tier = KeyTier::open(&data_dir, url.as_deref(), policy, clock).expect("key tier");
        let database_url = url.unwrap_or_else(|| data_dir.join("signet.db").display().to_string());
        Rig {
            tier: Arc::new(tier),
            database_url,
            _dir: dir,
            _postgres: postgres,
        }
    }

    /// An active user as consent leaves one: a record sealed under the
    /// storage key, the verifier's keyed tag, an active certificate.
    fn add_user(&self, user_id: &str) {
        let storage = StorageKey::load_or_create(self.tier.data_dir()).expect("storage key");
        let now = crate::common::now();
        let registration = serde_json::to_string(&crate::common::registration(user_id)).expect("json");
        let record = KeyRecord {
            user_id: user_id.into(),
            sealed_record: storage
                .seal(BlobKind::KeyRecord, user_id, format!("record of {user_id}").as_bytes())
                .expect("seal"),
            kdf_m: 19_456,
            kdf_t: 2,
            kdf_p: 1,
            salt: vec![1; 16],
            verifier_hash: self.tier.verifier_tag(user_id, &RIGHT),
            public_key_fingerprint: vec![2; 32],
            updated_at: now,
        };
        let certificate = Certificate {
            serial: format!("{:0>32}", hex::encode(user_id)),
            user_id: user_id.into(),
            der: format!("certificate of {user_id}").into_bytes(),
            sha256_fingerprint: "00".repeat(32),
            subject: format!("CN={user_id}"),
            not_before: now - 60,
            not_after: now + 86_400,
            status: CertificateStatus::Active,
            revoked_at: None,
            revocation_reason: None,
            issued_at: now,
        };
        self.tier
            .database()
            .write(|c| -> Result<(), DbError> {
                models::users::insert(
                    c,
                    &NewUser {
                        user_id: user_id.into(),
                        registration: registration.clone(),
                        role: UserRole::User,
                        state: UserState::Active,
                        created_at: now,
                        updated_at: now,
                    },
                )?;
                models::key_records::upsert(c, &record)?;
                models::certificates::insert(c, &certificate)
            })
            .expect("insert the user");
    }

    fn user(&self, user_id: &str) -> models::User {
        self.tier
            .database()
            .read(|c| models::users::get(c, user_id))
            .expect("read the user")
    }

    fn set_failures(&self, user_id: &str, failures: i64, locked_until: Option<i64>) {
        self.tier
            .database()
            .write(|c| models::users::set_sign_in_failures(c, user_id, failures, locked_until, crate::common::now()))
            .expect("set failures");
    }

    /// Every audit event of `kind`.
    fn events(&self, kind: &str) -> Vec<models::Event> {
        self.tier
            .database()
            .read(|c| models::events::range(c, 1, 100_000))
            .expect("events")
            .into_iter()
            .filter(|e| e.kind == kind)
            .collect()
    }

    /// Holds the write lock from outside the key tier (another process would
    /// hold it the same way) until the guard is dropped.
    fn hold_write_lock(&self) -> WriteLock {
        if self.database_url.starts_with("postgres") {
            let mut c = diesel::PgConnection::establish(&self.database_url).expect("connect");
            c.batch_execute(&format!("SELECT pg_advisory_lock({WRITE_LOCK_KEY})"))
                .expect("take the lock");
            WriteLock::Postgres(c)
        } else {
            let mut c = diesel::SqliteConnection::establish(&self.database_url).expect("connect");
            c.batch_execute("BEGIN IMMEDIATE").expect("take the lock");
            WriteLock::Sqlite(c)
        }
    }

    /// Starts a sign-in on another thread; its answer arrives on the receiver.
    fn sign_in_later(&self, user_id: &str, verifier: [u8; 32]) -> mpsc::Receiver<Result<SigninResponse, Failure>> {
        let (send, receive) = mpsc::channel();
        let tier = self.tier.clone();
        let request = request(user_id, verifier);
        std::thread::spawn(move || {
            let _ = send.send(tier.signin(request));
        });
        receive
    }
}

enum WriteLock {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        match self {
            WriteLock::Sqlite(c) => c.batch_execute("ROLLBACK").expect("release"),
            WriteLock::Postgres(c) => c
                .batch_execute(&format!("SELECT pg_advisory_unlock({WRITE_LOCK_KEY})"))
                .expect("release"),
        }
    }
}

fn request(user_id: &str, verifier: [u8; 32]) -> SigninRequest {
    SigninRequest {
        user_id: user_id.into(),
        verifier: Bytes(verifier.to_vec()),
    }
}

fn code(outcome: Result<SigninResponse, Failure>) -> Result<(), ApiErrorCode> {
    outcome.map(|_| ()).map_err(|f| f.body.code)
}

/// Long enough for a sign-in that does not wait to finish many times over;
/// far shorter than SQLite's busy time-out (5 s), after which a waiting
/// writer would give up.
const WAIT: Duration = Duration::from_millis(1500);

/// While something else holds the write lock, right sign-ins are answered,
/// even with failures on record that hold nothing back; a wrong guess, and
/// a right one while the account's wait holds (which it refuses untried),
/// wait for the lock.
fn right_sign_ins_do_not_wait_for_writers(rig: &Rig) {
    rig.add_user("alice");
    rig.add_user("bob");
    rig.add_user("carol");
    rig.set_failures("bob", 25, Some(crate::common::now() + 600));
    rig.set_failures("carol", 3, Some(crate::common::now() - 1));

    let lock = rig.hold_write_lock();
    let right: Vec<_> = (0..8)
        .map(|i| rig.sign_in_later(if i % 2 == 0 { "alice" } else { "carol" }, RIGHT))
        .collect();
    for answer in right {
        let released = answer
            .recv_timeout(WAIT)
            .expect("a right sign-in is answered while the write lock is held")
            .expect("released");
        assert!(released.record.0.starts_with(b"record of "));
    }
    let wrong = rig.sign_in_later("alice", [8; 32]);
    let waiting = rig.sign_in_later("bob", RIGHT);
    for (what, pending) in [("wrong guess", &wrong), ("sign-in inside a wait", &waiting)] {
        assert!(
            pending.recv_timeout(Duration::from_millis(300)).is_err(),
            "a {what} was answered without the write lock"
        );
    }
    drop(lock);
    assert_eq!(
        code(wrong.recv_timeout(WAIT * 4).expect("answered")),
        Err(ApiErrorCode::SigninFailed)
    );
    assert_eq!(
        code(waiting.recv_timeout(WAIT * 4).expect("answered")),
        Err(ApiErrorCode::Locked)
    );

    // The wrong guess was counted; nothing else was written, and a right
    // sign-in resets no count (counts run out by time alone).
    assert_eq!(rig.user("alice").failed_logins, 1);
    assert_eq!(rig.user("bob").failed_logins, 25);
    assert_eq!(rig.user("carol").failed_logins, 3);
    assert_eq!(rig.events("signin.failed").len(), 1);
    let lock = rig.hold_write_lock();
    let right = rig.sign_in_later("alice", RIGHT);
    code(right.recv_timeout(WAIT).expect("answered")).expect("alice signs in");
    drop(lock);
    assert_eq!(rig.user("alice").failed_logins, 1);
}

#[test]
fn right_sign_ins_do_not_wait_for_writers_on_sqlite() {
    right_sign_ins_do_not_wait_for_writers(&Rig::sqlite());
}

#[test]
fn right_sign_ins_do_not_wait_for_writers_on_postgres() {
    let Some(rig) = Rig::postgres() else { return };
    right_sign_ins_do_not_wait_for_writers(&rig);
}

/// Wrong guesses racing the owner's right sign-ins: every guess is
/// counted, in one serial order, none lost, and the owner is answered.
fn guesses_are_counted_among_right_sign_ins(rig: &Rig) {
    rig.add_user("alice");
    let outcomes: Vec<(bool, Result<(), ApiErrorCode>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..48u8)
            .map(|i| {
                let tier = rig.tier.clone();
                let right = i % 3 == 0;
                scope.spawn(move || {
                    let verifier = if right { RIGHT } else { [100 + i; 32] };
                    (right, code(tier.signin(request("alice", verifier))))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    for (right, outcome) in &outcomes {
        match (right, outcome) {
            (true, Ok(())) | (false, Err(ApiErrorCode::SigninFailed)) => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    let mut counted: Vec<i64> = rig
        .events("signin.failed")
        .iter()
        .map(|event| {
            let detail: serde_json::Value = serde_json::from_str(&event.detail).expect("json");
            detail["consecutive"].as_i64().expect("count")
        })
        .collect();
    counted.sort_unstable();
    assert_eq!(
        counted,
        (1..=32).collect::<Vec<i64>>(),
        "each guess counted once, in turn"
    );
    assert_eq!(rig.user("alice").failed_logins, 32);
}

/// A policy under which no count of failures makes anyone wait: the counting alone is under test.
fn no_waits() -> Policy {
    Policy {
        free_account_failures: i64::MAX,
        ..crate::common::test_policy()
    }
}

#[test]
fn guesses_are_counted_among_right_sign_ins_on_sqlite() {
    guesses_are_counted_among_right_sign_ins(&Rig::open_with(None, no_waits(), system_clock()));
}

#[test]
fn guesses_are_counted_among_right_sign_ins_on_postgres() {
    let Some(pg) = PgDatabase::create() else { return };
    guesses_are_counted_among_right_sign_ins(&Rig::open_with(Some(pg), no_waits(), system_clock()));
}

const NEW: [u8; 32] = [9; 32];

/// A sign-in as the route answers one from an address the account signed
/// in from before: from the release cache when it holds a current answer.
fn answer(
    rig: &Rig,
    runtime: &tokio::runtime::Runtime,
    user_id: &str,
    verifier: [u8; 32],
) -> Result<SigninResponse, ApiErrorCode> {
    answer_from(rig, runtime, user_id, verifier, true)
}

/// A sign-in as the route answers one from a `recognised` address or not.
fn answer_from(
    rig: &Rig,
    runtime: &tokio::runtime::Runtime,
    user_id: &str,
    verifier: [u8; 32],
    recognised: bool,
) -> Result<SigninResponse, ApiErrorCode> {
    runtime
        .block_on(rig.tier.clone().signin_answer(request(user_id, verifier), recognised))
        .map(|json| serde_json::from_slice(&json).expect("a sign-in answer"))
        .map_err(|f| f.body.code)
}

fn hits(rig: &Rig) -> u64 {
    rig.tier.release_cache_figures().1
}

/// Whatever changes what a sign-in reads — a counted failure, a new pass
/// phrase, a lock, a revocation, in this process or through another
/// connection (another key tier, an operator's command) — is seen by the
/// very next sign-in; cached answers are served only in between.
fn cached_answers_stay_current(rig: &Rig) {
    rig.add_user("alice");
    rig.add_user("bob");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    // The first sign-in reads the database and keeps its answer; the next ones are served from the cache.
    let first = answer(rig, &runtime, "alice", RIGHT).expect("alice signs in");
    assert_eq!(rig.tier.release_cache_figures(), (1, 0));
    for _ in 0..3 {
        assert_eq!(answer(rig, &runtime, "alice", RIGHT).expect("alice signs in"), first);
    }
    assert_eq!(hits(rig), 3);
    let json = rig
        .tier
        .signin_answer_blocking(&request("alice", RIGHT), true)
        .expect("blocking caller");
    assert_eq!(serde_json::from_slice::<SigninResponse>(&json).expect("json"), first);
    assert_eq!(hits(rig), 4);

    // Another verifier is never answered from the cache: it is counted.
    assert_eq!(answer(rig, &runtime, "alice", NEW), Err(ApiErrorCode::SigninFailed));
    assert_eq!(rig.user("alice").failed_logins, 1);
    // The failure changed the generation: the right verifier is read afresh, and kept again.
    answer(rig, &runtime, "alice", RIGHT).expect("alice signs in");
    assert_eq!(rig.user("alice").failed_logins, 1);
    let before = hits(rig);
    answer(rig, &runtime, "alice", RIGHT).expect("served from the cache");
    assert_eq!(hits(rig), before + 1);

    // Another connection replaces alice's record and pass phrase (a re-registration).
    let other = signet_keyserver::keys::db::open(&rig.database_url).expect("another connection");
    let storage = StorageKey::load_or_create(rig.tier.data_dir()).expect("storage key");
    other
        .write(|c| -> Result<(), DbError> {
            let mut record = models::key_records::get(c, "alice")?;
            record.sealed_record = storage
                .seal(BlobKind::KeyRecord, "alice", b"new record of alice")
                .expect("seal");
            record.verifier_hash = rig.tier.verifier_tag("alice", &NEW);
            models::key_records::upsert(c, &record)
        })
        .expect("re-register");
    let hits_before = hits(rig);
    assert_eq!(answer(rig, &runtime, "alice", RIGHT), Err(ApiErrorCode::SigninFailed));
    let renewed = answer(rig, &runtime, "alice", NEW).expect("the new pass phrase");
    assert_eq!(renewed.record.0, b"new record of alice");
    for _ in 0..2 {
        assert_eq!(
            answer(rig, &runtime, "alice", NEW).expect("cached").record.0,
            b"new record of alice"
        );
    }
    assert_eq!(hits(rig), hits_before + 2);

    // Another connection makes alice's account wait: an address she never
    // signed in from is held, hers is not, and nothing is served stale.
    other
        .write(|c| {
            models::users::set_sign_in_failures(c, "alice", 25, Some(crate::common::now() + 600), crate::common::now())
        })
        .expect("wait");
    assert_eq!(
        answer_from(rig, &runtime, "alice", NEW, false),
        Err(ApiErrorCode::Locked)
    );
    answer(rig, &runtime, "alice", NEW).expect("from her own address");

    // Another key tier revokes bob; then this one revokes carol.
    answer(rig, &runtime, "bob", RIGHT).expect("bob signs in");
    answer(rig, &runtime, "bob", RIGHT).expect("bob, cached");
    other
        .write(|c| -> Result<(), DbError> {
            let record = models::key_records::get(c, "bob")?;
            models::erased_keys::put(c, &models::ErasedKey::of(&record, crate::common::now()))?;
            models::key_records::delete(c, "bob")?;
            for certificate in models::certificates::for_user(c, "bob", CertificateStatus::Active)? {
                models::certificates::set_status(
                    c,
                    &certificate.serial,
                    CertificateStatus::Revoked,
                    Some((crate::common::now(), "keyCompromise")),
                )?;
            }
            models::users::set_state(c, "bob", UserState::Revoked, crate::common::now())
        })
        .expect("revoke bob");
    assert_eq!(answer(rig, &runtime, "bob", RIGHT), Err(ApiErrorCode::Revoked));
    rig.add_user("carol");
    answer(rig, &runtime, "carol", RIGHT).expect("carol signs in");
    answer(rig, &runtime, "carol", RIGHT).expect("carol, cached");
    rig.tier
        .revoke(RevokeRequest {
            user_id: "carol".into(),
            verifier: Bytes(RIGHT.to_vec()),
            reason: RevocationReason::CessationOfOperation,
        })
        .expect("carol revokes");
    assert_eq!(answer(rig, &runtime, "carol", RIGHT), Err(ApiErrorCode::Revoked));
}

#[test]
fn cached_answers_stay_current_on_sqlite() {
    cached_answers_stay_current(&Rig::sqlite());
}

#[test]
fn cached_answers_stay_current_on_postgres() {
    let Some(rig) = Rig::postgres() else { return };
    cached_answers_stay_current(&rig);
}

/// A clock the test moves, starting now.
fn test_clock() -> (Arc<std::sync::atomic::AtomicI64>, Clock) {
    let time = Arc::new(std::sync::atomic::AtomicI64::new(crate::common::now()));
    let read = time.clone();
    (time, Arc::new(move || read.load(std::sync::atomic::Ordering::SeqCst)))
}

/// One wrong guess at `user_id`'s pass phrase: the code and message answered.
fn guess(rig: &Rig, user_id: &str) -> (ApiErrorCode, String) {
    match rig.tier.signin(request(user_id, [9; 32])) {
        Ok(_) => panic!("{user_id}: a wrong verifier was accepted"),
        Err(f) => (f.body.code, f.body.message),
    }
}

/// Unknown, active, revoked, reset and pending ids get the same answers,
/// message for message, and leave the same audit trail, through the free
/// failures, the growing waits and the lock: sign-in tells no one which ids
/// exist. Only the pass phrase's owner learns that a key was erased, and
/// pre-login answers an erased key's salt as it did before.
fn every_id_is_answered_alike(postgres: Option<PgDatabase>) {
    let (time, clock) = test_clock();
    let rig = Rig::open_with(postgres, crate::common::test_policy(), clock);
    let policy = Policy::default();
    for user_id in ["active", "revoked", "reset"] {
        rig.add_user(user_id);
    }
    rig.tier
        .revoke(RevokeRequest {
            user_id: "revoked".into(),
            verifier: Bytes(RIGHT.to_vec()),
            reason: RevocationReason::KeyCompromise,
        })
        .expect("revoked");
    // A help-desk reset erases the key the same way (see `reset_user`).
    rig.tier
        .database()
        .write(|c| -> Result<(), DbError> {
            let record = models::key_records::get(c, "reset")?;
            models::erased_keys::put(c, &models::ErasedKey::of(&record, crate::common::now()))?;
            models::key_records::delete(c, "reset")?;
            models::users::set_state(c, "reset", UserState::Reset, crate::common::now())
        })
        .expect("reset");
    rig.tier
        .database()
        .write(|c| {
            models::users::insert(
                c,
                &NewUser {
                    user_id: "pending".into(),
                    registration: serde_json::to_string(&crate::common::registration("pending")).expect("json"),
                    role: UserRole::User,
                    state: UserState::Pending,
                    created_at: crate::common::now(),
                    updated_at: crate::common::now(),
                },
            )
        })
        .expect("pending");
    let ids = ["nobody", "active", "revoked", "reset", "pending"];

    // Pre-login: an erased key's salt is still answered; every answer has one shape.
    let salt_of = |user_id: &str| {
        rig.tier
            .prelogin(signet_schema::api::PreloginRequest {
                user_id: user_id.into(),
            })
            .expect("prelogin")
            .salt
            .0
    };
    assert_eq!(salt_of("revoked"), vec![1; 16]);
    assert_eq!(salt_of("reset"), vec![1; 16]);
    assert_eq!(salt_of("nobody").len(), 16);
    assert_eq!(salt_of("nobody"), salt_of("nobody"), "decoys are stable");

    // A guess at an id nobody registered changes the sign-in generation as a
    // registered person's failure does (so no cached answer tells them apart).
    let generation = || {
        rig.tier
            .database()
            .read(models::sign_in_generation::current)
            .expect("generation")
    };
    let before = generation();
    guess(&rig, "nobody");
    assert!(generation() > before);
    let before = generation();
    guess(&rig, "active");
    assert!(generation() > before);

    let mut transcripts: Vec<Vec<(ApiErrorCode, String)>> = vec![Vec::new(); ids.len()];
    let step = |transcripts: &mut Vec<Vec<(ApiErrorCode, String)>>| {
        for (i, user_id) in ids.iter().enumerate() {
            transcripts[i].push(guess(&rig, user_id));
        }
    };
    // "nobody" and "active" had one failure above; the others catch up.
    for user_id in &ids[2..] {
        guess(&rig, user_id);
    }
    let rounds = policy.free_account_failures / 2 + 4;
    for round in 0..rounds {
        step(&mut transcripts);
        // Again at once: inside a wait, nothing is tried or counted.
        step(&mut transcripts);
        // The owner signs in between: no count is reset by it, so the
        // guessers learn nothing of it.
        if round == 3 {
            assert_eq!(code(rig.tier.signin(request("active", RIGHT))), Ok(()));
        }
        time.fetch_add(policy.guesses_forgotten_after / 2, std::sync::atomic::Ordering::SeqCst);
    }
    for (user_id, transcript) in ids.iter().zip(&transcripts).skip(1) {
        assert_eq!(
            transcript, &transcripts[0],
            "{user_id} is answered unlike an unknown id"
        );
    }
    let codes: Vec<ApiErrorCode> = transcripts[0].iter().map(|(code, _)| *code).collect();
    let free = policy.free_account_failures as usize;
    assert!(
        codes[..free - 2].iter().all(|c| *c == ApiErrorCode::SigninFailed),
        "{codes:?}"
    );
    let waits = transcripts[0]
        .iter()
        .filter(|(_, m)| m.contains("try again in"))
        .count();
    assert!(waits >= 4, "{:?}", transcripts[0]);

    // The same audit trail for every id.
    let count = |kind: &str, user_id: &str| {
        rig.events(kind)
            .iter()
            .filter(|e| e.subject.as_deref() == Some(user_id))
            .count()
    };
    for user_id in &ids {
        assert_eq!(
            count("signin.failed", user_id),
            count("signin.failed", "nobody"),
            "{user_id}"
        );
    }

    // Once the wait is over, the right pass phrase tells its owner what happened.
    time.fetch_add(policy.longest_wait_seconds, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(code(rig.tier.signin(request("active", RIGHT))), Ok(()));
    assert_eq!(
        code(rig.tier.signin(request("revoked", RIGHT))),
        Err(ApiErrorCode::Revoked)
    );
    let reset = rig.tier.signin(request("reset", RIGHT)).expect_err("reset");
    assert_eq!(reset.body.code, ApiErrorCode::Revoked);
    assert!(reset.body.message.contains("reset"), "{}", reset.body.message);
    // Anyone else gets the unknown id's answer.
    assert_eq!(guess(&rig, "revoked"), guess(&rig, "nobody"));
}

#[test]
fn every_id_is_answered_alike_on_sqlite() {
    every_id_is_answered_alike(None);
}

#[test]
fn every_id_is_answered_alike_on_postgres() {
    let Some(pg) = PgDatabase::create() else { return };
    every_id_is_answered_alike(Some(pg));
}

/// An account's waits grow: a few mistakes are answered at once; then each
/// failure makes the next attempt wait one second, two, four…, refused
/// untried and uncounted inside the wait, even the right pass phrase (from
/// an address the account never signed in from). A right sign-in does not
/// reset the count; quiet does.
#[test]
fn account_waits_grow_and_run_out() {
    let (time, clock) = test_clock();
    let rig = Rig::open_with(None, crate::common::test_policy(), clock);
    let policy = Policy::default();
    rig.add_user("alice");
    let advance = |seconds: i64| time.fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..policy.free_account_failures {
        assert_eq!(guess(&rig, "alice").0, ApiErrorCode::SigninFailed);
    }
    let mut expected_wait = 1;
    for failure in policy.free_account_failures + 1..policy.free_account_failures + 6 {
        let (code, message) = guess(&rig, "alice");
        assert_eq!(code, ApiErrorCode::Locked);
        assert!(
            message.ends_with(&format!("try again in {expected_wait} s")),
            "{failure}: {message}"
        );
        advance(expected_wait - 1);
        assert_eq!(code_of(&rig, RIGHT), Err(ApiErrorCode::Locked));
        assert_eq!(rig.user("alice").failed_logins, failure);
        advance(1);
        // Right after the wait, the owner signs in; the count stays.
        assert_eq!(code_of(&rig, RIGHT), Ok(()));
        expected_wait *= 2;
    }
    // An hour of quiet after the last wait: the count starts again.
    advance(policy.guesses_forgotten_after + expected_wait);
    assert_eq!(guess(&rig, "alice").0, ApiErrorCode::SigninFailed);
    assert_eq!(rig.user("alice").failed_logins, 1);
}

fn code_of(rig: &Rig, verifier: [u8; 32]) -> Result<(), ApiErrorCode> {
    code(rig.tier.signin(request("alice", verifier)))
}

/// One sign-in as the route runs it for a client at `source`: admitted (or
/// refused) by where it comes from, tried, and its outcome counted.
fn routed(rig: &Rig, source: std::net::IpAddr, user_id: &str, verifier: [u8; 32]) -> Result<(), ApiErrorCode> {
    let source = Some(source);
    let (outcome, admitted) = match rig.tier.guess_allowed(source, user_id) {
        Ok(admitted) => (
            rig.tier
                .signin_answer_blocking(&request(user_id, verifier), admitted.recognised)
                .map(|_| ()),
            admitted,
        ),
        Err(refused) => (Err(refused), Default::default()),
    };
    rig.tier.guess_answered(source, Some(user_id), admitted, &outcome);
    outcome.map_err(|f| f.body.code)
}

/// The counts by origin, as the routes keep them: a guesser's address is
/// locked out of the account after its tenth failure and its own requests
/// refused while it waits take nothing back; the owner, from elsewhere, is
/// not held up; a malformed id is refused before anything is kept.
#[test]
fn a_guesser_locks_out_only_itself() {
    let (time, clock) = test_clock();
    let rig = Rig::open_with(None, crate::common::test_policy(), clock);
    let policy = Policy::default();
    rig.add_user("alice");
    let guesser: std::net::IpAddr = "192.0.2.66".parse().expect("address");
    let owner: std::net::IpAddr = "192.0.2.1".parse().expect("address");
    let mut tried = 0;
    for _ in 0..40 {
        match routed(&rig, guesser, "alice", [9; 32]) {
            Err(ApiErrorCode::SigninFailed) => tried += 1,
            // Refused untried while a wait holds: the guesser waits it out.
            Err(ApiErrorCode::Locked | ApiErrorCode::RateLimited) => {
                time.fetch_add(600, std::sync::atomic::Ordering::SeqCst);
            }
            other => panic!("{other:?}"),
        }
        if tried == policy.max_signin_failures {
            break;
        }
    }
    assert_eq!(tried, policy.max_signin_failures);
    // Locked out of alice, even with the right pass phrase, for the lock's length.
    assert_eq!(routed(&rig, guesser, "alice", RIGHT), Err(ApiErrorCode::Locked));
    // The owner signs in from her own address, and is recognised there from now on.
    assert_eq!(routed(&rig, owner, "alice", RIGHT), Ok(()));
    assert_eq!(rig.user("alice").failed_logins, policy.max_signin_failures);
    // Hammering on changes nothing but the guesser's own waits.
    for _ in 0..30 {
        let refused = routed(&rig, guesser, "alice", [9; 32]);
        assert!(
            matches!(refused, Err(ApiErrorCode::Locked | ApiErrorCode::RateLimited)),
            "{refused:?}"
        );
    }
    assert_eq!(routed(&rig, owner, "alice", RIGHT), Ok(()));
    // The lock runs out.
    time.fetch_add(
        policy.signin_lock_seconds + policy.longest_wait_seconds,
        std::sync::atomic::Ordering::SeqCst,
    );
    assert_eq!(routed(&rig, guesser, "alice", RIGHT), Ok(()));
    // A malformed id is refused and nothing is kept for it.
    let before = rig.tier.guess_sources_len();
    let long = "x".repeat(10_000);
    assert_eq!(routed(&rig, guesser, &long, [9; 32]), Err(ApiErrorCode::BadRequest));
    assert_eq!(rig.tier.guess_sources_len(), before);
}
