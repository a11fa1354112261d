//! Signet's shared cryptography: every primitive and format that more than
//! one program needs, and nothing about processes, files or the network.
//! The signing core (`signet-signer`) uses all of it with a user's key; the
//! client uses the verifying half; the key server uses record-free parts
//! with its own keys ([`keys::ServerKey`]) and never a user's clear key.
//!
//! * [`keys`] — [`keys::UserKey`], [`keys::ServerKey`], public keys, PKCS#8, fingerprints;
//! * [`kdf`] — Argon2id + HKDF: pass phrase → record keys and sign-in verifier;
//! * [`seal`] — sealing and opening the key record;
//! * [`csr`] — PKCS#10 certification requests and the subject both sides build;
//! * [`sign`] — RSASSA-PSS / PKCS#1 v1.5 signatures;
//! * [`cms`] — detached CMS SignedData;
//! * [`pki`] — a certificate issued by the CA, what it certifies, its status in a verified CRL;
//! * [`etm`] — encrypt-then-MAC sealing of blobs (storage at rest, consent wraps, channel);
//! * [`channel`] — the sealed channel: bootstrap check, session keys, sealed requests and responses;
//! * [`export`] — encrypted PKCS#8 (PBES2) export;
//! * [`release`] — the signatures of signed releases of the signing core.
//!
//! Every primitive is RustCrypto's; nothing here is home-made.

pub mod channel;
pub mod cms;
pub mod csr;
pub mod error;
pub mod etm;
pub mod export;
pub mod kdf;
pub mod keys;
pub mod pki;
pub mod release;
pub mod seal;
pub mod sign;

pub use error::{Error, Result};
