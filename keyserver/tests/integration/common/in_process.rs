//! A key tier in the test's own process, on a clock the test moves, driven
//! through the flows a client would use (apply, consent); and what the help
//! desk's printer reads off a letter. Shared with `enumeration_timing.rs`,
//! which runs in a process of its own.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use signet_crypto::keys::UserKey;
use signet_crypto::{csr, kdf, seal};
use signet_keyserver::keys::db::{Database, models};
use signet_keyserver::keys::{Clock, KeyTier, Policy};
use signet_schema::api::{ApiErrorCode, ApplyRequest, ConsentRequest};
use signet_schema::protocol::Bytes;
use signet_schema::{KdfParams, RegistrationData, SignatureScheme};

/// The registration data of a person known only by `user_id`.
pub fn registration(user_id: &str) -> RegistrationData {
    RegistrationData {
        user_id: user_id.into(),
        common_name: format!("Person {user_id}"),
        organization: "Example Bank".into(),
        organizational_unit: "Payments".into(),
        email: format!("{user_id}@example.com"),
        country: "GB".into(),
    }
}

/// The phrase on the newest letter for `user_id`, read from `database` and
/// opened with the storage key in `data_dir`, as the help desk's printer would.
pub fn letter_phrase_in(database: &Database, data_dir: &std::path::Path, user_id: &str) -> String {
    let app = database
        .read(|c| models::applications::latest_for_user(c, user_id))
        .expect("read the application")
        .unwrap_or_else(|| panic!("{user_id}: no application"));
    let sealed = app
        .letter_pdf
        .unwrap_or_else(|| panic!("{user_id}: the letter is no longer queued"));
    let storage = signet_keyserver::keys::storage_key::StorageKey::load_or_create(data_dir).expect("storage key");
    let pdf = storage
        .open(
            signet_keyserver::keys::storage_key::BlobKind::Letter,
            &app.application_id,
            &sealed,
        )
        .expect("the letter opens with the storage key");
    phrase_in_pdf(&pdf).expect("a consent phrase in the letter")
}

/// Finds the consent phrase among the PDF's text strings.
pub fn phrase_in_pdf(pdf: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(pdf);
    text.split('(')
        .filter_map(|s| s.split_once(')').map(|(inside, _)| inside.to_owned()))
        .find(|s| s.len() > 20 && signet_keyserver::keys::consent::ConsentPhrase::parse(s).is_ok())
}

/// A well-formed consent phrase (its check group right) that is no letter's.
pub fn stray_phrase() -> String {
    signet_keyserver::keys::consent::ConsentPhrase::generate()
        .expect("random")
        .display()
        .to_string()
}

/// A key tier on SQLite in a temporary directory, on a clock the test moves.
pub struct Clocked {
    pub tier: KeyTier,
    time: Arc<AtomicI64>,
    data_dir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Clocked {
    /// Starts now, under `policy`.
    pub fn open(policy: Policy) -> Clocked {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let time = Arc::new(AtomicI64::new(start));
        let read = time.clone();
        let clock: Clock = Arc::new(move || read.load(Ordering::SeqCst));
        let tier = KeyTier::open(&data_dir, None, policy, clock).expect("key tier");
        Clocked {
            tier,
            time,
            data_dir,
            _dir: dir,
        }
    }

    pub fn now(&self) -> i64 {
        self.time.load(Ordering::SeqCst)
    }

    pub fn advance(&self, seconds: i64) {
        self.time.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Applies for `user_id` with `key`, as the signing core would; answers
    /// the sign-in verifier and the letter's phrase.
    pub fn apply(&self, user_id: &str, key: &UserKey) -> (Vec<u8>, String) {
        let reg = registration(user_id);
        let salt = kdf::new_salt().expect("salt");
        let keys = kdf::derive(b"a pass phrase", user_id, KdfParams::FLOOR, &salt).expect("derive");
        let record = seal::seal(key, &reg, &keys).expect("seal").encode().expect("encode");
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).expect("rng");
        self.tier
            .apply(ApplyRequest {
                registration: reg.clone(),
                record: Bytes(record),
                certification_request: Bytes(
                    csr::certification_request(key, &reg, SignatureScheme::RsaPssSha256).expect("csr"),
                ),
                verifier: Bytes(keys.verifier().to_vec()),
                nonce: hex::encode(nonce),
                timestamp: self.now(),
            })
            .expect("apply");
        let phrase = letter_phrase_in(self.tier.database(), &self.data_dir, user_id);
        (keys.verifier().to_vec(), phrase)
    }

    /// Consent with `phrase`: the refusal's code and message.
    pub fn consent(&self, user_id: &str, phrase: &str) -> Result<(), (ApiErrorCode, String)> {
        self.tier
            .consent(ConsentRequest {
                user_id: user_id.into(),
                phrase: phrase.into(),
            })
            .map(|_| ())
            .map_err(|f| (f.body.code, f.body.message))
    }

    /// Audit events of `kind` about `subject`.
    pub fn events(&self, kind: &str, subject: &str) -> usize {
        self.tier
            .database()
            .read(|c| models::events::range(c, 1, 100_000))
            .expect("events")
            .iter()
            .filter(|e| e.kind == kind && e.subject.as_deref() == Some(subject))
            .count()
    }
}
