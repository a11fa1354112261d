//! The receiving end of Signet's sealed channel (the patent's message
//! security), shared by the two servers a client's signing core talks to:
//! the key server's key tier and the bank's host application. Each runs it
//! with its own integrity key (which signs its bootstrap documents and is
//! what clients pin) and confidentiality key (which decrypts session keys),
//! so whatever sits in front of either — the key server's web tier, a proxy
//! — forwards bodies it cannot read or change.
//!
//! - [`server`]: bootstrap documents, openings, sessions, unsealing requests
//!   and sealing answers; no I/O;
//! - [`keys`]: the server's integrity and confidentiality keys, as files;
//! - [`sealed`]: the same as warp filters and replies, for routes that take
//!   a JSON body plain or sealed and answer it the way it came.
//!
//! The protocol and its key derivation are in `signet_crypto::channel`, the
//! wire types in `signet_schema::channel`.

pub mod keys;
pub mod sealed;
pub mod server;

pub use keys::ServerKeys;
pub use sealed::{SEALED_CONTENT_TYPE, SealedEnd, Sealing};
pub use server::{ChannelError, ChannelLimits, ChannelServer, Clock, system_clock};
