//! The Signet signing core: the only code that holds a private key in clear on
//! the user's computer. It runs inside the ephemeral `signet-signer` process
//! (see `main.rs` and [`session`]); the library is also linked by tests and
//! benchmarks.
//!
//! * [`keys`] — RSA key pairs, PKCS#8, fingerprints;
//! * [`kdf`] — Argon2id + HKDF: pass phrase → record keys and sign-in verifier;
//! * [`seal`] — sealing and opening the key record;
//! * [`csr`] — PKCS#10 certification requests;
//! * [`sign`] — RSASSA-PSS / PKCS#1 v1.5 signatures;
//! * [`cms`] — detached CMS SignedData;
//! * [`etm`] — encrypt-then-MAC sealing of blobs (storage at rest, consent wraps, channel);
//! * [`channel`] — the sealed channel: bootstrap check, session keys, sealed requests and responses;
//! * [`export`] — encrypted PKCS#8 (PBES2) export;
//! * [`session`] — one signer session: protocol requests → core calls;
//! * [`child`] — the parent side: start a signer process and talk to it;
//! * [`hardening`] — process hardening (the crate's only `unsafe`).

pub mod channel;
pub mod child;
pub mod cms;
pub mod csr;
pub mod error;
pub mod etm;
pub mod export;
pub mod hardening;
pub mod kdf;
pub mod keys;
pub mod seal;
pub mod session;
pub mod sign;

pub use error::{Error, Result};
