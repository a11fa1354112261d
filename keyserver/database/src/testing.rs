//! For the servers' tests (feature `testing`): throwaway PostgreSQL
//! databases on the server named by `SIGNET_TEST_POSTGRES_URL`, and the URL
//! surgery the tests need.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::net::SocketAddr;

use diesel::{Connection, RunQueryDsl};

/// The variable naming the PostgreSQL server the tests may create databases on.
pub const POSTGRES_URL_VARIABLE: &str = "SIGNET_TEST_POSTGRES_URL";

/// A throwaway PostgreSQL database `signet_test_<random>`, dropped with this
/// guard (also when the test panics).
pub struct PgDatabase {
    admin_url: String,
    name: String,
    /// The database's own URL.
    pub url: String,
}

impl PgDatabase {
    /// The administrative URL from `SIGNET_TEST_POSTGRES_URL`, or `None` when
    /// the variable is unset or empty.
    pub fn admin_url() -> Option<String> {
        std::env::var(POSTGRES_URL_VARIABLE).ok().filter(|url| !url.is_empty())
    }

    /// A new empty database on the server named by `SIGNET_TEST_POSTGRES_URL`,
    /// or `None` (after saying so) when the variable is not set.
    pub fn create() -> Option<PgDatabase> {
        let Some(admin_url) = Self::admin_url() else {
            eprintln!("PostgreSQL tests skipped: {POSTGRES_URL_VARIABLE} is not set");
            return None;
        };
        Some(Self::create_on(&admin_url))
    }

    /// A new empty database on the server of `admin_url`.
    pub fn create_on(admin_url: &str) -> PgDatabase {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("rng");
        let name = format!("signet_test_{}", hex::encode(bytes));
        let mut admin = diesel::PgConnection::establish(admin_url)
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VARIABLE} must be reachable: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create database");
        PgDatabase {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name),
            name,
        }
    }

    /// The database's URL with the host and port replaced by `through`
    /// (a proxy in front of the server).
    pub fn url_through(&self, through: SocketAddr) -> String {
        let url = PgUrl::parse(&self.url);
        format!("{}{through}{}{}", url.before_host, url.path, url.query)
    }

    /// The server's `host:port` (port 5432 when the URL names none).
    pub fn server_address(&self) -> String {
        let host = PgUrl::parse(&self.url).host;
        if host.contains(':') {
            host
        } else {
            format!("{host}:5432")
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin);
        }
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let url = PgUrl::parse(url);
    format!("{}{}/{name}{}", url.before_host, url.host, url.query)
}

/// `postgres://[userinfo@]host[:port][/database][?query]` in its parts.
struct PgUrl {
    /// The scheme, `://` and any `userinfo@`.
    before_host: String,
    /// `host[:port]` as written.
    host: String,
    /// `/database`, or empty.
    path: String,
    /// `?query`, or empty.
    query: String,
}

impl PgUrl {
    fn parse(url: &str) -> PgUrl {
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let (rest, query) = match rest.find('?') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((user, host)) => (format!("{user}@"), host),
            None => (String::new(), authority),
        };
        PgUrl {
            before_host: format!("{scheme}://{userinfo}"),
            host: host.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
        }
    }
}
