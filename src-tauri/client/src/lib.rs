//! Signet's client: what the desktop app and the `signet` command line share.
//!
//! - [`server`]: the key server over HTTPS, its certificate pinned ([`tls`]);
//! - [`settings`]: the server's address and pins, kept in the OS keyring only;
//! - [`delivery`]: the signing core as the key server delivers it, checked and run from memory;
//! - [`child`]: the parent's side of the pipe protocol: start a signing process, talk to it;
//! - [`signer`]: supervision of the signing process, the only holder of keys;
//! - [`session`]: the flows — apply, consent, sign in, sign, change pass
//!   phrase, new key, revoke, and staff requests signed with the person's key;
//! - [`host`]: the bank's host application: orders submitted, co-signed and answered, sealed end to end;
//! - [`staff`]: the help desk's and auditors' requests;
//! - [`verify`]: checking a signed file against the certificate valid when it was signed.

#![forbid(unsafe_code)]

pub mod child;
pub mod delivery;
pub mod error;
pub mod host;
pub mod passphrase;
pub mod server;
pub mod session;
pub mod settings;
pub mod signer;
pub mod signing;
pub mod staff;
pub mod tls;
pub mod verify;

/// Payment orders (`signet-orders`): the checks the host application applies too.
pub use signet_orders as orders;

pub use error::{ClientError, Result};
pub use session::{Connection, Session, Step};
pub use settings::{Settings, SettingsStore};
pub use tls::Fingerprint;
