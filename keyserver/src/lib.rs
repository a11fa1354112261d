//! Signet key server: keeps sealed key records it cannot open, registers
//! users with consent letters, issues certificates from its CA, releases
//! sealed records only to users who prove the pass phrase, revokes, and
//! keeps every certificate ever issued for auditors.
//!
//! The folders are the tiers:
//!
//! * [`keys`] — the key tier, and everything only it runs: flows, routes and
//!   state ([`keys::routes`], [`keys::sealed`], [`keys::staff`]), storage on
//!   SQLite or PostgreSQL ([`keys::db`]), the CA ([`keys::ca`]), the sealed
//!   channel's key-tier end ([`keys::channel`]), consent phrases and letters
//!   ([`keys::consent`], [`keys::letter`]), the audit log ([`keys::audit`]),
//!   its secrets ([`keys::storage_key`], [`keys::server_keys`]) and the API
//!   description ([`keys::openapi`]);
//! * [`web`] — the web tier, the internet-facing one: HTTPS ([`web::tls`]),
//!   the allow-list, limits, forwarding over the internal link. It holds no
//!   key and no database credentials, and imports nothing from [`keys`];
//! * shared by both: the [`route_table`], [`rate_limit`]s, HTTP plumbing
//!   ([`http`]) and typed failures ([`error`]), and secret files written
//!   atomically with mode 0600 ([`secret_file`]).

pub mod error;
pub mod http;
pub mod keys;
pub mod rate_limit;
pub mod route_table;
pub mod secret_file;
pub mod web;
