//! Signet key server: keeps sealed key records it cannot open, registers
//! users with consent letters, issues certificates from its CA, releases
//! sealed records only to users who prove the pass phrase, revokes, and
//! keeps every certificate ever issued for auditors.
//!
//! * [`keys`] — the key tier: flows, routes, state;
//! * [`db`] — storage on SQLite or PostgreSQL through one code path;
//! * [`ca`] — certificates and CRLs;
//! * [`consent`], [`letter`] — consent phrases and printed letters;
//! * [`audit`] — the hash-chained, signed audit log;
//! * [`storage_key`], [`server_keys`], [`files`] — the key tier's secrets;
//! * [`http`], [`error`] — HTTP plumbing and typed errors.

pub mod audit;
pub mod ca;
pub mod consent;
pub mod db;
pub mod error;
pub mod files;
pub mod http;
pub mod keys;
pub mod letter;
pub mod server_keys;
pub mod storage_key;
