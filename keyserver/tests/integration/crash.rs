//! `kill -9` loses no acknowledged write.
//!
//! The real `signet-keyserver serve` process runs on a data directory (SQLite,
//! and PostgreSQL on a throwaway database when `SIGNET_TEST_POSTGRES_URL` is
//! set) while client threads register people the way the signing core does:
//! apply (sealed record, PKCS#10 request, verifier), consent with the phrase
//! of the letter, and for some a re-registration with a new pass phrase.
//! Meanwhile the server is killed with SIGKILL at random moments and started
//! again on the same data. A request whose answer was lost is retried until
//! its outcome is known.
//!
//! At the end every acknowledged step is in the database, nobody is half
//! registered (active means key record and active certificate; pending means
//! an application awaiting consent), every active person signs in and gets
//! back exactly the record they sealed last, and the audit log's hash chain
//! and signatures are intact.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::{BaseUrl, Client, KeyServer, PgDatabase, letter_phrase_in, nonce, now, registration};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use signet_crypto::keys::UserKey;
use signet_crypto::{csr, kdf, seal, sign};
use signet_keyserver::keys::db::models::{self, ApplicationState, CertificateStatus, UserState};
use signet_keyserver::keys::db::{Database, DbError};
use signet_schema::api::{
    ApiError, ApiErrorCode, ApplyRequest, ApplyResponse, ConsentRequest, ConsentResponse, ReregisterRequest,
    SigninRequest, SigninResponse, signed_headers, signed_request_bytes,
};
use signet_schema::protocol::Bytes;
use signet_schema::{KdfParams, KeySize, RegistrationData, SignatureScheme};

/// Client threads per server.
const CLIENTS: usize = 6;
/// SIGKILLs per server: at least, and at most.
const MIN_KILLS: u32 = 6;
const MAX_KILLS: u32 = 20;
/// Registrations per server the load aims for; the machine may be slower.
const TARGET_REGISTRATIONS: u64 = 200;
/// Longest load, kills included; the test then finishes with what it has.
const MAX_LOAD: Duration = Duration::from_secs(40);
/// Fewest registrations that make a meaningful run.
const MIN_REGISTRATIONS: usize = 40;
/// Random pause between two kills, in milliseconds.
const KILL_GAP_MS: std::ops::Range<u64> = 500..2000;
/// Load after the last restart before the clients are asked to stop.
const TAIL: Duration = Duration::from_millis(1500);
/// Attempts at one request before the test gives up on the server.
const MAX_ATTEMPTS: u32 = 300;
/// Longest wait for any one answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);
/// Shares of people who consent, and of those who then re-register, in percent.
const CONSENT_PERCENT: u64 = 85;
const REREGISTER_PERCENT: u64 = 20;

/// A small xorshift generator; the seed is printed so a run can be repeated.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("rng");
        Rng(u64::from_le_bytes(bytes) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

/// What came back for a request.
enum Reply {
    /// A 2xx answer: the request was acknowledged.
    Done(Vec<u8>),
    /// A refusal from the key tier.
    Refused(u16, ApiError),
    /// No answer, or 503: the request may or may not have been carried out.
    Unknown(String),
}

/// POSTs `body` to whichever process is running now.
fn send(client: &Client, path: &str, headers: &[(&str, String)], body: &[u8]) -> Reply {
    let (status, body) = match client.try_request("POST", path, headers, body) {
        Ok(answer) => answer,
        Err(why) => return Reply::Unknown(why),
    };
    if (200..300).contains(&status) {
        return Reply::Done(body);
    }
    let text = String::from_utf8_lossy(&body);
    let error: ApiError = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{path}: {status} without a typed error ({e}): {text}"));
    assert!(status != 500, "{path}: 500 {text}");
    if status == 503 {
        assert_eq!(error.code, ApiErrorCode::Unavailable, "{path}: {text}");
        return Reply::Unknown(format!("503 {text}"));
    }
    Reply::Refused(status, error)
}

/// Counters of the whole run.
#[derive(Default)]
struct Stats {
    applies_acknowledged: AtomicU64,
    applies_unacknowledged: AtomicU64,
    consents_acknowledged: AtomicU64,
    consents_unacknowledged: AtomicU64,
    reregistrations_acknowledged: AtomicU64,
    reregistrations_unacknowledged: AtomicU64,
    answers_lost: AtomicU64,
    unavailable: AtomicU64,
}

impl Stats {
    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What the clients share.
struct Load {
    http_base: BaseUrl,
    root_pem: Vec<u8>,
    database: Database,
    data_dir: std::path::PathBuf,
    keys: Vec<UserKey>,
    stop: AtomicBool,
    stats: Stats,
    label: &'static str,
}

/// How a step ended, once its outcome is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Not attempted.
    No,
    /// Its 2xx answer was received.
    Acknowledged,
    /// Its answer was lost, and a retry showed it had been carried out.
    Unacknowledged,
}

impl Step {
    fn done(self) -> bool {
        self != Step::No
    }
}

/// One person, as their signing core knows them.
struct Person {
    user_id: String,
    key: usize,
    registration: RegistrationData,
    /// The record sealed last, and its verifier.
    record: Vec<u8>,
    verifier: Vec<u8>,
    applied: Step,
    application_id: Option<String>,
    consented: Step,
    serial: Option<String>,
    reregistered: Step,
}

fn pause(attempt: u32) {
    std::thread::sleep(Duration::from_millis(20 + 10 * u64::from(attempt.min(15))));
}

impl Load {
    /// A client of its own for one thread, following the server across restarts.
    fn http(&self) -> Client {
        Client::following(self.http_base.clone(), &self.root_pem, Some(ANSWER_TIMEOUT))
    }

    /// Sends a request until its outcome is known: `decide` sees each refusal
    /// and whether an earlier attempt's answer was lost.
    fn until_known<T>(
        &self,
        http: &Client,
        what: &str,
        mut request: impl FnMut() -> (String, Vec<(&'static str, String)>, Vec<u8>),
        mut decide: impl FnMut(Reply, bool) -> Option<T>,
    ) -> T {
        let mut lost = false;
        for attempt in 0..MAX_ATTEMPTS {
            let (path, headers, body) = request();
            let reply = send(http, &path, &headers, &body);
            if let Reply::Unknown(why) = &reply {
                if why.starts_with("503") {
                    Stats::bump(&self.stats.unavailable);
                }
                Stats::bump(&self.stats.answers_lost);
                lost = true;
                pause(attempt);
                continue;
            }
            if let Some(outcome) = decide(reply, lost) {
                return outcome;
            }
        }
        panic!("{}: {what}: no known outcome after {MAX_ATTEMPTS} attempts", self.label);
    }

    fn apply(&self, http: &Client, user_id: String, key: usize) -> Person {
        let reg = registration(&user_id);
        let salt = kdf::new_salt().expect("salt");
        let pass = format!("first pass phrase of {user_id}");
        let keys = kdf::derive(pass.as_bytes(), &user_id, KdfParams::FLOOR, &salt).expect("kdf");
        let key_pair = &self.keys[key];
        let record = seal::seal(key_pair, &reg, &keys)
            .expect("seal")
            .encode()
            .expect("encode");
        let request = csr::certification_request(key_pair, &reg, SignatureScheme::RsaPssSha256).expect("csr");
        let mut person = Person {
            user_id: user_id.clone(),
            key,
            registration: reg.clone(),
            record: record.clone(),
            verifier: keys.verifier().to_vec(),
            applied: Step::No,
            application_id: None,
            consented: Step::No,
            serial: None,
            reregistered: Step::No,
        };
        let (applied, application_id) = self.until_known(
            http,
            &format!("apply {user_id}"),
            || {
                let body = ApplyRequest {
                    registration: reg.clone(),
                    record: Bytes(record.clone()),
                    certification_request: Bytes(request.clone()),
                    verifier: Bytes(keys.verifier().to_vec()),
                    nonce: nonce(),
                    timestamp: now(),
                };
                ("/v1/apply".into(), Vec::new(), serde_json::to_vec(&body).expect("json"))
            },
            |reply, lost| match reply {
                Reply::Done(body) => {
                    let answer: ApplyResponse = serde_json::from_slice(&body).expect("apply answer");
                    Some((Step::Acknowledged, Some(answer.application_id)))
                }
                // The lost attempt was carried out: the user id is taken by it.
                Reply::Refused(409, e) if lost && e.code == ApiErrorCode::IdentityTaken => {
                    Some((Step::Unacknowledged, None))
                }
                Reply::Refused(status, e) => panic!("apply {user_id}: {status} {e:?}"),
                Reply::Unknown(_) => None,
            },
        );
        match applied {
            Step::Acknowledged => Stats::bump(&self.stats.applies_acknowledged),
            _ => Stats::bump(&self.stats.applies_unacknowledged),
        }
        person.applied = applied;
        person.application_id = application_id;
        person
    }

    fn consent(&self, http: &Client, person: &mut Person) {
        let phrase = letter_phrase_in(&self.database, &self.data_dir, &person.user_id);
        let body = serde_json::to_vec(&ConsentRequest {
            user_id: person.user_id.clone(),
            phrase,
        })
        .expect("json");
        let user_id = person.user_id.clone();
        let (consented, serial) = self.until_known(
            http,
            &format!("consent {user_id}"),
            || ("/v1/consent".into(), Vec::new(), body.clone()),
            |reply, lost| match reply {
                Reply::Done(body) => {
                    let answer: ConsentResponse = serde_json::from_slice(&body).expect("consent answer");
                    Some((Step::Acknowledged, Some(answer.serial)))
                }
                // The lost attempt was carried out: nothing awaits consent any more.
                Reply::Refused(409, e) if lost && e.code == ApiErrorCode::WrongState => {
                    Some((Step::Unacknowledged, None))
                }
                Reply::Refused(status, e) => panic!("consent {user_id}: {status} {e:?}"),
                Reply::Unknown(_) => None,
            },
        );
        match consented {
            Step::Acknowledged => Stats::bump(&self.stats.consents_acknowledged),
            _ => Stats::bump(&self.stats.consents_unacknowledged),
        }
        person.consented = consented;
        person.serial = serial;
    }

    /// Re-registration with a new pass phrase (same key), as a request signed with the key.
    fn reregister(&self, http: &Client, person: &mut Person) {
        let salt = kdf::new_salt().expect("salt");
        let pass = format!("second pass phrase of {}", person.user_id);
        let keys = kdf::derive(pass.as_bytes(), &person.user_id, KdfParams::FLOOR, &salt).expect("kdf");
        let key_pair = &self.keys[person.key];
        let record = seal::seal(key_pair, &person.registration, &keys)
            .expect("seal")
            .encode()
            .expect("encode");
        let body = serde_json::to_vec(&ReregisterRequest {
            user_id: person.user_id.clone(),
            verifier: Bytes(person.verifier.clone()),
            record: Bytes(record.clone()),
            new_verifier: Bytes(keys.verifier().to_vec()),
            certification_request: None,
        })
        .expect("json");
        let user_id = person.user_id.clone();
        let body_hash = hex::encode(Sha256::digest(&body));
        let server = http.server_id();
        let outcome = self.until_known(
            http,
            &format!("re-register {user_id}"),
            || {
                let path = "/v1/reregister";
                let timestamp = now();
                let nonce = nonce();
                let signed = signed_request_bytes(&server, &user_id, "POST", path, timestamp, &nonce, &body_hash);
                let signature = sign::sign(key_pair, SignatureScheme::RsaPssSha256, &signed).expect("sign");
                let headers = vec![
                    (signed_headers::SIGNER, user_id.clone()),
                    (signed_headers::TIMESTAMP, timestamp.to_string()),
                    (signed_headers::NONCE, nonce),
                    (signed_headers::SIGNATURE, B64.encode(signature)),
                ];
                (path.into(), headers, body.clone())
            },
            |reply, lost| match reply {
                Reply::Done(_) => Some(Step::Acknowledged),
                // The lost attempt was carried out: the old pass phrase no longer signs in.
                Reply::Refused(401, e) if lost && e.code == ApiErrorCode::SigninFailed => Some(Step::Unacknowledged),
                Reply::Refused(status, e) => panic!("re-register {user_id}: {status} {e:?}"),
                Reply::Unknown(_) => None,
            },
        );
        match outcome {
            Step::Acknowledged => Stats::bump(&self.stats.reregistrations_acknowledged),
            _ => Stats::bump(&self.stats.reregistrations_unacknowledged),
        }
        person.reregistered = outcome;
        person.record = record;
        person.verifier = keys.verifier().to_vec();
    }

    /// One client: registers people until told to stop.
    fn client(&self, index: usize, seed: u64) -> Vec<Person> {
        let http = self.http();
        let mut rng = Rng(seed | 1);
        let mut people = Vec::new();
        while !self.stop.load(Ordering::Relaxed) && people.len() < 2000 {
            let user_id = format!("c{index}-p{}", people.len());
            let key = (rng.below(self.keys.len() as u64)) as usize;
            let mut person = self.apply(&http, user_id, key);
            if rng.percent(CONSENT_PERCENT) {
                self.consent(&http, &mut person);
                if rng.percent(REREGISTER_PERCENT) {
                    self.reregister(&http, &mut person);
                }
            }
            people.push(person);
        }
        people
    }
}

/// Every acknowledged write is there, nobody is half registered, every
/// active person signs in to the record they sealed last.
fn check(load: &Load, people: &[Person]) {
    let label = load.label;
    let http = load.http();
    let users = load
        .database
        .read(|c| {
            let everyone = models::user_terms::UserSearch {
                limit: 1_000_000usize,
                ..Default::default()
            };
            models::user_terms::page(c, &everyone).map(|found| found.users)
        })
        .expect("list users");
    let stored: HashSet<&str> = users.iter().map(|u| u.user_id.as_str()).collect();
    let known: HashMap<&str, &Person> = people.iter().map(|p| (p.user_id.as_str(), p)).collect();
    for user in &users {
        assert!(
            known.contains_key(user.user_id.as_str()),
            "{label}: unknown user {} stored",
            user.user_id
        );
    }
    for person in people {
        assert!(person.applied.done(), "{label}: {} never applied", person.user_id);
        assert!(
            stored.contains(person.user_id.as_str()),
            "{label}: {} lost",
            person.user_id
        );
    }

    for user in &users {
        let person = known[user.user_id.as_str()];
        let id = user.user_id.as_str();
        let (record, certificates, application) = load
            .database
            .read(|c| -> Result<_, DbError> {
                Ok((
                    models::key_records::find(c, id)?,
                    models::certificates::for_user(c, id, CertificateStatus::Active)?,
                    models::applications::latest_for_user(c, id)?,
                ))
            })
            .expect("read a user");
        let application = application.unwrap_or_else(|| panic!("{label}: {id} has no application"));
        if let Some(acknowledged) = &person.application_id {
            assert_eq!(&application.application_id, acknowledged, "{label}: {id}'s application");
        }
        match user.state {
            UserState::Active => {
                assert!(person.consented.done(), "{label}: {id} is active without consent");
                let record = record.unwrap_or_else(|| panic!("{label}: {id} is active without a key record"));
                assert_eq!(
                    certificates.len(),
                    1,
                    "{label}: {id} has {} active certificates",
                    certificates.len()
                );
                assert_eq!(
                    application.state,
                    ApplicationState::Consented,
                    "{label}: {id}'s application"
                );
                if let Some(serial) = &person.serial {
                    assert_eq!(&certificates[0].serial, serial, "{label}: {id}'s certificate");
                }
                let fingerprint = load.keys[person.key].public_key().fingerprint().expect("fingerprint");
                assert_eq!(
                    record.public_key_fingerprint,
                    fingerprint.to_vec(),
                    "{label}: {id}'s key"
                );
                let body = serde_json::to_vec(&SigninRequest {
                    user_id: id.to_owned(),
                    verifier: Bytes(person.verifier.clone()),
                })
                .expect("json");
                match send(&http, "/v1/signin", &[], &body) {
                    Reply::Done(body) => {
                        let answer: SigninResponse = serde_json::from_slice(&body).expect("sign-in answer");
                        assert!(
                            answer.record.0 == person.record,
                            "{label}: {id}: the record released is not the one sealed last"
                        );
                        assert_eq!(answer.certificate.0, certificates[0].der, "{label}: {id}'s certificate");
                        assert_eq!(answer.registration, person.registration, "{label}: {id}'s registration");
                    }
                    Reply::Refused(status, e) => panic!("{label}: {id} cannot sign in: {status} {e:?}"),
                    Reply::Unknown(why) => panic!("{label}: {id}: sign-in unanswered: {why}"),
                }
            }
            UserState::Pending => {
                assert!(!person.consented.done(), "{label}: {id} consented but is still pending");
                assert_eq!(
                    application.state,
                    ApplicationState::AwaitingConsent,
                    "{label}: {id} is pending without an application awaiting consent"
                );
                assert!(record.is_none(), "{label}: {id} is pending with a key record");
                assert!(certificates.is_empty(), "{label}: {id} is pending with a certificate");
            }
            other => panic!("{label}: {id} is {other}"),
        }
    }
}

/// The server's logged failures, counted by their first words.
fn failures_logged(server: &KeyServer) -> Vec<(String, usize)> {
    let text = server.log();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for line in text.lines().filter(|l| l.contains("ERROR") || l.contains("WARN")) {
        let what = line.split_once("detail=").map_or(line, |(_, d)| d);
        let what: String = what.chars().take(70).collect();
        *counts.entry(what).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts
}

fn crash_run(label: &'static str, postgres: Option<PgDatabase>) {
    let began = Instant::now();
    let mut rng = Rng::seeded();
    eprintln!("{label}: seed {:#x}", rng.0);

    // 2048-bit keys made once and shared across user ids: the test is about the server.
    let keys: Vec<UserKey> = (0..2)
        .map(|_| UserKey::generate(KeySize::Rsa2048).expect("keygen"))
        .collect();
    // The load comes from one address and revisits user ids: no rate limit may refuse it.
    let mut launch = KeyServer::launch().rate_limits(10_000_000, 1_000_000).log_to_file();
    if let Some(postgres) = postgres {
        launch = launch.postgres(postgres);
    }
    let mut server = launch.start();
    let load = Arc::new(Load {
        http_base: server.base(),
        root_pem: server.certificate(),
        database: signet_keyserver::keys::db::open(&server.database_url()).expect("open the database"),
        data_dir: server.data_dir.clone(),
        keys,
        stop: AtomicBool::new(false),
        stats: Stats::default(),
        label,
    });
    let load_began = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| {
            let load = load.clone();
            let seed = rng.next();
            std::thread::Builder::new()
                .name(format!("{label}-client-{index}"))
                .spawn(move || load.client(index, seed))
                .expect("spawn a client")
        })
        .collect();

    let mut down = Duration::ZERO;
    let registered = || Stats::get(&load.stats.applies_acknowledged) + Stats::get(&load.stats.applies_unacknowledged);
    for kills in 0..MAX_KILLS {
        if kills >= MIN_KILLS && (registered() >= TARGET_REGISTRATIONS || load_began.elapsed() >= MAX_LOAD) {
            break;
        }
        let gap = KILL_GAP_MS.start + rng.below(KILL_GAP_MS.end - KILL_GAP_MS.start);
        std::thread::sleep(Duration::from_millis(gap));
        if clients.iter().any(|c| c.is_finished()) {
            break;
        }
        let killed = Instant::now();
        server.kill();
        server.restart();
        down += killed.elapsed();
    }
    std::thread::sleep(TAIL);
    load.stop.store(true, Ordering::Relaxed);
    let mut people = Vec::new();
    let mut failure = None;
    for client in clients {
        match client.join() {
            Ok(mut theirs) => people.append(&mut theirs),
            Err(panic) => failure = Some(panic),
        }
    }
    if let Some(panic) = failure {
        eprintln!("{label}: server log:\n{}", server.log_tail());
        std::panic::resume_unwind(panic);
    }
    let load_time = load_began.elapsed();

    let checked = Instant::now();
    check(&load, &people);
    let check_time = checked.elapsed();
    server.kill();
    let audit = server.audit_verify();

    let s = &load.stats;
    let g = Stats::get;
    eprintln!(
        "{label}: {} kills; {} registrations ({} acknowledged, {} answer lost but carried out), \
         {} consents ({} + {}), {} re-registrations ({} + {}); {} answers lost ({} of them 503) and retried; \
         load {:.1} s, server down {:.2} s in all (mean start {:.0} ms), checks {:.1} s, total {:.1} s; {audit}",
        server.starts() - 1,
        g(&s.applies_acknowledged) + g(&s.applies_unacknowledged),
        g(&s.applies_acknowledged),
        g(&s.applies_unacknowledged),
        g(&s.consents_acknowledged) + g(&s.consents_unacknowledged),
        g(&s.consents_acknowledged),
        g(&s.consents_unacknowledged),
        g(&s.reregistrations_acknowledged) + g(&s.reregistrations_unacknowledged),
        g(&s.reregistrations_acknowledged),
        g(&s.reregistrations_unacknowledged),
        g(&s.answers_lost),
        g(&s.unavailable),
        load_time.as_secs_f64(),
        down.as_secs_f64(),
        server.startup_time().as_millis() as f64 / f64::from(server.starts()),
        check_time.as_secs_f64(),
        began.elapsed().as_secs_f64(),
    );
    eprintln!("{label}: failures the server logged: {:?}", failures_logged(&server));
    assert!(
        server.starts() > MIN_KILLS,
        "{label}: the server was killed only {} times",
        server.starts() - 1
    );
    assert!(
        people.len() >= MIN_REGISTRATIONS,
        "{label}: only {} registrations",
        people.len()
    );
}

#[test]
fn kill_9_loses_no_acknowledged_write_on_sqlite() {
    crash_run("sqlite", None);
}

#[test]
fn kill_9_loses_no_acknowledged_write_on_postgres() {
    let Some(admin_url) = PgDatabase::admin_url() else {
        eprintln!("PostgreSQL crash test skipped: SIGNET_TEST_POSTGRES_URL is not set");
        return;
    };
    crash_run("postgres", Some(PgDatabase::create_on(&admin_url)));
}
