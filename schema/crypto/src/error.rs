//! The signing core's error type.

use signet_schema::FormatError;
use signet_schema::protocol::ErrorCode;

/// Everything the signing core can refuse or fail at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input failed to parse or validate.
    #[error("invalid input: {0}")]
    Format(#[from] FormatError),
    /// KDF parameters below the floor (m ≥ 19 MiB, t ≥ 2); nothing was derived.
    #[error("key-derivation parameters m={m_kib} KiB, t={t}, p={p} are below the floor (m ≥ 19456 KiB, t ≥ 2, p ≥ 1)")]
    KdfTooWeak {
        /// Requested memory cost.
        m_kib: u32,
        /// Requested passes.
        t: u32,
        /// Requested lanes.
        p: u32,
    },
    /// KDF parameters above the ceiling (m ≤ 4 GiB, t ≤ 64, p ≤ 16); nothing was derived.
    #[error(
        "key-derivation parameters m={m_kib} KiB, t={t}, p={p} exceed the ceiling (m ≤ 4194304 KiB, t ≤ 64, p ≤ 16)"
    )]
    KdfTooCostly {
        /// Requested memory cost.
        m_kib: u32,
        /// Requested passes.
        t: u32,
        /// Requested lanes.
        p: u32,
    },
    /// The record's tag did not verify: wrong pass phrase, or the record was altered.
    #[error("the pass phrase does not open this record (or the record was altered)")]
    WrongPassphrase,
    /// The record belongs to another user than the one signing in.
    #[error("the record belongs to another user")]
    RecordUserMismatch,
    /// The record opened but is inconsistent (inner hash, key, fingerprint).
    #[error("the record is invalid: {0}")]
    RecordInvalid(&'static str),
    /// A signing or sealing request came before a key was loaded.
    #[error("no key is loaded: generate a key or open a record first")]
    NoKey,
    /// `open-record` came before `unlock`.
    #[error("the pass phrase has not been given: unlock first")]
    NotUnlocked,
    /// CMS output was asked for without the signer's certificate.
    #[error("field `certificate` is required for CMS signatures")]
    CertificateRequired,
    /// A sealed blob's tag did not verify, or it is not a sealed blob.
    #[error("the sealed data was altered, is for another place, or is not sealed data")]
    SealedBlobInvalid,
    /// The sealed channel refused (bootstrap, pinned key, counters, tags).
    #[error("secure channel: {0}")]
    Channel(#[from] crate::channel::ChannelError),
    /// A channel request came before `channel-open`.
    #[error("no secure channel is open: open one first")]
    NoChannel,
    /// A signature did not verify.
    #[error("the signature does not verify")]
    SignatureInvalid,
    /// The certificate given for CMS does not carry the loaded key.
    #[error("the certificate does not match the signing key")]
    CertificateMismatch,
    /// An RSA operation failed.
    #[error("RSA operation failed: {0}")]
    Rsa(String),
    /// A DER/PKCS#8/X.509/CMS encoding or building step failed.
    #[error("encoding failed: {0}")]
    Encoding(String),
    /// The operating system refused something (RNG, prctl, seccomp).
    #[error("system error: {0}")]
    System(String),
}

impl Error {
    /// The protocol error code this error is reported with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Format(_) => ErrorCode::BadRequest,
            Error::KdfTooWeak { .. } => ErrorCode::KdfTooWeak,
            Error::KdfTooCostly { .. } => ErrorCode::BadRequest,
            Error::WrongPassphrase => ErrorCode::WrongPassphrase,
            Error::RecordUserMismatch | Error::RecordInvalid(_) => ErrorCode::RecordInvalid,
            Error::CertificateMismatch => ErrorCode::CertificateMismatch,
            Error::SignatureInvalid | Error::CertificateRequired | Error::SealedBlobInvalid => ErrorCode::BadRequest,
            Error::NoKey => ErrorCode::NoKey,
            Error::Channel(_) | Error::NoChannel => ErrorCode::ChannelRefused,
            Error::NotUnlocked => ErrorCode::NotUnlocked,
            Error::Rsa(_) | Error::Encoding(_) | Error::System(_) => ErrorCode::Internal,
        }
    }
}

/// Result with the signing core's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
