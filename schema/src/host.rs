//! The host application's HTTP API: what a client sends the bank's order
//! desk and what it answers, and how the key server publishes hosts.
//!
//! Every call after the channel is open is a `POST` of a
//! [`SignedHostRequest`], sealed end to end between the client's signing
//! core and the host (the key server's channel construction, keyed to the
//! host's own keys); the host refuses plain bodies. The request names its
//! signer by certificate, not by a session: the host keeps no accounts, it
//! checks the certificate against the CA and a CRL it fetched itself, and
//! the signature over [`request_bytes`]: its own certificate's hash, the
//! route's path, a fresh time stamp, a single-use nonce and the payload's
//! SHA-256.

use serde::{Deserialize, Serialize};

use crate::api::CertificateInfo;
use crate::protocol::Bytes;

/// `POST /v1/orders`: submit a signed order.
pub const SUBMIT_PATH: &str = "/v1/orders";
/// `POST /v1/orders/list`: orders under the signer's account.
pub const LIST_PATH: &str = "/v1/orders/list";
/// `POST /v1/orders/show`: one order with its bytes.
pub const SHOW_PATH: &str = "/v1/orders/show";
/// `POST /v1/orders/cosign`: add a signature to a waiting order.
pub const COSIGN_PATH: &str = "/v1/orders/cosign";
/// `POST /v1/orders/cancel`: withdraw a waiting order.
pub const CANCEL_PATH: &str = "/v1/orders/cancel";

/// A host application as the key server publishes it (`GET /v1/hosts`):
/// its name, where it listens, and the certificate the key server's CA
/// issued for its integrity key (extended key usage "Signet host").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostInfo {
    /// The host's name, e.g. `order-desk`.
    pub name: String,
    /// Its HTTPS address.
    pub url: String,
    /// Its current certificate and that certificate's status.
    pub certificate: CertificateInfo,
}

/// The bytes a [`SignedHostRequest`]'s signature covers: the route, the
/// time, the nonce and the payload's SHA-256, bound to one host by the
/// SHA-256 of its certificate, so a request signed for one host cannot be
/// replayed to another (nor to the key server, whose signed requests cover
/// [`crate::api::signed_request_bytes`], another text).
pub fn request_bytes(
    host_certificate_sha256_hex: &str,
    path: &str,
    timestamp: i64,
    nonce: &str,
    payload_sha256_hex: &str,
) -> Vec<u8> {
    format!(
        "signet/v1/host-request\n{host_certificate_sha256_hex}\nPOST\n{path}\n{timestamp}\n{nonce}\n{payload_sha256_hex}"
    )
    .into_bytes()
}

/// A request to the host, signed with the user's certified key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHostRequest {
    /// The signer's certificate, DER.
    pub certificate: Bytes,
    /// Unix seconds; within five minutes of the host's clock.
    pub timestamp: i64,
    /// Single-use, 16 to 64 characters.
    pub nonce: String,
    /// The request itself: the JSON of the route's payload type.
    pub payload: Bytes,
    /// RSASSA-PSS-SHA256 over [`request_bytes`] for this host, the route's path, `timestamp`, `nonce` and
    /// hex(SHA-256(`payload`)).
    pub signature: Bytes,
}

/// `POST /v1/orders`: a pain.001 file and the submitter's detached CMS
/// signature over its exact bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitOrder {
    /// The order, exactly as signed.
    pub order: Bytes,
    /// Detached CMS SignedData (DER) over `order`.
    pub signature: Bytes,
}

/// Which orders to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum OrderScope {
    /// Every order the host holds a signature of the signer's on, and every
    /// order they submitted.
    Mine,
    /// Orders waiting for a signature the signer may give.
    AwaitingMe,
}

/// `POST /v1/orders/list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOrders {
    /// Which orders.
    pub scope: OrderScope,
}

/// `POST /v1/orders/show` and `/v1/orders/cancel`: one order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRef {
    /// The host's id of the order.
    pub order_id: String,
}

/// `POST /v1/orders/cosign`: a further signature over the order's exact bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CosignOrder {
    /// The host's id of the order.
    pub order_id: String,
    /// Detached CMS SignedData (DER) over the bytes `show` returned.
    pub signature: Bytes,
}

/// An order's state at the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum OrderState {
    /// Checked, waiting for more signatures.
    AwaitingSignatures,
    /// Received, but the host could not decide: its CRL is not current.
    /// Decided when it has a current one.
    AwaitingRevocationStatus,
    /// Authorised.
    Accepted,
    /// Refused.
    Rejected,
    /// Withdrawn by a signer before it was complete.
    Cancelled,
    /// Not complete within the waiting time.
    Expired,
}

impl OrderState {
    /// Every state.
    pub const ALL: &'static [OrderState] = &[
        OrderState::AwaitingSignatures,
        OrderState::AwaitingRevocationStatus,
        OrderState::Accepted,
        OrderState::Rejected,
        OrderState::Cancelled,
        OrderState::Expired,
    ];

    /// The stored and printed text, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::AwaitingSignatures => "awaiting-signatures",
            OrderState::AwaitingRevocationStatus => "awaiting-revocation-status",
            OrderState::Accepted => "accepted",
            OrderState::Rejected => "rejected",
            OrderState::Cancelled => "cancelled",
            OrderState::Expired => "expired",
        }
    }

    /// The state whose text is `text`.
    pub fn parse(text: &str) -> Option<OrderState> {
        OrderState::ALL.iter().copied().find(|s| s.as_str() == text)
    }

    /// Whether nothing can change it any more.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            OrderState::AwaitingSignatures | OrderState::AwaitingRevocationStatus
        )
    }
}

/// EBICS signature classes of a mandate: who may sign for an account and
/// what their signature counts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub enum SignatureClass {
    /// Signs alone (within the amount limit; above it, counts as `A`).
    E,
    /// First signature: needs a second one, `A` or `B`.
    A,
    /// Second signature: completes an order that holds an `A`.
    B,
    /// Transport: may submit, never signs.
    T,
}

impl SignatureClass {
    /// The class named `text` (`E`, `A`, `B` or `T`).
    pub fn parse(text: &str) -> Option<SignatureClass> {
        match text {
            "E" => Some(SignatureClass::E),
            "A" => Some(SignatureClass::A),
            "B" => Some(SignatureClass::B),
            "T" => Some(SignatureClass::T),
            _ => None,
        }
    }

    /// Its letter.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureClass::E => "E",
            SignatureClass::A => "A",
            SignatureClass::B => "B",
            SignatureClass::T => "T",
        }
    }
}

/// One signature the host holds on an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct OrderSignature {
    /// Whose.
    pub user_id: String,
    /// The class it counted with.
    pub class: SignatureClass,
    /// The certificate's serial (hex).
    pub certificate_serial: String,
    /// SHA-256 of the signature (the detached CMS, DER), hex: which
    /// signature it is, so its signer can tell one they made from another.
    pub signature_sha256: String,
    /// When the host received it (Unix seconds).
    #[cfg_attr(feature = "typescript", ts(type = "number"))]
    pub received_at: i64,
}

/// A signed pain.002.001.10 status report: the XML, the host's detached
/// CMS signature over it (with the host's certificate), and when it was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedStatusReport {
    /// The pain.002.001.10 document.
    pub xml: Bytes,
    /// Detached CMS SignedData over `xml` by the host's integrity key.
    pub signature: Bytes,
}

/// An order as the host holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct OrderInfo {
    /// The host's id.
    pub order_id: String,
    /// `GrpHdr/MsgId`.
    pub message_id: String,
    /// SHA-256 of the exact bytes, hex.
    pub sha256: String,
    /// The debtor accounts (IBANs) it draws on.
    pub debtor_accounts: Vec<String>,
    /// Total per currency, e.g. `1250.00 EUR`.
    pub totals: Vec<String>,
    /// Number of payments.
    pub payments: u32,
    /// Who submitted it.
    pub submitted_by: String,
    /// Its state.
    pub state: OrderState,
    /// The ISO reason code of the latest decision, if any.
    pub reason_code: Option<String>,
    /// Its text.
    pub reason: Option<String>,
    /// The signatures it holds.
    pub signatures: Vec<OrderSignature>,
    /// When the host received it (Unix seconds).
    pub received_at: i64,
    /// When a waiting order expires (Unix seconds).
    pub expires_at: i64,
}

/// What every call about one order answers: the order and the host's
/// latest signed status report on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatus {
    /// The order.
    pub order: OrderInfo,
    /// The host's signed report of its state.
    pub report: SignedStatusReport,
}

/// `POST /v1/orders/show`: the order's exact bytes too, for a co-signer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetail {
    /// The order and its latest report.
    pub status: OrderStatus,
    /// The bytes every signature is over.
    pub order: Bytes,
}
