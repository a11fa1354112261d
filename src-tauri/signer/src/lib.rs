//! The ephemeral signing process (the patent's applet): the only place a
//! user's private key exists in clear on the client. This crate is the
//! process alone — its loop (`main.rs`), the [`dispatcher`] that turns
//! protocol requests into calls of the signing core's cryptography
//! (`signet-crypto`), and the [`hardening`] applied before the first request.
//! The parent's side of the pipe protocol lives in the client
//! (`signet_client::child`).
//!
//! * [`dispatcher`] — one signer session: protocol requests → crypto calls;
//! * [`hardening`] — process hardening (the crate's only `unsafe`).

pub mod dispatcher;
pub mod hardening;
