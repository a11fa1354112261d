//! Signet key server: keeps sealed key records it cannot open, registers
//! users with consent letters, issues certificates from its CA, releases
//! sealed records only to users who prove the pass phrase, revokes, and
//! keeps every certificate ever issued for auditors.
//!
//! * [`keys`] — the key tier: flows, routes, state;
//! * [`db`] — storage on SQLite or PostgreSQL through one code path;
//! * [`ca`] — certificates and CRLs;
//! * [`channel`] — the sealed channel's key-tier end: bootstrap documents, sessions, sealed bodies;
//! * [`consent`], [`letter`] — consent phrases and printed letters;
//! * [`audit`] — the hash-chained, signed audit log;
//! * [`storage_key`], [`server_keys`], [`files`] — the key tier's secrets;
//! * [`http`], [`error`] — HTTP plumbing and typed errors; [`openapi`] — the API's OpenAPI description;
//! * [`web`] — the web tier (allow-list, limits, forwarding), [`tls`] — its
//!   HTTPS listener.

pub mod audit;
pub mod ca;
pub mod channel;
pub mod consent;
pub mod db;
pub mod error;
pub mod files;
pub mod http;
pub mod keys;
pub mod letter;
pub mod openapi;
pub mod server_keys;
pub mod storage_key;
pub mod tls;
pub mod web;
