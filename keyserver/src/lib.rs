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
//! * [`offline_release`] — signing releases of the signing core with the
//!   offline release key, on the release manager's machine (no tier runs it);
//! * [`web`] — the web tier, the internet-facing one: HTTPS, the
//!   allow-list, limits, forwarding over the internal link. It is its own
//!   crate (`signet-keyserver-web`, `keyserver/web/`), which links no
//!   database, CA, letter or key code; re-exported here, with what both tiers
//!   share and the web crate holds: the [`route_table`], [`rate_limit`]s,
//!   JSON plumbing ([`json`]), typed failures ([`error`]) and secret files
//!   written atomically with mode 0600 ([`secret_file`]).

pub mod keys;
pub mod offline_release;

pub use signet_keyserver_web as web;
pub use signet_keyserver_web::{error, json, rate_limit, route_table, secret_file};
