//! The key server's HTTP API, version 1: request and response bodies (JSON)
//! and the typed error every failure is reported with. Binary values are
//! standard base64 ([`Bytes`]).
//!
//! | route | body | answer |
//! | --- | --- | --- |
//! | `GET /v1/policy` | — | [`Policy`] |
//! | `POST /v1/apply` | [`ApplyRequest`] | [`ApplyResponse`] |
//! | `POST /v1/consent` | [`ConsentRequest`] | [`ConsentResponse`] |
//! | `POST /v1/prelogin` | [`PreloginRequest`] | [`PreloginResponse`] |
//! | `POST /v1/signin` | [`SigninRequest`] | [`SigninResponse`] |
//! | `POST /v1/revoke` | [`RevokeRequest`] | [`RevokeResponse`] |
//! | `GET /v1/ca.pem` | — | the CA certificate, PEM |
//! | `GET /v1/crl` | — | the current CRL, DER |
//! | `GET /v1/certificates/{serial}` | — | [`CertificateInfo`] |

use serde::{Deserialize, Serialize};

use crate::protocol::Bytes;
use crate::record::KdfParams;
use crate::registration::RegistrationData;
pub use crate::vocabulary::{AuditEventKind, CertificateStatus, LetterState, Role, UserState};
use crate::{KeySize, SignatureScheme};

/// What the key server asks of clients: KDF cost, key size, signature scheme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Policy {
    /// Argon2id parameters for new records.
    pub kdf: KdfParams,
    /// RSA modulus size for new keys.
    pub key_bits: KeySize,
    /// Signature scheme for requests and signatures.
    pub signature_scheme: SignatureScheme,
    /// The server's clock, Unix seconds.
    pub server_time: i64,
    /// Days a consent letter stays valid.
    pub letter_validity_days: u32,
}

/// Apply to register: a new key pair, sealed by the signing core.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// Who applies.
    pub registration: RegistrationData,
    /// The sealed key record.
    pub record: Bytes,
    /// PKCS#10 request signed by the new key.
    pub certification_request: Bytes,
    /// The sign-in verifier.
    pub verifier: Bytes,
    /// A fresh random nonce (16 to 64 characters of base64 or hex), used once.
    pub nonce: String,
    /// The client's clock, Unix seconds; must be within five minutes of the server's.
    pub timestamp: i64,
}

/// The application is stored; a consent letter is queued for the help desk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplyResponse {
    /// Reference of the application.
    pub application_id: String,
    /// Unix seconds after which the letter is no longer valid.
    pub expires_at: i64,
}

/// Consent to registration with the phrase from the letter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// Who consents.
    pub user_id: String,
    /// The phrase as typed from the letter.
    pub phrase: String,
}

/// The user is active; their certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentResponse {
    /// The issued certificate, DER.
    pub certificate: Bytes,
    /// Its serial number, upper-case hex.
    pub serial: String,
}

/// First step of signing in: what the signing core needs to derive the verifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PreloginRequest {
    /// Who signs in.
    pub user_id: String,
}

/// Salt and parameters (deterministic decoys for unknown users).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreloginResponse {
    /// KDF salt of the user's record.
    pub salt: Bytes,
    /// Its Argon2id parameters.
    pub kdf: KdfParams,
}

/// Second step: prove the pass phrase, receive the sealed record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SigninRequest {
    /// Who signs in.
    pub user_id: String,
    /// The verifier derived by the signing core.
    pub verifier: Bytes,
}

/// The sealed record, released after the verifier matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SigninResponse {
    /// The sealed key record.
    pub record: Bytes,
    /// The registration data it is bound to.
    pub registration: RegistrationData,
    /// The user's active certificate, DER.
    pub certificate: Bytes,
    /// Which screens the app shows (the server checks the role on every
    /// staff request regardless).
    pub role: Role,
}

/// Why a certificate is revoked (RFC 5280 §5.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum RevocationReason {
    /// No reason given.
    Unspecified,
    /// The key may be known to someone else.
    KeyCompromise,
    /// The user left or changed role.
    AffiliationChanged,
    /// Replaced by a new certificate.
    Superseded,
    /// The key is no longer needed.
    CessationOfOperation,
}

impl RevocationReason {
    /// Every reason, in declaration order.
    pub const ALL: &'static [RevocationReason] = &[
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
    ];

    /// The RFC 5280 §5.3.1 `CRLReason` name (`keyCompromise`, …): how the
    /// key tier stores the reason and names it in the audit log. On the wire
    /// the reason is kebab-case (`key-compromise`), as the serde form says.
    pub fn rfc5280_name(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "keyCompromise",
            RevocationReason::AffiliationChanged => "affiliationChanged",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessationOfOperation",
        }
    }

    /// The reason an RFC 5280 name stands for.
    pub fn from_rfc5280_name(text: &str) -> Result<Self, crate::vocabulary::UnknownName> {
        Self::ALL
            .iter()
            .copied()
            .find(|reason| reason.rfc5280_name() == text)
            .ok_or_else(|| crate::vocabulary::UnknownName {
                what: "revocation reason",
                value: text.to_owned(),
            })
    }
}

/// Revoke one's own key: it is erased and its certificate revoked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// Who revokes.
    pub user_id: String,
    /// The sign-in verifier, proving the pass phrase.
    pub verifier: Bytes,
    /// Why.
    pub reason: RevocationReason,
}

/// Revocation done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeResponse {
    /// The revoked certificate's serial.
    pub serial: String,
    /// The number of the CRL that lists it.
    pub crl_number: u64,
}

/// A certificate as published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct CertificateInfo {
    /// Serial, upper-case hex.
    pub serial: String,
    /// Owner.
    pub user_id: String,
    /// Subject, RFC 4514 form.
    pub subject: String,
    /// SHA-256 of the DER, hex.
    pub sha256_fingerprint: String,
    /// Validity start, Unix seconds.
    pub not_before: i64,
    /// Validity end, Unix seconds.
    pub not_after: i64,
    /// Status.
    pub status: CertificateStatus,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// Why.
    pub revocation_reason: Option<RevocationReason>,
    /// The certificate, DER.
    pub der: Bytes,
}

/// Error codes of the API (stable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ApiErrorCode {
    /// The body is not valid JSON of the expected shape; `field` may say where.
    BadRequest,
    /// The body is larger than the route allows.
    PayloadTooLarge,
    /// No such route, or no such object.
    NotFound,
    /// The method is not allowed on this route.
    MethodNotAllowed,
    /// The user id is taken.
    IdentityTaken,
    /// The nonce was used before or is unknown.
    NonceReused,
    /// The time stamp is too far from the server's clock.
    StaleRequest,
    /// The PKCS#10 request or another signature does not verify.
    BadSignature,
    /// Wrong user id or pass phrase (indistinguishable by design).
    SigninFailed,
    /// The consent phrase has a typo (its check group does not match).
    PhraseTypo,
    /// The consent phrase is wrong.
    WrongPhrase,
    /// Too many failures: locked until the help desk acts or the time passes.
    Locked,
    /// The letter expired; the help desk must issue a new one.
    LetterExpired,
    /// The request does not fit the account's state (e.g. consent when active).
    WrongState,
    /// The key was revoked.
    Revoked,
    /// The caller lacks the role for this route.
    Forbidden,
    /// Too many requests; retry later.
    RateLimited,
    /// The route takes only bodies sealed end to end; a plain one is refused unread.
    SealingRequired,
    /// The body's `Content-Type` is not one the route takes (`application/json`, or the sealed type).
    UnsupportedMediaType,
    /// The request did not arrive whole in time; the connection is closed.
    RequestTimeout,
    /// The database is unreachable or too busy to answer in time; retry later.
    Unavailable,
    /// Something failed on the server; the log has the detail.
    Internal,
}

/// The JSON body of every error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// Stable code.
    pub code: ApiErrorCode,
    /// What happened and what to do, for a person.
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Headers of a request signed with a person's own key (help desk, auditor,
/// and a user re-registering): who signs, when, a single-use nonce, and the
/// RSASSA-PSS-SHA256 signature over [`signed_request_bytes`], base64.
pub mod signed_headers {
    /// The signer's user id.
    pub const SIGNER: &str = "signet-signer-id";
    /// Unix seconds; within five minutes of the server's clock.
    pub const TIMESTAMP: &str = "signet-timestamp";
    /// 16 to 64 characters of base64 or hex, never used twice.
    pub const NONCE: &str = "signet-nonce";
    /// The signature, standard base64.
    pub const SIGNATURE: &str = "signet-signature";
}

/// The bytes a signed request's signature covers:
///
/// ```text
/// "signet/v2/signed-request" LF server LF signer LF method LF path-and-query LF timestamp LF nonce
///     LF hex(SHA-256(body))
/// ```
///
/// `server` names the key tier the request is for (the lower-case hex
/// SHA-256 of its integrity key, `signet_crypto::channel::server_id`), so a
/// request made for one key tier is refused by another; `signer` is the
/// account that signs, as the signer header names it. `body_sha256_hex` is
/// lower-case hex of the SHA-256 of the exact body bytes.
pub fn signed_request_bytes(
    server: &str,
    signer: &str,
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body_sha256_hex: &str,
) -> Vec<u8> {
    format!(
        "signet/v2/signed-request\n{server}\n{signer}\n{method}\n{path_and_query}\n{timestamp}\n{nonce}\n{body_sha256_hex}"
    )
    .into_bytes()
}

/// Re-registration by the user: a new sealed record (new pass phrase) and,
/// for a new key pair, a new PKCS#10 request. Sent as a signed request
/// (see [`signed_headers`]) made with the current key, and proving the
/// current pass phrase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReregisterRequest {
    /// Who re-registers.
    pub user_id: String,
    /// The verifier of the current pass phrase.
    pub verifier: Bytes,
    /// The new sealed record.
    pub record: Bytes,
    /// The verifier of the new pass phrase.
    pub new_verifier: Bytes,
    /// For a new key pair: its PKCS#10 request. Absent: same key, new pass phrase.
    #[serde(default)]
    pub certification_request: Option<Bytes>,
}

/// Re-registration done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReregisterResponse {
    /// The new certificate when the key changed.
    pub certificate: Option<Bytes>,
    /// Its serial.
    pub serial: Option<String>,
    /// The superseded certificate's serial, when the key changed.
    pub superseded: Option<String>,
}

/// A consent letter waiting for the help desk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct LetterInfo {
    /// The application it belongs to.
    pub application_id: String,
    /// The applicant.
    pub user_id: String,
    /// Their name, for the envelope.
    pub full_name: String,
    /// Where the letter stands.
    pub letter_state: LetterState,
    /// When the application was made.
    pub created_at: i64,
    /// When the letter stops being valid.
    pub expires_at: i64,
    /// Whether the PDF is still available (it is deleted once printed).
    pub pdf_available: bool,
}

/// One page of the letters waiting for the help desk, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct LetterPage {
    /// The letters on this page.
    pub letters: Vec<LetterInfo>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

/// One page of the help desk's user search: in user-id order without search
/// words, else in the order of the term the longest word matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct UserPage {
    /// The users on this page. A search of common words examines a bounded
    /// number of people per request, so a page may hold fewer than `limit`
    /// (even none) and still have a `next`.
    pub users: Vec<UserInfo>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

/// Most entries one page of a help-desk list holds (`limit`).
pub const MAX_PAGE: usize = 200;
/// Entries on a page of a help-desk list when `limit` is not given.
pub const DEFAULT_PAGE: usize = 50;

/// A user as the help desk sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct UserInfo {
    /// User id.
    pub user_id: String,
    /// Registration data.
    pub registration: RegistrationData,
    /// Their role.
    pub role: Role,
    /// Where their account stands.
    pub state: UserState,
    /// Consecutive failed sign-ins.
    pub failed_logins: i64,
    /// Locked until (Unix seconds), if locked.
    pub locked_until: Option<i64>,
}

/// Revocation by the help desk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StaffRevokeRequest {
    /// Why.
    pub reason: RevocationReason,
}

/// An audit event as auditors see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct EventInfo {
    /// Position in the chain.
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// Who acted.
    pub actor: String,
    /// What happened.
    pub kind: AuditEventKind,
    /// Whom it concerns.
    pub subject: Option<String>,
    /// Detail (JSON).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    #[cfg_attr(feature = "typescript", ts(type = "unknown"))]
    pub detail: serde_json::Value,
}

/// Result of checking the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct AuditVerification {
    /// Whether every event checked out.
    pub intact: bool,
    /// Events verified before the first broken one (or all).
    pub verified: u64,
    /// The first broken event, when there is one.
    pub broken_seq: Option<i64>,
    /// What is wrong with it.
    pub problem: Option<String>,
}

/// A help-desk or other state-changing action done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct ActionDone {
    /// What was done, for a person.
    pub message: String,
    /// The CRL number when a certificate was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl_number: Option<u64>,
}
