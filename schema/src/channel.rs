//! The sealed channel's wire formats: the key tier's signed bootstrap
//! document, the request that opens a session, and the envelope of a sealed
//! message. The cryptography is in `signet_crypto::channel` (both ends) and
//! the key tier's `signet_keyserver::channel`; this module only parses.
//!
//! # Bootstrap document
//!
//! ```json
//! { "version": 1,
//!   "confidentiality_key": "<base64 SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7)>",
//!   "integrity_key": "<base64 SubjectPublicKeyInfo DER>",
//!   "nonce": "<base64, 16 bytes from the OS RNG>",
//!   "issued_at": 1767225600,
//!   "policy": { "kdf": { "m_kib": 65536, "t": 3, "p": 4 },
//!               "key_bits": 3072, "signature_scheme": "rsa-pss-sha256" } }
//! ```
//!
//! It travels inside a [`SignedBootstrap`] envelope,
//! `{"document": base64(D), "signature": base64(S)}`, where `D` is the exact
//! UTF-8 JSON bytes the key tier wrote and `S` is RSASSA-PSS-SHA256
//! (RFC 8017 §8.1, MGF1-SHA-256, 32-byte salt) by the integrity key over `D`.
//! The signature covers those bytes as carried, so no one ever has to
//! re-serialise JSON the same way twice: the client verifies `S` over `D`
//! first, then parses `D` with [`BootstrapDocument::from_json`].

/// The media type (`Content-Type`) of a body sealed end to end.
pub const SEALED_CONTENT_TYPE: &str = "application/vnd.signet.sealed+json";

use serde::{Deserialize, Serialize};

use crate::protocol::Bytes;
use crate::record::KdfParams;
use crate::{FormatError, KeySize, Problem, SignatureScheme};

/// The channel version this crate speaks.
pub const CHANNEL_VERSION: u32 = 1;
/// Length of the bootstrap nonce and of the client nonce, in bytes.
pub const NONCE_LEN: usize = 16;
/// Length of a session id, in bytes.
pub const SESSION_ID_LEN: usize = 16;
/// Largest bootstrap document accepted, in bytes (two 4096-bit SPKIs in base64 fit many times).
pub const MAX_DOCUMENT_LEN: usize = 16 * 1024;

/// What the key tier asks of clients, as announced in the bootstrap document
/// (a subset of [`crate::api::Policy`]: the fields that must not be altered on the way).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapPolicy {
    /// Argon2id parameters for new records.
    pub kdf: KdfParams,
    /// RSA modulus size for new keys.
    pub key_bits: KeySize,
    /// Signature scheme for requests and signatures.
    pub signature_scheme: SignatureScheme,
}

/// The key tier's bootstrap document (the patent's "bootstrap": its public
/// keys, a nonce and a time stamp), signed by its integrity key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapDocument {
    /// Always [`CHANNEL_VERSION`].
    pub version: u32,
    /// RSA-OAEP-SHA256 key that session keys are encrypted under (SPKI DER).
    pub confidentiality_key: Bytes,
    /// RSASSA-PSS-SHA256 key that signs this document and the audit log (SPKI DER).
    pub integrity_key: Bytes,
    /// [`NONCE_LEN`] random bytes; names this document when a session is opened, once.
    pub nonce: Bytes,
    /// When the key tier wrote it, Unix seconds.
    pub issued_at: i64,
    /// The key tier's policy.
    pub policy: BootstrapPolicy,
}

impl BootstrapDocument {
    /// The exact bytes the integrity key signs: this document's JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain structs of strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_else(|_| unreachable!())
    }

    /// Parses and checks a document's bytes (after its signature verified).
    pub fn from_json(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.len() > MAX_DOCUMENT_LEN {
            return Err(FormatError::new("document", Problem::BadLength));
        }
        let document: BootstrapDocument =
            serde_json::from_slice(bytes).map_err(|_| FormatError::new("document", Problem::Malformed))?;
        document.validate()?;
        Ok(document)
    }

    /// Checks version, nonce length and that both keys are present.
    pub fn validate(&self) -> Result<(), FormatError> {
        if self.version != CHANNEL_VERSION {
            return Err(FormatError::new("version", Problem::Unsupported));
        }
        if self.nonce.0.len() != NONCE_LEN {
            return Err(FormatError::new("nonce", Problem::BadLength));
        }
        if self.confidentiality_key.0.is_empty() {
            return Err(FormatError::new("confidentiality_key", Problem::BadLength));
        }
        if self.integrity_key.0.is_empty() {
            return Err(FormatError::new("integrity_key", Problem::BadLength));
        }
        Ok(())
    }
}

/// A bootstrap document as served: its JSON bytes and the integrity key's
/// signature over exactly those bytes (`GET` answer of the bootstrap route).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedBootstrap {
    /// The [`BootstrapDocument`]'s UTF-8 JSON bytes.
    pub document: Bytes,
    /// RSASSA-PSS-SHA256 signature by the integrity key over `document`.
    pub signature: Bytes,
}

/// Opens a session: the session master key under the confidentiality key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenRequest {
    /// The `nonce` of the bootstrap document the client checked.
    pub bootstrap_nonce: Bytes,
    /// RSAES-OAEP (RFC 8017 §7.1; SHA-256, MGF1-SHA-256, label
    /// `"signet/v1/channel"`) of the 32-byte session master key; exactly the
    /// modulus length.
    pub encrypted_key: Bytes,
    /// [`NONCE_LEN`] random bytes from the client.
    pub client_nonce: Bytes,
}

impl OpenRequest {
    /// Checks the nonce lengths (the encrypted key is checked by decryption).
    pub fn validate(&self) -> Result<(), FormatError> {
        if self.bootstrap_nonce.0.len() != NONCE_LEN {
            return Err(FormatError::new("bootstrap_nonce", Problem::BadLength));
        }
        if self.client_nonce.0.len() != NONCE_LEN {
            return Err(FormatError::new("client_nonce", Problem::BadLength));
        }
        Ok(())
    }
}

/// The key tier's answer to [`OpenRequest`]: the session id both ends derived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenResponse {
    /// [`SESSION_ID_LEN`] bytes.
    pub session_id: Bytes,
}

/// A sealed request or response as carried over HTTP: which session, which
/// counter, and the sealed body. The method and path are the HTTP request's
/// own and are bound into the body's associated data, not repeated here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedMessage {
    /// [`SESSION_ID_LEN`] bytes.
    pub session_id: Bytes,
    /// The request's counter (a response carries its request's counter).
    pub counter: u64,
    /// The encrypt-then-MAC blob.
    pub body: Bytes,
}

impl SealedMessage {
    /// Checks the session id length.
    pub fn validate(&self) -> Result<(), FormatError> {
        if self.session_id.0.len() != SESSION_ID_LEN {
            return Err(FormatError::new("session_id", Problem::BadLength));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> BootstrapDocument {
        BootstrapDocument {
            version: CHANNEL_VERSION,
            confidentiality_key: Bytes(vec![0x30, 1, 2]),
            integrity_key: Bytes(vec![0x30, 3, 4]),
            nonce: Bytes(vec![9; NONCE_LEN]),
            issued_at: 1_767_225_600,
            policy: BootstrapPolicy {
                kdf: KdfParams::DEFAULT,
                key_bits: KeySize::Rsa3072,
                signature_scheme: SignatureScheme::RsaPssSha256,
            },
        }
    }

    #[test]
    fn document_round_trips_through_its_json() {
        let d = document();
        let json = d.to_json();
        assert_eq!(BootstrapDocument::from_json(&json).expect("parse"), d);
        let text = String::from_utf8(json).expect("utf-8");
        assert!(text.contains("\"issued_at\":1767225600"), "{text}");
        assert!(text.contains("\"key_bits\":3072"), "{text}");
    }

    #[test]
    fn bad_documents_name_the_field() {
        let mut d = document();
        d.version = 2;
        assert_eq!(
            BootstrapDocument::from_json(&d.to_json()).expect_err("refused").field,
            "version"
        );
        let mut d = document();
        d.nonce = Bytes(vec![1; 15]);
        assert_eq!(
            BootstrapDocument::from_json(&d.to_json()).expect_err("refused").field,
            "nonce"
        );
        let mut d = document();
        d.integrity_key = Bytes(vec![]);
        assert_eq!(
            BootstrapDocument::from_json(&d.to_json()).expect_err("refused").field,
            "integrity_key"
        );
        assert_eq!(
            BootstrapDocument::from_json(b"{").expect_err("refused").field,
            "document"
        );
        let mut json = document().to_json();
        json.pop();
        json.extend_from_slice(b",\"extra\":1}");
        assert_eq!(
            BootstrapDocument::from_json(&json).expect_err("refused").field,
            "document"
        );
        assert_eq!(
            BootstrapDocument::from_json(&vec![b' '; MAX_DOCUMENT_LEN + 1])
                .expect_err("refused")
                .problem,
            Problem::BadLength
        );
    }

    #[test]
    fn open_request_and_message_lengths_are_checked() {
        let ok = OpenRequest {
            bootstrap_nonce: Bytes(vec![0; NONCE_LEN]),
            encrypted_key: Bytes(vec![1; 384]),
            client_nonce: Bytes(vec![2; NONCE_LEN]),
        };
        ok.validate().expect("valid");
        let mut bad = ok.clone();
        bad.client_nonce.0.pop();
        assert_eq!(bad.validate().expect_err("refused").field, "client_nonce");
        let mut bad = ok;
        bad.bootstrap_nonce.0.push(0);
        assert_eq!(bad.validate().expect_err("refused").field, "bootstrap_nonce");
        let m = SealedMessage {
            session_id: Bytes(vec![0; 15]),
            counter: 0,
            body: Bytes(vec![]),
        };
        assert_eq!(m.validate().expect_err("refused").field, "session_id");
        let json = r#"{"session_id":"AAAAAAAAAAAAAAAAAAAAAA==","counter":7,"body":"AQI="}"#;
        let m: SealedMessage = serde_json::from_str(json).expect("parse");
        m.validate().expect("valid");
        assert_eq!((m.counter, m.body.0), (7, vec![1, 2]));
    }
}
