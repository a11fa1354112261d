//! Signet's wire and storage formats.
//!
//! Everything that crosses a trust boundary is defined here, once:
//!
//! * [`record`] — the sealed key record kept by the key server
//!   (header, AES-256-CBC ciphertext, HMAC-SHA256 tag);
//! * [`registration`] — the registration data a user applies with and its
//!   canonical byte encoding, which the sealed record is bound to;
//! * [`api`] — the key server's HTTP request and response bodies and its error type;
//! * [`channel`] — the sealed channel's bootstrap document, session opening and sealed messages;
//! * [`host`] — the host application's API: signed, sealed order submissions and status reports;
//! * [`protocol`] — the framed, versioned messages between the desktop app and
//!   the ephemeral signer process;
//! * [`release`] — signed releases of the signing core, which the key server
//!   delivers to clients.
//!
//! This crate does no I/O and no cryptography: parsing returns a well-formed
//! value or a [`FormatError`] that names the field at fault.

#![forbid(unsafe_code)]

pub mod api;
pub mod channel;
pub mod error;
pub mod host;
pub mod protocol;
pub mod record;
pub mod registration;
pub mod release;
pub mod time;
pub mod vocabulary;

pub use error::{FormatError, Problem};
pub use record::{CipherId, KdfId, KdfParams, RecordHeader, SealedKeyRecord};
pub use registration::RegistrationData;

/// RSA modulus sizes the key server's policy may ask for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub enum KeySize {
    /// 2048-bit modulus: allowed where a host cannot take larger keys.
    Rsa2048,
    /// 3072-bit modulus: the default (NIST SP 800-57 128-bit strength).
    #[default]
    Rsa3072,
    /// 4096-bit modulus.
    Rsa4096,
}

impl KeySize {
    /// Modulus length in bits.
    pub const fn bits(self) -> usize {
        match self {
            KeySize::Rsa2048 => 2048,
            KeySize::Rsa3072 => 3072,
            KeySize::Rsa4096 => 4096,
        }
    }
}

impl TryFrom<u32> for KeySize {
    type Error = FormatError;
    fn try_from(bits: u32) -> Result<Self, FormatError> {
        match bits {
            2048 => Ok(KeySize::Rsa2048),
            3072 => Ok(KeySize::Rsa3072),
            4096 => Ok(KeySize::Rsa4096),
            _ => Err(FormatError::new("key_bits", Problem::Unsupported)),
        }
    }
}

impl From<KeySize> for u32 {
    fn from(size: KeySize) -> u32 {
        size.bits() as u32
    }
}

/// On the wire a key size is its modulus length in bits, one of 2048, 3072 and 4096.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for KeySize {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .description(Some("RSA modulus length in bits."))
            .enum_values(Some([2048u32, 3072, 4096]))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for KeySize {}

/// Signature schemes the signing core produces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub enum SignatureScheme {
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 8017 §8.1).
    #[default]
    #[serde(rename = "rsa-pss-sha256")]
    RsaPssSha256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2), for hosts that require it.
    #[serde(rename = "rsa-pkcs1v15-sha256")]
    RsaPkcs1v15Sha256,
}
