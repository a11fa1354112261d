//! The key tier: owns the database, the CA, the storage key and the consent
//! wraps, and runs every flow. Each flow step is one database transaction
//! that also writes its audit event, so a crash at any point leaves either
//! all of a step or none of it.
//!
//! Handlers here are synchronous (Diesel and RSA block); the HTTP layer runs
//! them on the blocking pool.

mod admin;
pub mod applet;
pub mod audit;
pub mod ca;
pub mod consent;
pub mod db;
mod flows;
pub use flows::Admitted;
pub mod guess_sources;
mod hosts;
pub mod letter;
pub mod openapi;
pub mod routes;
pub use signet_channel::keys as server_keys;
mod sign_in_cache;
pub mod staff;
pub mod storage_key;
pub mod sweep;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use signet_crypto::keys::ServerKey;
use signet_schema::vocabulary::AuditEventKind;
use signet_schema::{KdfParams, KeySize, SignatureScheme};

use self::audit::NewEvent;
use crate::keys::ca::CertificateAuthority;
use crate::keys::db::{AnyConnection, Database, DbError, models};
use crate::keys::server_keys::ServerKeys;
use crate::keys::storage_key::StorageKey;
pub use signet_channel::sealed;
pub use signet_channel::server as channel;
use signet_channel::{ChannelLimits, ChannelServer};

/// The file in the data directory that keeps the audit head.
const AUDIT_HEAD_FILE: &str = "audit-head";

/// How often the audit head is brought up to date.
pub const AUDIT_HEAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// After an erasure (a key revoked or reset, a record replaced): empties
/// the database's write-ahead log, which still holds the pages as they were,
/// so that the erased record is nowhere in the files (`secure_delete`
/// overwrites it in the database itself). A log readers hold back is
/// emptied at a later erasure or checkpoint; it is logged.
pub(crate) fn truncate_log(db: &crate::keys::db::Database) {
    match db.truncate_log() {
        Ok(true) => {}
        Ok(false) => tracing::warn!("the database log could not be emptied after an erasure: readers held it"),
        Err(e) => tracing::warn!(error = %e, "the database log could not be emptied after an erasure"),
    }
}

/// Gives `path` the permission bits `mode` (0700 for a directory of
/// secrets, 0600 for a file of them) unless it has them already.
fn private(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        tracing::info!(path = %path.display(), from = format!("{current:o}"), to = format!("{mode:o}"), "made private");
    }
    Ok(())
}

/// The longest a CRL is valid: its next update is at most a day away.
pub const MAX_CRL_VALIDITY_SECONDS: i64 = 24 * 3600;

/// What the key server asks of clients and how long things last.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Argon2id parameters for new records.
    pub kdf: KdfParams,
    /// RSA size for new keys.
    pub key_bits: KeySize,
    /// Signature scheme for requests and signatures.
    pub signature_scheme: SignatureScheme,
    /// Days a consent letter stays valid.
    pub letter_validity_days: u32,
    /// Days a certificate is valid.
    pub certificate_validity_days: u32,
    /// Wrong consent phrases at an id answered at once; each later one makes the next
    /// wrong one wait (see [`Policy::wait_after`]). The right phrase is always tried.
    pub free_consent_attempts: i64,
    /// Failed sign-ins at an id from one address answered at once; each later one makes
    /// that address's next attempt wait.
    pub free_signin_failures: i64,
    /// Failed sign-ins at an id from one address that lock that address out of it.
    pub max_signin_failures: i64,
    /// How long such a lock lasts, in seconds.
    pub signin_lock_seconds: i64,
    /// Failed sign-ins at an id from everywhere answered at once; each later one makes
    /// the next attempt wait, except from an address the account signed in from lately.
    pub free_account_failures: i64,
    /// Wrong guesses from one client address (any ids) answered at once; each later one makes its next wait.
    pub free_guesses_per_address: i64,
    /// The longest wait between guesses short of a lock, in seconds.
    pub longest_wait_seconds: i64,
    /// Seconds of quiet after a wait after which an id's count of failures starts again.
    pub guesses_forgotten_after: i64,
    /// Seconds a CRL is valid (nextUpdate − thisUpdate), at most
    /// [`MAX_CRL_VALIDITY_SECONDS`]: a relying party then learns of a
    /// revocation within a day, whatever it caches.
    pub crl_validity_seconds: i64,
    /// Largest difference between a client's time stamp and the server's clock.
    pub max_clock_skew_seconds: i64,
    /// The sealed channel's tables: sessions in all and per address, and how long they live.
    pub channel: ChannelLimits,
    /// The key server's public address (`https://…`), under which users'
    /// certificates name the CRL and the CA certificate; none named without it.
    pub public_url: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            kdf: KdfParams::DEFAULT,
            key_bits: KeySize::Rsa3072,
            signature_scheme: SignatureScheme::RsaPssSha256,
            letter_validity_days: 30,
            certificate_validity_days: 365,
            free_consent_attempts: 3,
            free_signin_failures: 3,
            max_signin_failures: 10,
            signin_lock_seconds: 30 * 60,
            free_account_failures: 20,
            free_guesses_per_address: 20,
            longest_wait_seconds: 60 * 60,
            guesses_forgotten_after: 60 * 60,
            crl_validity_seconds: MAX_CRL_VALIDITY_SECONDS,
            max_clock_skew_seconds: 300,
            channel: ChannelLimits::default(),
            public_url: None,
        }
    }
}

impl Policy {
    /// Whether a client's time stamp is within [`Policy::max_clock_skew_seconds`]
    /// of `now`, compared without overflow whatever the time stamp.
    pub fn is_fresh(&self, timestamp: i64, now: i64) -> bool {
        timestamp.abs_diff(now) <= self.max_clock_skew_seconds.unsigned_abs()
    }

    /// How long the next guess waits after the `failures`-th consecutive
    /// wrong one, when `free` are answered at once: nothing up to `free`, then
    /// one second doubling with each failure, never more than
    /// [`Policy::longest_wait_seconds`]. Progressive delays slow a guesser
    /// down long before a lock, and a person who mistypes a few times barely
    /// notices them.
    pub fn wait_after(&self, failures: i64, free: i64) -> Option<i64> {
        let beyond = failures.saturating_sub(free);
        (beyond > 0).then(|| (1i64 << (beyond - 1).min(62)).min(self.longest_wait_seconds))
    }
}

pub use signet_channel::{Clock, system_clock};

impl From<&Policy> for signet_schema::channel::BootstrapPolicy {
    fn from(policy: &Policy) -> Self {
        signet_schema::channel::BootstrapPolicy {
            kdf: policy.kdf,
            key_bits: policy.key_bits,
            signature_scheme: policy.signature_scheme,
        }
    }
}

/// Why the key tier could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The data directory could not be made or used.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// A key file could not be read or made.
    #[error(transparent)]
    KeyFile(#[from] crate::secret_file::SecretFileError),
    /// The CA could not be loaded or made.
    #[error("certification authority: {0}")]
    Ca(#[from] crate::keys::ca::CaError),
    /// The sealed channel could not be set up.
    #[error("sealed channel: {0}")]
    Channel(#[from] crate::keys::channel::ChannelError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Database(#[from] DbError),
}

/// Everything the key tier holds.
pub struct KeyTier {
    pub(crate) db: Database,
    pub(crate) storage: StorageKey,
    pub(crate) integrity: ServerKey,
    pub(crate) ca: CertificateAuthority,
    pub(crate) policy: Policy,
    pub(crate) clock: Clock,
    pub(crate) data_dir: PathBuf,
    pub(crate) channel: ChannelServer,
    pub(crate) releases: sign_in_cache::SignInCache,
    /// The signer manifest last served, with its freshness statement.
    pub(crate) manifests: applet::ManifestCache,
    /// Per-user limits for sealed bodies, which the web tier cannot read
    /// (see [`KeyTier::limit_sealed_users`]).
    pub(crate) sealed_users: std::sync::OnceLock<crate::rate_limit::RateLimits>,
    /// HMAC-SHA256 keyed for verifier tags, ready to clone (see [`KeyTier::verifier_tag`]).
    verifier_mac: Hmac<Sha256>,
    /// A consent wrap that no phrase opens, tried when an id has no
    /// application, so that consent does the same work whatever the id.
    pub(crate) decoy_wrap: Vec<u8>,
    /// Wrong guesses counted per client address.
    pub(crate) guess_sources: guess_sources::GuessSources,
}

/// The application id under which the decoy consent wrap is sealed.
pub(crate) const DECOY_APPLICATION: &str = "decoy";

/// A consent wrap of a sealed record's size under a key no phrase derives
/// (see [`KeyTier::decoy_wrap`]); empty if the system's random source failed,
/// which then fails everything else too.
fn decoy_consent_wrap(storage: &StorageKey) -> Vec<u8> {
    const TYPICAL_RECORD_LEN: usize = 2400;
    signet_crypto::etm::SealingKey::derive(&[0; 32], "consent")
        .seal(DECOY_APPLICATION.as_bytes(), &[0; TYPICAL_RECORD_LEN])
        .and_then(|wrapped| storage.seal(storage_key::BlobKind::ConsentWrap, DECOY_APPLICATION, &wrapped))
        .unwrap_or_default()
}

impl signet_channel::SealedEnd for KeyTier {
    fn channel(&self) -> &ChannelServer {
        &self.channel
    }

    /// Counts a sealed request for `user_id` from `client` against the per-user limit.
    fn check_sealed_user(&self, user_id: &str, client: Option<std::net::IpAddr>) -> Result<(), std::time::Duration> {
        self.sealed_users
            .get()
            .map_or(Ok(()), |limits| limits.check_user(user_id, client))
    }
}

impl KeyTier {
    /// Assembles a key tier from its parts.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: Database,
        storage: StorageKey,
        integrity: ServerKey,
        ca: CertificateAuthority,
        policy: Policy,
        clock: Clock,
        data_dir: PathBuf,
        channel: ChannelServer,
    ) -> Self {
        KeyTier {
            releases: sign_in_cache::SignInCache::new(db.clone()),
            manifests: applet::ManifestCache::default(),
            sealed_users: std::sync::OnceLock::new(),
            verifier_mac: keyed_mac(&storage, b"verifier"),
            decoy_wrap: decoy_consent_wrap(&storage),
            guess_sources: guess_sources::GuessSources::default(),
            db,
            storage,
            integrity,
            ca,
            policy,
            clock,
            data_dir,
            channel,
        }
    }

    /// Opens (or, on first start, creates) the key tier in `data_dir`: the
    /// storage key, the integrity key, the CA and the database (SQLite file
    /// `signet.db` there unless `database_url` names another).
    pub fn open(
        data_dir: &Path,
        database_url: Option<&str>,
        policy: Policy,
        clock: Clock,
    ) -> Result<KeyTier, OpenError> {
        use std::os::unix::fs::DirBuilderExt;
        let dir_error = |source| OpenError::DataDir {
            path: data_dir.display().to_string(),
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(dir_error)?;
        // A directory made before (by hand, or under another umask) is made private too.
        private(data_dir, 0o700).map_err(dir_error)?;
        let storage = StorageKey::load_or_create(data_dir)?;
        let ServerKeys {
            integrity,
            confidentiality,
        } = ServerKeys::load_or_create(data_dir)?;
        let channel = ChannelServer::new(&integrity, &confidentiality, policy.channel.clone(), clock.clone())?;
        let ca_dir = data_dir.join("ca");
        let ca = if ca_dir.exists() {
            private(&ca_dir, 0o700).map_err(dir_error)?;
            CertificateAuthority::load(&ca_dir)?
        } else {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&ca_dir)
                .map_err(dir_error)?;
            let ca = CertificateAuthority::create("Signet Certification Authority", "Signet")?;
            ca.save(&ca_dir)?;
            ca
        };
        let default_url = data_dir.join("signet.db").display().to_string();
        let url = database_url.unwrap_or(&default_url);
        // An SQLite database is a file (and its log) of the data directory's
        // kind: private, before it is opened (the files SQLite adds take the
        // database's mode) and after (a database it made takes the umask's).
        let sqlite_files = |url: &str| -> Vec<PathBuf> {
            let Some(database) = signet_database::sqlite_path(url) else {
                return Vec::new();
            };
            ["", "-wal", "-shm", "-journal"]
                .iter()
                .map(|suffix| {
                    let mut file = database.clone().into_os_string();
                    file.push(suffix);
                    PathBuf::from(file)
                })
                .collect()
        };
        let make_private = |files: &[PathBuf]| -> Result<(), OpenError> {
            for file in files.iter().filter(|f| f.exists()) {
                private(file, 0o600).map_err(|source| OpenError::DataDir {
                    path: file.display().to_string(),
                    source,
                })?;
            }
            Ok(())
        };
        make_private(&sqlite_files(url))?;
        let db = crate::keys::db::open(url)?;
        make_private(&sqlite_files(url))?;
        let tier = KeyTier::new(
            db,
            storage,
            integrity,
            ca,
            policy,
            clock,
            data_dir.to_path_buf(),
            channel,
        );
        tier.record_policy()?;
        Ok(tier)
    }

    /// Keeps the policy for new records and keys in the database and, when
    /// it differs from the one the key tier last ran under, audits the
    /// change (`policy.changed`, from and to): the operator sets it at start
    /// (`--kdf-*`, `--key-bits`), and auditors see every change.
    fn record_policy(&self) -> Result<(), DbError> {
        const SETTING: &str = "record_policy";
        let kdf = self.policy.kdf;
        let current = serde_json::json!({
            "kdf": { "m_kib": kdf.m_kib, "t": kdf.t, "p": kdf.p },
            "key_bits": self.policy.key_bits.bits(),
        });
        let now = self.now();
        self.db.write(|c| {
            let last = models::server_settings::get(c, SETTING)?;
            let last: Option<serde_json::Value> = last.and_then(|text| serde_json::from_str(&text).ok());
            if last.as_ref() == Some(&current) {
                return Ok(());
            }
            models::server_settings::set(c, SETTING, &current.to_string(), now)?;
            if let Some(last) = last {
                self.audit(
                    c,
                    NewEvent {
                        actor: "operator".into(),
                        kind: AuditEventKind::PolicyChanged,
                        subject: None,
                        detail: serde_json::json!({ "from": last, "to": current }),
                    },
                )?;
            }
            Ok(())
        })
    }

    /// Checks the whole audit log, and that it still reaches the head kept
    /// outside the database; `Ok(Err(link))` names the first broken link.
    pub fn verify_audit_log(&self) -> Result<Result<u64, audit::BrokenLink>, DbError> {
        let public = self.integrity.public_key();
        let head = match self.audit_head() {
            Ok(head) => head,
            Err(bad) => return Ok(Err(audit::BrokenLink::BadHead { reason: bad.0 })),
        };
        let mut verifier = audit::ChainVerifier::new(&public);
        let mut from = 1;
        loop {
            let page = self.db.read(|c| models::events::range(c, from, 1000))?;
            let Some(last) = page.last() else {
                return Ok(match head {
                    Some(head) if head.seq >= from => Err(audit::BrokenLink::Truncated {
                        seq: from,
                        head: head.seq,
                    }),
                    _ => Ok(verifier.verified),
                });
            };
            from = last.seq + 1;
            for event in &page {
                if let Err(broken) = verifier.check(event) {
                    return Ok(Err(broken));
                }
                if head
                    .as_ref()
                    .is_some_and(|h| h.seq == event.seq && h.hash != event.hash)
                {
                    return Ok(Err(audit::BrokenLink::Rewritten { seq: event.seq }));
                }
            }
        }
    }

    /// Limits sealed pre-login, sign-in, consent and revoke requests per
    /// user id with `limits`' per-user limiter: the web tier limits these
    /// per user when it can read them, and only the key tier can read sealed
    /// ones. In one process the web tier's own limiters are passed, so plain
    /// and sealed requests share one allowance. Set once; unset, sealed
    /// requests are limited per address only.
    pub fn limit_sealed_users(&self, limits: crate::rate_limit::RateLimits) {
        let _ = self.sealed_users.set(limits);
    }

    /// Where the audit head is kept.
    fn audit_head_path(&self) -> PathBuf {
        self.data_dir.join(AUDIT_HEAD_FILE)
    }

    /// The audit head kept outside the database, if one was written.
    pub fn audit_head(&self) -> Result<Option<audit::Head>, audit::BadHead> {
        match std::fs::read_to_string(self.audit_head_path()) {
            Ok(text) => audit::Head::parse(&text, &self.integrity.public_key()).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(audit::BadHead(e.to_string())),
        }
    }

    /// Writes the newest committed event as the audit head when it is newer
    /// than the one kept; the head written, if any.
    ///
    /// The head only moves forward along the chain it names: when the event
    /// it names is gone or changed, it stays where it is (and this says so),
    /// so that a log cut and written on cannot wipe out the evidence.
    pub fn record_audit_head(&self) -> Result<Option<audit::Head>, String> {
        let kept = self.audit_head().map_err(|e| e.to_string())?;
        let (last, at_kept) = self
            .db
            .read(|c| {
                let last = models::events::last(c)?;
                let at_kept = match &kept {
                    Some(kept) => models::events::range(c, kept.seq, 1)?
                        .into_iter()
                        .find(|e| e.seq == kept.seq),
                    None => None,
                };
                Ok::<_, DbError>((last, at_kept))
            })
            .map_err(|e| e.to_string())?;
        let Some(last) = last else {
            return match kept {
                Some(kept) => Err(format!(
                    "the audit log is empty but its head names event {}: run `audit verify`",
                    kept.seq
                )),
                None => Ok(None),
            };
        };
        if let Some(kept) = &kept {
            if at_kept.is_none_or(|e| e.hash != kept.hash) {
                return Err(format!(
                    "the audit log no longer holds event {} as its head names it; the head is kept: run `audit verify`",
                    kept.seq
                ));
            }
            if kept.seq >= last.seq {
                return Ok(None);
            }
        }
        let head = audit::Head::of(&last);
        crate::secret_file::write_atomically(&self.audit_head_path(), head.to_text().as_bytes(), 0o644)
            .map_err(|e| e.to_string())?;
        Ok(Some(head))
    }

    /// Starts the key tier's housekeeping: the audit head kept every
    /// [`AUDIT_HEAD_INTERVAL`], each new head named in the log (so that a log
    /// collector keeps a copy out of reach of whoever can change the data
    /// directory), and once a minute idle per-user limits forgotten and the
    /// database swept (see [`sweep`]).
    pub fn spawn_housekeeping(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let tier = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(AUDIT_HEAD_INTERVAL);
            let mut last_forget = std::time::Instant::now();
            // An outage would repeat the same warning every round: said once.
            let mut failing: Option<String> = None;
            loop {
                every.tick().await;
                let Some(strong) = tier.upgrade() else { return };
                if last_forget.elapsed() >= std::time::Duration::from_secs(60) {
                    if let Some(limits) = strong.sealed_users.get() {
                        limits.forget_idle();
                    }
                    last_forget = std::time::Instant::now();
                    let tier = strong.clone();
                    match tokio::task::spawn_blocking(move || tier.sweep()).await {
                        Ok(Ok(swept)) if swept != sweep::Swept::default() => {
                            tracing::info!(
                                expired = swept.expired,
                                freed = swept.freed,
                                forgotten = swept.forgotten,
                                failed = swept.failed,
                                "swept"
                            );
                        }
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::warn!(error = %e.body.message, "the sweep failed"),
                        Err(e) => tracing::warn!(error = %e, "the sweep failed"),
                    }
                }
                let outcome = tokio::task::spawn_blocking(move || strong.record_audit_head())
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()));
                match outcome {
                    Ok(written) => {
                        if let Some(head) = written {
                            tracing::info!(seq = head.seq, hash = %hex::encode(&head.hash), "audit head");
                        }
                        failing = None;
                    }
                    Err(e) if failing.as_ref() != Some(&e) => {
                        tracing::warn!(error = %e, "the audit head could not be brought up to date");
                        failing = Some(e);
                    }
                    Err(_) => {}
                }
            }
        })
    }

    /// The current time.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// How many sign-in answers the release cache keeps, and how many it has
    /// served (see `release_cache`).
    pub fn release_cache_figures(&self) -> (usize, u64) {
        self.releases.figures()
    }

    /// The CA.
    pub fn ca(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// The integrity key's public half (audit-log and bootstrap verification).
    pub fn integrity_public_key(&self) -> signet_crypto::keys::PublicKey {
        self.integrity.public_key()
    }

    /// Where the key tier keeps its files.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// Appends an audit event inside the caller's transaction.
    pub(crate) fn audit(&self, c: &mut AnyConnection, event: NewEvent) -> Result<(), DbError> {
        let previous = models::events::last(c)?;
        let chained = audit::chain(previous.as_ref(), self.now(), event, &self.integrity)
            .map_err(|e| DbError::Other(format!("signing an audit event: {e}")))?;
        models::events::append(c, &chained)
    }

    /// A keyed tag of a sign-in verifier: what the database stores, so that a
    /// copy of the database without the storage key allows no offline guessing.
    pub fn verifier_tag(&self, user_id: &str, verifier: &[u8]) -> Vec<u8> {
        // Every sign-in computes one: the key is derived once, at start.
        keyed(self.verifier_mac.clone(), user_id, verifier)
    }

    /// HMAC-SHA256 under a key derived from the storage key, for `purpose`.
    pub(crate) fn keyed_hash(&self, purpose: &[u8], user_id: &str, data: &[u8]) -> Vec<u8> {
        keyed(keyed_mac(&self.storage, purpose), user_id, data)
    }
}

/// HMAC-SHA256 keyed with the storage key's derived key for `purpose`.
fn keyed_mac(storage: &StorageKey, purpose: &[u8]) -> Hmac<Sha256> {
    let key = storage.derived_key(purpose);
    // HMAC takes keys of any length: cannot fail.
    <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_ref()).unwrap_or_else(|_| unreachable!())
}

/// `mac` over the length-prefixed user id and `data`.
fn keyed(mut mac: Hmac<Sha256>, user_id: &str, data: &[u8]) -> Vec<u8> {
    mac.update(&(user_id.len() as u32).to_be_bytes());
    mac.update(user_id.as_bytes());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}
