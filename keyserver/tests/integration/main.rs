//! The key server's integration tests, one binary: the real `signet-keyserver`
//! process (both tiers) over real sockets, its database on SQLite and
//! PostgreSQL, its CA against OpenSSL, its API description, and handler-level
//! refusals through `warp::test`. What they share is in [`common`].
//! The OAEP timing measurement runs apart, in its own process
//! (`oaep_timing.rs`), so that no other test shares its clock.

mod common;

mod applet;
mod ca_openssl;
mod channel;
mod crash;
mod db;
mod enumeration;
mod flows;
mod hostile;
mod openapi;
mod outage;
mod promises;
mod refusals;
mod roles;
mod sealed;
mod signin;
mod sweep;
mod tiers;
