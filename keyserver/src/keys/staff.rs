//! Requests signed with a person's own key: every help-desk and auditor
//! request, and a user's re-registration. The signature (RSASSA-PSS-SHA256
//! over [`signed_request_bytes`]) is checked against the signer's *active*
//! certificate, over a fresh time stamp and a single-use nonce, inside the
//! same transaction as the work it authorises.
//!
//! Help-desk and auditor flows live here too: they are what signed
//! requests are for.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use signet_crypto::keys::PublicKey;
use signet_schema::api::{
    self, ActionDone, ApiErrorCode, AuditVerification, DEFAULT_PAGE, EventInfo, LetterInfo, LetterPage, MAX_PAGE,
    StaffRevokeRequest, UserInfo, UserPage, signed_headers, signed_request_bytes,
};
use signet_schema::vocabulary::AuditEventKind;
use signet_schema::{RegistrationData, SignatureScheme};
use warp::Filter;

use super::KeyTier;
use super::flows::{Outcome, TxError, event, info, settle};
use crate::error::Failure;
use crate::json::{JSON_MEDIA_TYPE, MAX_BODY, Rejected, has_media_type, unsupported_media_type};
use crate::keys::db::models::user_terms::After;
use crate::keys::db::models::{self, CertificateFilter, CertificateStatus, LetterState, User, UserRole, UserState};
use crate::keys::db::{AnyConnection, DbError};
use crate::keys::storage_key::BlobKind;

/// A request as signed by its sender.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    /// HTTP method.
    pub method: String,
    /// Path and query, exactly as sent.
    pub path_and_query: String,
    /// Who signed.
    pub signer: String,
    /// When.
    pub timestamp: i64,
    /// Single-use nonce.
    pub nonce: String,
    /// RSASSA-PSS-SHA256 signature.
    pub signature: Vec<u8>,
    /// The body, exactly as sent.
    pub body: bytes::Bytes,
}

/// The four `signet-*` headers of a signed request, as received.
#[derive(Clone, Debug, Default)]
pub struct SignedHeaders {
    /// [`signed_headers::SIGNER`].
    pub signer: Option<String>,
    /// [`signed_headers::TIMESTAMP`].
    pub timestamp: Option<String>,
    /// [`signed_headers::NONCE`].
    pub nonce: Option<String>,
    /// [`signed_headers::SIGNATURE`].
    pub signature: Option<String>,
}

impl SignedRequest {
    /// Reads a signed request from what arrived; a missing or malformed
    /// signing header is `forbidden`. Nothing is checked against the
    /// database or the clock here (see `check_signed`).
    pub fn from_parts(
        method: &str,
        path: &str,
        query: &str,
        headers: SignedHeaders,
        body: bytes::Bytes,
    ) -> Result<SignedRequest, Failure> {
        let (Some(signer), Some(timestamp), Some(nonce), Some(signature)) =
            (headers.signer, headers.timestamp, headers.nonce, headers.signature)
        else {
            return Err(forbidden("this route needs a request signed with your own key"));
        };
        let timestamp = timestamp
            .parse::<i64>()
            .map_err(|_| forbidden("the signing time stamp is not a number"))?;
        let signature = B64
            .decode(signature.as_bytes())
            .map_err(|_| forbidden("the signature is not base64"))?;
        let path_and_query = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        Ok(SignedRequest {
            method: method.to_owned(),
            path_and_query,
            signer,
            timestamp,
            nonce,
            signature,
            body,
        })
    }

    /// Parses the body as JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Failure> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Failure::new(
                ApiErrorCode::BadRequest,
                format!("the body is not a valid request: {e}"),
            )
        })
    }

    /// The value of query parameter `name`, if present.
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.path_and_query.split_once('?')?.1;
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| percent_decode(v))
    }
}

/// Decodes `application/x-www-form-urlencoded` text (`+` and `%XX`).
fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push(high << 4 | low);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The request's body, refused unread when it declares more than
/// [`MAX_BODY`] bytes; a request without a body (a GET) has an empty one. A
/// body that cannot be read whole is a rejection, never an empty body.
fn bounded_body() -> impl Filter<Extract = (bytes::Bytes,), Error = warp::Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and_then(|length: Option<u64>| async move {
            if length.is_some_and(|n| n > MAX_BODY) {
                return Err(warp::reject::custom(Rejected(Failure::new(
                    ApiErrorCode::PayloadTooLarge,
                    format!("the body is larger than {MAX_BODY} bytes"),
                ))));
            }
            Ok(())
        })
        .untuple_one()
        .and(warp::body::bytes())
}

fn nonce_reused() -> Failure {
    Failure::new(ApiErrorCode::NonceReused, "this signed request was sent before")
}

fn forbidden(message: &str) -> Failure {
    Failure::new(ApiErrorCode::Forbidden, message)
}

/// What a signed request carries outside its body: method, path, query
/// and the signing headers.
pub type SignedParts = (warp::http::Method, warp::path::FullPath, String, SignedHeaders);

/// Extracts [`SignedParts`].
pub fn signed_parts() -> impl Filter<Extract = (SignedParts,), Error = warp::Rejection> + Clone {
    warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::optional::<String>(signed_headers::SIGNER))
        .and(warp::header::optional::<String>(signed_headers::TIMESTAMP))
        .and(warp::header::optional::<String>(signed_headers::NONCE))
        .and(warp::header::optional::<String>(signed_headers::SIGNATURE))
        .map(|method, path, query, signer, timestamp, nonce, signature| {
            let headers = SignedHeaders {
                signer,
                timestamp,
                nonce,
                signature,
            };
            (method, path, query, headers)
        })
}

impl SignedRequest {
    /// A signed request from its [`SignedParts`] and its body (as sent, or
    /// as unsealed); see [`SignedRequest::from_parts`].
    pub fn from_signed_parts(
        (method, path, query, headers): SignedParts,
        body: bytes::Bytes,
    ) -> Result<SignedRequest, Failure> {
        SignedRequest::from_parts(method.as_str(), path.as_str(), &query, headers, body)
    }
}

/// Extracts a [`SignedRequest`] sent in the clear; a missing or malformed
/// signing header is `forbidden` before anything else happens.
pub fn signed_request() -> impl Filter<Extract = (SignedRequest,), Error = warp::Rejection> + Clone {
    signed_parts()
        .and(warp::header::optional::<String>("content-type"))
        .and(bounded_body())
        .and_then(
            |parts: SignedParts, content_type: Option<String>, body: bytes::Bytes| async move {
                // Every body a signed route reads is JSON; a form or text is not read.
                if !body.is_empty() && !has_media_type(content_type.as_deref(), JSON_MEDIA_TYPE) {
                    return Err(warp::reject::custom(Rejected(unsupported_media_type(JSON_MEDIA_TYPE))));
                }
                SignedRequest::from_signed_parts(parts, body).map_err(|refused| warp::reject::custom(Rejected(refused)))
            },
        )
}

impl KeyTier {
    /// Checks a signed request inside a write transaction: fresh time
    /// stamp, an active signer with one of `roles`, the signature against
    /// their active certificate, and then an unused nonce, which it consumes.
    pub(crate) fn check_signed(
        &self,
        c: &mut AnyConnection,
        req: &SignedRequest,
        roles: &[UserRole],
        now: i64,
    ) -> Result<Result<User, Failure>, TxError> {
        let user = match self.verify_signed(c, req, roles, now, true)? {
            Ok(user) => user,
            Err(refused) => return Ok(Err(refused)),
        };
        // Only a request that verifies spends its nonce: a forged one writes
        // nothing, and a replayed genuine one is refused here.
        if !models::nonces::consume(c, &req.nonce, now, now + 2 * self.policy.max_clock_skew_seconds)? {
            return Ok(Err(nonce_reused()));
        }
        Ok(Ok(user))
    }

    /// The checks of [`KeyTier::check_signed`] that write nothing: fresh time
    /// stamp (unless `check_time` is false: its nonce is spent already, so it
    /// cannot come again), well-formed nonce, an active signer with one of
    /// `roles`, and the signature against their active certificate.
    fn verify_signed(
        &self,
        c: &mut AnyConnection,
        req: &SignedRequest,
        roles: &[UserRole],
        now: i64,
        check_time: bool,
    ) -> Result<Result<User, Failure>, DbError> {
        if check_time && !self.policy.is_fresh(req.timestamp, now) {
            return Ok(Err(Failure::new(
                ApiErrorCode::StaleRequest,
                "the signed request is too old or from the future; check the clock",
            )));
        }
        let nonce_ok = (16..=64).contains(&req.nonce.len())
            && req
                .nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b));
        if !nonce_ok {
            return Ok(Err(forbidden("the nonce must be 16 to 64 characters of base64 or hex")));
        }
        let refused = || forbidden("the signature is not from an active account allowed on this route");
        let Some(user) = models::users::find(c, &req.signer)? else {
            return Ok(Err(refused()));
        };
        if user.state != UserState::Active || !roles.contains(&user.role) {
            return Ok(Err(refused()));
        }
        let Some(cert) = models::certificates::for_user(c, &user.user_id, CertificateStatus::Active)?
            .into_iter()
            .next()
        else {
            return Ok(Err(refused()));
        };
        let Ok(public) = certificate_key(&cert.der) else {
            return Ok(Err(refused()));
        };
        let body_hash = hex::encode(Sha256::digest(&req.body));
        let server = signet_crypto::channel::server_id(self.channel.integrity_spki());
        let signed = signed_request_bytes(
            &server,
            &req.signer,
            &req.method,
            &req.path_and_query,
            req.timestamp,
            &req.nonce,
            &body_hash,
        );
        if signet_crypto::sign::verify(&public, SignatureScheme::RsaPssSha256, &signed, &req.signature).is_err() {
            return Ok(Err(Failure::new(
                ApiErrorCode::BadSignature,
                "the request's signature does not verify with your certificate",
            )));
        }
        Ok(Ok(user))
    }

    /// [`KeyTier::check_signed`] in a transaction of its own, spending the
    /// nonce: for a route that has other work to do before its write
    /// transaction (which then uses [`KeyTier::signed_spent`]), so that a
    /// forged or replayed request is refused before that work.
    pub(crate) fn spend_signed(&self, req: &SignedRequest, roles: &[UserRole]) -> Result<(), Failure> {
        self.signed(req, roles, |_, _, _| Ok(Outcome::Done(())))
    }

    /// Runs `work` after the checks of [`KeyTier::check_signed`] but the
    /// nonce, which [`KeyTier::spend_signed`] spent (and the time stamp,
    /// checked then), all in one transaction: the signer is still active and
    /// allowed, and the signature still verifies with their certificate.
    pub(crate) fn signed_spent<T>(
        &self,
        req: &SignedRequest,
        roles: &[UserRole],
        work: impl FnMut(&mut AnyConnection, &User, i64) -> Result<Outcome<T>, TxError>,
    ) -> Result<T, Failure> {
        self.signed_then(req, roles, false, work)
    }

    /// Runs `work` after [`KeyTier::check_signed`], all in one transaction.
    pub(crate) fn signed<T>(
        &self,
        req: &SignedRequest,
        roles: &[UserRole],
        work: impl FnMut(&mut AnyConnection, &User, i64) -> Result<Outcome<T>, TxError>,
    ) -> Result<T, Failure> {
        self.signed_then(req, roles, true, work)
    }

    fn signed_then<T>(
        &self,
        req: &SignedRequest,
        roles: &[UserRole],
        spend_nonce: bool,
        mut work: impl FnMut(&mut AnyConnection, &User, i64) -> Result<Outcome<T>, TxError>,
    ) -> Result<T, Failure> {
        let now = self.now();
        settle(self.db.write(|c| {
            let checked = if spend_nonce {
                self.check_signed(c, req, roles, now)?
            } else {
                self.verify_signed(c, req, roles, now, false)?
            };
            match checked {
                Ok(user) => work(c, &user, now),
                Err(refused) => Ok(Outcome::Refused(refused)),
            }
        }))
    }

    /// `GET /v1/helpdesk/letters?after=…&limit=…`: a page of the letters
    /// queued or printed, oldest first.
    pub fn letters(&self, req: SignedRequest) -> Result<LetterPage, Failure> {
        let after = req.query("after").map(|a| letter_cursor(&a)).transpose()?;
        let limit = page_limit(&req)?;
        self.signed(&req, &[UserRole::Helpdesk], |c, _, _| {
            let mut apps = models::applications::letters_to_send(c, after.as_ref(), limit as i64 + 1)?;
            let next = more_after(&mut apps, limit, |app| {
                format!("{}.{}", app.created_at, app.application_id)
            });
            let mut letters = Vec::with_capacity(apps.len());
            for app in apps {
                let user = models::users::get(c, &app.user_id)?;
                letters.push(LetterInfo {
                    application_id: app.application_id,
                    user_id: app.user_id,
                    full_name: registration_of(&user)?.common_name,
                    letter_state: app.letter_state,
                    created_at: app.created_at,
                    expires_at: app.expires_at,
                    pdf_available: app.letter_pdf.is_some(),
                });
            }
            Ok(Outcome::Done(LetterPage { letters, next }))
        })
    }

    /// `GET /v1/helpdesk/letters/{id}/pdf`: the printable letter.
    pub fn letter_pdf(&self, req: SignedRequest, application_id: &str) -> Result<Vec<u8>, Failure> {
        self.signed(&req, &[UserRole::Helpdesk], |c, staff, _| {
            let Some(app) = find_application(c, application_id)? else {
                return Ok(Outcome::Refused(Failure::new(
                    ApiErrorCode::NotFound,
                    "no such application",
                )));
            };
            let Some(sealed) = app.letter_pdf else {
                return Ok(Outcome::Refused(Failure::new(
                    ApiErrorCode::WrongState,
                    "this letter was printed already and is no longer kept",
                )));
            };
            let pdf = self.open_letter(application_id, &sealed)?;
            self.audit(
                c,
                event(
                    &staff.user_id,
                    AuditEventKind::LetterDownloaded,
                    &app.user_id,
                    serde_json::json!({ "application_id": application_id }),
                ),
            )?;
            Ok(Outcome::Done(pdf))
        })
    }

    /// `POST /v1/helpdesk/letters/{id}/printed` and
    /// `POST /v1/helpdesk/letters/{id}/dispatched`: the
    /// letter leaves the server's keeping (its PDF, and the phrase in it,
    /// are deleted).
    pub fn mark_letter(
        &self,
        req: SignedRequest,
        application_id: &str,
        state: LetterState,
    ) -> Result<ActionDone, Failure> {
        self.signed(&req, &[UserRole::Helpdesk], |c, staff, _| {
            let Some(app) = find_application(c, application_id)? else {
                return Ok(Outcome::Refused(Failure::new(
                    ApiErrorCode::NotFound,
                    "no such application",
                )));
            };
            models::applications::set_letter_state(c, application_id, state)?;
            let kind = if state == LetterState::Printed {
                AuditEventKind::LetterPrinted
            } else {
                AuditEventKind::LetterDispatched
            };
            self.audit(
                c,
                event(
                    &staff.user_id,
                    kind,
                    &app.user_id,
                    serde_json::json!({ "application_id": application_id }),
                ),
            )?;
            Ok(Outcome::Done(ActionDone {
                message: format!("letter marked {}", state.as_str()),
                crl_number: None,
            }))
        })
    }

    /// `GET /v1/helpdesk/users?q=…&state=…&after=…&limit=…`: a page of
    /// the users with a term (id, e-mail address or its domain, a word of the
    /// name) beginning with each word of `q`, any case; see
    /// [`models::user_terms`] for the order and the cost.
    pub fn users(&self, req: SignedRequest) -> Result<UserPage, Failure> {
        let state = match req.query("state") {
            Some(s) => Some(
                s.parse::<UserState>()
                    .map_err(|e| Failure::bad_field("state", e.to_string()))?,
            ),
            None => None,
        };
        let words = search_words(&req.query("q").unwrap_or_default())?;
        let after = req
            .query("after")
            .map(|after| user_cursor(&after, &words))
            .transpose()?;
        let search = models::user_terms::UserSearch {
            words,
            state,
            after,
            limit: page_limit(&req)?,
        };
        self.signed(&req, &[UserRole::Helpdesk], |c, _, _| {
            let found = models::user_terms::page(c, &search)?;
            let mut users = Vec::with_capacity(found.users.len());
            for user in found.users {
                users.push(UserInfo {
                    registration: registration_of(&user)?,
                    user_id: user.user_id,
                    role: user.role,
                    state: user.state,
                    failed_logins: user.failed_logins,
                    locked_until: user.locked_until,
                });
            }
            let next = found.next.map(user_cursor_text);
            Ok(Outcome::Done(UserPage { users, next }))
        })
    }

    /// `POST /v1/helpdesk/users/{id}/reset`: re-registration for a user who
    /// lost the pass phrase. The key is erased, its certificate revoked and a
    /// new CRL published; the user then applies again and gets a new letter.
    /// For someone who never consented, the application is withdrawn and the
    /// id freed (see [`KeyTier::give_up_pending`]).
    pub fn reset_user(&self, req: SignedRequest, user_id: &str) -> Result<ActionDone, Failure> {
        let done = self.signed(&req, &[UserRole::Helpdesk], |c, staff, now| {
            let Some(user) = models::users::find(c, user_id)? else {
                return Ok(Outcome::Refused(Failure::new(ApiErrorCode::NotFound, "no such user")));
            };
            if user.state == UserState::Revoked {
                return Ok(Outcome::Refused(Failure::new(
                    ApiErrorCode::WrongState,
                    "this user was revoked",
                )));
            }
            // Someone who never consented is withdrawn whole: the id is free
            // again (a squatted id, say), for anyone to apply for.
            if user.state == UserState::Pending && self.give_up_pending(c, &staff.user_id, user_id, now)? {
                return Ok(Outcome::Done(ActionDone {
                    message: format!("{user_id} never consented: the application is withdrawn and the id is free"),
                    crl_number: None,
                }));
            }
            let revoked = self.revoke_keys(
                c,
                &staff.user_id,
                user_id,
                api::RevocationReason::CessationOfOperation,
                now,
            )?;
            self.forget_guess_sources(user_id);
            self.withdraw_open_applications(c, user_id)?;
            // A reset account starts again as an ordinary user; roles are granted anew.
            models::users::set_role(c, user_id, UserRole::User, now)?;
            models::users::set_sign_in_failures(c, user_id, 0, None, now)?;
            models::users::set_state(c, user_id, UserState::Reset, now)?;
            self.audit(
                c,
                event(
                    &staff.user_id,
                    AuditEventKind::UserReset,
                    user_id,
                    serde_json::json!({ "certificates_revoked": revoked }),
                ),
            )?;
            let crl_number = if revoked > 0 {
                Some(self.publish_crl(c, now)?.crl_number as u64)
            } else {
                None
            };
            Ok(Outcome::Done(ActionDone {
                message: format!("{user_id} may apply again; a new letter will follow"),
                crl_number,
            }))
        })?;
        super::truncate_log(&self.db);
        Ok(done)
    }

    /// `POST /v1/helpdesk/users/{id}/unlock`: lifts a sign-in lock.
    pub fn unlock_user(&self, req: SignedRequest, user_id: &str) -> Result<ActionDone, Failure> {
        self.signed(&req, &[UserRole::Helpdesk], |c, staff, now| {
            if models::users::find(c, user_id)?.is_none() {
                return Ok(Outcome::Refused(Failure::new(ApiErrorCode::NotFound, "no such user")));
            }
            models::users::set_sign_in_failures(c, user_id, 0, None, now)?;
            self.guess_sources.unlock(user_id);
            self.audit(
                c,
                event(
                    &staff.user_id,
                    AuditEventKind::UserUnlocked,
                    user_id,
                    serde_json::json!({}),
                ),
            )?;
            Ok(Outcome::Done(ActionDone {
                message: format!("{user_id} is unlocked"),
                crl_number: None,
            }))
        })
    }

    /// `POST /v1/helpdesk/users/{id}/revoke`: revocation by the help desk.
    pub fn staff_revoke(&self, req: SignedRequest, user_id: &str) -> Result<ActionDone, Failure> {
        let body: StaffRevokeRequest = req.json()?;
        let done = self.signed(&req, &[UserRole::Helpdesk], |c, staff, now| {
            let Some(user) = models::users::find(c, user_id)? else {
                return Ok(Outcome::Refused(Failure::new(ApiErrorCode::NotFound, "no such user")));
            };
            if user.state == UserState::Revoked {
                return Ok(Outcome::Refused(Failure::new(
                    ApiErrorCode::WrongState,
                    "this user is revoked already",
                )));
            }
            self.revoke_user(c, &staff.user_id, user_id, body.reason, now)?;
            self.forget_guess_sources(user_id);
            let crl = self.publish_crl(c, now)?;
            Ok(Outcome::Done(ActionDone {
                message: format!("{user_id} is revoked"),
                crl_number: Some(crl.crl_number as u64),
            }))
        })?;
        super::truncate_log(&self.db);
        Ok(done)
    }

    /// `GET /v1/audit/certificates?user=&serial=&status=&from=&to=&limit=&offset=`.
    pub fn audit_certificates(&self, req: SignedRequest) -> Result<Vec<api::CertificateInfo>, Failure> {
        let number = |name: &str| -> Result<Option<i64>, Failure> {
            req.query(name)
                .map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| Failure::bad_field(name, format!("`{name}` must be a whole number")))
                })
                .transpose()
        };
        let filter = CertificateFilter {
            user_id: req.query("user"),
            serial: req.query("serial").map(|s| s.to_ascii_uppercase()),
            status: match req.query("status") {
                Some(s) => Some(
                    s.parse::<CertificateStatus>()
                        .map_err(|e| Failure::bad_field("status", e.to_string()))?,
                ),
                None => None,
            },
            issued_from: number("from")?,
            issued_to: number("to")?,
            limit: Some(number("limit")?.unwrap_or(100).clamp(1, 1000)),
            offset: number("offset")?.map(|o| o.max(0)),
        };
        self.signed(&req, &[UserRole::Auditor], |c, _, _| {
            Ok(Outcome::Done(
                models::certificates::search(c, &filter)?
                    .into_iter()
                    .map(info)
                    .collect(),
            ))
        })
    }

    /// `GET /v1/audit/certificates.csv?…`: the same search as CSV (RFC 4180).
    pub fn audit_certificates_csv(&self, req: SignedRequest) -> Result<Vec<u8>, Failure> {
        let rows = self.audit_certificates(req)?;
        let mut out = String::from(
            "serial,user_id,subject,status,not_before,not_after,revoked_at,revocation_reason,sha256_fingerprint\r\n",
        );
        for c in rows {
            let status = serde_json::to_value(c.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let reason = c
                .revocation_reason
                .and_then(|r| serde_json::to_value(r).ok())
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let fields = [
                c.serial,
                c.user_id,
                c.subject,
                status,
                c.not_before.to_string(),
                c.not_after.to_string(),
                c.revoked_at.map(|t| t.to_string()).unwrap_or_default(),
                reason,
                c.sha256_fingerprint,
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        Ok(out.into_bytes())
    }

    /// `GET /v1/audit/events?subject=&from_seq=&limit=`.
    pub fn audit_events(&self, req: SignedRequest) -> Result<Vec<EventInfo>, Failure> {
        let subject = req.query("subject");
        let from = req
            .query("from_seq")
            .map(|v| v.parse::<i64>())
            .transpose()
            .map_err(|_| Failure::bad_field("from_seq", "`from_seq` must be a whole number"))?;
        let limit = req
            .query("limit")
            .map(|v| v.parse::<i64>())
            .transpose()
            .map_err(|_| Failure::bad_field("limit", "`limit` must be a whole number"))?
            .unwrap_or(200)
            .clamp(1, 1000);
        self.signed(&req, &[UserRole::Auditor], |c, _, _| {
            let events = match &subject {
                Some(s) => models::events::for_subject(c, s, limit)?,
                None => models::events::range(c, from.unwrap_or(1).max(1), limit)?,
            };
            let events = events
                .into_iter()
                .map(|e| {
                    Ok(EventInfo {
                        seq: e.seq,
                        at: e.at,
                        actor: e.actor,
                        kind: e.kind.parse().map_err(crate::keys::db::DbError::from)?,
                        subject: e.subject,
                        detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::String(e.detail)),
                    })
                })
                .collect::<Result<Vec<EventInfo>, crate::keys::db::DbError>>()?;
            Ok(Outcome::Done(events))
        })
    }

    /// `GET /v1/audit/verify`: checks the whole chain.
    pub fn audit_verify(&self, req: SignedRequest) -> Result<AuditVerification, Failure> {
        self.signed(&req, &[UserRole::Auditor], |_, _, _| Ok(Outcome::Done(())))?;
        Ok(match self.verify_audit_log()? {
            Ok(verified) => AuditVerification {
                intact: true,
                verified,
                broken_seq: None,
                problem: None,
            },
            Err(broken) => AuditVerification {
                intact: false,
                verified: 0,
                broken_seq: broken.seq(),
                problem: Some(broken.to_string()),
            },
        })
    }
}

/// One CSV field (RFC 4180 §2): quoted when it holds a comma, quote or line
/// break; a leading `=`, `+`, `-` or `@` is prefixed with `'` so that a
/// spreadsheet does not run it as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

impl KeyTier {
    /// A queued letter's PDF, from its storage-key sealing.
    pub(crate) fn open_letter(&self, application_id: &str, sealed: &[u8]) -> Result<Vec<u8>, TxError> {
        self.storage
            .open(BlobKind::Letter, application_id, sealed)
            .map(|pdf| pdf.to_vec())
            .map_err(|e| TxError::Abort(Failure::internal(e)))
    }
}

fn find_application(c: &mut AnyConnection, application_id: &str) -> Result<Option<models::Application>, TxError> {
    match models::applications::get(c, application_id) {
        Ok(app) => Ok(Some(app)),
        Err(crate::keys::db::DbError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The public key of a DER certificate.
pub(crate) fn certificate_key(der: &[u8]) -> Result<PublicKey, Failure> {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(der).map_err(Failure::internal)?;
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(Failure::internal)?;
    PublicKey::from_spki_der(&spki).map_err(Failure::internal)
}

/// Most words a user search takes, and most characters in one.
const MAX_SEARCH_WORDS: usize = 4;
const MAX_SEARCH_WORD_CHARS: usize = 64;

/// The words of a user search, lower-cased; a typed error for one too long,
/// too many of them, or a control or non-character in one.
fn search_words(q: &str) -> Result<Vec<String>, Failure> {
    let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
    if words.len() > MAX_SEARCH_WORDS {
        return Err(Failure::bad_field(
            "q",
            format!("search with at most {MAX_SEARCH_WORDS} words"),
        ));
    }
    for word in &words {
        if word.chars().count() > MAX_SEARCH_WORD_CHARS {
            return Err(Failure::bad_field(
                "q",
                format!("a search word has at most {MAX_SEARCH_WORD_CHARS} characters"),
            ));
        }
        let non_character = |c: char| (c as u32 & 0xFFFE) == 0xFFFE || ('\u{FDD0}'..='\u{FDEF}').contains(&c);
        if word.chars().any(|c| c.is_control() || non_character(c)) {
            return Err(Failure::bad_field("q", "search words are printable text"));
        }
    }
    Ok(words)
}

/// `limit`: entries on one page, [`DEFAULT_PAGE`] unless given, at most [`MAX_PAGE`].
fn page_limit(req: &SignedRequest) -> Result<usize, Failure> {
    match req.query("limit") {
        None => Ok(DEFAULT_PAGE),
        Some(limit) => match limit.parse::<usize>() {
            Ok(n @ 1..=MAX_PAGE) => Ok(n),
            _ => Err(Failure::bad_field(
                "limit",
                format!("a page holds 1 to {MAX_PAGE} entries"),
            )),
        },
    }
}

/// The user-search cursor: a user id for a listing without words, else
/// `"{driving word's index}.{hex of the term}.{user_id}"` — safe to print
/// and paste whatever the term holds (a registrant's own e-mail address,
/// say). A cursor of another search is refused.
fn user_cursor(text: &str, words: &[String]) -> Result<After, Failure> {
    let bad = || Failure::bad_field("after", "not a page of this list");
    let valid_id = |id: &str| signet_schema::record::validate_user_id(id).is_ok();
    let after = if words.is_empty() {
        valid_id(text).then(|| After::Id(text.to_owned()))
    } else {
        term_cursor(text)
            .filter(|(_, _, user_id)| valid_id(user_id))
            .map(|(word, term, user_id)| After::Term {
                word,
                term,
                user_id: user_id.to_owned(),
            })
    };
    after.filter(|after| after.fits(words)).ok_or_else(bad)
}

/// A search cursor's parts: the driving word's index, the term, the user id.
fn term_cursor(text: &str) -> Option<(usize, String, &str)> {
    let (word, rest) = text.split_once('.')?;
    let (term, user_id) = rest.split_once('.')?;
    let word = match word.as_bytes() {
        [digit @ b'0'..=b'9'] => usize::from(digit - b'0'),
        _ => return None,
    };
    let term = lower_hex(term)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|t| !t.is_empty() && t.len() <= 512 && !t.chars().any(|c| c.is_whitespace() || c.is_control()))?;
    Some((word, term, user_id))
}

/// The user-search cursor's text; see [`user_cursor`].
fn user_cursor_text(after: After) -> String {
    match after {
        After::Id(user_id) => user_id,
        After::Term { word, term, user_id } => format!("{word}.{}.{user_id}", hex::encode(term)),
    }
}

/// The bytes of lower-case hex text, if it is that.
fn lower_hex(text: &str) -> Option<Vec<u8>> {
    let lower = text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if lower { hex::decode(text).ok() } else { None }
}

/// The letter cursor `"{created_at}.{application_id}"`.
fn letter_cursor(text: &str) -> Result<models::applications::LetterCursor, Failure> {
    let bad = || Failure::bad_field("after", "not a page of this list");
    let (created_at, application_id) = text.split_once('.').ok_or_else(bad)?;
    let created_at = created_at.parse::<i64>().map_err(|_| bad())?;
    if application_id.is_empty() || application_id.len() > 64 || lower_hex(application_id).is_none() {
        return Err(bad());
    }
    Ok((created_at, application_id.to_owned()))
}

/// Keeps the first `limit` of `rows` (fetched one over) and answers the
/// cursor after the last kept when there were more.
fn more_after<T>(rows: &mut Vec<T>, limit: usize, cursor: impl Fn(&T) -> String) -> Option<String> {
    if rows.len() <= limit {
        return None;
    }
    rows.truncate(limit);
    rows.last().map(cursor)
}

/// The person's registration data, as stored.
fn registration_of(user: &models::User) -> Result<RegistrationData, TxError> {
    serde_json::from_str(&user.registration).map_err(|e| TxError::Abort(Failure::internal(e)))
}
