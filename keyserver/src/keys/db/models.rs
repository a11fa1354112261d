//! Rows of every table and the queries on them, one module per table.
//!
//! Every query takes `&mut AnyConnection` so that a flow runs several of them inside one
//! [`Database::write`](super::Database::write) or [`Database::read`](super::Database::read) transaction.
//! Naming: `get` answers [`DbError::NotFound`] when the row is missing, `find`/`latest`/`by_*` answer `None`;
//! updates of a missing row answer [`DbError::NotFound`].

use diesel::prelude::*;

use super::schema;
use super::{AnyConnection, DbError};

/// A state name stored as `TEXT` that is not one the code knows.
pub use signet_schema::vocabulary::{
    ApplicationState, CertificateStatus, LetterState, Role as UserRole, UnknownName, UserState,
};

fn touched(rows: usize) -> Result<(), DbError> {
    if rows == 0 { Err(DbError::NotFound) } else { Ok(()) }
}

/// A registered person (`users`).
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = schema::users)]
pub struct User {
    /// See `signet_schema::record::validate_user_id`.
    pub user_id: String,
    /// JSON of `signet_schema::RegistrationData`.
    pub registration: String,
    #[diesel(deserialize_as = String)]
    pub role: UserRole,
    #[diesel(deserialize_as = String)]
    pub state: UserState,
    /// Wrong pass phrases since the last successful sign-in.
    pub failed_logins: i64,
    /// Sign-in refused until then (Unix seconds).
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A person to register (`users`); starts with no failed sign-ins.
#[derive(Clone, Debug, PartialEq, Eq, Insertable)]
#[diesel(table_name = schema::users)]
pub struct NewUser {
    pub user_id: String,
    pub registration: String,
    #[diesel(serialize_as = String)]
    pub role: UserRole,
    #[diesel(serialize_as = String)]
    pub state: UserState,
    pub created_at: i64,
    pub updated_at: i64,
}

pub mod user_terms;

/// Queries on `users`; the help desk's search is [`user_terms::page`].
pub mod users {
    use super::*;
    use schema::users::dsl;

    /// Registers a person, and indexes them for the help desk's search; an
    /// existing `user_id` is [`DbError::Constraint`].
    pub fn insert(c: &mut AnyConnection, user: &NewUser) -> Result<(), DbError> {
        diesel::insert_into(schema::users::table)
            .values(user.clone())
            .execute(c)?;
        super::user_terms::index(c, &user.user_id, &user.registration)
    }

    /// The person, or [`DbError::NotFound`].
    pub fn get(c: &mut AnyConnection, user_id: &str) -> Result<User, DbError> {
        Ok(dsl::users.find(user_id).select(User::as_select()).first(c)?)
    }

    /// The person, if registered.
    pub fn find(c: &mut AnyConnection, user_id: &str) -> Result<Option<User>, DbError> {
        Ok(dsl::users.find(user_id).select(User::as_select()).first(c).optional()?)
    }

    /// Whether anyone in one of `states` holds `role`.
    pub fn any_with_role(c: &mut AnyConnection, role: UserRole, states: &[UserState]) -> Result<bool, DbError> {
        let found = dsl::users
            .select(dsl::user_id)
            .filter(dsl::role.eq(role.as_str()))
            .filter(dsl::state.eq_any(states.iter().map(|s| s.as_str())))
            .first::<String>(c)
            .optional()?;
        Ok(found.is_some())
    }

    /// Moves the person to `state`.
    pub fn set_state(c: &mut AnyConnection, user_id: &str, state: UserState, now: i64) -> Result<(), DbError> {
        let rows = diesel::update(dsl::users.find(user_id))
            .set((dsl::state.eq(state.as_str()), dsl::updated_at.eq(now)))
            .execute(c)?;
        touched(rows)
    }

    /// Gives the person `role`.
    pub fn set_role(c: &mut AnyConnection, user_id: &str, role: UserRole, now: i64) -> Result<(), DbError> {
        let rows = diesel::update(dsl::users.find(user_id))
            .set((dsl::role.eq(role.as_str()), dsl::updated_at.eq(now)))
            .execute(c)?;
        touched(rows)
    }

    /// Deletes the person (their applications first: see
    /// [`super::applications::delete_for_user`]); only for one who never held
    /// a certificate.
    pub fn delete(c: &mut AnyConnection, user_id: &str) -> Result<(), DbError> {
        super::user_terms::forget(c, user_id)?;
        let rows = diesel::delete(dsl::users.find(user_id)).execute(c)?;
        touched(rows)
    }

    /// Records the sign-in failure count and lock; `(0, None)` after a successful sign-in.
    pub fn set_sign_in_failures(
        c: &mut AnyConnection,
        user_id: &str,
        failed_logins: i64,
        locked_until: Option<i64>,
        now: i64,
    ) -> Result<(), DbError> {
        let rows = diesel::update(dsl::users.find(user_id))
            .set((
                dsl::failed_logins.eq(failed_logins),
                dsl::locked_until.eq(locked_until),
                dsl::updated_at.eq(now),
            ))
            .execute(c)?;
        touched(rows)
    }
}

/// A key's salt and Argon2id parameters (memory in KiB, iterations, lanes): what pre-login answers.
pub type SaltAndParams = (Vec<u8>, i64, i64, i64);

/// A person's sealed key record (`key_records`); the server holds it but cannot open it.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = schema::key_records, primary_key(user_id))]
pub struct KeyRecord {
    pub user_id: String,
    /// The sealed record, encrypted again under the storage key.
    pub sealed_record: Vec<u8>,
    /// Argon2id memory in KiB, iterations and lanes (RFC 9106).
    pub kdf_m: i64,
    pub kdf_t: i64,
    pub kdf_p: i64,
    pub salt: Vec<u8>,
    /// Hash of the sign-in verifier derived from the pass phrase.
    pub verifier_hash: Vec<u8>,
    /// SHA-256 of the public key's SubjectPublicKeyInfo.
    pub public_key_fingerprint: Vec<u8>,
    pub updated_at: i64,
}

/// Queries on `key_records`.
pub mod key_records {
    use super::*;
    use schema::key_records::dsl;

    /// Stores the record, replacing the person's previous one. The person must exist.
    pub fn upsert(c: &mut AnyConnection, record: &KeyRecord) -> Result<(), DbError> {
        // ON CONFLICT is not in the subset both backends share; inside the write transaction an UPDATE
        // followed by an INSERT is just as atomic.
        let updated = diesel::update(dsl::key_records.find(&record.user_id))
            .set(record)
            .execute(c)?;
        if updated == 0 {
            diesel::insert_into(schema::key_records::table)
                .values(record)
                .execute(c)?;
        }
        Ok(())
    }

    /// The record, or [`DbError::NotFound`].
    pub fn get(c: &mut AnyConnection, user_id: &str) -> Result<KeyRecord, DbError> {
        Ok(dsl::key_records.find(user_id).select(KeyRecord::as_select()).first(c)?)
    }

    /// The record, if the person has one.
    pub fn find(c: &mut AnyConnection, user_id: &str) -> Result<Option<KeyRecord>, DbError> {
        Ok(dsl::key_records
            .find(user_id)
            .select(KeyRecord::as_select())
            .first(c)
            .optional()?)
    }

    /// The record's salt and Argon2id parameters (m, t, p), if the person
    /// has one: what pre-login answers, read without the record itself.
    pub fn salt_of(c: &mut AnyConnection, user_id: &str) -> Result<Option<SaltAndParams>, DbError> {
        Ok(dsl::key_records
            .find(user_id)
            .select((dsl::salt, dsl::kdf_m, dsl::kdf_t, dsl::kdf_p))
            .first(c)
            .optional()?)
    }

    /// Erases the record with a real `DELETE` (SQLite overwrites it: `secure_delete`). `true` if there was one.
    pub fn delete(c: &mut AnyConnection, user_id: &str) -> Result<bool, DbError> {
        Ok(diesel::delete(dsl::key_records.find(user_id)).execute(c)? > 0)
    }
}

/// An application for a certificate, waiting for the consent phrase (`applications`).
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::applications)]
pub struct Application {
    pub application_id: String,
    pub user_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub state: ApplicationState,
    /// The sealed record wrapped under the consent phrase, then under the storage key.
    pub consent_wrap: Vec<u8>,
    /// SHA-256 of the sealed record.
    pub inner_hash: Vec<u8>,
    /// The PKCS#10 request (RFC 2986), DER.
    pub certification_request: Vec<u8>,
    pub verifier_hash: Vec<u8>,
    /// Wrong consent phrases so far.
    pub failed_attempts: i64,
    /// The letter; `None` once printed, so the phrase is then kept nowhere.
    pub letter_pdf: Option<Vec<u8>>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub letter_state: LetterState,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Queries on `applications`.
pub mod applications {
    use super::*;
    use schema::applications::dsl;

    /// Stores a new application; the person must exist.
    pub fn insert(c: &mut AnyConnection, application: &Application) -> Result<(), DbError> {
        diesel::insert_into(schema::applications::table)
            .values(application.clone())
            .execute(c)?;
        Ok(())
    }

    /// The application, or [`DbError::NotFound`].
    pub fn get(c: &mut AnyConnection, application_id: &str) -> Result<Application, DbError> {
        Ok(dsl::applications
            .find(application_id)
            .select(Application::as_select())
            .first(c)?)
    }

    /// The person's most recent application, if any.
    pub fn latest_for_user(c: &mut AnyConnection, user_id: &str) -> Result<Option<Application>, DbError> {
        Ok(dsl::applications
            .filter(dsl::user_id.eq(user_id))
            .order((dsl::created_at.desc(), dsl::application_id.desc()))
            .select(Application::as_select())
            .first(c)
            .optional()?)
    }

    /// The user's open application — awaiting consent, locked or expired —
    /// if any. The flows keep at most one open per user: a user applies
    /// only when new or reset, and a reset withdraws what was open.
    pub fn open_for_user(c: &mut AnyConnection, user_id: &str) -> Result<Option<Application>, DbError> {
        let open = [
            ApplicationState::AwaitingConsent,
            ApplicationState::Locked,
            ApplicationState::Expired,
        ]
        .map(|s| s.as_str());
        Ok(dsl::applications
            .filter(dsl::user_id.eq(user_id))
            .filter(dsl::state.eq_any(open))
            .order((dsl::created_at.desc(), dsl::application_id.desc()))
            .select(Application::as_select())
            .first(c)
            .optional()?)
    }

    /// Erases the consent wrap (the record sealed under the consent phrase):
    /// after consent, withdrawal or revocation it must not outlive its use.
    pub fn erase_wrap(c: &mut AnyConnection, application_id: &str) -> Result<(), DbError> {
        let rows = diesel::update(dsl::applications.find(application_id))
            .set(dsl::consent_wrap.eq(Vec::<u8>::new()))
            .execute(c)?;
        touched(rows)
    }

    /// Replaces the consent wrap with `wrap` (a consented application's marker).
    pub fn set_wrap(c: &mut AnyConnection, application_id: &str, wrap: &[u8]) -> Result<(), DbError> {
        let rows = diesel::update(dsl::applications.find(application_id))
            .set(dsl::consent_wrap.eq(wrap))
            .execute(c)?;
        touched(rows)
    }

    /// Moves the application to `state`.
    pub fn set_state(c: &mut AnyConnection, application_id: &str, state: ApplicationState) -> Result<(), DbError> {
        let rows = diesel::update(dsl::applications.find(application_id))
            .set(dsl::state.eq(state.as_str()))
            .execute(c)?;
        touched(rows)
    }

    /// Counts one more wrong consent phrase and answers the new count.
    pub fn record_failed_attempt(c: &mut AnyConnection, application_id: &str) -> Result<i64, DbError> {
        let rows = diesel::update(dsl::applications.find(application_id))
            .set(dsl::failed_attempts.eq(dsl::failed_attempts + 1))
            .execute(c)?;
        touched(rows)?;
        Ok(dsl::applications
            .find(application_id)
            .select(dsl::failed_attempts)
            .first(c)?)
    }

    /// Where a page of letters begins: after this application, in order of
    /// `(created_at, application_id)`.
    pub type LetterCursor = (i64, String);

    /// A page of the letters the help desk still has to print or post —
    /// queued or printed, for applications still awaiting consent — oldest
    /// first, after `after`. One index range per letter state, merged.
    pub fn letters_to_send(
        c: &mut AnyConnection,
        after: Option<&LetterCursor>,
        limit: i64,
    ) -> Result<Vec<Application>, DbError> {
        let mut out = Vec::new();
        for letter_state in [LetterState::Queued, LetterState::Printed] {
            let mut query = dsl::applications
                .filter(dsl::letter_state.eq(letter_state.as_str()))
                .filter(dsl::state.eq(ApplicationState::AwaitingConsent.as_str()))
                .order((dsl::created_at, dsl::application_id))
                .limit(limit)
                .select(Application::as_select())
                .into_boxed();
            if let Some((created_at, application_id)) = after {
                query = query.filter(
                    dsl::created_at.ge(*created_at).and(
                        dsl::created_at
                            .gt(*created_at)
                            .or(dsl::application_id.gt(application_id.clone())),
                    ),
                );
            }
            out.extend(query.load(c)?);
        }
        out.sort_by(|a, b| (a.created_at, &a.application_id).cmp(&(b.created_at, &b.application_id)));
        out.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(out)
    }

    /// Moves the letter to `state`; leaving `queued` erases the PDF, and with it the phrase.
    pub fn set_letter_state(c: &mut AnyConnection, application_id: &str, state: LetterState) -> Result<(), DbError> {
        let target = dsl::applications.find(application_id);
        let rows = if state == LetterState::Queued {
            diesel::update(target)
                .set(dsl::letter_state.eq(state.as_str()))
                .execute(c)?
        } else {
            diesel::update(target)
                .set((
                    dsl::letter_state.eq(state.as_str()),
                    dsl::letter_pdf.eq(None::<Vec<u8>>),
                ))
                .execute(c)?
        };
        touched(rows)
    }

    /// Up to `limit` applications of people who have not consented (awaiting
    /// consent, locked or already marked expired) whose letter ran out
    /// before `now`, oldest first.
    pub fn ran_out(c: &mut AnyConnection, now: i64, limit: i64) -> Result<Vec<Application>, DbError> {
        use schema::users;
        let open = [
            ApplicationState::AwaitingConsent,
            ApplicationState::Locked,
            ApplicationState::Expired,
        ]
        .map(|s| s.as_str());
        Ok(dsl::applications
            .inner_join(users::table)
            .filter(users::state.eq(UserState::Pending.as_str()))
            .filter(dsl::state.eq_any(open))
            .filter(dsl::expires_at.lt(now))
            .order((dsl::expires_at, dsl::application_id))
            .limit(limit)
            .select(Application::as_select())
            .load(c)?)
    }

    /// Deletes every application of the person; answers how many.
    pub fn delete_for_user(c: &mut AnyConnection, user_id: &str) -> Result<usize, DbError> {
        Ok(diesel::delete(dsl::applications.filter(dsl::user_id.eq(user_id))).execute(c)?)
    }

    /// Marks every application still awaiting consent whose time ran out at `now` as expired; answers how many.
    pub fn expire(c: &mut AnyConnection, now: i64) -> Result<usize, DbError> {
        Ok(diesel::update(
            dsl::applications
                .filter(dsl::state.eq(ApplicationState::AwaitingConsent.as_str()))
                .filter(dsl::expires_at.le(now)),
        )
        .set(dsl::state.eq(ApplicationState::Expired.as_str()))
        .execute(c)?)
    }
}

/// An issued certificate, kept for auditors (`certificates`).
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::certificates)]
pub struct Certificate {
    /// Upper-case hex of the positive serial number (RFC 5280 §4.1.2.2).
    pub serial: String,
    pub user_id: String,
    pub der: Vec<u8>,
    /// SHA-256 of `der`, upper-case hex.
    pub sha256_fingerprint: String,
    /// The subject distinguished name as text (RFC 4514).
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: CertificateStatus,
    pub revoked_at: Option<i64>,
    /// RFC 5280 §5.3.1 reason name.
    pub revocation_reason: Option<String>,
    pub issued_at: i64,
}

impl Certificate {
    /// The archive row of a certificate just issued to `user_id`, active,
    /// under `serial` (upper-case hex), at `now`.
    pub fn issued(issued: &crate::keys::ca::IssuedCertificate, serial: String, user_id: &str, now: i64) -> Certificate {
        Certificate {
            serial,
            user_id: user_id.to_owned(),
            der: issued.der.clone(),
            sha256_fingerprint: issued.sha256_fingerprint_hex.clone(),
            subject: issued.subject.clone(),
            not_before: issued.not_before,
            not_after: issued.not_after,
            status: CertificateStatus::Active,
            revoked_at: None,
            revocation_reason: None,
            issued_at: now,
        }
    }
}

/// Which certificates [`certificates::search`] answers; every field set narrows the result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertificateFilter {
    pub user_id: Option<String>,
    pub serial: Option<String>,
    pub status: Option<CertificateStatus>,
    /// Issued at or after (Unix seconds).
    pub issued_from: Option<i64>,
    /// Issued at or before (Unix seconds).
    pub issued_to: Option<i64>,
    /// At most this many (default 100).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Queries on `certificates`.
pub mod certificates {
    use super::*;
    use diesel::dsl::count_star;
    use schema::certificates::dsl;

    /// Archives a newly issued certificate; a repeated serial is [`DbError::Constraint`].
    pub fn insert(c: &mut AnyConnection, certificate: &Certificate) -> Result<(), DbError> {
        diesel::insert_into(schema::certificates::table)
            .values(certificate.clone())
            .execute(c)?;
        Ok(())
    }

    /// The certificate with this serial, if any.
    pub fn by_serial(c: &mut AnyConnection, serial: &str) -> Result<Option<Certificate>, DbError> {
        Ok(dsl::certificates
            .find(serial)
            .select(Certificate::as_select())
            .first(c)
            .optional()?)
    }

    /// The person's certificates with `status`, newest first.
    pub fn for_user(
        c: &mut AnyConnection,
        user_id: &str,
        status: CertificateStatus,
    ) -> Result<Vec<Certificate>, DbError> {
        search(
            c,
            &CertificateFilter {
                user_id: Some(user_id.to_owned()),
                status: Some(status),
                ..Default::default()
            },
        )
    }

    fn filtered(filter: &CertificateFilter) -> schema::certificates::BoxedQuery<'static, super::super::MultiBackend> {
        let mut query = dsl::certificates.into_boxed();
        if let Some(user_id) = &filter.user_id {
            query = query.filter(dsl::user_id.eq(user_id.clone()));
        }
        if let Some(serial) = &filter.serial {
            query = query.filter(dsl::serial.eq(serial.clone()));
        }
        if let Some(status) = filter.status {
            query = query.filter(dsl::status.eq(status.as_str()));
        }
        if let Some(from) = filter.issued_from {
            query = query.filter(dsl::issued_at.ge(from));
        }
        if let Some(to) = filter.issued_to {
            query = query.filter(dsl::issued_at.le(to));
        }
        query
    }

    /// Certificates matching `filter`, newest first (then by serial), one page of `limit` after `offset`.
    pub fn search(c: &mut AnyConnection, filter: &CertificateFilter) -> Result<Vec<Certificate>, DbError> {
        Ok(filtered(filter)
            .order((dsl::issued_at.desc(), dsl::serial))
            .limit(filter.limit.unwrap_or(100))
            .offset(filter.offset.unwrap_or(0))
            .select(Certificate::as_select())
            .load(c)?)
    }

    /// How many certificates match `filter`, ignoring `limit` and `offset`.
    pub fn count(c: &mut AnyConnection, filter: &CertificateFilter) -> Result<i64, DbError> {
        Ok(filtered(filter).select(count_star()).first(c)?)
    }

    /// Sets the status; `revoked` gives the time and RFC 5280 reason when `status` is
    /// [`CertificateStatus::Revoked`] and must be `None` otherwise.
    pub fn set_status(
        c: &mut AnyConnection,
        serial: &str,
        status: CertificateStatus,
        revoked: Option<(i64, &str)>,
    ) -> Result<(), DbError> {
        // A superseded certificate is revoked too (reason `superseded`): both carry the time and reason.
        if (status != CertificateStatus::Active) != revoked.is_some() {
            return Err(DbError::Other(
                "revocation time and reason go with the revoked and superseded statuses".to_owned(),
            ));
        }
        let (revoked_at, reason) = match revoked {
            Some((at, reason)) => (Some(at), Some(reason)),
            None => (None, None),
        };
        let rows = diesel::update(dsl::certificates.find(serial))
            .set((
                dsl::status.eq(status.as_str()),
                dsl::revoked_at.eq(revoked_at),
                dsl::revocation_reason.eq(reason),
            ))
            .execute(c)?;
        touched(rows)
    }

    /// Revoked (or superseded) certificates not yet expired at `now`: the entries of the next CRL (RFC 5280 §5.1.2.6).
    pub fn revoked_unexpired(c: &mut AnyConnection, now: i64) -> Result<Vec<Certificate>, DbError> {
        Ok(dsl::certificates
            .filter(dsl::revoked_at.is_not_null())
            .filter(dsl::not_after.gt(now))
            .order(dsl::serial)
            .select(Certificate::as_select())
            .load(c)?)
    }
}

/// A certificate revocation list (`crls`, RFC 5280 §5).
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::crls)]
pub struct Crl {
    /// The cRLNumber extension (RFC 5280 §5.2.3), increasing.
    pub crl_number: i64,
    pub der: Vec<u8>,
    pub this_update: i64,
    pub next_update: i64,
}

/// Queries on `crls`.
pub mod crls {
    use super::*;
    use schema::crls::dsl;

    /// Stores a CRL; a repeated number is [`DbError::Constraint`].
    pub fn insert(c: &mut AnyConnection, crl: &Crl) -> Result<(), DbError> {
        diesel::insert_into(schema::crls::table).values(crl).execute(c)?;
        Ok(())
    }

    /// The CRL with the highest number, if any.
    pub fn latest(c: &mut AnyConnection) -> Result<Option<Crl>, DbError> {
        Ok(dsl::crls
            .order(dsl::crl_number.desc())
            .select(Crl::as_select())
            .first(c)
            .optional()?)
    }
}

/// Queries on `nonces`: request nonces that may be used once.
pub mod nonces {
    use super::*;
    use schema::nonces::dsl;

    /// Uses `nonce` up: `true` the first time, `false` if it was seen before and has not expired. Also
    /// forgets nonces expired at `now`; `expires_at` is how long this one must be remembered.
    pub fn consume(c: &mut AnyConnection, nonce: &str, now: i64, expires_at: i64) -> Result<bool, DbError> {
        diesel::delete(dsl::nonces.filter(dsl::expires_at.le(now))).execute(c)?;
        let seen = dsl::nonces
            .find(nonce)
            .select(dsl::nonce)
            .first::<String>(c)
            .optional()?
            .is_some();
        if seen {
            return Ok(false);
        }
        // In a savepoint: on PostgreSQL a failed statement would otherwise abort the caller's transaction.
        let inserted = c.transaction(|c| {
            diesel::insert_into(schema::nonces::table)
                .values((dsl::nonce.eq(nonce), dsl::expires_at.eq(expires_at)))
                .execute(c)
        });
        match inserted.map_err(DbError::from) {
            Ok(_) => Ok(true),
            Err(DbError::Constraint {
                kind: super::super::ConstraintKind::Unique,
                ..
            }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// One entry of the audit log (`events`), chained by hash and signed.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::events)]
pub struct Event {
    /// Position in the chain, from 1 without gaps.
    pub seq: i64,
    pub at: i64,
    /// Who acted: a user id, `system`, …
    pub actor: String,
    pub kind: String,
    /// Whom or what it concerns (a user id or a serial).
    pub subject: Option<String>,
    /// JSON details.
    pub detail: String,
    /// `hash` of the previous event (zeros for the first).
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Queries on `events`.
pub mod events {
    use super::*;
    use schema::events::dsl;

    /// Appends an event; its `seq` must follow [`last`]'s (a taken `seq` is [`DbError::Constraint`]).
    pub fn append(c: &mut AnyConnection, event: &Event) -> Result<(), DbError> {
        diesel::insert_into(schema::events::table).values(event).execute(c)?;
        Ok(())
    }

    /// The newest event, if any: the chain continues from it.
    pub fn last(c: &mut AnyConnection) -> Result<Option<Event>, DbError> {
        Ok(dsl::events
            .order(dsl::seq.desc())
            .select(Event::as_select())
            .first(c)
            .optional()?)
    }

    /// Up to `limit` events from `from_seq` on, in order.
    pub fn range(c: &mut AnyConnection, from_seq: i64, limit: i64) -> Result<Vec<Event>, DbError> {
        Ok(dsl::events
            .filter(dsl::seq.ge(from_seq))
            .order(dsl::seq)
            .limit(limit)
            .select(Event::as_select())
            .load(c)?)
    }

    /// Up to `limit` events about `subject`, in order.
    pub fn for_subject(c: &mut AnyConnection, subject: &str, limit: i64) -> Result<Vec<Event>, DbError> {
        Ok(dsl::events
            .filter(dsl::subject.eq(subject))
            .order(dsl::seq)
            .limit(limit)
            .select(Event::as_select())
            .load(c)?)
    }
}

/// The sign-in generation (`sign_in_generation`), see [`schema::sign_in_generation`].
pub mod sign_in_generation {
    use super::*;
    use schema::sign_in_generation::dsl;

    /// The current generation: read inside a transaction, the generation of that transaction's snapshot.
    pub fn current(c: &mut AnyConnection) -> Result<i64, DbError> {
        Ok(dsl::sign_in_generation
            .filter(dsl::id.eq(1))
            .select(dsl::generation)
            .first(c)?)
    }
}

/// A published release of the signing core (`signer_releases`).
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::signer_releases)]
pub struct SignerRelease {
    /// Release number, higher for every newer release.
    pub version: i64,
    pub label: String,
    pub protocol_version: i64,
    /// JSON of `signet_schema::release::SignedRelease`.
    pub signed_release: Vec<u8>,
    /// When the release key signed it.
    pub published_at: i64,
    /// When it was published here.
    pub stored_at: i64,
}

/// Queries on `signer_releases`.
pub mod signer_releases {
    use super::*;
    use schema::signer_releases::dsl;

    /// Stores a release; a repeated version is [`DbError::Constraint`].
    pub fn insert(c: &mut AnyConnection, release: &SignerRelease) -> Result<(), DbError> {
        diesel::insert_into(schema::signer_releases::table)
            .values(release)
            .execute(c)?;
        Ok(())
    }

    /// The release with the highest version, if any: the one clients get.
    pub fn latest(c: &mut AnyConnection) -> Result<Option<SignerRelease>, DbError> {
        Ok(dsl::signer_releases
            .order(dsl::version.desc())
            .select(SignerRelease::as_select())
            .first(c)
            .optional()?)
    }

    /// Every release, newest first.
    pub fn all(c: &mut AnyConnection) -> Result<Vec<SignerRelease>, DbError> {
        Ok(dsl::signer_releases
            .order(dsl::version.desc())
            .select(SignerRelease::as_select())
            .load(c)?)
    }
}

/// A signer binary (`signer_binaries`).
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::signer_binaries)]
pub struct SignerBinary {
    /// SHA-256 of `bytes`, lower-case hex.
    pub sha256: String,
    pub size: i64,
    pub bytes: Vec<u8>,
}

/// Queries on `signer_binaries`.
pub mod signer_binaries {
    use super::*;
    use schema::signer_binaries::dsl;

    /// Stores a binary unless one with its hash is there already (the same bytes).
    pub fn insert_new(c: &mut AnyConnection, binary: &SignerBinary) -> Result<(), DbError> {
        let present = dsl::signer_binaries
            .find(&binary.sha256)
            .select(dsl::sha256)
            .first::<String>(c)
            .optional()?
            .is_some();
        if !present {
            diesel::insert_into(schema::signer_binaries::table)
                .values(binary)
                .execute(c)?;
        }
        Ok(())
    }

    /// The binary whose SHA-256 is `sha256`, if stored.
    pub fn find(c: &mut AnyConnection, sha256: &str) -> Result<Option<Vec<u8>>, DbError> {
        Ok(dsl::signer_binaries
            .find(sha256)
            .select(dsl::bytes)
            .first(c)
            .optional()?)
    }
}

/// Queries on `server_settings`: named operator settings.
pub mod server_settings {
    use super::*;
    use schema::server_settings::dsl;

    /// The setting `name`, if set.
    pub fn get(c: &mut AnyConnection, name: &str) -> Result<Option<String>, DbError> {
        Ok(dsl::server_settings.find(name).select(dsl::value).first(c).optional()?)
    }

    /// Sets `name` to `value`.
    pub fn set(c: &mut AnyConnection, name: &str, value: &str, now: i64) -> Result<(), DbError> {
        let updated = diesel::update(dsl::server_settings.find(name))
            .set((dsl::value.eq(value), dsl::updated_at.eq(now)))
            .execute(c)?;
        if updated == 0 {
            diesel::insert_into(schema::server_settings::table)
                .values((dsl::name.eq(name), dsl::value.eq(value), dsl::updated_at.eq(now)))
                .execute(c)?;
        }
        Ok(())
    }
}

/// A host application the CA certified (`hosts`).
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::hosts)]
pub struct Host {
    pub name: String,
    /// Its HTTPS address.
    pub url: String,
    /// Serial of its current certificate (in `certificates`).
    pub serial: String,
    pub certified_at: i64,
}

/// The holder under which a host's certificates are archived: `host:<name>`,
/// which no user id can spell (user ids have no `:`).
pub fn host_holder(name: &str) -> String {
    format!("host:{name}")
}

/// Queries on `hosts`.
pub mod hosts {
    use super::*;
    use schema::hosts::dsl;

    /// The host named `name`, if certified.
    pub fn find(c: &mut AnyConnection, name: &str) -> Result<Option<Host>, DbError> {
        Ok(dsl::hosts.find(name).select(Host::as_select()).first(c).optional()?)
    }

    /// Every certified host, by name.
    pub fn all(c: &mut AnyConnection) -> Result<Vec<Host>, DbError> {
        Ok(dsl::hosts.order(dsl::name.asc()).select(Host::as_select()).load(c)?)
    }

    /// Records `host` (its current certificate), replacing an earlier one of the same name.
    pub fn put(c: &mut AnyConnection, host: &Host) -> Result<(), DbError> {
        diesel::delete(dsl::hosts.find(&host.name)).execute(c)?;
        diesel::insert_into(schema::hosts::table)
            .values(host.clone())
            .execute(c)?;
        Ok(())
    }
}

/// What a counter of failed guesses is about (`guesses.purpose`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuessPurpose {
    /// Sign-in (pass-phrase verifiers).
    Signin,
    /// Consent (the letter's phrase).
    Consent,
}

impl GuessPurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            GuessPurpose::Signin => "signin",
            GuessPurpose::Consent => "consent",
        }
    }
}

/// Failed guesses at an id (`guesses`, or a person's own `users` columns).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Guesses {
    /// Failures so far.
    pub failures: i64,
    /// Further guesses refused until then (Unix seconds).
    pub locked_until: Option<i64>,
    /// When the count last changed (read only: storing it sets the time).
    pub changed_at: i64,
}

impl Guesses {
    /// Whether the count has run out at `now`: its wait over and quiet for
    /// `quiet` seconds since. Counts run out by time alone, never by a right
    /// guess, so that no one can watch a count to learn that its id was used.
    pub fn run_out(&self, now: i64, quiet: i64) -> bool {
        now - self.changed_at.max(self.locked_until.unwrap_or(0)) > quiet
    }
}

/// Queries on `guesses`.
pub mod guesses {
    use super::*;
    use schema::guesses::dsl;

    /// The counter of `subject` for `purpose`; zero when none was kept.
    pub fn get(c: &mut AnyConnection, purpose: GuessPurpose, subject: &str) -> Result<Guesses, DbError> {
        let found: Option<(i64, Option<i64>, i64)> = dsl::guesses
            .find((purpose.as_str(), subject))
            .select((dsl::failures, dsl::locked_until, dsl::updated_at))
            .first(c)
            .optional()?;
        Ok(
            found.map_or_else(Guesses::default, |(failures, locked_until, changed_at)| Guesses {
                failures,
                locked_until,
                changed_at,
            }),
        )
    }

    /// Stores the counter of `subject` for `purpose`.
    pub fn put(
        c: &mut AnyConnection,
        purpose: GuessPurpose,
        subject: &str,
        guesses: &Guesses,
        now: i64,
    ) -> Result<(), DbError> {
        let updated = diesel::update(dsl::guesses.find((purpose.as_str(), subject)))
            .set((
                dsl::failures.eq(guesses.failures),
                dsl::locked_until.eq(guesses.locked_until),
                dsl::updated_at.eq(now),
            ))
            .execute(c)?;
        if updated == 0 {
            diesel::insert_into(schema::guesses::table)
                .values((
                    dsl::purpose.eq(purpose.as_str()),
                    dsl::subject.eq(subject),
                    dsl::failures.eq(guesses.failures),
                    dsl::locked_until.eq(guesses.locked_until),
                    dsl::updated_at.eq(now),
                ))
                .execute(c)?;
        }
        Ok(())
    }

    /// Forgets the counter of `subject` for `purpose` (a new letter, say).
    pub fn clear(c: &mut AnyConnection, purpose: GuessPurpose, subject: &str) -> Result<(), DbError> {
        diesel::delete(dsl::guesses.find((purpose.as_str(), subject))).execute(c)?;
        Ok(())
    }

    /// Drops up to `limit` counters last changed before `before` whose wait,
    /// if any, is over; answers how many.
    pub fn forget(c: &mut AnyConnection, before: i64, now: i64, limit: i64) -> Result<usize, DbError> {
        let stale: Vec<(String, String)> = dsl::guesses
            .filter(dsl::updated_at.lt(before))
            .filter(dsl::locked_until.is_null().or(dsl::locked_until.le(now)))
            .select((dsl::purpose, dsl::subject))
            .limit(limit)
            .load(c)?;
        for (purpose, subject) in &stale {
            diesel::delete(dsl::guesses.find((purpose, subject))).execute(c)?;
        }
        Ok(stale.len())
    }
}

/// What remains of an erased key (`erased_keys`): enough to tell its owner,
/// and only its owner, that it was erased; nothing of the key.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = schema::erased_keys, primary_key(user_id))]
pub struct ErasedKey {
    pub user_id: String,
    pub kdf_m: i64,
    pub kdf_t: i64,
    pub kdf_p: i64,
    pub salt: Vec<u8>,
    /// The keyed tag of the last sign-in verifier.
    pub verifier_hash: Vec<u8>,
    pub erased_at: i64,
}

impl ErasedKey {
    /// What remains of `record` once erased at `now`.
    pub fn of(record: &KeyRecord, now: i64) -> ErasedKey {
        ErasedKey {
            user_id: record.user_id.clone(),
            kdf_m: record.kdf_m,
            kdf_t: record.kdf_t,
            kdf_p: record.kdf_p,
            salt: record.salt.clone(),
            verifier_hash: record.verifier_hash.clone(),
            erased_at: now,
        }
    }
}

/// Queries on `erased_keys`.
pub mod erased_keys {
    use super::*;
    use schema::erased_keys::dsl;

    /// What remains of the person's erased key, if one was erased.
    pub fn find(c: &mut AnyConnection, user_id: &str) -> Result<Option<ErasedKey>, DbError> {
        Ok(dsl::erased_keys
            .find(user_id)
            .select(ErasedKey::as_select())
            .first(c)
            .optional()?)
    }

    /// Keeps what remains of an erased key, replacing an earlier one.
    pub fn put(c: &mut AnyConnection, erased: &ErasedKey) -> Result<(), DbError> {
        let updated = diesel::update(dsl::erased_keys.find(&erased.user_id))
            .set(erased)
            .execute(c)?;
        if updated == 0 {
            diesel::insert_into(schema::erased_keys::table)
                .values(erased)
                .execute(c)?;
        }
        Ok(())
    }

    /// Its salt and Argon2id parameters (m, t, p), as [`super::key_records::salt_of`].
    pub fn salt_of(c: &mut AnyConnection, user_id: &str) -> Result<Option<SaltAndParams>, DbError> {
        Ok(dsl::erased_keys
            .find(user_id)
            .select((dsl::salt, dsl::kdf_m, dsl::kdf_t, dsl::kdf_p))
            .first(c)
            .optional()?)
    }

    /// Forgets it (the person has a key again).
    pub fn delete(c: &mut AnyConnection, user_id: &str) -> Result<(), DbError> {
        diesel::delete(dsl::erased_keys.find(user_id)).execute(c)?;
        Ok(())
    }
}
