//! The order desk's steps. Each request is first authenticated (a
//! [`SignedHostRequest`] by a user's certificate the CA issued); each step
//! that changes anything is one database transaction that also consumes the
//! request's nonce and stores the signed status report it answers with, so
//! a crash leaves a step done or not done, never half.
//!
//! An order is refused — stored as rejected, answered `RJCT` with its ISO
//! reason code — when: it fails the schema or the banks' checks (`FF01`);
//! its CMS signature does not verify over its exact bytes (`DS0B`); it is
//! signed under another certificate than the request's (`DS0E`); the
//! certificate was not valid at receipt (`DS0D`) or was revoked by then
//! (`DS0C`, from the host's own current CRL); the signing time is in the
//! future or older than the signing window (`DT01`); the signer has no
//! mandate on a debtor account (`DS0H`) or signs above their limit
//! (`DS0G`); the message id is taken (`AM05`). Without a current CRL the
//! order waits (`PDNG`) and is decided when one arrives.

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use signet_crypto::keys::PublicKey;
use signet_keyserver_web::error::Failure;
use signet_orders::status_report::{ReceivedSignature, ReportStatus, StatusReason};
use signet_orders::{Account, Amount, CheckedOrder};
use signet_schema::SignatureScheme;
use signet_schema::api::ApiErrorCode;
use signet_schema::host::{
    CANCEL_PATH, COSIGN_PATH, CosignOrder, LIST_PATH, ListOrders, OrderDetail, OrderInfo, OrderRef, OrderScope,
    OrderSignature, OrderState, OrderStatus, SHOW_PATH, SUBMIT_PATH, SignatureClass, SignedHostRequest,
    SignedStatusReport, SubmitOrder, request_bytes,
};
use signet_schema::protocol::Bytes;

use crate::Host;
use crate::db::{self, AnyConnection, DbError, OrderAccount, StoredOrder, StoredSignature};
use crate::mandates;
use crate::trust::{Refusal, Status, UserCertificate, reason};

/// How far a request's time stamp may be from the host's clock.
pub const MAX_REQUEST_SKEW: i64 = 300;
/// Most orders a list answers.
pub const LIST_LIMIT: i64 = 500;
/// Orders expired or decided in one transaction.
const BATCH: i64 = 100;

/// What a transaction's closure decided.
enum Step<T> {
    /// Done: commit and answer.
    Done(T),
    /// Refused: commit what was written (the nonce) and answer the failure.
    Refused(Failure),
}

fn internal(e: impl std::fmt::Display) -> DbError {
    DbError::Other(e.to_string())
}

fn refused_request(refusal: &Refusal) -> Failure {
    let code = match refusal.code {
        reason::CERTIFICATE_REVOKED => ApiErrorCode::Revoked,
        _ => ApiErrorCode::Forbidden,
    };
    Failure::new(code, format!("{}: {}", refusal.code, refusal.text))
}

/// A request whose signature and certificate checked out.
struct Signed<T> {
    signer: UserCertificate,
    payload: T,
    nonce: String,
}

/// What the checks found of a new signature over an order's bytes.
struct Examined {
    refusal: Option<Refusal>,
    signing_time: Option<i64>,
    revocation_unknown: bool,
    /// The signature as a report states its receipt (certificate serial and
    /// SHA-256), when it verified under the certificate that signed the
    /// request; the host vouches for nothing else.
    received: Option<(String, String)>,
}

impl Examined {
    /// A refusal with `code` and `text`; `received` as [`Examined::received`] states it.
    fn refused(code: &'static str, text: &str, received: Option<(String, String)>) -> Examined {
        Examined {
            refusal: Some(Refusal::new(code, text)),
            signing_time: None,
            revocation_unknown: false,
            received,
        }
    }

    /// The received signature as the report states it, received `at`.
    fn received(&self, at: i64) -> Vec<ReceivedSignature> {
        self.received
            .iter()
            .map(|(serial, sha256)| ReceivedSignature {
                certificate_serial: serial.clone(),
                signature_sha256: sha256.clone(),
                received_at: at,
            })
            .collect()
    }
}

/// The order's debtor accounts with their totals, and its totals per currency.
fn accounts_of(order_id: &str, checked: &CheckedOrder) -> (Vec<OrderAccount>, Vec<String>) {
    use std::collections::BTreeMap;
    let mut per_account: BTreeMap<String, (Decimal, Option<String>, bool)> = BTreeMap::new();
    let mut per_currency: BTreeMap<String, Decimal> = BTreeMap::new();
    for (batch, payment) in checked.order.payments() {
        let id = match &batch.debtor_account {
            Account::Iban(iban) => iban.clone(),
            Account::Other(other) => other.clone(),
        };
        let entry = per_account.entry(id).or_insert((Decimal::ZERO, None, false));
        match &payment.amount {
            Amount::Instructed { value, currency } => {
                entry.0 += *value;
                match &entry.1 {
                    None => entry.1 = Some(currency.clone()),
                    Some(seen) if seen != currency => entry.2 = true,
                    Some(_) => {}
                }
                *per_currency.entry(currency.clone()).or_insert(Decimal::ZERO) += *value;
            }
            Amount::Equivalent => entry.2 = true,
        }
    }
    let accounts = per_account
        .into_iter()
        .map(|(iban, (total, currency, mixed))| OrderAccount {
            order_id: order_id.to_owned(),
            iban,
            total: total.to_string(),
            currency: if mixed {
                "MIXED".to_owned()
            } else {
                currency.unwrap_or_else(|| "MIXED".to_owned())
            },
        })
        .collect();
    let totals = per_currency
        .into_iter()
        .map(|(currency, total)| format!("{total} {currency}"))
        .collect();
    (accounts, totals)
}

fn new_order_id() -> Result<String, DbError> {
    let mut id = [0u8; 12];
    getrandom::fill(&mut id).map_err(|e| internal(format!("OS random number generator: {e}")))?;
    Ok(format!("O{}", hex::encode_upper(id)))
}

fn unix(time: std::time::SystemTime) -> Option<i64> {
    time.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
}

impl Host {
    fn write<T>(&self, mut step: impl FnMut(&mut AnyConnection) -> Result<Step<T>, DbError>) -> Result<T, Failure> {
        match self.db.write(|c| step(c)) {
            Ok(Step::Done(value)) => Ok(value),
            Ok(Step::Refused(failure)) => Err(failure),
            Err(e) => Err(Failure::from(e)),
        }
    }

    /// Checks a signed request to `path`: the nonce's shape, a fresh time
    /// stamp, a certificate the CA issued to a user and valid now, the
    /// signature over the request by that certificate's key, the payload's
    /// shape. The nonce is consumed by the step's transaction.
    fn authenticate<T: DeserializeOwned>(
        &self,
        request: &SignedHostRequest,
        path: &str,
        now: i64,
    ) -> Result<Signed<T>, Failure> {
        if !(16..=64).contains(&request.nonce.len()) || !request.nonce.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Failure::bad_field("nonce", "the nonce is 16 to 64 letters and digits"));
        }
        if request.timestamp.abs_diff(now) > MAX_REQUEST_SKEW.unsigned_abs() {
            return Err(Failure::new(
                ApiErrorCode::StaleRequest,
                "the request's time stamp is too far from the host's clock; check the clock",
            ));
        }
        let signer = self
            .trust
            .user_certificate(&request.certificate.0, now)
            .map_err(|r| refused_request(&r))?;
        // A submission from a revoked certificate is answered with a signed
        // rejection (DS0C, see `examine`); nothing else is done for one.
        if path != SUBMIT_PATH
            && let Status::Revoked(r) = self.trust.status(&signer.serial, now, now)
        {
            return Err(refused_request(&Refusal::new(
                reason::CERTIFICATE_REVOKED,
                format!(
                    "the certificate was revoked at {} ({})",
                    r.revoked_at,
                    r.reason.rfc5280_name()
                ),
            )));
        }
        let key = PublicKey::from_certificate(&signer.certificate)
            .map_err(|_| Failure::new(ApiErrorCode::Forbidden, "DS0E: the certificate's key is not an RSA key"))?;
        let digest = hex::encode(Sha256::digest(&request.payload.0));
        let host = hex::encode(Sha256::digest(&self.certificate_der));
        let covered = request_bytes(&host, path, request.timestamp, &request.nonce, &digest);
        signet_crypto::sign::verify(&key, SignatureScheme::RsaPssSha256, &covered, &request.signature.0)
            .map_err(|_| Failure::new(ApiErrorCode::BadSignature, "the request's signature does not verify"))?;
        let payload = serde_json::from_slice(&request.payload.0)
            .map_err(|e| Failure::new(ApiErrorCode::BadRequest, format!("the request is not valid: {e}")))?;
        Ok(Signed {
            signer,
            payload,
            nonce: request.nonce.clone(),
        })
    }

    /// [`Host::write`] of a signed request's step: its nonce is consumed
    /// first, in the same transaction.
    fn write_signed<T>(
        &self,
        nonce: &str,
        now: i64,
        mut step: impl FnMut(&mut AnyConnection) -> Result<Step<T>, DbError>,
    ) -> Result<T, Failure> {
        self.write(|c| match self.consume_nonce(c, nonce, now)? {
            Some(failure) => Ok(Step::Refused(failure)),
            None => step(c),
        })
    }

    /// Consumes the request's nonce inside the step's transaction.
    fn consume_nonce(&self, c: &mut AnyConnection, nonce: &str, now: i64) -> Result<Option<Failure>, DbError> {
        if db::nonces::consume(c, nonce, now, now.saturating_add(2 * MAX_REQUEST_SKEW))? {
            Ok(None)
        } else {
            Ok(Some(Failure::new(
                ApiErrorCode::NonceReused,
                "this request was sent before",
            )))
        }
    }

    /// The checks of a new signature over `bytes` by `signer`, received at
    /// `now`, that need no database.
    fn examine(&self, signer: &UserCertificate, bytes: &[u8], signature: &[u8], now: i64) -> Examined {
        let verified = match signet_crypto::cms::verify_detached(signature, bytes) {
            Ok(verified) => verified,
            Err(_) => {
                return Examined::refused(
                    reason::SIGNATURE_INVALID,
                    "the signature does not verify over the order's exact bytes",
                    None,
                );
            }
        };
        if verified.certificate != signer.der {
            return Examined::refused(
                reason::INCORRECT_CERTIFICATE,
                "the order is signed under another certificate than the request",
                None,
            );
        }
        // From here the signature is the requester's, under the certificate the CA issued them.
        let received = Some((signer.serial.clone(), hex::encode(Sha256::digest(signature))));
        let refuse = |code, text: &str| Examined::refused(code, text, received.clone());
        let Some(signing_time) = verified.signing_time.and_then(unix) else {
            return refuse(reason::INVALID_DATE, "the signature carries no signing time");
        };
        if signing_time > now.saturating_add(self.policy.clock_skew_seconds) {
            return refuse(reason::INVALID_DATE, "the signing time is in the future");
        }
        if signing_time < now.saturating_sub(self.policy.signing_window_seconds) {
            return refuse(
                reason::INVALID_DATE,
                &format!(
                    "the signing time is more than {} s before receipt",
                    self.policy.signing_window_seconds
                ),
            );
        }
        let revocation_unknown = match self.trust.status(&signer.serial, now, now) {
            Status::Good => false,
            Status::Unknown => true,
            Status::Revoked(r) => {
                return refuse(
                    reason::CERTIFICATE_REVOKED,
                    &format!(
                        "the signer's certificate was revoked at {} ({})",
                        r.revoked_at,
                        r.reason.rfc5280_name()
                    ),
                );
            }
        };
        Examined {
            refusal: None,
            signing_time: Some(signing_time),
            revocation_unknown,
            received,
        }
    }

    /// The class `user_id`'s signature counts as on the order with `accounts`.
    fn class_of(
        c: &mut AnyConnection,
        user_id: &str,
        accounts: &[OrderAccount],
    ) -> Result<Result<SignatureClass, Refusal>, DbError> {
        let mut mandates = Vec::new();
        for account in accounts {
            mandates.push(db::mandates::find(c, &account.iban, user_id)?);
        }
        Ok(mandates::class_on_order(accounts, |iban| {
            accounts
                .iter()
                .position(|a| a.iban == iban)
                .and_then(|i| mandates[i].clone())
        }))
    }

    /// The state an order with these signatures is in, and why.
    fn state_for(
        classes: &[SignatureClass],
        revocation_unknown: bool,
    ) -> (OrderState, ReportStatus, Vec<StatusReason>) {
        if revocation_unknown {
            return (
                OrderState::AwaitingRevocationStatus,
                ReportStatus::Pending,
                vec![StatusReason {
                    code: reason::NARRATIVE.into(),
                    text: "received; the signer's certificate is checked when the host holds a current CRL".into(),
                }],
            );
        }
        if mandates::complete(classes) {
            (OrderState::Accepted, ReportStatus::Accepted, Vec::new())
        } else {
            (
                OrderState::AwaitingSignatures,
                ReportStatus::Pending,
                vec![StatusReason {
                    code: reason::NARRATIVE.into(),
                    text: mandates::still_needed(classes).into(),
                }],
            )
        }
    }

    fn report_for(
        &self,
        bytes: &[u8],
        status: ReportStatus,
        reasons: Vec<StatusReason>,
        received_at: i64,
        sha256: &str,
        signatures: Vec<ReceivedSignature>,
    ) -> Result<SignedStatusReport, DbError> {
        self.signed_report(bytes, status, reasons, received_at, sha256, signatures)
            .map_err(internal)
    }

    /// What becomes of a new order from `user_id` drawing on `accounts`,
    /// whose signature was `examined`, by what the database holds now.
    fn decide(
        c: &mut AnyConnection,
        user_id: &str,
        accounts: &[OrderAccount],
        examined: &Examined,
        message_id: &str,
        sha256: &str,
    ) -> Result<Decision, DbError> {
        let mut refusal = examined.refusal.clone();
        let mut class = SignatureClass::T;
        if refusal.is_none() {
            match Self::class_of(c, user_id, accounts)? {
                Ok(counted) => class = counted,
                Err(r) => refusal = Some(r),
            }
        }
        if refusal.is_none() && db::orders::live_message_id(c, user_id, message_id)? {
            refusal = Some(Refusal::new(
                reason::DUPLICATE,
                format!("the message id {message_id} was used by an earlier order"),
            ));
        }
        if refusal.is_none() && db::orders::live_sha256(c, sha256)? {
            refusal = Some(Refusal::new(
                reason::DUPLICATE,
                "an order with these exact bytes waits at the host or was accepted",
            ));
        }
        let (state, status, reasons) = match &refusal {
            Some(r) => (
                OrderState::Rejected,
                ReportStatus::Rejected,
                vec![StatusReason {
                    code: r.code.into(),
                    text: r.text.clone(),
                }],
            ),
            None => Self::state_for(&[class], examined.revocation_unknown),
        };
        Ok(Decision {
            class,
            state,
            status,
            reasons,
        })
    }

    /// `POST /v1/orders`: a new order with its submitter's signature.
    pub fn submit(&self, request: &SignedHostRequest) -> Result<OrderStatus, Failure> {
        let now = self.now();
        let signed: Signed<SubmitOrder> = self.authenticate(request, SUBMIT_PATH, now)?;
        let bytes = &signed.payload.order.0;
        let today =
            time::OffsetDateTime::from_unix_timestamp(now).map_or_else(|_| signet_orders::today(), |t| t.date());
        let checked = signet_orders::check(bytes, today);
        let examined = match &checked {
            Err(e) => Examined::refused(
                reason::INVALID_FILE_FORMAT,
                &e.lines().into_iter().next().unwrap_or_else(|| e.to_string()),
                None,
            ),
            Ok(_) => self.examine(&signed.signer, bytes, &signed.payload.signature.0, now),
        };
        let sha256 = hex::encode(Sha256::digest(bytes));
        let message_id = match &checked {
            Ok(checked) => checked.order.message_id.clone(),
            Err(_) => signet_orders::status_report::OriginalMessage::unreadable(bytes).message_id,
        };
        let user_id = signed.signer.user_id.clone();
        let order_id = new_order_id().map_err(Failure::from)?;
        let (accounts, totals) = match &checked {
            Ok(checked) => accounts_of(&order_id, checked),
            Err(_) => (Vec::new(), Vec::new()),
        };
        let decide = |c: &mut AnyConnection| Self::decide(c, &user_id, &accounts, &examined, &message_id, &sha256);
        // The report is signed (the costly step) before the write lock is taken, on what
        // a read snapshot decides; the write transaction decides again and uses it only
        // if nothing changed meanwhile (a concurrent duplicate, a mandate changed), and
        // otherwise signs anew inside. The submitted signature was received now,
        // whatever becomes of it.
        let received = examined.received(now);
        let tentative = self.db.read(decide).map_err(Failure::from)?;
        let early_report = self
            .report_for(
                bytes,
                tentative.status,
                tentative.reasons.clone(),
                now,
                &sha256,
                received.clone(),
            )
            .map_err(Failure::from)?;
        self.write_signed(&signed.nonce, now, |c| {
            let decision = decide(c)?;
            let report = if decision == tentative {
                early_report.clone()
            } else {
                self.report_for(
                    bytes,
                    decision.status,
                    decision.reasons.clone(),
                    now,
                    &sha256,
                    received.clone(),
                )?
            };
            let Decision {
                class,
                state,
                status: _,
                reasons,
            } = decision;
            let (accounts, totals) = (accounts.clone(), totals.clone());
            if state == OrderState::Rejected && !db::mandates::any_for_user(c, &user_id)? {
                // Someone this bank gave no mandate: answered, but nothing of theirs is kept.
                tracing::info!(user = %user_id, "order from a user without a mandate refused");
                return Ok(Step::Done(OrderStatus {
                    order: OrderInfo {
                        order_id: order_id.clone(),
                        message_id: message_id.clone(),
                        sha256: sha256.clone(),
                        debtor_accounts: accounts.into_iter().map(|a| a.iban).collect(),
                        totals,
                        payments: 0,
                        submitted_by: user_id.clone(),
                        state,
                        reason_code: reasons.first().map(|r| r.code.clone()),
                        reason: reasons.first().map(|r| r.text.clone()),
                        signatures: Vec::new(),
                        received_at: now,
                        expires_at: now,
                    },
                    report,
                }));
            }
            let first = reasons.first();
            let stored = StoredOrder {
                order_id: order_id.clone(),
                message_id: message_id.clone(),
                bytes: bytes.clone(),
                sha256: sha256.clone(),
                payments: checked.as_ref().map_or(0, |c| c.order.payments().count() as i64),
                totals: totals.join("; "),
                submitted_by: user_id.clone(),
                state: state.as_str().into(),
                reason_code: first.map(|r| r.code.clone()),
                reason: first.map(|r| r.text.clone()),
                received_at: now,
                expires_at: now.saturating_add(self.policy.waiting_seconds),
                report_xml: report.xml.0.clone(),
                report_signature: report.signature.0.clone(),
            };
            db::orders::insert(c, &stored, &accounts)?;
            if state != OrderState::Rejected {
                db::orders::add_signature(
                    c,
                    &StoredSignature {
                        order_id: order_id.clone(),
                        user_id: user_id.clone(),
                        class: class.as_str().into(),
                        certificate_serial: signed.signer.serial.clone(),
                        signature: signed.payload.signature.0.clone(),
                        signing_time: examined.signing_time,
                        received_at: now,
                    },
                )?;
            }
            tracing::info!(order = %order_id, user = %user_id, state = state.as_str(), "order received");
            let status = self.status_of(c, stored)?;
            Ok(Step::Done(status))
        })
    }

    /// `POST /v1/orders/cosign`: a further signature on a waiting order.
    pub fn cosign(&self, request: &SignedHostRequest) -> Result<OrderStatus, Failure> {
        let now = self.now();
        let signed: Signed<CosignOrder> = self.authenticate(request, COSIGN_PATH, now)?;
        let user_id = signed.signer.user_id.clone();
        self.write_signed(&signed.nonce, now, |c| {
            let Some(order) = self.visible_order(c, &signed.payload.order_id, &user_id)? else {
                return Ok(Step::Refused(Failure::new(ApiErrorCode::NotFound, "no such order")));
            };
            if let Some(expired) = self.expire_if_due(c, &order, now)? {
                return Ok(Step::Refused(expired));
            }
            let state = OrderState::parse(&order.state);
            if state != Some(OrderState::AwaitingSignatures) {
                return Ok(Step::Refused(Failure::new(
                    ApiErrorCode::WrongState,
                    format!("the order is {}, not waiting for signatures", order.state),
                )));
            }
            let signatures = db::orders::signatures(c, &order.order_id)?;
            let accounts = db::orders::accounts(c, &order.order_id)?;
            let mut refusal = None;
            if signatures.iter().any(|s| s.user_id == user_id) {
                refusal = Some(Refusal::new(
                    reason::SIGNED_TWICE,
                    "this user has signed the order already",
                ));
            }
            let examined = self.examine(&signed.signer, &order.bytes, &signed.payload.signature.0, now);
            if refusal.is_none() {
                refusal = examined.refusal.clone();
            }
            if refusal.is_none() && examined.revocation_unknown {
                return Ok(Step::Refused(Failure::new(
                    ApiErrorCode::Unavailable,
                    "the host cannot check certificates now (its revocation list is not current); try again later",
                )));
            }
            let mut class = SignatureClass::T;
            if refusal.is_none() {
                match Self::class_of(c, &user_id, &accounts)? {
                    Ok(SignatureClass::T) => {
                        refusal = Some(Refusal::new(
                            reason::NOT_ALLOWED_PAYMENT,
                            "a transport mandate (class T) may submit orders, not sign them",
                        ))
                    }
                    Ok(counted) => class = counted,
                    Err(r) => refusal = Some(r),
                }
            }
            if let Some(refusal) = refusal {
                // The order is unchanged; the answer says why this signature was not taken.
                let classes = classes_of(&signatures);
                let mut reasons = vec![StatusReason {
                    code: refusal.code.into(),
                    text: refusal.text.clone(),
                }];
                reasons.extend(Self::state_for(&classes, false).2);
                // The refused signature was received too: the report says when.
                let mut received = received_signatures(&signatures);
                received.extend(examined.received(now));
                let report = self.report_for(
                    &order.bytes,
                    ReportStatus::Pending,
                    reasons,
                    order.received_at,
                    &order.sha256,
                    received,
                )?;
                let mut status = self.status_of(c, order)?;
                status.report = report;
                return Ok(Step::Done(status));
            }
            db::orders::add_signature(
                c,
                &StoredSignature {
                    order_id: order.order_id.clone(),
                    user_id: user_id.clone(),
                    class: class.as_str().into(),
                    certificate_serial: signed.signer.serial.clone(),
                    signature: signed.payload.signature.0.clone(),
                    signing_time: examined.signing_time,
                    received_at: now,
                },
            )?;
            let mut classes = classes_of(&signatures);
            classes.push(class);
            let (state, status, reasons) = Self::state_for(&classes, false);
            self.record_state(c, &order, state, status, reasons)?;
            tracing::info!(order = %order.order_id, user = %user_id, state = state.as_str(), "order co-signed");
            let stored = db::orders::find(c, &order.order_id)?.ok_or_else(|| internal("the order vanished"))?;
            Ok(Step::Done(self.status_of(c, stored)?))
        })
    }

    /// `POST /v1/orders/cancel`: withdraws a waiting order.
    pub fn cancel(&self, request: &SignedHostRequest) -> Result<OrderStatus, Failure> {
        let now = self.now();
        let signed: Signed<OrderRef> = self.authenticate(request, CANCEL_PATH, now)?;
        let user_id = signed.signer.user_id.clone();
        self.write_signed(&signed.nonce, now, |c| {
            let Some(order) = self.visible_order(c, &signed.payload.order_id, &user_id)? else {
                return Ok(Step::Refused(Failure::new(ApiErrorCode::NotFound, "no such order")));
            };
            if let Some(expired) = self.expire_if_due(c, &order, now)? {
                return Ok(Step::Refused(expired));
            }
            if OrderState::parse(&order.state).is_none_or(OrderState::is_final) {
                return Ok(Step::Refused(Failure::new(
                    ApiErrorCode::WrongState,
                    format!("the order is {} and can no longer be cancelled", order.state),
                )));
            }
            // Its submitter, or someone who could sign it: not a transport
            // mandate, nor one that does not cover every account or the amount.
            let accounts = db::orders::accounts(c, &order.order_id)?;
            let may_sign = matches!(
                Self::class_of(c, &user_id, &accounts)?,
                Ok(class) if class != SignatureClass::T
            );
            if order.submitted_by != user_id && !may_sign {
                return Ok(Step::Refused(Failure::new(
                    ApiErrorCode::Forbidden,
                    "DS0G: only the order's submitter or someone who may sign it can cancel it",
                )));
            }
            let reasons = vec![StatusReason {
                code: reason::CANCELLED.into(),
                text: format!("cancelled by {user_id}"),
            }];
            self.record_state(c, &order, OrderState::Cancelled, ReportStatus::Rejected, reasons)?;
            tracing::info!(order = %order.order_id, user = %user_id, "order cancelled");
            let stored = db::orders::find(c, &order.order_id)?.ok_or_else(|| internal("the order vanished"))?;
            Ok(Step::Done(self.status_of(c, stored)?))
        })
    }

    /// `POST /v1/orders/list`.
    pub fn list(&self, request: &SignedHostRequest) -> Result<Vec<OrderInfo>, Failure> {
        let now = self.now();
        let signed: Signed<ListOrders> = self.authenticate(request, LIST_PATH, now)?;
        let user_id = signed.signer.user_id.clone();
        self.write_signed(&signed.nonce, now, |c| {
            let orders = match signed.payload.scope {
                OrderScope::Mine => db::orders::of_user(c, &user_id, LIST_LIMIT)?,
                OrderScope::AwaitingMe => db::orders::awaiting(c, &user_id, LIST_LIMIT)?,
            };
            let mut out = Vec::with_capacity(orders.len());
            for order in orders {
                out.push(self.info_of(c, &order)?);
            }
            Ok(Step::Done(out))
        })
    }

    /// `POST /v1/orders/show`: one order with its exact bytes.
    pub fn show(&self, request: &SignedHostRequest) -> Result<OrderDetail, Failure> {
        let now = self.now();
        let signed: Signed<OrderRef> = self.authenticate(request, SHOW_PATH, now)?;
        let user_id = signed.signer.user_id.clone();
        self.write_signed(&signed.nonce, now, |c| {
            let Some(order) = self.visible_order(c, &signed.payload.order_id, &user_id)? else {
                return Ok(Step::Refused(Failure::new(ApiErrorCode::NotFound, "no such order")));
            };
            let bytes = Bytes(order.bytes.clone());
            Ok(Step::Done(OrderDetail {
                status: self.status_of(c, order)?,
                order: bytes,
            }))
        })
    }

    /// The order `order_id` if `user_id` may see it: they submitted or
    /// signed it, or hold a mandate on one of its accounts.
    fn visible_order(
        &self,
        c: &mut AnyConnection,
        order_id: &str,
        user_id: &str,
    ) -> Result<Option<StoredOrder>, DbError> {
        let Some(order) = db::orders::find(c, order_id)? else {
            return Ok(None);
        };
        if order.submitted_by == user_id
            || db::orders::signatures(c, order_id)?
                .iter()
                .any(|s| s.user_id == user_id)
        {
            return Ok(Some(order));
        }
        for account in db::orders::accounts(c, order_id)? {
            if db::mandates::find(c, &account.iban, user_id)?.is_some() {
                return Ok(Some(order));
            }
        }
        Ok(None)
    }

    /// Ends `order` as expired (`DS24`) if its waiting time is over and it is
    /// still waiting; the refusal to answer then.
    fn expire_if_due(&self, c: &mut AnyConnection, order: &StoredOrder, now: i64) -> Result<Option<Failure>, DbError> {
        let waiting = OrderState::parse(&order.state).is_some_and(|s| !s.is_final());
        if !waiting || now < order.expires_at {
            return Ok(None);
        }
        self.record_expiry(c, order)?;
        Ok(Some(Failure::new(
            ApiErrorCode::WrongState,
            "DS24: the order did not collect its signatures in time and has expired",
        )))
    }

    /// Records that `order` expired (`DS24`), with a newly signed report.
    fn record_expiry(&self, c: &mut AnyConnection, order: &StoredOrder) -> Result<(), DbError> {
        let reasons = vec![StatusReason {
            code: reason::WAITING_TIME_EXPIRED.into(),
            text: "the order did not collect its signatures in time".into(),
        }];
        self.record_state(c, order, OrderState::Expired, ReportStatus::Rejected, reasons)?;
        tracing::info!(order = %order.order_id, "order expired");
        Ok(())
    }

    /// Records `state` with a newly signed report.
    fn record_state(
        &self,
        c: &mut AnyConnection,
        order: &StoredOrder,
        state: OrderState,
        status: ReportStatus,
        reasons: Vec<StatusReason>,
    ) -> Result<(), DbError> {
        let received = received_signatures(&db::orders::signatures(c, &order.order_id)?);
        let report = self.report_for(
            &order.bytes,
            status,
            reasons.clone(),
            order.received_at,
            &order.sha256,
            received,
        )?;
        let first = reasons.first().map(|r| (r.code.as_str(), r.text.as_str()));
        db::orders::set_state(
            c,
            &order.order_id,
            state.as_str(),
            first,
            (&report.xml.0, &report.signature.0),
        )
    }

    fn info_of(&self, c: &mut AnyConnection, order: &StoredOrder) -> Result<OrderInfo, DbError> {
        let accounts = db::orders::accounts(c, &order.order_id)?;
        let signatures = db::orders::signatures(c, &order.order_id)?;
        Ok(OrderInfo {
            order_id: order.order_id.clone(),
            message_id: order.message_id.clone(),
            sha256: order.sha256.clone(),
            debtor_accounts: accounts.into_iter().map(|a| a.iban).collect(),
            totals: order
                .totals
                .split("; ")
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            payments: u32::try_from(order.payments).unwrap_or(u32::MAX),
            submitted_by: order.submitted_by.clone(),
            state: OrderState::parse(&order.state)
                .ok_or_else(|| internal(format!("stored state {:?}", order.state)))?,
            reason_code: order.reason_code.clone(),
            reason: order.reason.clone(),
            signatures: signatures
                .into_iter()
                .map(|s| OrderSignature {
                    signature_sha256: hex::encode(Sha256::digest(&s.signature)),
                    class: SignatureClass::parse(&s.class).unwrap_or(SignatureClass::T),
                    user_id: s.user_id,
                    certificate_serial: s.certificate_serial,
                    received_at: s.received_at,
                })
                .collect(),
            received_at: order.received_at,
            expires_at: order.expires_at,
        })
    }

    fn status_of(&self, c: &mut AnyConnection, order: StoredOrder) -> Result<OrderStatus, DbError> {
        let info = self.info_of(c, &order)?;
        Ok(OrderStatus {
            order: info,
            report: SignedStatusReport {
                xml: Bytes(order.report_xml),
                signature: Bytes(order.report_signature),
            },
        })
    }

    /// Ends the orders whose waiting time is over (`DS24`); answers how many.
    pub fn expire_due(&self) -> Result<usize, Failure> {
        let now = self.now();
        let mut ended = 0;
        for state in [OrderState::AwaitingSignatures, OrderState::AwaitingRevocationStatus] {
            // A batch a transaction, so that submissions are not held up long, until none is left.
            loop {
                let batch = self.write(|c| {
                    let due = db::orders::expired(c, state.as_str(), now, BATCH)?;
                    for order in &due {
                        self.record_expiry(c, order)?;
                    }
                    Ok(Step::Done(due.len()))
                })?;
                ended += batch;
                if batch < BATCH as usize {
                    break;
                }
            }
        }
        Ok(ended)
    }

    /// Decides the orders that waited for a current CRL, now that the host
    /// has one: each signer's status at the order's receipt; answers how many.
    pub fn decide_waiting(&self) -> Result<usize, Failure> {
        let now = self.now();
        if !self.trust.crl_is_current(now) {
            return Ok(0);
        }
        let mut decided = 0;
        loop {
            let batch = self.decide_waiting_batch(now)?;
            decided += batch;
            if batch < BATCH as usize {
                return Ok(decided);
            }
        }
    }

    /// One transaction of [`Host::decide_waiting`]: at most [`BATCH`] orders.
    fn decide_waiting_batch(&self, now: i64) -> Result<usize, Failure> {
        self.write(|c| {
            let waiting = db::orders::in_state(c, OrderState::AwaitingRevocationStatus.as_str(), BATCH)?;
            for order in &waiting {
                let signatures = db::orders::signatures(c, &order.order_id)?;
                let revoked = signatures.iter().find_map(|s| {
                    match self.trust.status(&s.certificate_serial, order.received_at, now) {
                        Status::Revoked(r) => Some((s.user_id.clone(), r)),
                        _ => None,
                    }
                });
                let (state, status, reasons) = match revoked {
                    Some((user, r)) => (
                        OrderState::Rejected,
                        ReportStatus::Rejected,
                        vec![StatusReason {
                            code: reason::CERTIFICATE_REVOKED.into(),
                            text: format!(
                                "{user}'s certificate was revoked at {} ({})",
                                r.revoked_at,
                                r.reason.rfc5280_name()
                            ),
                        }],
                    ),
                    None => Self::state_for(&classes_of(&signatures), false),
                };
                self.record_state(c, order, state, status, reasons)?;
                tracing::info!(order = %order.order_id, state = state.as_str(), "order decided with a current CRL");
            }
            Ok(Step::Done(waiting.len()))
        })
    }

    /// Verifies `der` as the CA's CRL, keeps it (memory and database) if it
    /// is newer than the one kept, and decides the orders that waited for one.
    pub fn accept_crl(&self, der: &[u8]) -> Result<signet_crypto::pki::VerifiedCrl, String> {
        let (crl, kept) = self.trust.install_crl(der)?;
        if !kept {
            return Ok(crl);
        }
        let now = self.now();
        let stored = db::StoredCrl {
            id: 1,
            der: der.to_vec(),
            this_update: crl.this_update,
            next_update: crl.next_update,
            fetched_at: now,
        };
        self.db.write(|c| db::crl::put(c, &stored)).map_err(|e| e.to_string())?;
        self.decide_waiting().map_err(|f| f.body.message)?;
        Ok(crl)
    }
}

/// What becomes of a new order, and why.
#[derive(PartialEq)]
struct Decision {
    /// The class the submitter's signature counts as.
    class: SignatureClass,
    state: OrderState,
    status: ReportStatus,
    reasons: Vec<StatusReason>,
}

/// The signatures an order holds, as a report states them.
fn received_signatures(signatures: &[StoredSignature]) -> Vec<ReceivedSignature> {
    signatures
        .iter()
        .map(|s| ReceivedSignature {
            certificate_serial: s.certificate_serial.clone(),
            signature_sha256: hex::encode(Sha256::digest(&s.signature)),
            received_at: s.received_at,
        })
        .collect()
}

fn classes_of(signatures: &[StoredSignature]) -> Vec<SignatureClass> {
    signatures
        .iter()
        .filter_map(|s| SignatureClass::parse(&s.class))
        .collect()
}
