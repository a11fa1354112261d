//! The key tier's cache of record releases: what a successful sign-in
//! answers (the sealed record as opened from storage, the registration and
//! the active certificate, as the JSON sent), with the keyed tag of the
//! verifier that released it and the sign-in generation it was read at.
//!
//! Coherent by construction, whoever writes the database: every change to
//! `users`, `key_records` or `certificates` raises the sign-in generation in
//! its own transaction (database triggers, see the migration
//! `sign_in_generation`), an answer is stored only from a read transaction
//! that saw no failure, no lock and a matching verifier, tagged with that
//! transaction's generation, and it is served only when a read of the
//! generation that *started after the request arrived* still shows that
//! number ([`GenerationReader`]). So a revocation, a re-registration, a
//! reset, a lock or a counted failure committed before a sign-in began —
//! by this process, another key tier or an operator's command — is always
//! seen, and several key tiers on one PostgreSQL never serve each other's
//! stale data. One small read per round serves every request waiting for it.
//!
//! Anything but an exact hit (no entry, another verifier, a generation that
//! moved, a failed read) goes the uncached way: the read transaction and, if
//! need be, the write transaction that counts failures. Only the right
//! verifier is ever answered from here; a wrong one is never compared
//! against anything but the stored tag, in constant time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use bytes::Bytes;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::keys::db::{Database, GenerationReader};

/// Most answers kept (a few KiB each: the sealed record and certificate in base64).
pub const CAPACITY: usize = 4096;

/// One cached answer.
struct Release {
    /// The sign-in generation of the read transaction it came from.
    generation: i64,
    /// The keyed tag of the verifier that released it.
    verifier_tag: Vec<u8>,
    /// The JSON of the `SigninResponse`, shared with the answers in flight (wiped when the last one goes).
    answer: Bytes,
}

/// See the module documentation.
pub(crate) struct SignInCache {
    database: Database,
    entries: Mutex<HashMap<String, Release>>,
    /// Started on first use; `None` when it could not be (the cache then stays empty).
    reader: OnceLock<Option<GenerationReader>>,
    /// Answers served from here.
    hits: AtomicU64,
}

impl SignInCache {
    pub(crate) fn new(database: Database) -> SignInCache {
        SignInCache {
            database,
            entries: Mutex::new(HashMap::new()),
            reader: OnceLock::new(),
            hits: AtomicU64::new(0),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, Release>> {
        // Every update is one insert or remove: a panic elsewhere cannot leave the map half changed.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn reader(&self) -> Option<&GenerationReader> {
        self.reader
            .get_or_init(|| match GenerationReader::start(&self.database) {
                Ok(reader) => Some(reader),
                Err(e) => {
                    tracing::warn!(error = %e, "sign-in answers will not be cached");
                    None
                }
            })
            .as_ref()
    }

    /// The stored answer for `user_id` if `verifier_tag` is the one that released it.
    fn candidate(&self, user_id: &str, verifier_tag: &[u8]) -> Option<(i64, Bytes)> {
        let entries = self.entries();
        let release = entries.get(user_id)?;
        bool::from(release.verifier_tag.as_slice().ct_eq(verifier_tag))
            .then(|| (release.generation, release.answer.clone()))
    }

    /// The answer for `user_id` and `verifier_tag`, if one is stored and still current.
    pub(crate) async fn lookup(&self, user_id: &str, verifier_tag: &[u8]) -> Option<Bytes> {
        let (generation, answer) = self.candidate(user_id, verifier_tag)?;
        let current = self.reader()?.current().await;
        if current == Some(generation) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Some(answer);
        }
        if current.is_some() {
            self.forget_older(user_id, current);
        }
        None
    }

    /// [`SignInCache::lookup`] for a blocking caller.
    pub(crate) fn lookup_blocking(&self, user_id: &str, verifier_tag: &[u8]) -> Option<Bytes> {
        let (generation, answer) = self.candidate(user_id, verifier_tag)?;
        let current = self.reader()?.current_blocking();
        if current == Some(generation) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Some(answer);
        }
        if current.is_some() {
            self.forget_older(user_id, current);
        }
        None
    }

    /// Drops `user_id`'s entry if it is older than `current`.
    fn forget_older(&self, user_id: &str, current: Option<i64>) {
        let mut entries = self.entries();
        if entries.get(user_id).is_some_and(|r| Some(r.generation) < current) {
            entries.remove(user_id);
        }
    }

    /// Keeps `answer`, read at `generation` and released by `verifier_tag`, unless a newer one is kept.
    /// Answers it as shared bytes, wiped when the last holder lets go.
    pub(crate) fn store(
        &self,
        user_id: &str,
        generation: i64,
        verifier_tag: Vec<u8>,
        answer: Zeroizing<Vec<u8>>,
    ) -> Bytes {
        let answer = Bytes::from_owner(answer);
        if self.reader().is_none() {
            return answer;
        }
        let mut entries = self.entries();
        if entries.get(user_id).is_some_and(|r| r.generation > generation) {
            return answer;
        }
        if entries.len() >= CAPACITY && !entries.contains_key(user_id) {
            // Older generations can never be served again; else make room by dropping any one.
            entries.retain(|_, r| r.generation >= generation);
            if entries.len() >= CAPACITY
                && let Some(victim) = entries.keys().next().cloned()
            {
                entries.remove(&victim);
            }
        }
        entries.insert(
            user_id.to_owned(),
            Release {
                generation,
                verifier_tag,
                answer: answer.clone(),
            },
        );
        answer
    }

    /// How many answers are kept, and how many were served so far.
    pub(crate) fn figures(&self) -> (usize, u64) {
        (self.entries().len(), self.hits.load(Ordering::Relaxed))
    }
}
