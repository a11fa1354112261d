//! The receiving end of the sealed channel (the patent's message
//! security), run by the key tier and by the host application, each with
//! its own keys: it signs bootstrap documents, decrypts session master keys,
//! keeps sessions in memory and unseals requests and seals responses, so the
//! web tier forwards bodies it cannot read. The protocol and the shared
//! derivation are documented in [`signet_crypto::channel`]; the wire types in
//! [`signet_schema::channel`].
//!
//! # State and limits
//!
//! * A bootstrap document is signed once and served to every client for
//!   [`ChannelLimits::bootstrap_reuse_seconds`]; then the next request gets a
//!   new one, with a new nonce and time stamp. So a full sign-in costs the
//!   key tier one RSA private operation (the session key's decryption), not
//!   two, and fetching documents costs no signature an attacker could make
//!   the key tier spend.
//! * A document's nonce opens sessions until the document is
//!   [`ChannelLimits::bootstrap_lifetime_seconds`] old. Every opening tried
//!   under it is remembered by its client nonce for that long, whatever the
//!   outcome, and a second opening with the same pair of nonces is refused:
//!   a replayed opening (which would restart the counters of a recorded
//!   session) is refused while the document lives and, like any opening,
//!   after it. An opening whose `encrypted_key` is not exactly the modulus
//!   length is refused before anything is remembered (the length is public;
//!   every other opening costs the key tier a decryption, which bounds how
//!   fast the table can grow).
//! * A session lives [`ChannelLimits::session_lifetime_seconds`] from its
//!   opening, then every message is refused with
//!   [`ChannelError::SessionExpired`] and the client opens a new one.
//! * A session opened and not used within
//!   [`ChannelLimits::unused_session_seconds`] is dropped: a client opens a
//!   session to use it at once.
//! * Each session belongs to the address that opened it (IPv4 whole, IPv6 by
//!   its /64; the key tier learns it from the web tier over the link). One
//!   address holds at most [`ChannelLimits::max_sessions_per_address`]: its
//!   next opening drops its own oldest session. When the table holds
//!   [`ChannelLimits::max_sessions`], expired and unused sessions are dropped
//!   first, and then the oldest session of the address that holds the most:
//!   whoever floods the table loses its own sessions, and a legitimate client
//!   opening one is never refused for the flood. Evictions are only made for
//!   an opening whose key decrypted, so each costs the opener an RSA
//!   encryption and the key tier a decryption.
//! * At most [`ChannelLimits::max_pending_bootstraps`] live documents and
//!   [`ChannelLimits::max_openings`] remembered openings are kept; expired
//!   entries are dropped when a table is full, and a table still full
//!   refuses.
//!
//! # RSA-OAEP decryption of attacker-supplied input (RUSTSEC-2023-0071)
//!
//! The confidentiality key decrypts whatever a client sends. The rsa crate's
//! OAEP decryption is blinded with fresh OS randomness (base and exponents),
//! its exponentiation is constant-time (crypto-bigint), its unpadding uses
//! constant-time comparisons and ignores the leading octet (no Manger
//! oracle), and a wrong-length input is refused before any private-key
//! operation (the length is public). Every failure — wrong length, bad
//! padding, wrong label, a plaintext that is not 32 bytes — is the one
//! [`ChannelError::BadKeyEncryption`] with no detail, and the session keys are
//! derived on the failure path too (from a zero key, then discarded), so
//! success and failure do the same work up to the answer itself.
//! `tests/oaep_timing.rs` measures this with Welch's t-test.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};

use rsa::traits::Decryptor;
use sha2::Sha256;
use signet_crypto::channel::{self as shared, Direction, MASTER_KEY_LEN, OAEP_LABEL, SessionId, SessionKeys};
use signet_crypto::keys::ServerKey;
use signet_keyserver_web::rate_limit::address_key;
use signet_schema::FormatError;
use signet_schema::SignatureScheme;
use signet_schema::api::ApiErrorCode;
use signet_schema::channel::{
    BootstrapDocument, BootstrapPolicy, CHANNEL_VERSION, NONCE_LEN, OpenRequest, SignedBootstrap,
};
use signet_schema::protocol::Bytes;
use zeroize::{Zeroize, Zeroizing};

/// The server's clock (Unix seconds); tests move it.
pub type Clock = std::sync::Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    std::sync::Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    })
}

/// What a server refuses on the sealed channel.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// A field of the request is malformed.
    #[error("invalid channel request: {0}")]
    Malformed(#[from] FormatError),
    /// The bootstrap nonce was not issued here or is too old, or this opening
    /// (the same bootstrap and client nonces) was tried before.
    #[error("unknown or used bootstrap document: fetch a new one")]
    UnknownBootstrap,
    /// The encrypted session key does not decrypt. One error for every cause, by design.
    #[error("the session key could not be decrypted")]
    BadKeyEncryption,
    /// The session table is full.
    #[error("too many open sessions: retry later")]
    TooManySessions,
    /// The table of live bootstrap documents or of remembered openings is full.
    #[error("too many unused bootstrap documents: retry later")]
    TooManyBootstraps,
    /// No such session (never opened, ended, or forgotten after expiry).
    #[error("unknown session: open a new one")]
    UnknownSession,
    /// The session is older than its lifetime.
    #[error("the session expired: open a new one")]
    SessionExpired,
    /// What the message protection of both ends refuses (shared with the
    /// client, `signet_crypto::channel`): a replayed or out-of-order counter,
    /// a tag that does not verify, a route too long to bind, an exhausted
    /// counter.
    #[error(transparent)]
    Sealing(shared::ChannelError),
    /// A key operation or the OS random number generator failed.
    #[error("channel failure: {0}")]
    Internal(String),
}

impl ChannelError {
    /// The API error code a route answers with.
    pub fn api_code(&self) -> ApiErrorCode {
        match self {
            ChannelError::Malformed(_)
            | ChannelError::BadKeyEncryption
            | ChannelError::Sealing(shared::ChannelError::BadTag | shared::ChannelError::RouteTooLong(_)) => {
                ApiErrorCode::BadRequest
            }
            ChannelError::UnknownBootstrap
            | ChannelError::Sealing(shared::ChannelError::Replay { .. } | shared::ChannelError::OutOfOrder { .. }) => {
                ApiErrorCode::NonceReused
            }
            ChannelError::UnknownSession
            | ChannelError::SessionExpired
            | ChannelError::Sealing(shared::ChannelError::CounterExhausted) => ApiErrorCode::StaleRequest,
            ChannelError::TooManySessions | ChannelError::TooManyBootstraps => ApiErrorCode::Unavailable,
            ChannelError::Internal(_) | ChannelError::Sealing(_) => ApiErrorCode::Internal,
        }
    }
}

impl From<shared::ChannelError> for ChannelError {
    fn from(e: shared::ChannelError) -> Self {
        use shared::ChannelError as S;
        match e {
            S::Replay { .. } | S::OutOfOrder { .. } | S::BadTag | S::RouteTooLong(_) | S::CounterExhausted => {
                ChannelError::Sealing(e)
            }
            other => ChannelError::Internal(other.to_string()),
        }
    }
}

/// How many sessions, documents and openings are kept, and for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelLimits {
    /// Open sessions kept at once.
    pub max_sessions: usize,
    /// Open sessions one address (IPv6: one /64) holds at once.
    pub max_sessions_per_address: usize,
    /// Seconds a session may wait for its first request before it is dropped.
    pub unused_session_seconds: i64,
    /// Bootstrap documents whose nonce can still open sessions, kept at once.
    pub max_pending_bootstraps: usize,
    /// Openings (client nonces under live documents) remembered at once.
    pub max_openings: usize,
    /// Seconds a session lives after its opening.
    pub session_lifetime_seconds: i64,
    /// Seconds a bootstrap document can be used to open a session (the
    /// client accepts it within the same five minutes of its own clock).
    pub bootstrap_lifetime_seconds: i64,
    /// Seconds one signed bootstrap document is served before a new one is
    /// signed; 0 signs one for every request.
    pub bootstrap_reuse_seconds: i64,
}

impl Default for ChannelLimits {
    fn default() -> Self {
        ChannelLimits {
            max_sessions: 10_000,
            // A tenth of the table: an office behind one address has room, and
            // ten addresses are needed to fill the table at all.
            max_sessions_per_address: 1_000,
            unused_session_seconds: 60,
            max_pending_bootstraps: 10_000,
            max_openings: 200_000,
            session_lifetime_seconds: 30 * 60,
            bootstrap_lifetime_seconds: shared::MAX_CLOCK_SKEW,
            bootstrap_reuse_seconds: 30,
        }
    }
}

/// Who opened a session: the client's address key (IPv6: its /64), when known.
type Owner = Option<IpAddr>;

/// One open session. Its keys are wiped on drop.
struct Session {
    keys: SessionKeys,
    owner: Owner,
    opened_at: i64,
    /// Its place in the order of openings (seconds do not order a burst).
    opened: u64,
    /// Whether a request has been unsealed in it.
    used: bool,
    /// When its latest request was unsealed.
    unsealed_at: i64,
    expires_at: i64,
    /// Counter the next request must carry.
    next_request: u64,
    /// Lowest counter a response may still be sealed for.
    next_response: u64,
}

/// A bootstrap document whose nonce can still open sessions.
struct Issued {
    /// When its nonce stops opening sessions.
    expires_at: i64,
    /// The client nonces of the openings tried under it.
    opened: HashSet<[u8; NONCE_LEN]>,
}

/// The document served now.
struct Serving {
    signed: SignedBootstrap,
    issued_at: i64,
    policy: BootstrapPolicy,
}

#[derive(Default)]
struct State {
    /// Bootstrap nonce → the document's lifetime and openings.
    pending: HashMap<[u8; NONCE_LEN], Issued>,
    /// How many client nonces `pending` holds in all.
    openings: usize,
    serving: Option<Serving>,
    sessions: HashMap<SessionId, Session>,
    /// How many sessions each owner holds.
    by_owner: HashMap<Owner, usize>,
    /// Openings so far: the next session's [`Session::opened`].
    openings_made: u64,
}

/// How long a session whose request is being answered is kept for that
/// answer, past its lifetime and safe from eviction (the web tier gives the
/// key tier 30 s).
const ANSWER_GRACE_SECONDS: i64 = 120;

impl Session {
    /// Whether a request was unsealed and not yet answered (recently): its
    /// answer must be sealed in this session, so it is neither dropped nor
    /// evicted meanwhile.
    fn answering(&self, now: i64) -> bool {
        self.next_response < self.next_request && now < self.unsealed_at.saturating_add(ANSWER_GRACE_SECONDS)
    }

    /// Whether it can no longer be used: expired, or never used in time.
    fn is_dead(&self, now: i64, limits: &ChannelLimits) -> bool {
        !self.answering(now)
            && (now >= self.expires_at
                || (!self.used && now >= self.opened_at.saturating_add(limits.unused_session_seconds)))
    }
}

impl State {
    /// Removes a session (its keys are wiped) and counts it off its owner.
    fn remove_session(&mut self, id: &SessionId) {
        if let Some(session) = self.sessions.remove(id) {
            self.count_off(session.owner);
        }
    }

    fn count_off(&mut self, owner: Owner) {
        if let Some(held) = self.by_owner.get_mut(&owner) {
            *held -= 1;
            if *held == 0 {
                self.by_owner.remove(&owner);
            }
        }
    }

    /// Drops every session that can no longer be used.
    fn drop_dead_sessions(&mut self, now: i64, limits: &ChannelLimits) {
        let dead: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.is_dead(now, limits))
            .map(|(id, _)| *id)
            .collect();
        for id in &dead {
            self.remove_session(id);
        }
    }

    /// Drops `owner`'s oldest session that is not being answered; says whether there was one.
    fn evict_oldest_of(&mut self, owner: Owner, now: i64) -> bool {
        let oldest = self
            .sessions
            .iter()
            .filter(|(_, s)| s.owner == owner && !s.answering(now))
            .min_by_key(|(_, s)| s.opened)
            .map(|(id, _)| *id);
        if let Some(id) = oldest {
            self.remove_session(&id);
        }
        oldest.is_some()
    }

    /// Makes room for one session of `owner`: within its share, and in the
    /// table, at the expense of whoever holds the most.
    fn make_room(&mut self, owner: Owner, now: i64, limits: &ChannelLimits) {
        let held = |state: &State| state.by_owner.get(&owner).copied().unwrap_or(0);
        if held(self) >= limits.max_sessions_per_address.max(1) {
            self.drop_dead_sessions(now, limits);
            if held(self) >= limits.max_sessions_per_address.max(1) {
                self.evict_oldest_of(owner, now);
            }
        }
        if self.sessions.len() >= limits.max_sessions {
            self.drop_dead_sessions(now, limits);
            while self.sessions.len() >= limits.max_sessions.max(1) {
                // The owner holding the most that has a session to spare.
                let mut owners: Vec<(Owner, usize)> = self.by_owner.iter().map(|(o, held)| (*o, *held)).collect();
                owners.sort_unstable_by_key(|&(_, held)| std::cmp::Reverse(held));
                if !owners.into_iter().any(|(owner, _)| self.evict_oldest_of(owner, now)) {
                    // Every session is being answered: the opening is refused.
                    break;
                }
            }
        }
    }

    /// Forgets documents (and their openings) that can no longer open a session.
    fn drop_expired_documents(&mut self, now: i64) {
        let mut forgotten = 0;
        self.pending.retain(|_, issued| {
            let live = issued.expires_at > now;
            if !live {
                forgotten += issued.opened.len();
            }
            live
        });
        self.openings -= forgotten;
    }
}

/// A server's end of the channel. Share it behind an `Arc`; every method
/// takes `&self`.
pub struct ChannelServer {
    decrypting: rsa::oaep::DecryptingKey<Sha256>,
    modulus_len: usize,
    integrity: ServerKey,
    confidentiality_spki: Vec<u8>,
    integrity_spki: Vec<u8>,
    limits: ChannelLimits,
    clock: Clock,
    state: Mutex<State>,
    /// Held while a new bootstrap document is signed, so that one is.
    signing: Mutex<()>,
}

fn copy_key(key: &ServerKey) -> Result<ServerKey, ChannelError> {
    let der = key.to_pkcs8_der().map_err(|e| ChannelError::Internal(e.to_string()))?;
    ServerKey::from_pkcs8_der(&der).map_err(|e| ChannelError::Internal(e.to_string()))
}

impl ChannelServer {
    /// A channel end holding copies of the integrity key (signs bootstrap
    /// documents) and the confidentiality key (decrypts session keys).
    pub fn new(
        integrity: &ServerKey,
        confidentiality: &ServerKey,
        limits: ChannelLimits,
        clock: Clock,
    ) -> Result<ChannelServer, ChannelError> {
        let internal = |e: signet_crypto::Error| ChannelError::Internal(e.to_string());
        Ok(ChannelServer {
            decrypting: confidentiality.oaep_decrypting_key(OAEP_LABEL),
            modulus_len: confidentiality.modulus_len(),
            integrity: copy_key(integrity)?,
            confidentiality_spki: confidentiality.public_key().to_spki_der().map_err(internal)?,
            integrity_spki: integrity.public_key().to_spki_der().map_err(internal)?,
            limits,
            clock,
            state: Mutex::new(State::default()),
            signing: Mutex::new(()),
        })
    }

    /// The integrity key's SubjectPublicKeyInfo DER: what clients pin.
    pub fn integrity_spki(&self) -> &[u8] {
        &self.integrity_spki
    }

    /// Length in bytes of a well-formed `encrypted_key` (the modulus length).
    pub fn encrypted_key_len(&self) -> usize {
        self.modulus_len
    }

    /// Open sessions, counting expired ones not yet dropped.
    pub fn session_count(&self) -> usize {
        self.lock().sessions.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held cannot leave a map half-updated
        // (every update is a single insert or remove): keep serving.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `GET /v1/bootstrap`: the bootstrap document to serve: the current one while it is younger
    /// than [`ChannelLimits::bootstrap_reuse_seconds`] (and for `policy`),
    /// else a newly signed one with a fresh nonce, whose openings are
    /// accepted until it is [`ChannelLimits::bootstrap_lifetime_seconds`] old.
    pub fn bootstrap_document(&self, policy: BootstrapPolicy) -> Result<SignedBootstrap, ChannelError> {
        if let Some(current) = self.current_document(&policy) {
            return Ok(current);
        }
        // One signature per renewal: whoever waited here finds the new document.
        let _signing = self.signing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(current) = self.current_document(&policy) {
            return Ok(current);
        }
        let now = (self.clock)();
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| ChannelError::Internal(format!("OS random number generator: {e}")))?;
        let document = BootstrapDocument {
            version: CHANNEL_VERSION,
            confidentiality_key: Bytes(self.confidentiality_spki.clone()),
            integrity_key: Bytes(self.integrity_spki.clone()),
            nonce: Bytes(nonce.to_vec()),
            issued_at: now,
            policy: policy.clone(),
        };
        let json = document.to_json();
        let signature = signet_crypto::sign::sign(&self.integrity, SignatureScheme::RsaPssSha256, &json)
            .map_err(|e| ChannelError::Internal(e.to_string()))?;
        let signed = SignedBootstrap {
            document: Bytes(json),
            signature: Bytes(signature),
        };
        let mut state = self.lock();
        if state.pending.len() >= self.limits.max_pending_bootstraps {
            state.drop_expired_documents(now);
            if state.pending.len() >= self.limits.max_pending_bootstraps {
                return Err(ChannelError::TooManyBootstraps);
            }
        }
        state.pending.insert(
            nonce,
            Issued {
                expires_at: now.saturating_add(self.limits.bootstrap_lifetime_seconds),
                opened: HashSet::new(),
            },
        );
        state.serving = Some(Serving {
            signed: signed.clone(),
            issued_at: now,
            policy,
        });
        Ok(signed)
    }

    /// The document being served, if it is still young enough and for `policy`.
    fn current_document(&self, policy: &BootstrapPolicy) -> Option<SignedBootstrap> {
        let now = (self.clock)();
        let state = self.lock();
        let serving = state.serving.as_ref()?;
        let age = now - serving.issued_at;
        ((0..self.limits.bootstrap_reuse_seconds).contains(&age) && &serving.policy == policy)
            .then(|| serving.signed.clone())
    }

    /// `POST /v1/channel/open`: opens a session: checks the bootstrap nonce is live and this opening
    /// new (and remembers it), decrypts the session master key (blinded
    /// RSA-OAEP-SHA256), derives the session id and keys.
    ///
    /// `client` is the address the opening came from, when known; see the
    /// module's notes for how sessions are shared out between addresses.
    pub fn open_session(&self, request: &OpenRequest, client: Option<IpAddr>) -> Result<SessionId, ChannelError> {
        request.validate()?;
        if request.encrypted_key.0.len() != self.modulus_len {
            // The length is public and the decryption would refuse it before any private-key work.
            return Err(ChannelError::BadKeyEncryption);
        }
        let now = (self.clock)();
        let nonce: [u8; NONCE_LEN] = request
            .bootstrap_nonce
            .0
            .as_slice()
            .try_into()
            .map_err(|_| ChannelError::UnknownBootstrap)?;
        let client_nonce: [u8; NONCE_LEN] = request
            .client_nonce
            .0
            .as_slice()
            .try_into()
            .map_err(|_| ChannelError::UnknownBootstrap)?;
        {
            let mut state = self.lock();
            match state.pending.get(&nonce) {
                Some(issued) if issued.expires_at > now && !issued.opened.contains(&client_nonce) => {}
                _ => return Err(ChannelError::UnknownBootstrap),
            }
            if state.openings >= self.limits.max_openings {
                state.drop_expired_documents(now);
                if state.openings >= self.limits.max_openings {
                    return Err(ChannelError::TooManyBootstraps);
                }
            }
            // Remembered whatever the outcome: each pair of nonces is tried once.
            if let Some(issued) = state.pending.get_mut(&nonce) {
                issued.opened.insert(client_nonce);
                state.openings += 1;
            }
        }
        let (valid, keys) = self.decrypt_and_derive(request);
        if !valid {
            return Err(ChannelError::BadKeyEncryption);
        }
        let id = *keys.id();
        let owner = client.map(address_key);
        let mut state = self.lock();
        if state.sessions.contains_key(&id) {
            // Only a repeated (master key, nonces) triple gives the same id,
            // and that pair of nonces was remembered above.
            return Err(ChannelError::UnknownBootstrap);
        }
        state.make_room(owner, now, &self.limits);
        if state.sessions.len() >= self.limits.max_sessions {
            return Err(ChannelError::TooManySessions);
        }
        state.openings_made += 1;
        let opened = state.openings_made;
        state.sessions.insert(
            id,
            Session {
                keys,
                owner,
                opened_at: now,
                opened,
                used: false,
                unsealed_at: now,
                expires_at: now.saturating_add(self.limits.session_lifetime_seconds),
                next_request: 0,
                next_response: 0,
            },
        );
        *state.by_owner.entry(owner).or_default() += 1;
        Ok(id)
    }

    /// The private-key step of [`ChannelServer::open_session`] alone: whether
    /// `request`'s encrypted key decrypts, from the same work whatever it
    /// holds. For timing measurements (`oaep_timing.rs`): what
    /// `open_session` does after this step depends only on the bit it
    /// answers, which the client is told anyway.
    #[doc(hidden)]
    pub fn key_decrypts(&self, request: &OpenRequest) -> bool {
        self.decrypt_and_derive(request).0
    }

    /// Decrypts the master key and derives session keys on every path; says
    /// whether the decryption was valid. The caller discloses only that bit.
    fn decrypt_and_derive(&self, request: &OpenRequest) -> (bool, SessionKeys) {
        let mut master = Zeroizing::new([0u8; MASTER_KEY_LEN]);
        let decrypted = self.decrypting.decrypt(&request.encrypted_key.0);
        let valid = match decrypted {
            Ok(mut plaintext) => {
                let right_length = plaintext.len() == MASTER_KEY_LEN;
                if right_length {
                    master.copy_from_slice(&plaintext);
                }
                plaintext.zeroize();
                right_length
            }
            Err(_) => false,
        };
        let keys = SessionKeys::derive(&master, &request.bootstrap_nonce.0, &request.client_nonce.0);
        (valid, keys)
    }

    /// Runs `f` on a live session, dropping it if expired.
    fn with_session<T>(
        &self,
        session_id: &[u8],
        f: impl FnOnce(&mut Session) -> Result<T, ChannelError>,
    ) -> Result<T, ChannelError> {
        let id: SessionId = session_id.try_into().map_err(|_| ChannelError::UnknownSession)?;
        let now = (self.clock)();
        let mut state = self.lock();
        let session = state.sessions.get(&id).ok_or(ChannelError::UnknownSession)?;
        if session.is_dead(now, &self.limits) {
            state.remove_session(&id);
            return Err(ChannelError::SessionExpired);
        }
        let session = state.sessions.get_mut(&id).ok_or(ChannelError::UnknownSession)?;
        f(session)
    }

    /// Opens request number `counter` of a session, sent to `method` `path`.
    /// Only the next counter is accepted; a refused request changes nothing.
    pub fn unseal_request(
        &self,
        session_id: &[u8],
        counter: u64,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ChannelError> {
        let now = (self.clock)();
        self.with_session(session_id, |session| {
            // A session kept only to answer its latest request takes no new one.
            if now >= session.expires_at {
                return Err(ChannelError::SessionExpired);
            }
            let expected = session.next_request;
            shared::check_request_counter(counter, expected)?;
            let next = expected
                .checked_add(1)
                .ok_or(ChannelError::Sealing(shared::ChannelError::CounterExhausted))?;
            let plaintext = session
                .keys
                .open(Direction::ClientToServer, counter, method, path, body)?;
            session.next_request = next;
            session.used = true;
            session.unsealed_at = now;
            Ok(plaintext)
        })
    }

    /// Seals the response to request `counter`, which must be the latest
    /// request unsealed and not yet answered.
    pub fn seal_response(
        &self,
        session_id: &[u8],
        counter: u64,
        method: &str,
        path: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ChannelError> {
        self.with_session(session_id, |session| {
            shared::check_response_counter(counter, session.next_request, session.next_response)?;
            let body = session
                .keys
                .seal(Direction::ServerToClient, counter, method, path, plaintext)?;
            session.next_response = counter + 1;
            Ok(body)
        })
    }

    /// Ends a session (the client closed, or signed out); its keys are wiped.
    pub fn end_session(&self, session_id: &[u8]) {
        if let Ok(id) = <SessionId>::try_from(session_id) {
            self.lock().remove_session(&id);
        }
    }

    /// Open sessions held by `client`'s address (its /64 for IPv6), counting
    /// dead ones not yet dropped.
    pub fn sessions_of(&self, client: Option<IpAddr>) -> usize {
        self.lock().by_owner.get(&client.map(address_key)).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_crypto::channel::ChannelClient;
    use signet_schema::KeySize;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::{Arc, OnceLock};

    const T0: i64 = 1_767_225_600;

    fn test_policy() -> BootstrapPolicy {
        BootstrapPolicy {
            kdf: signet_schema::KdfParams::DEFAULT,
            key_bits: KeySize::Rsa3072,
            signature_scheme: SignatureScheme::RsaPssSha256,
        }
    }

    fn keys() -> &'static (ServerKey, ServerKey) {
        static KEYS: OnceLock<(ServerKey, ServerKey)> = OnceLock::new();
        KEYS.get_or_init(|| {
            (
                ServerKey::generate(KeySize::Rsa2048).expect("keygen"),
                ServerKey::generate(KeySize::Rsa2048).expect("keygen"),
            )
        })
    }

    fn server_with(limits: ChannelLimits) -> (ChannelServer, Arc<AtomicI64>) {
        let time = Arc::new(AtomicI64::new(T0));
        let t = time.clone();
        let clock: Clock = Arc::new(move || t.load(Ordering::SeqCst));
        let (integrity, confidentiality) = keys();
        let server = ChannelServer::new(integrity, confidentiality, limits, clock).expect("server");
        (server, time)
    }

    fn server() -> (ChannelServer, Arc<AtomicI64>) {
        server_with(ChannelLimits::default())
    }

    fn connect(server: &ChannelServer, now: i64) -> (ChannelClient, SessionId) {
        connect_from(server, now, None)
    }

    fn connect_from(server: &ChannelServer, now: i64, address: Option<IpAddr>) -> (ChannelClient, SessionId) {
        let bootstrap = server.bootstrap_document(test_policy()).expect("bootstrap");
        let (client, request) = ChannelClient::open(&bootstrap, server.integrity_spki(), now).expect("client");
        let id = server.open_session(&request, address).expect("open");
        assert_eq!(&id, client.session_id());
        (client, id)
    }

    /// Uses a session once: its first request, unsealed.
    fn use_once(server: &ChannelServer, client: &mut ChannelClient, id: &SessionId) -> Result<(), ChannelError> {
        let (counter, body) = client.seal_request("POST", "/v1/signin", b"{}").expect("seal");
        server
            .unseal_request(id, counter, "POST", "/v1/signin", &body)
            .map(drop)
    }

    fn address(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("an address"))
    }

    #[test]
    fn round_trip() {
        let (server, _) = server();
        let (mut client, id) = connect(&server, T0);
        for n in 0..3u8 {
            let (counter, body) = client.seal_request("POST", "/v1/signin", &[n; 40]).expect("seal");
            let plain = server
                .unseal_request(&id, counter, "POST", "/v1/signin", &body)
                .expect("unseal");
            assert_eq!(plain.as_slice(), &[n; 40]);
            let reply = server
                .seal_response(&id, counter, "POST", "/v1/signin", b"{\"ok\":1}")
                .expect("seal response");
            assert_eq!(
                client
                    .open_response(counter, "POST", "/v1/signin", &reply)
                    .expect("open")
                    .as_slice(),
                b"{\"ok\":1}"
            );
        }
        assert_eq!(server.session_count(), 1);
        server.end_session(&id);
        assert_eq!(server.session_count(), 0);
    }

    #[test]
    fn replay_reorder_and_skip_are_refused() {
        let (server, _) = server();
        let (mut client, id) = connect(&server, T0);
        let (c0, b0) = client.seal_request("POST", "/v1/apply", b"zero").expect("seal");
        let (c1, b1) = client.seal_request("POST", "/v1/apply", b"one").expect("seal");
        let (c2, b2) = client.seal_request("POST", "/v1/apply", b"two").expect("seal");
        // Reordered: 1 before 0; skipped: 2 before 1.
        assert!(matches!(
            server.unseal_request(&id, c1, "POST", "/v1/apply", &b1),
            Err(ChannelError::Sealing(shared::ChannelError::OutOfOrder {
                counter: 1,
                expected: 0
            }))
        ));
        server.unseal_request(&id, c0, "POST", "/v1/apply", &b0).expect("0");
        assert!(matches!(
            server.unseal_request(&id, c2, "POST", "/v1/apply", &b2),
            Err(ChannelError::Sealing(shared::ChannelError::OutOfOrder {
                counter: 2,
                expected: 1
            }))
        ));
        // Replayed.
        assert!(matches!(
            server.unseal_request(&id, c0, "POST", "/v1/apply", &b0),
            Err(ChannelError::Sealing(shared::ChannelError::Replay {
                counter: 0,
                expected: 1
            }))
        ));
        // A body under another counter fails its tag and spends nothing.
        assert!(matches!(
            server.unseal_request(&id, 1, "POST", "/v1/apply", &b2),
            Err(ChannelError::Sealing(shared::ChannelError::BadTag))
        ));
        server.unseal_request(&id, c1, "POST", "/v1/apply", &b1).expect("1");
        server.unseal_request(&id, c2, "POST", "/v1/apply", &b2).expect("2");
    }

    #[test]
    fn a_body_moved_to_another_route_is_refused() {
        let (server, _) = server();
        let (mut client, id) = connect(&server, T0);
        let (c, body) = client.seal_request("POST", "/v1/revoke", b"{}").expect("seal");
        for (method, path) in [("GET", "/v1/revoke"), ("POST", "/v1/apply"), ("POST", "/v1/revoke?x")] {
            assert!(matches!(
                server.unseal_request(&id, c, method, path, &body),
                Err(ChannelError::Sealing(shared::ChannelError::BadTag))
            ));
        }
        let mut altered = body.clone();
        altered[30] ^= 4;
        assert!(matches!(
            server.unseal_request(&id, c, "POST", "/v1/revoke", &altered),
            Err(ChannelError::Sealing(shared::ChannelError::BadTag))
        ));
        // Another session's id with this body.
        let (_, other) = connect(&server, T0);
        assert!(matches!(
            server.unseal_request(&other, c, "POST", "/v1/revoke", &body),
            Err(ChannelError::Sealing(shared::ChannelError::BadTag))
        ));
        server
            .unseal_request(&id, c, "POST", "/v1/revoke", &body)
            .expect("right place");
    }

    #[test]
    fn responses_are_bound_to_their_request() {
        let (server, _) = server();
        let (mut client, id) = connect(&server, T0);
        // Nothing to answer yet.
        assert!(matches!(
            server.seal_response(&id, 0, "GET", "/v1/policy", b"{}"),
            Err(ChannelError::Sealing(shared::ChannelError::OutOfOrder { .. }))
        ));
        let (c0, b0) = client.seal_request("GET", "/v1/policy", b"").expect("seal");
        server
            .unseal_request(&id, c0, "GET", "/v1/policy", &b0)
            .expect("unseal");
        let (c1, b1) = client.seal_request("GET", "/v1/policy", b"").expect("seal");
        server
            .unseal_request(&id, c1, "GET", "/v1/policy", &b1)
            .expect("unseal");
        // Request 0 was never answered, but 1 is the latest: only 1 may be answered.
        assert!(matches!(
            server.seal_response(&id, c0, "GET", "/v1/policy", b"{}"),
            Err(ChannelError::Sealing(shared::ChannelError::OutOfOrder {
                counter: 0,
                expected: 1
            }))
        ));
        let r1 = server.seal_response(&id, c1, "GET", "/v1/policy", b"{}").expect("seal");
        assert!(matches!(
            server.seal_response(&id, c1, "GET", "/v1/policy", b"{}"),
            Err(ChannelError::Sealing(shared::ChannelError::Replay { counter: 1, .. }))
        ));
        // The client refuses it under the other counter or route.
        assert!(matches!(
            client.open_response(c1, "GET", "/v1/ca.pem", &r1),
            Err(shared::ChannelError::BadTag)
        ));
        client.open_response(c1, "GET", "/v1/policy", &r1).expect("open");
    }

    #[test]
    fn unknown_session_is_refused() {
        let (server, _) = server();
        assert!(matches!(
            server.unseal_request(&[0; 16], 0, "GET", "/", b"x"),
            Err(ChannelError::UnknownSession)
        ));
        assert!(matches!(
            server.unseal_request(&[0; 3], 0, "GET", "/", b"x"),
            Err(ChannelError::UnknownSession)
        ));
        assert!(matches!(
            server.seal_response(&[1; 16], 0, "GET", "/", b"x"),
            Err(ChannelError::UnknownSession)
        ));
        let (mut client, id) = connect(&server, T0);
        server.end_session(&id);
        let (c, body) = client.seal_request("GET", "/", b"").expect("seal");
        assert!(matches!(
            server.unseal_request(&id, c, "GET", "/", &body),
            Err(ChannelError::UnknownSession)
        ));
    }

    #[test]
    fn expired_session_is_refused() {
        let (server, time) = server();
        let (mut client, id) = connect(&server, T0);
        let (c, body) = client.seal_request("GET", "/", b"").expect("seal");
        time.store(T0 + ChannelLimits::default().session_lifetime_seconds, Ordering::SeqCst);
        assert!(matches!(
            server.unseal_request(&id, c, "GET", "/", &body),
            Err(ChannelError::SessionExpired)
        ));
        // Dropped once seen expired.
        assert!(matches!(
            server.unseal_request(&id, c, "GET", "/", &body),
            Err(ChannelError::UnknownSession)
        ));
        assert_eq!(server.session_count(), 0);
    }

    #[test]
    fn a_full_table_drops_the_flooders_oldest_session_never_a_newcomers() {
        let limits = ChannelLimits {
            max_sessions: 6,
            max_sessions_per_address: 4,
            ..ChannelLimits::default()
        };
        let (server, time) = server_with(limits);
        let (flooder, other, newcomer) = (address("192.0.2.1"), address("2001:db8::1"), address("198.51.100.7"));
        let mut first = Vec::new();
        for second in 0..4 {
            time.store(T0 + second, Ordering::SeqCst);
            first.push(connect_from(&server, T0 + second, flooder));
        }
        // Another client of the same /64 is the same owner as 2001:db8::1.
        connect_from(&server, T0 + 4, other);
        connect_from(&server, T0 + 4, address("2001:db8::2"));
        assert_eq!(server.session_count(), 6);
        assert_eq!(server.sessions_of(other), 2);
        // The table is full: a newcomer's opening succeeds, at the flooder's expense.
        time.store(T0 + 5, Ordering::SeqCst);
        let (mut client, id) = connect_from(&server, T0 + 5, newcomer);
        use_once(&server, &mut client, &id).expect("the newcomer's session works");
        assert_eq!(server.session_count(), 6);
        assert_eq!(
            (
                server.sessions_of(flooder),
                server.sessions_of(other),
                server.sessions_of(newcomer)
            ),
            (3, 2, 1)
        );
        // The session dropped was the flooder's oldest; its newer ones still work.
        let (mut oldest, oldest_id) = first.remove(0);
        assert!(matches!(
            use_once(&server, &mut oldest, &oldest_id),
            Err(ChannelError::UnknownSession)
        ));
        for (mut client, id) in first {
            use_once(&server, &mut client, &id).expect("a newer session of the flooder");
        }
    }

    #[test]
    fn a_request_being_answered_keeps_its_session() {
        let limits = ChannelLimits {
            max_sessions: 2,
            session_lifetime_seconds: 60,
            ..ChannelLimits::default()
        };
        let (server, time) = server_with(limits);
        let (mut client, id) = connect_from(&server, T0, address("198.51.100.7"));
        let (counter, body) = client.seal_request("POST", "/v1/apply", b"{}").expect("seal");
        server
            .unseal_request(&id, counter, "POST", "/v1/apply", &body)
            .expect("unseal");
        // While it is answered, its lifetime ends and a flood fills the table.
        time.store(T0 + 61, Ordering::SeqCst);
        for _ in 0..5 {
            connect_from(&server, T0 + 61, address("192.0.2.1"));
        }
        assert_eq!(server.sessions_of(address("198.51.100.7")), 1);
        let answer = server
            .seal_response(&id, counter, "POST", "/v1/apply", b"{\"ok\":1}")
            .expect("the answer is sealed in its session");
        client
            .open_response(counter, "POST", "/v1/apply", &answer)
            .expect("and opened");
        // It takes no new request, and goes at the next opening that needs room.
        assert!(matches!(
            use_once(&server, &mut client, &id),
            Err(ChannelError::SessionExpired)
        ));
    }

    #[test]
    fn one_address_holds_its_share_and_no_more() {
        let limits = ChannelLimits {
            max_sessions_per_address: 3,
            ..ChannelLimits::default()
        };
        let (server, time) = server_with(limits);
        let flooder = address("192.0.2.1");
        let mut opened = Vec::new();
        for second in 0..10 {
            time.store(T0 + second, Ordering::SeqCst);
            opened.push(connect_from(&server, T0 + second, flooder));
            assert!(server.sessions_of(flooder) <= 3);
        }
        assert_eq!(server.session_count(), 3);
        // The newest three are the ones kept.
        for (n, (mut client, id)) in opened.into_iter().enumerate() {
            assert_eq!(use_once(&server, &mut client, &id).is_ok(), n >= 7, "session {n}");
        }
        // Another address is not counted against it.
        connect_from(&server, T0 + 10, address("198.51.100.7"));
        assert_eq!(server.session_count(), 4);
    }

    #[test]
    fn a_session_not_used_in_time_is_dropped_and_expired_ones_make_room() {
        let limits = ChannelLimits {
            max_sessions: 2,
            unused_session_seconds: 30,
            session_lifetime_seconds: 600,
            ..ChannelLimits::default()
        };
        let (server, time) = server_with(limits);
        let (mut idle, idle_id) = connect(&server, T0);
        let (mut busy, busy_id) = connect(&server, T0);
        use_once(&server, &mut busy, &busy_id).expect("used at once");
        time.store(T0 + 30, Ordering::SeqCst);
        assert!(matches!(
            use_once(&server, &mut idle, &idle_id),
            Err(ChannelError::SessionExpired)
        ));
        use_once(&server, &mut busy, &busy_id).expect("a session in use lives on");
        // Expired sessions are dropped before anyone's is evicted.
        time.store(T0 + 600, Ordering::SeqCst);
        let (_, fresh) = connect(&server, T0 + 600);
        connect(&server, T0 + 600);
        assert_eq!(server.session_count(), 2);
        assert!(matches!(
            use_once(&server, &mut busy, &busy_id),
            Err(ChannelError::UnknownSession)
        ));
        assert_ne!(fresh, busy_id);
    }

    #[test]
    fn one_document_is_served_for_the_reuse_window_then_renewed() {
        let limits = ChannelLimits::default();
        let (server, time) = server_with(limits.clone());
        let policy = || test_policy();
        let first = server.bootstrap_document(policy()).expect("first");
        time.store(T0 + limits.bootstrap_reuse_seconds - 1, Ordering::SeqCst);
        assert_eq!(server.bootstrap_document(policy()).expect("same"), first);
        // Another policy is another document.
        let mut other_policy = policy();
        other_policy.key_bits = signet_schema::KeySize::Rsa4096;
        let other = server.bootstrap_document(other_policy).expect("other policy");
        assert_ne!(other, first);
        time.store(T0 + limits.bootstrap_reuse_seconds, Ordering::SeqCst);
        let renewed = server.bootstrap_document(policy()).expect("renewed");
        assert_ne!(renewed.document, first.document);
        let (first_doc, renewed_doc) = (
            BootstrapDocument::from_json(&first.document.0).expect("first"),
            BootstrapDocument::from_json(&renewed.document.0).expect("renewed"),
        );
        assert_ne!(first_doc.nonce, renewed_doc.nonce);
        assert_eq!(renewed_doc.issued_at, T0 + limits.bootstrap_reuse_seconds);
        // The older document still opens sessions while it lives.
        let now = T0 + limits.bootstrap_reuse_seconds;
        let (_, request) = ChannelClient::open(&first, server.integrity_spki(), now).expect("client");
        server.open_session(&request, None).expect("the older document");
        let (_, request) = ChannelClient::open(&renewed, server.integrity_spki(), now).expect("client");
        server.open_session(&request, None).expect("the renewed document");
    }

    #[test]
    fn each_opening_is_accepted_once_bounded_and_expires() {
        let limits = ChannelLimits {
            max_openings: 3,
            ..ChannelLimits::default()
        };
        let (server, time) = server_with(limits.clone());
        let policy = || test_policy();
        let shared_document = server.bootstrap_document(policy()).expect("document");
        // Many clients open sessions under one document, each once.
        let (_, request) = ChannelClient::open(&shared_document, server.integrity_spki(), T0).expect("client");
        server.open_session(&request, None).expect("open");
        let (_, second) = ChannelClient::open(&shared_document, server.integrity_spki(), T0).expect("client");
        server
            .open_session(&second, None)
            .expect("another client, same document");
        // The same opening again (a replay): refused.
        assert!(matches!(
            server.open_session(&request, None),
            Err(ChannelError::UnknownBootstrap)
        ));
        // A bad attempt spends its pair of nonces too.
        let (_, mut bad) = ChannelClient::open(&shared_document, server.integrity_spki(), T0).expect("client");
        let good_key = bad.encrypted_key.clone();
        bad.encrypted_key.0[5] ^= 1;
        assert!(matches!(
            server.open_session(&bad, None),
            Err(ChannelError::BadKeyEncryption)
        ));
        bad.encrypted_key = good_key;
        assert!(matches!(
            server.open_session(&bad, None),
            Err(ChannelError::UnknownBootstrap)
        ));
        // Three openings are remembered: the table is full until the document expires.
        let (_, fourth) = ChannelClient::open(&shared_document, server.integrity_spki(), T0).expect("client");
        assert!(matches!(
            server.open_session(&fourth, None),
            Err(ChannelError::TooManyBootstraps)
        ));
        // A wrong-length key is refused before anything is remembered.
        let mut short = fourth.clone();
        short.encrypted_key.0.pop();
        assert!(matches!(
            server.open_session(&short, None),
            Err(ChannelError::BadKeyEncryption)
        ));
        // A nonce the server never issued.
        let (_, mut made_up) = ChannelClient::open(&shared_document, server.integrity_spki(), T0).expect("client");
        made_up.bootstrap_nonce = Bytes(vec![0xEE; NONCE_LEN]);
        assert!(matches!(
            server.open_session(&made_up, None),
            Err(ChannelError::UnknownBootstrap)
        ));
        // Too old: the document no longer opens sessions, a replay included; its openings are forgotten.
        time.store(T0 + limits.bootstrap_lifetime_seconds, Ordering::SeqCst);
        assert!(matches!(
            server.open_session(&request, None),
            Err(ChannelError::UnknownBootstrap)
        ));
        let fresh = server.bootstrap_document(policy()).expect("fresh document");
        let (_, late) = ChannelClient::open(&fresh, server.integrity_spki(), T0 + limits.bootstrap_lifetime_seconds)
            .expect("client");
        server.open_session(&late, None).expect("room after expiry");
    }

    #[test]
    fn documents_are_bounded_when_signed_for_every_request() {
        let limits = ChannelLimits {
            max_pending_bootstraps: 2,
            bootstrap_reuse_seconds: 0,
            ..ChannelLimits::default()
        };
        let (server, time) = server_with(limits.clone());
        let policy = || test_policy();
        let first = server.bootstrap_document(policy()).expect("1");
        let second = server.bootstrap_document(policy()).expect("2");
        assert_ne!(first, second);
        assert!(matches!(
            server.bootstrap_document(policy()),
            Err(ChannelError::TooManyBootstraps)
        ));
        time.store(T0 + limits.bootstrap_lifetime_seconds, Ordering::SeqCst);
        server.bootstrap_document(policy()).expect("room after expiry");
    }

    #[test]
    fn every_bad_key_encryption_is_one_error() {
        let (server, _) = server();
        let policy = || test_policy();
        let k = server.encrypted_key_len();
        assert_eq!(k, 256);
        let mut cases: Vec<Vec<u8>> = vec![vec![], vec![0; 1], vec![0; k - 1], vec![0; k + 1], vec![0xFF; k]];
        cases.push(vec![0; k]);
        let mut random = vec![0u8; k];
        getrandom::fill(&mut random).expect("rng");
        random[0] = 0;
        cases.push(random);
        // A valid OAEP encryption of a 16-byte key is refused the same way.
        use rsa::pkcs8::DecodePrivateKey;
        let confidentiality = rsa::PrivateKey::from_pkcs8_der(&keys().1.to_pkcs8_der().expect("der"))
            .expect("key")
            .to_public_key();
        let short = rsa::oaep::EncryptingKey::<Sha256>::new_with_label(confidentiality.clone(), OAEP_LABEL);
        use rsa::traits::RandomizedEncryptor;
        cases.push(short.encrypt_with_rng(&mut rand::rngs::SysRng, &[1; 16]).expect("enc"));
        // The right length under another label.
        let other = rsa::oaep::EncryptingKey::<Sha256>::new_with_label(confidentiality, b"other".as_slice());
        cases.push(other.encrypt_with_rng(&mut rand::rngs::SysRng, &[1; 32]).expect("enc"));
        for (i, encrypted_key) in cases.into_iter().enumerate() {
            let doc = server.bootstrap_document(policy()).expect("bootstrap");
            let (_, mut request) = ChannelClient::open(&doc, server.integrity_spki(), T0).expect("client");
            request.encrypted_key = Bytes(encrypted_key);
            let err = server.open_session(&request, None).expect_err("refused");
            assert!(matches!(err, ChannelError::BadKeyEncryption), "case {i}: {err:?}");
            assert_eq!(err.to_string(), "the session key could not be decrypted");
        }
        assert_eq!(server.session_count(), 0);
    }

    #[test]
    fn malformed_open_requests_name_the_field() {
        let (server, _) = server();
        let doc = server.bootstrap_document(test_policy()).expect("bootstrap");
        let (_, mut request) = ChannelClient::open(&doc, server.integrity_spki(), T0).expect("client");
        request.client_nonce.0.push(0);
        assert!(matches!(
            server.open_session(&request, None),
            Err(ChannelError::Malformed(FormatError {
                field: "client_nonce",
                ..
            }))
        ));
    }

    #[test]
    fn tampered_and_stale_bootstraps_are_refused_by_the_client() {
        let (server, _) = server();
        let doc = server.bootstrap_document(test_policy()).expect("bootstrap");
        let mut tampered = doc.clone();
        let at = tampered.document.0.len() / 2;
        tampered.document.0[at] ^= 1;
        assert!(ChannelClient::open(&tampered, server.integrity_spki(), T0).is_err());
        assert!(matches!(
            ChannelClient::open(&doc, server.integrity_spki(), T0 + 301),
            Err(shared::ChannelError::BootstrapStale { .. })
        ));
        let wrong = keys().1.public_key().to_spki_der().expect("spki");
        assert!(matches!(
            ChannelClient::open(&doc, &wrong, T0),
            Err(shared::ChannelError::ServerKeyMismatch)
        ));
    }
}
