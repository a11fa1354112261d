//! The flows of the design, one function each: apply, consent, pre-login,
//! sign-in, revoke, and publication of the CA certificate, CRLs and
//! certificates.

use signet_schema::vocabulary::AuditEventKind;
use std::net::IpAddr;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use signet_crypto::etm::SealingKey;
use signet_schema::api::{
    self, ApiErrorCode, ApplyRequest, ApplyResponse, CertificateInfo, ConsentRequest, ConsentResponse, PreloginRequest,
    PreloginResponse, ReregisterRequest, ReregisterResponse, RevocationReason, RevokeRequest, RevokeResponse,
    SigninRequest, SigninResponse,
};
use signet_schema::protocol::Bytes;
use signet_schema::{KdfParams, RegistrationData, SealedKeyRecord};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::KeyTier;
use crate::error::Failure;
use crate::keys::audit::NewEvent;
use crate::keys::ca::{self, CaError, RevokedEntry};
use crate::keys::consent::{ConsentPhrase, PhraseError};
use crate::keys::db::models::{
    self, Application, ApplicationState, Certificate, CertificateStatus, GuessPurpose, Guesses, KeyRecord, LetterState,
    NewUser, User, UserRole, UserState,
};
use crate::keys::db::{AnyConnection, DbError, TransactionError};
use crate::keys::guess_sources::Wait;
use crate::keys::letter::ConsentLetter;
use crate::keys::storage_key::BlobKind;

/// Length of a sign-in verifier.
const VERIFIER_LEN: usize = 32;
/// What a consented application's wrap holds instead of the record.
const CONSENTED_MARKER: &[u8] = b"consented";
/// Nonce length bounds, in characters.
const NONCE_LEN: std::ops::RangeInclusive<usize> = 16..=64;

/// Inside a write transaction: a database error rolls back; a refusal is
/// returned after committing what was written (a counted failure, a lock).
pub(crate) enum Outcome<T> {
    /// The step succeeded.
    Done(T),
    /// The step was refused, and what it wrote (counters, events) stays.
    Refused(Failure),
}

/// Error type of a transaction closure: rolls everything back.
#[derive(Debug)]
pub(crate) enum TxError {
    Db(DbError),
    Abort(Failure),
}

impl From<DbError> for TxError {
    fn from(e: DbError) -> Self {
        TxError::Db(e)
    }
}

impl TransactionError for TxError {
    fn database_error(&self) -> Option<&DbError> {
        match self {
            TxError::Db(e) => Some(e),
            TxError::Abort(_) => None,
        }
    }
}

impl From<TxError> for Failure {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Db(e) => Failure::from(e),
            TxError::Abort(f) => f,
        }
    }
}

pub(crate) fn settle<T>(result: Result<Outcome<T>, TxError>) -> Result<T, Failure> {
    match result? {
        Outcome::Done(value) => Ok(value),
        Outcome::Refused(failure) => Err(failure),
    }
}

pub(crate) fn event(actor: &str, kind: AuditEventKind, subject: &str, detail: serde_json::Value) -> NewEvent {
    NewEvent {
        actor: actor.to_owned(),
        kind,
        subject: Some(subject.to_owned()),
        detail,
    }
}

fn random_hex(bytes: usize) -> Result<String, Failure> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Failure::internal(format!("OS RNG: {e}")))?;
    Ok(hex::encode(buf))
}

fn ca_failure(e: CaError) -> Failure {
    match e {
        CaError::BadRequestSignature => Failure::new(
            ApiErrorCode::BadSignature,
            "the certification request's signature does not verify",
        ),
        CaError::MalformedRequest => Failure::bad_field(
            "certification_request",
            "the certification request is not a valid PKCS#10 request",
        ),
        other @ (CaError::SubjectMismatch { .. }
        | CaError::UnsupportedKey(_)
        | CaError::UnsupportedSignatureAlgorithm(_)
        | CaError::Registration(_)) => Failure::bad_field("certification_request", other.to_string()),
        other => Failure::internal(other),
    }
}

/// The stored reason (RFC 5280 name); an unreadable one reads as unspecified.
fn reason_of(stored: Option<&str>) -> RevocationReason {
    stored
        .and_then(|s| RevocationReason::from_rfc5280_name(s).ok())
        .unwrap_or(RevocationReason::Unspecified)
}

pub(crate) fn info(c: Certificate) -> CertificateInfo {
    CertificateInfo {
        status: c.status,
        revocation_reason: c.revoked_at.map(|_| reason_of(c.revocation_reason.as_deref())),
        serial: c.serial,
        user_id: c.user_id,
        subject: c.subject,
        sha256_fingerprint: c.sha256_fingerprint,
        not_before: c.not_before,
        not_after: c.not_after,
        revoked_at: c.revoked_at,
        der: Bytes(c.der),
    }
}

/// The consent wrap's own sealing key, from the phrase (see [`ConsentPhrase::wrap_key`]).
fn consent_sealing(phrase: &ConsentPhrase, application_id: &str) -> SealingKey {
    SealingKey::derive(&phrase.wrap_key(application_id), "consent")
}

/// A sealed record sent by a client: well-formed, for `user_id`, with KDF
/// parameters between the floor and the ceiling and at least as costly in
/// memory and passes as `policy` asks (a client that took its parameters
/// from anything but the signed policy is refused).
fn new_record(bytes: &[u8], user_id: &str, policy: &KdfParams) -> Result<SealedKeyRecord, Failure> {
    let record = SealedKeyRecord::parse(bytes)
        .map_err(|e| Failure::bad_field("record", format!("the sealed record is malformed: {e}")))?;
    if record.header.user_id != user_id {
        return Err(Failure::bad_field(
            "record",
            "the sealed record belongs to another user id",
        ));
    }
    let kdf = record.header.kdf_params;
    if !kdf.meets_floor() || !kdf.within_ceiling() {
        return Err(Failure::bad_field(
            "record",
            "the sealed record's key-derivation parameters are out of range",
        ));
    }
    if kdf.m_kib < policy.m_kib || kdf.t < policy.t {
        return Err(Failure::bad_field(
            "record",
            format!(
                "the sealed record's key derivation is below this server's policy (Argon2id with at least {} KiB \
                 and {} passes): seal it under the policy of the signed bootstrap document",
                policy.m_kib, policy.t
            ),
        ));
    }
    Ok(record)
}

/// The public key of a certification request (SPKI DER), at least as long
/// as `policy` asks.
fn check_key_size(spki: &[u8], policy: signet_schema::KeySize) -> Result<(), Failure> {
    let bits = signet_crypto::keys::PublicKey::from_spki_der(spki)
        .map_err(|e| Failure::bad_field("certification_request", format!("the public key does not read: {e}")))?
        .bits();
    if bits < policy.bits() as u32 {
        return Err(Failure::bad_field(
            "certification_request",
            format!(
                "a key of {bits} bits is below this server's policy of {} bits",
                policy.bits()
            ),
        ));
    }
    Ok(())
}

/// Whether stored registration JSON is the same registration as `other`.
fn registration_matches(stored: &str, other: &RegistrationData) -> bool {
    serde_json::from_str::<RegistrationData>(stored).is_ok_and(|r| &r == other)
}

/// A sign-in verifier is 32 bytes.
fn check_verifier(field: &str, verifier: &[u8]) -> Result<(), Failure> {
    if verifier.len() != VERIFIER_LEN {
        return Err(Failure::bad_field(field, "the verifier must be 32 bytes"));
    }
    Ok(())
}

/// A user id of the form every registered one has; any other is refused
/// before anything is looked up (the answer depends on the id's form alone).
fn check_user_id(user_id: &str) -> Result<(), Failure> {
    signet_schema::record::validate_user_id(user_id)?;
    Ok(())
}

/// What a guess at a sign-in verifier is compared with.
enum Found {
    /// An active person's key record.
    Record(KeyRecord),
    /// What remains of a revoked or reset person's erased key.
    Erased(UserState),
    /// Nothing: every other id.
    Nothing,
}

/// The answer while sign-ins at an id wait `seconds`.
fn signin_wait(seconds: i64) -> Failure {
    Failure::new(
        ApiErrorCode::Locked,
        format!("too many failed sign-ins: try again in {seconds} s"),
    )
}

/// The answer while wrong phrases for an id wait `seconds`.
fn consent_wait(seconds: i64) -> Failure {
    Failure::new(
        ApiErrorCode::Locked,
        format!("too many wrong phrases: check the letter and try again in {seconds} s"),
    )
}

/// What [`KeyTier::guess_allowed`] let through: whether the address is
/// recognised for the account (its waits then do not hold it), and whether
/// the attempt was charged to the account and address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Admitted {
    pub recognised: bool,
    pub charged: bool,
}

/// What a sign-in releases: the person, their key record and their active certificate.
type Released = (User, KeyRecord, Option<Certificate>);

/// Sign-in's read-only path, inside a read transaction: `Some` only when
/// `tag` matches the stored verifier of an active user whom no wait holds
/// (or who signs in from a `recognised` address, which the account's waits
/// do not hold), so that a successful sign-in has nothing to write. `None`
/// sends the attempt to the write transaction, which checks everything
/// again and counts a failure.
///
/// A wait is never bypassed: the snapshot shows either the state before a
/// concurrent write transaction (the sign-in then counts as having come
/// first) or after it (and then this path declines).
///
/// Answers the release with the sign-in generation of the transaction's
/// snapshot (read first), under which the answer may be cached.
fn released_without_change(
    c: &mut AnyConnection,
    user_id: &str,
    tag: &[u8],
    waits_apply: bool,
    now: i64,
) -> Result<Option<(Released, i64)>, DbError> {
    let generation = models::sign_in_generation::current(c)?;
    let Some(user) = models::users::find(c, user_id)? else {
        return Ok(None);
    };
    let waiting = waits_apply && user.locked_until.is_some_and(|until| until > now);
    if user.state != UserState::Active || waiting {
        return Ok(None);
    }
    let Some(record) = models::key_records::find(c, user_id)? else {
        return Ok(None);
    };
    if !bool::from(tag.ct_eq(&record.verifier_hash)) {
        return Ok(None);
    }
    let certificate = models::certificates::for_user(c, user_id, CertificateStatus::Active)?
        .into_iter()
        .next();
    Ok(Some(((user, record, certificate), generation)))
}

/// Archives a newly issued, active certificate and audits it.
fn store_certificate(
    tier: &KeyTier,
    c: &mut AnyConnection,
    user_id: &str,
    issued: &ca::IssuedCertificate,
    now: i64,
) -> Result<(), TxError> {
    models::certificates::insert(c, &Certificate::issued(issued, issued.serial_hex.clone(), user_id, now))?;
    let detail = serde_json::json!({ "serial": issued.serial_hex, "sha256": issued.sha256_fingerprint_hex });
    tier.audit(c, event("system", AuditEventKind::CertificateIssued, user_id, detail))?;
    Ok(())
}

impl KeyTier {
    /// `GET /v1/policy`.
    pub fn policy_document(&self) -> api::Policy {
        api::Policy {
            kdf: self.policy.kdf,
            key_bits: self.policy.key_bits,
            signature_scheme: self.policy.signature_scheme,
            server_time: self.now(),
            letter_validity_days: self.policy.letter_validity_days,
        }
    }

    /// `POST /v1/apply`: Apply to register. Checks everything that needs no database first;
    /// then, in one transaction: the nonce, the identity, the application
    /// with its wrapped record and letter, and the audit event.
    pub fn apply(&self, req: ApplyRequest) -> Result<ApplyResponse, Failure> {
        let now = self.now();
        req.registration.validate()?;
        if !self.policy.is_fresh(req.timestamp, now) {
            return Err(Failure::new(
                ApiErrorCode::StaleRequest,
                "the request's time stamp is more than five minutes from the server's clock; check the computer's clock",
            ));
        }
        let nonce_ok = NONCE_LEN.contains(&req.nonce.len())
            && req
                .nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b));
        if !nonce_ok {
            return Err(Failure::bad_field(
                "nonce",
                "the nonce must be 16 to 64 characters of base64 or hex",
            ));
        }
        let record = new_record(&req.record.0, &req.registration.user_id, &self.policy.kdf)?;
        let header = &record.header;
        check_verifier("verifier", &req.verifier.0)?;
        let spki = self
            .ca
            .check_request(&req.certification_request.0, &req.registration)
            .map_err(ca_failure)?;
        check_key_size(&spki, self.policy.key_bits)?;
        if Sha256::digest(&spki).as_slice() != header.public_key_fingerprint {
            return Err(Failure::bad_field(
                "certification_request",
                "the request's public key is not the key in the sealed record",
            ));
        }
        // Everyone's rate counts well-formed applications only: garbage cannot spend it.
        if let Some(limits) = self.sealed_users.get()
            && let Err(wait) = limits.check_applications_in_all()
        {
            return Err(Failure::new(
                ApiErrorCode::RateLimited,
                format!(
                    "too many applications at the moment; try again in {} s",
                    crate::rate_limit::retry_after_seconds(wait)
                ),
            ));
        }

        let user_id = req.registration.user_id.clone();
        let application_id = random_hex(16)?;
        let phrase = ConsentPhrase::generate().map_err(Failure::internal)?;
        let wrapped = consent_sealing(&phrase, &application_id)
            .seal(user_id.as_bytes(), &req.record.0)
            .map_err(Failure::internal)?;
        let consent_wrap = self
            .storage
            .seal(BlobKind::ConsentWrap, &application_id, &wrapped)
            .map_err(Failure::internal)?;
        let expires_at = now + i64::from(self.policy.letter_validity_days) * 86_400;
        let letter = ConsentLetter {
            full_name: req.registration.common_name.clone(),
            user_id: user_id.clone(),
            organization: req.registration.organization.clone(),
            phrase: phrase.display().to_string(),
            public_key_fingerprint_hex: hex::encode(header.public_key_fingerprint),
            issued_on: signet_schema::time::date(now),
            expires_on: signet_schema::time::date(expires_at),
        }
        .to_pdf();
        // The phrase now exists only in the queued letter, itself sealed under the storage key.
        drop(phrase);
        let sealed_letter = self
            .storage
            .seal(BlobKind::Letter, &application_id, &letter)
            .map_err(Failure::internal)?;
        let application = Application {
            application_id: application_id.clone(),
            user_id: user_id.clone(),
            state: ApplicationState::AwaitingConsent,
            consent_wrap,
            inner_hash: Sha256::digest(&req.record.0).to_vec(),
            certification_request: req.certification_request.0.clone(),
            verifier_hash: self.verifier_tag(&user_id, &req.verifier.0),
            failed_attempts: 0,
            letter_pdf: Some(sealed_letter),
            letter_state: LetterState::Queued,
            created_at: now,
            expires_at,
        };
        let registration_json = serde_json::to_string(&req.registration).map_err(Failure::internal)?;
        let fingerprint = hex::encode(header.public_key_fingerprint);
        settle(self.db.write(|c| -> Result<Outcome<()>, TxError> {
            let nonce_expiry = now + 2 * self.policy.max_clock_skew_seconds;
            if !models::nonces::consume(c, &req.nonce, now, nonce_expiry)? {
                return Ok(Outcome::Refused(Failure::new(
                    ApiErrorCode::NonceReused,
                    "this request was sent before",
                )));
            }
            match models::users::find(c, &user_id)? {
                None => {
                    models::users::insert(
                        c,
                        &NewUser {
                            user_id: user_id.clone(),
                            registration: registration_json.clone(),
                            role: UserRole::User,
                            state: UserState::Pending,
                            created_at: now,
                            updated_at: now,
                        },
                    )?;
                    // The id's count of failed sign-ins goes with it: a wait
                    // that vanished would tell a guesser that someone applied.
                    let guesses = models::guesses::get(c, GuessPurpose::Signin, &user_id)?;
                    if guesses != Guesses::default() {
                        models::users::set_sign_in_failures(c, &user_id, guesses.failures, guesses.locked_until, now)?;
                        models::guesses::clear(c, GuessPurpose::Signin, &user_id)?;
                    }
                }
                // After a help-desk reset, only the same person applies again:
                // the registration data must be what the help desk reset.
                Some(u) if u.state == UserState::Reset && registration_matches(&u.registration, &req.registration) => {
                    models::users::set_role(c, &user_id, UserRole::User, now)?;
                    models::users::set_state(c, &user_id, UserState::Pending, now)?;
                }
                Some(_) => {
                    return Ok(Outcome::Refused(Failure::new(
                        ApiErrorCode::IdentityTaken,
                        "this user id is already registered; choose another or ask the help desk",
                    )));
                }
            }
            // (The id's count of wrong phrases stays: its phrase is always tried anyway.)
            models::applications::insert(c, &application)?;
            self.audit(
                c,
                event(
                    &user_id,
                    AuditEventKind::ApplicationCreated,
                    &user_id,
                    serde_json::json!({ "application_id": application_id, "public_key_sha256": fingerprint }),
                ),
            )?;
            Ok(Outcome::Done(()))
        }))?;
        Ok(ApplyResponse {
            application_id,
            expires_at,
        })
    }

    /// `POST /v1/consent`: Consent to registration with the letter's phrase: unwrap, check the
    /// inner hash, activate, issue the certificate. A typo (bad check group)
    /// is answered at once and not counted.
    ///
    /// Every id gets the same answers from the same work (see
    /// [`KeyTier::consent_refused`]): an id with no application awaiting
    /// consent — unknown, active, revoked, reset — has its wrong phrases
    /// counted, delayed and locked as an application's are, and only the
    /// letter's phrase learns that an application expired or locked.
    pub fn consent(&self, req: ConsentRequest) -> Result<ConsentResponse, Failure> {
        let phrase = ConsentPhrase::parse(&req.phrase).map_err(|e| match e {
            PhraseError::Checksum => Failure::new(
                ApiErrorCode::PhraseTypo,
                "the phrase has a typo (its last group does not match); check it against the letter",
            ),
            PhraseError::Malformed => Failure::bad_field("phrase", "the phrase is not of the letter's form"),
        })?;
        check_user_id(&req.user_id)?;
        let now = self.now();
        settle(self.db.write(|c| -> Result<Outcome<ConsentResponse>, TxError> {
            let user = models::users::find(c, &req.user_id)?;
            // The application a phrase can open: the open one of a person who
            // has not consented yet, or the consented one of an active person
            // (its wrap then holds only a marker, see below).
            let app = match &user {
                Some(u) if u.state == UserState::Pending => models::applications::open_for_user(c, &req.user_id)?,
                Some(u) if u.state == UserState::Active => models::applications::latest_for_user(c, &req.user_id)?
                    .filter(|a| a.state == ApplicationState::Consented),
                _ => None,
            };
            // The phrase is always tried, on the application's wrap or on a
            // decoy of the same size that nothing opens: with 100 random bits
            // it cannot be guessed, so the waits below only slow wrong
            // guesses down and never keep the letter's holder out.
            let real = app.as_ref().is_some_and(|a| !a.consent_wrap.is_empty());
            let opened = {
                let (owner, wrap) = match &app {
                    Some(a) if real => (a.application_id.as_str(), a.consent_wrap.as_slice()),
                    _ => (super::DECOY_APPLICATION, self.decoy_wrap.as_slice()),
                };
                self.storage
                    .open(BlobKind::ConsentWrap, owner, wrap)
                    .ok()
                    .and_then(|wrapped| {
                        consent_sealing(&phrase, owner)
                            .open(req.user_id.as_bytes(), &wrapped)
                            .ok()
                    })
            };
            let (app, record) = match (app, opened) {
                (Some(app), Some(record)) if real => (app, record),
                _ => return self.consent_refused(c, &req.user_id, now),
            };
            match app.state {
                // (An application locked by an earlier version of the server opens as well.)
                ApplicationState::AwaitingConsent | ApplicationState::Locked if now <= app.expires_at => {}
                // The sweep expires it and frees the id (see `sweep.rs`).
                ApplicationState::AwaitingConsent | ApplicationState::Locked | ApplicationState::Expired => {
                    return Ok(Outcome::Refused(Failure::new(
                        ApiErrorCode::LetterExpired,
                        "the letter expired: ask the help desk for a new one",
                    )));
                }
                // Only the letter's holder learns that consent was given already
                // (a retried request whose answer was lost, say).
                ApplicationState::Consented => {
                    return Ok(Outcome::Refused(Failure::new(
                        ApiErrorCode::WrongState,
                        "consent was given already: sign in",
                    )));
                }
                ApplicationState::Withdrawn => {
                    return Err(TxError::Abort(Failure::internal(format!(
                        "application {}: withdrawn yet open",
                        app.application_id
                    ))));
                }
            }
            if !bool::from(Sha256::digest(&record).as_slice().ct_eq(&app.inner_hash)) {
                return Err(TxError::Abort(Failure::internal(format!(
                    "application {}: inner hash mismatch",
                    app.application_id
                ))));
            }
            let sealed = SealedKeyRecord::parse(&record).map_err(|e| TxError::Abort(Failure::internal(e)))?;
            let registration: RegistrationData =
                serde_json::from_str(user.as_ref().map_or("", |u| u.registration.as_str()))
                    .map_err(|e| TxError::Abort(Failure::internal(e)))?;
            let issued = self
                .ca
                .issue_published(
                    &app.certification_request,
                    &registration,
                    now,
                    self.policy.certificate_validity_days,
                    self.policy.public_url.as_deref(),
                )
                .map_err(|e| TxError::Abort(Failure::internal(e)))?;
            let h = &sealed.header;
            models::key_records::upsert(
                c,
                &KeyRecord {
                    user_id: req.user_id.clone(),
                    sealed_record: self
                        .storage
                        .seal(BlobKind::KeyRecord, &req.user_id, &record)
                        .map_err(|e| TxError::Abort(Failure::internal(e)))?,
                    kdf_m: i64::from(h.kdf_params.m_kib),
                    kdf_t: i64::from(h.kdf_params.t),
                    kdf_p: i64::from(h.kdf_params.p),
                    salt: h.salt.clone(),
                    verifier_hash: app.verifier_hash.clone(),
                    public_key_fingerprint: h.public_key_fingerprint.to_vec(),
                    updated_at: now,
                },
            )?;
            store_certificate(self, c, &req.user_id, &issued, now)?;
            models::applications::set_state(c, &app.application_id, ApplicationState::Consented)?;
            // The record's wrap gives way to a marker under the same phrase,
            // which holds nothing: a repeated consent is then told apart only
            // by the letter's holder.
            let marker = consent_sealing(&phrase, &app.application_id)
                .seal(req.user_id.as_bytes(), CONSENTED_MARKER)
                .and_then(|m| self.storage.seal(BlobKind::ConsentWrap, &app.application_id, &m))
                .map_err(|e| TxError::Abort(Failure::internal(e)))?;
            models::applications::set_wrap(c, &app.application_id, &marker)?;
            // The letter (and with it the phrase) is not kept once consent is given.
            models::applications::set_letter_state(c, &app.application_id, LetterState::Dispatched)?;
            models::users::set_state(c, &req.user_id, UserState::Active, now)?;
            models::erased_keys::delete(c, &req.user_id)?;
            self.audit(
                c,
                event(
                    &req.user_id,
                    AuditEventKind::UserActivated,
                    &req.user_id,
                    serde_json::json!({ "application_id": app.application_id }),
                ),
            )?;
            Ok(Outcome::Done(ConsentResponse {
                certificate: Bytes(issued.der),
                serial: issued.serial_hex,
            }))
        }))
    }

    /// `POST /v1/prelogin`: Salt and parameters for a user: their key's, an
    /// erased key's (so that only the pass phrase's owner can learn of the
    /// erasure, at sign-in), or for any other id deterministic decoys of the
    /// same shape, from the same queries and the same work.
    pub fn prelogin(&self, req: PreloginRequest) -> Result<PreloginResponse, Failure> {
        check_user_id(&req.user_id)?;
        let (record, erased) = self.db.read(|c| -> Result<_, Failure> {
            Ok((
                models::key_records::salt_of(c, &req.user_id)?,
                models::erased_keys::salt_of(c, &req.user_id)?,
            ))
        })?;
        let decoy_salt = self.keyed_hash(b"decoy-salt", &req.user_id, b"")[..16].to_vec();
        Ok(match record.or(erased) {
            Some((salt, m, t, p)) => PreloginResponse {
                salt: Bytes(salt),
                kdf: KdfParams {
                    m_kib: m as u32,
                    t: t as u32,
                    p: p as u32,
                },
            },
            None => PreloginResponse {
                salt: Bytes(decoy_salt),
                kdf: self.policy.kdf,
            },
        })
    }

    /// A wrong consent phrase for `user_id`: inside a wait, refused untried
    /// and uncounted; otherwise counted on the id, audited, and answered
    /// "wrong phrase" or, from the [`super::Policy::free_consent_attempts`]-th
    /// on, "wait" (one second, doubling). The same writes and the same
    /// answers whatever the id; no count ever locks a letter.
    fn consent_refused<T>(&self, c: &mut AnyConnection, user_id: &str, now: i64) -> Result<Outcome<T>, TxError> {
        let mut guesses = models::guesses::get(c, GuessPurpose::Consent, user_id)?;
        if guesses.run_out(now, self.policy.guesses_forgotten_after) {
            guesses = Guesses::default();
        }
        if let Some(until) = guesses.locked_until.filter(|until| *until > now) {
            return Ok(Outcome::Refused(consent_wait(until - now)));
        }
        guesses.failures += 1;
        let wait = self
            .policy
            .wait_after(guesses.failures, self.policy.free_consent_attempts);
        guesses.locked_until = wait.map(|wait| now + wait);
        models::guesses::put(c, GuessPurpose::Consent, user_id, &guesses, now)?;
        self.audit(
            c,
            event(
                "anonymous",
                AuditEventKind::ConsentFailed,
                user_id,
                serde_json::json!({ "attempts": guesses.failures }),
            ),
        )?;
        Ok(Outcome::Refused(match wait {
            Some(wait) => consent_wait(wait),
            None => Failure::new(
                ApiErrorCode::WrongPhrase,
                "the phrase does not match the letter for this user",
            ),
        }))
    }

    /// Checks a verifier for `user_id`, counting failures; answers the user,
    /// their record and certificate when it matches, with the sign-in
    /// generation when the read-only path answered (nothing was written). From a
    /// `recognised` address the account's own waits do not apply (see
    /// [`super::guess_sources`]).
    ///
    /// Every id counts its failures alike: a registered person's in `users`,
    /// any other id's in `guesses`. From the
    /// [`super::Policy::free_account_failures`]-th on, each failure makes the
    /// next attempt wait (one second, doubling), refused untried; a right
    /// guess does not reset the count, which runs out by time alone
    /// ([`super::Policy::guesses_forgotten_after`] after its wait), so no one
    /// learns from the count that the owner signed in.
    fn authenticate_reading(
        &self,
        user_id: &str,
        verifier: &[u8],
        recognised: bool,
    ) -> Result<(Released, Option<i64>), Failure> {
        let now = self.now();
        let failed = || Failure::new(ApiErrorCode::SigninFailed, "the user id or the pass phrase is wrong");
        check_user_id(user_id)?;
        if verifier.len() != VERIFIER_LEN {
            return Err(Failure::bad_field("verifier", "the verifier must be 32 bytes"));
        }
        let tag = self.verifier_tag(user_id, verifier);
        // The common case changes nothing: the right verifier for an active
        // account that no wait holds. A read transaction answers it,
        // alongside any number of others.
        if let Some((found, generation)) = self
            .db
            .read(|c| released_without_change(c, user_id, &tag, !recognised, now))?
        {
            return Ok((found, Some(generation)));
        }
        // Everything else — a wrong verifier, a wait, an account that is not
        // active — is decided again from scratch in one write transaction
        // from the wait check to the failure count: parallel guesses queue
        // behind each other and cannot outrun the waits.
        let released = settle(self.db.write(|c| -> Result<Outcome<Released>, TxError> {
            // Every id has a count: a registered person's own, or the id's guesses.
            let user = models::users::find(c, user_id)?;
            let mut counter = match &user {
                Some(u) => Guesses {
                    failures: u.failed_logins,
                    locked_until: u.locked_until,
                    changed_at: u.updated_at,
                },
                None => models::guesses::get(c, GuessPurpose::Signin, user_id)?,
            };
            if counter.run_out(now, self.policy.guesses_forgotten_after) {
                counter = Guesses::default();
            }
            if let Some(until) = counter.locked_until.filter(|until| *until > now && !recognised) {
                return Ok(Outcome::Refused(signin_wait(until - now)));
            }
            // The tag the guess is compared with: the active record's, an
            // erased key's, or (for every other id) one that nothing matches.
            let record = models::key_records::find(c, user_id)?;
            let erased = models::erased_keys::find(c, user_id)?;
            let (stored, found) = match (&user, record, erased) {
                (Some(u), Some(r), _) if u.state == UserState::Active => (r.verifier_hash.clone(), Found::Record(r)),
                (Some(u), _, Some(e)) if matches!(u.state, UserState::Revoked | UserState::Reset) => {
                    (e.verifier_hash, Found::Erased(u.state))
                }
                _ => (vec![0; tag.len()], Found::Nothing),
            };
            let matched = bool::from(tag.ct_eq(&stored)) && !matches!(found, Found::Nothing);
            match (matched, found, user) {
                (true, Found::Record(record), Some(user)) => {
                    let certificate = models::certificates::for_user(c, user_id, CertificateStatus::Active)?
                        .into_iter()
                        .next();
                    Ok(Outcome::Done((user, record, certificate)))
                }
                // Only the pass phrase's owner learns that the key was erased.
                (true, Found::Erased(UserState::Reset), _) => Ok(Outcome::Refused(Failure::new(
                    ApiErrorCode::Revoked,
                    "this key was erased when the help desk reset the account; apply again",
                ))),
                (true, Found::Erased(_), _) => Ok(Outcome::Refused(Failure::new(
                    ApiErrorCode::Revoked,
                    "this key was revoked; ask the help desk to register again",
                ))),
                (_, _, user) => {
                    counter.failures += 1;
                    let wait = self
                        .policy
                        .wait_after(counter.failures, self.policy.free_account_failures);
                    counter.locked_until = wait.map(|wait| now + wait);
                    match user {
                        Some(_) => models::users::set_sign_in_failures(
                            c,
                            user_id,
                            counter.failures,
                            counter.locked_until,
                            now,
                        )?,
                        None => models::guesses::put(c, GuessPurpose::Signin, user_id, &counter, now)?,
                    }
                    self.audit(
                        c,
                        event(
                            "anonymous",
                            AuditEventKind::SigninFailed,
                            user_id,
                            serde_json::json!({ "consecutive": counter.failures }),
                        ),
                    )?;
                    Ok(Outcome::Refused(match wait {
                        Some(wait) if !recognised => signin_wait(wait),
                        _ => failed(),
                    }))
                }
            }
        }))?;
        Ok((released, None))
    }

    /// Before a verifier for `user_id` from a client at `source` (none: a
    /// caller in this process, counted by id alone): refused at once while
    /// that account waits or is locked for this address, or while the
    /// address waits (unless the account signed in from it lately); else
    /// charged to the pair (see [`super::guess_sources`]). A malformed id is
    /// refused before anything is counted or kept.
    pub fn guess_allowed(&self, source: Option<IpAddr>, user_id: &str) -> Result<Admitted, Failure> {
        check_user_id(user_id)?;
        let Some(address) = source else {
            return Ok(Admitted::default());
        };
        let now = self.now();
        let recognised = self.guess_sources.recognised(user_id, address, now);
        if !recognised && let Err(wait) = self.guess_sources.check_address(address, now) {
            return Err(Failure::new(
                ApiErrorCode::RateLimited,
                format!("too many wrong guesses from this address: try again in {wait} s"),
            ));
        }
        match self
            .guess_sources
            .charge(user_id, address, now, &|failures| self.pair_schedule(failures))
        {
            Ok(()) => Ok(Admitted {
                recognised,
                charged: true,
            }),
            Err(Wait { lock: true, .. }) => Err(Failure::new(
                ApiErrorCode::Locked,
                "too many failed sign-ins from this address: try again later or ask the help desk to unlock",
            )),
            Err(Wait { seconds, .. }) => Err(signin_wait(seconds)),
        }
    }

    /// What the `failures`-th failure at an id from one address starts: a
    /// wait after the free ones, a lock at the last.
    fn pair_schedule(&self, failures: i64) -> Option<Wait> {
        let policy = &self.policy;
        if failures >= policy.max_signin_failures {
            return Some(Wait {
                seconds: policy.signin_lock_seconds,
                lock: true,
            });
        }
        policy
            .wait_after(failures, policy.free_signin_failures)
            .map(|seconds| Wait { seconds, lock: false })
    }

    /// After a guess from `source` (a verifier for `user_id`, or a consent
    /// phrase): a right verifier takes back its charge and makes the address
    /// recognised for the account; a wrong guess, or one refused during a
    /// wait, counts against the address; a verifier never judged because the
    /// database could not be reached has its charge (if `admitted` made one)
    /// taken back.
    pub fn guess_answered<R>(
        &self,
        source: Option<IpAddr>,
        user_id: Option<&str>,
        admitted: Admitted,
        outcome: &Result<R, Failure>,
    ) {
        let Some(address) = source else { return };
        let now = self.now();
        match outcome {
            Ok(_) => {
                if let Some(user_id) = user_id {
                    self.guess_sources.succeeded(user_id, address, now);
                }
            }
            Err(f)
                if matches!(
                    f.body.code,
                    ApiErrorCode::SigninFailed
                        | ApiErrorCode::WrongPhrase
                        | ApiErrorCode::Locked
                        | ApiErrorCode::RateLimited
                ) =>
            {
                let policy = &self.policy;
                self.guess_sources.address_failed(address, now, &|failures| {
                    policy
                        .wait_after(failures, policy.free_guesses_per_address)
                        .map(|seconds| Wait { seconds, lock: false })
                });
            }
            Err(f) if f.body.code == ApiErrorCode::Unavailable && admitted.charged => {
                if let Some(user_id) = user_id {
                    self.guess_sources
                        .refund(user_id, address, now, &|failures| self.pair_schedule(failures));
                }
            }
            Err(_) => {}
        }
    }

    /// How many addresses and account-address pairs are counted now.
    pub fn guess_sources_len(&self) -> (usize, usize) {
        self.guess_sources.len()
    }

    /// The account's per-address counts and recognised addresses are
    /// forgotten: its pass phrase or key changed, or it was revoked or reset.
    pub(crate) fn forget_guess_sources(&self, user_id: &str) {
        self.guess_sources.forget_user(user_id);
    }

    /// Sign in: the sealed record and certificate, released only after the
    /// verifier matched.
    pub fn signin(&self, req: SigninRequest) -> Result<SigninResponse, Failure> {
        self.release(&req, false).map(|(response, _)| response)
    }

    /// `POST /v1/signin` as the route answers it, the JSON of a
    /// [`SigninResponse`]: from the release cache when it holds a current
    /// answer for this verifier (see [`super::sign_in_cache`]), else from the
    /// database on the blocking pool. Only a `recognised` address is
    /// answered from the cache: the account's waits hold every other, and a
    /// guess refused untried must not be compared with a cached answer.
    pub async fn signin_answer(self: Arc<Self>, req: SigninRequest, recognised: bool) -> Result<bytes::Bytes, Failure> {
        if recognised && req.verifier.0.len() == VERIFIER_LEN {
            let tag = self.verifier_tag(&req.user_id, &req.verifier.0);
            if let Some(answer) = self.releases.lookup(&req.user_id, &tag).await {
                return Ok(answer);
            }
        }
        tokio::task::spawn_blocking(move || self.signin_answer_uncached(&req, recognised))
            .await
            .unwrap_or_else(|e| Err(Failure::internal(format!("task failed: {e}"))))
    }

    /// [`KeyTier::signin_answer`] for a blocking caller.
    pub fn signin_answer_blocking(&self, req: &SigninRequest, recognised: bool) -> Result<bytes::Bytes, Failure> {
        if recognised && req.verifier.0.len() == VERIFIER_LEN {
            let tag = self.verifier_tag(&req.user_id, &req.verifier.0);
            if let Some(answer) = self.releases.lookup_blocking(&req.user_id, &tag) {
                return Ok(answer);
            }
        }
        self.signin_answer_uncached(req, recognised)
    }

    /// The sign-in answer from the database, kept in the release cache when
    /// the read-only path gave it.
    fn signin_answer_uncached(&self, req: &SigninRequest, recognised: bool) -> Result<bytes::Bytes, Failure> {
        let (response, generation) = self.release(req, recognised)?;
        let json = Zeroizing::new(serde_json::to_vec(&response).map_err(Failure::internal)?);
        Ok(match generation {
            Some(generation) => {
                let tag = self.verifier_tag(&req.user_id, &req.verifier.0);
                self.releases.store(&req.user_id, generation, tag, json)
            }
            None => bytes::Bytes::from_owner(json),
        })
    }

    /// The sign-in answer and, when nothing had to be written, the sign-in
    /// generation it was read at.
    fn release(&self, req: &SigninRequest, recognised: bool) -> Result<(SigninResponse, Option<i64>), Failure> {
        let ((user, record, certificate), generation) =
            self.authenticate_reading(&req.user_id, &req.verifier.0, recognised)?;
        let sealed = self
            .storage
            .open(BlobKind::KeyRecord, &req.user_id, &record.sealed_record)
            .map_err(Failure::internal)?;
        let certificate =
            certificate.ok_or_else(|| Failure::internal(format!("{}: active without a certificate", req.user_id)))?;
        let registration = serde_json::from_str(&user.registration).map_err(Failure::internal)?;
        let response = SigninResponse {
            record: Bytes(sealed.to_vec()),
            registration,
            certificate: Bytes(certificate.der),
            role: user.role,
        };
        Ok((response, generation))
    }

    /// `POST /v1/reregister`: Re-registration by the user, as a request signed with the current
    /// key and proving the current pass phrase: a new sealed record (new pass
    /// phrase) and, with a new PKCS#10 request, a new key pair — then a new
    /// certificate, and the old one superseded and put on a new CRL.
    pub fn reregister(&self, req: super::staff::SignedRequest) -> Result<ReregisterResponse, Failure> {
        let body: ReregisterRequest = req.json()?;
        if body.user_id != req.signer {
            return Err(Failure::new(
                ApiErrorCode::Forbidden,
                "a user re-registers only their own key",
            ));
        }
        let roles = [UserRole::User, UserRole::Helpdesk, UserRole::Auditor];
        // The request's signature, signer and nonce (spent here) before the
        // verifier: a forged or replayed request is refused alike whatever
        // verifier it carries, and counts no failed guess against the account.
        self.spend_signed(&req, &roles)?;
        // Signed with the account's own key: the account's waits (against
        // guessers who hold no key) do not hold it back; failures still count.
        let ((user, current, _), _) = self.authenticate_reading(&body.user_id, &body.verifier.0, true)?;
        let record = new_record(&body.record.0, &body.user_id, &self.policy.kdf)?;
        let header = &record.header;
        check_verifier("new_verifier", &body.new_verifier.0)?;
        let registration: RegistrationData = serde_json::from_str(&user.registration).map_err(Failure::internal)?;
        match &body.certification_request {
            Some(csr) => {
                let spki = self.ca.check_request(&csr.0, &registration).map_err(ca_failure)?;
                check_key_size(&spki, self.policy.key_bits)?;
                if Sha256::digest(&spki).as_slice() != header.public_key_fingerprint {
                    return Err(Failure::bad_field(
                        "certification_request",
                        "the request's public key is not the key in the sealed record",
                    ));
                }
            }
            None if header.public_key_fingerprint.as_slice() != current.public_key_fingerprint => {
                return Err(Failure::bad_field("record", "a new key needs a certification request"));
            }
            None => {}
        }
        let sealed = self
            .storage
            .seal(BlobKind::KeyRecord, &body.user_id, &body.record.0)
            .map_err(Failure::internal)?;
        let verifier_hash = self.verifier_tag(&body.user_id, &body.new_verifier.0);
        // A new pass phrase or key: addresses recognised under the old one are not any more.
        self.forget_guess_sources(&body.user_id);
        let reregistered = self.signed_spent(&req, &roles, |c, _, now| {
            let mut response = ReregisterResponse {
                certificate: None,
                serial: None,
                superseded: None,
            };
            if let Some(csr) = &body.certification_request {
                let issued = self
                    .ca
                    .issue_published(
                        &csr.0,
                        &registration,
                        now,
                        self.policy.certificate_validity_days,
                        self.policy.public_url.as_deref(),
                    )
                    .map_err(|e| TxError::Abort(Failure::internal(e)))?;
                let superseded = RevocationReason::Superseded;
                for old in models::certificates::for_user(c, &body.user_id, CertificateStatus::Active)? {
                    models::certificates::set_status(
                        c,
                        &old.serial,
                        CertificateStatus::Superseded,
                        Some((now, superseded.rfc5280_name())),
                    )?;
                    self.audit(
                        c,
                        event(
                            &body.user_id,
                            AuditEventKind::CertificateSuperseded,
                            &body.user_id,
                            serde_json::json!({ "serial": old.serial }),
                        ),
                    )?;
                    response.superseded = Some(old.serial);
                }
                store_certificate(self, c, &body.user_id, &issued, now)?;
                self.publish_crl(c, now)?;
                response.certificate = Some(Bytes(issued.der));
                response.serial = Some(issued.serial_hex);
            }
            models::key_records::upsert(
                c,
                &KeyRecord {
                    user_id: body.user_id.clone(),
                    sealed_record: sealed.clone(),
                    kdf_m: i64::from(header.kdf_params.m_kib),
                    kdf_t: i64::from(header.kdf_params.t),
                    kdf_p: i64::from(header.kdf_params.p),
                    salt: header.salt.clone(),
                    verifier_hash: verifier_hash.clone(),
                    public_key_fingerprint: header.public_key_fingerprint.to_vec(),
                    updated_at: now,
                },
            )?;
            let kind = if body.certification_request.is_some() {
                AuditEventKind::KeyReplaced
            } else {
                AuditEventKind::PassphraseChanged
            };
            self.audit(c, event(&body.user_id, kind, &body.user_id, serde_json::json!({})))?;
            Ok(Outcome::Done(response))
        })?;
        // The record sealed under the old pass phrase goes from the files too.
        super::truncate_log(&self.db);
        Ok(reregistered)
    }

    /// `POST /v1/revoke`: The user revokes their own key: the sealed record is erased for good,
    /// the certificate revoked and a new CRL published, in one transaction.
    pub fn revoke(&self, req: RevokeRequest) -> Result<RevokeResponse, Failure> {
        self.revoke_from(req, Admitted::default())
    }

    /// [`KeyTier::revoke`] as the route answers it: from an address the
    /// account signed in from lately, the account's waits do not hold the
    /// owner back from revoking a key they fear is compromised.
    pub fn revoke_from(&self, req: RevokeRequest, admitted: Admitted) -> Result<RevokeResponse, Failure> {
        self.authenticate_reading(&req.user_id, &req.verifier.0, admitted.recognised)?;
        self.forget_guess_sources(&req.user_id);
        let now = self.now();
        let revoked = settle(self.db.write(|c| -> Result<Outcome<RevokeResponse>, TxError> {
            let serial = self.revoke_user(c, &req.user_id, &req.user_id, req.reason, now)?;
            let crl = self.publish_crl(c, now)?;
            Ok(Outcome::Done(RevokeResponse {
                serial,
                crl_number: crl.crl_number as u64,
            }))
        }))?;
        super::truncate_log(&self.db);
        Ok(revoked)
    }

    /// Erases `user_id`'s key and revokes their active certificates (inside
    /// the caller's transaction); answers how many were revoked.
    pub(crate) fn revoke_keys(
        &self,
        c: &mut AnyConnection,
        actor: &str,
        user_id: &str,
        reason: RevocationReason,
        now: i64,
    ) -> Result<usize, TxError> {
        let record = models::key_records::find(c, user_id)?;
        if let Some(record) = &record {
            models::erased_keys::put(c, &models::ErasedKey::of(record, now))?;
        }
        let erased = models::key_records::delete(c, user_id)?;
        let active = models::certificates::for_user(c, user_id, CertificateStatus::Active)?;
        for cert in &active {
            models::certificates::set_status(
                c,
                &cert.serial,
                CertificateStatus::Revoked,
                Some((now, reason.rfc5280_name())),
            )?;
            self.audit(
                c,
                event(
                    actor,
                    AuditEventKind::CertificateRevoked,
                    user_id,
                    serde_json::json!({ "serial": cert.serial, "reason": reason.rfc5280_name() }),
                ),
            )?;
        }
        if erased {
            self.audit(
                c,
                event(actor, AuditEventKind::KeyErased, user_id, serde_json::json!({})),
            )?;
        }
        Ok(active.len())
    }

    /// Withdraws the user's open application, if any: its letter and consent
    /// wrap are erased (inside the caller's transaction).
    pub(crate) fn withdraw_open_applications(&self, c: &mut AnyConnection, user_id: &str) -> Result<(), TxError> {
        while let Some(app) = models::applications::open_for_user(c, user_id)? {
            models::applications::set_state(c, &app.application_id, ApplicationState::Withdrawn)?;
            models::applications::set_letter_state(c, &app.application_id, LetterState::Dispatched)?;
            models::applications::erase_wrap(c, &app.application_id)?;
        }
        Ok(())
    }

    /// Revokes a user for good: key erased, certificates revoked, state
    /// `revoked` (inside the caller's transaction). Answers the last serial revoked.
    pub(crate) fn revoke_user(
        &self,
        c: &mut AnyConnection,
        actor: &str,
        user_id: &str,
        reason: RevocationReason,
        now: i64,
    ) -> Result<String, TxError> {
        let serial = models::certificates::for_user(c, user_id, CertificateStatus::Active)?
            .last()
            .map(|cert| cert.serial.clone())
            .unwrap_or_default();
        self.revoke_keys(c, actor, user_id, reason, now)?;
        self.withdraw_open_applications(c, user_id)?;
        models::users::set_state(c, user_id, UserState::Revoked, now)?;
        self.audit(
            c,
            event(
                actor,
                AuditEventKind::UserRevoked,
                user_id,
                serde_json::json!({ "reason": reason.rfc5280_name() }),
            ),
        )?;
        Ok(serial)
    }

    /// Signs and stores a new CRL listing every revoked, unexpired certificate.
    pub(crate) fn publish_crl(&self, c: &mut AnyConnection, now: i64) -> Result<models::Crl, TxError> {
        let number = models::crls::latest(c)?.map_or(1, |l| l.crl_number + 1);
        let revoked: Vec<RevokedEntry> = models::certificates::revoked_unexpired(c, now)?
            .into_iter()
            .map(|cert| RevokedEntry {
                serial_hex: cert.serial,
                revoked_at: cert.revoked_at.unwrap_or(now),
                reason: reason_of(cert.revocation_reason.as_deref()),
            })
            .collect();
        let next_update = now
            + self
                .policy
                .crl_validity_seconds
                .clamp(3600, super::MAX_CRL_VALIDITY_SECONDS);
        let der = self
            .ca
            .crl(number as u64, now, next_update, &revoked)
            .map_err(|e| TxError::Abort(Failure::internal(e)))?;
        let crl = models::Crl {
            crl_number: number,
            der,
            this_update: now,
            next_update,
        };
        models::crls::insert(c, &crl)?;
        self.audit(
            c,
            NewEvent {
                actor: "system".into(),
                kind: AuditEventKind::CrlPublished,
                subject: None,
                detail: serde_json::json!({ "crl_number": number, "entries": revoked.len() }),
            },
        )?;
        Ok(crl)
    }

    /// `GET /v1/crl`: the latest CRL, or a fresh one when none is current.
    pub fn current_crl(&self) -> Result<Vec<u8>, Failure> {
        let now = self.now();
        let latest = self
            .db
            .read(|c| -> Result<Option<models::Crl>, Failure> { Ok(models::crls::latest(c)?) })?;
        if let Some(crl) = latest.filter(|crl| crl.next_update > now + 3600) {
            return Ok(crl.der);
        }
        let crl = self
            .db
            .write(|c| -> Result<models::Crl, TxError> { self.publish_crl(c, now) })?;
        Ok(crl.der)
    }

    /// `GET /v1/ca.pem`.
    pub fn ca_pem(&self) -> Result<Vec<u8>, Failure> {
        self.ca.ca_pem().map(String::into_bytes).map_err(Failure::internal)
    }

    /// `GET /v1/ca.cer`: the CA certificate, DER.
    pub fn ca_der(&self) -> Result<Vec<u8>, Failure> {
        self.ca.ca_der().map_err(Failure::internal)
    }

    /// `GET /v1/certificates/{serial}`.
    pub fn certificate(&self, serial: &str) -> Result<CertificateInfo, Failure> {
        let serial = serial.to_ascii_uppercase();
        if serial.is_empty() || serial.len() > 40 || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Failure::bad_field(
                "serial",
                "a serial number is up to 40 hexadecimal digits",
            ));
        }
        let found = self
            .db
            .read(|c| -> Result<Option<Certificate>, Failure> { Ok(models::certificates::by_serial(c, &serial)?) })?;
        found
            .map(info)
            .ok_or_else(|| Failure::new(ApiErrorCode::NotFound, "no certificate has this serial number"))
    }
}
