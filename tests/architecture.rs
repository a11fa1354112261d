//! The dependency graph is the architecture: what each program links is
//! read from `cargo tree` and checked against the trust boundaries.
//!
//! * The key server links the shared cryptography, never the signing
//!   child's process code (its hardening, its loop) nor the client.
//! * The signing child links no network, TLS, HTTP, keyring or database
//!   code: it has nothing to talk to but its parent's pipe.
//! * The client and the desktop app link the shared cryptography for
//!   verification; the signing child is a program they start, not a library.
//! * The key server's web tier (`signet-keyserver-web`), the part that faces
//!   the internet, links no database, CA, letter or key code; the key tier
//!   links it, never the other way round.

use std::collections::BTreeSet;
use std::process::Command;

/// The names of the crates `package` links in normal builds (no dev or
/// build dependencies), itself included.
fn linked_crates(package: &str) -> BTreeSet<String> {
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new(env!("CARGO"))
        .current_dir(workspace)
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "-p",
        ])
        .arg(package)
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("cargo tree prints UTF-8")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn assert_links_none(package: &str, forbidden: &[&str]) {
    let linked = linked_crates(package);
    assert!(
        linked.contains(package),
        "cargo tree did not list {package} itself: {linked:?}"
    );
    let found: Vec<&&str> = forbidden.iter().filter(|name| linked.contains(**name)).collect();
    assert!(found.is_empty(), "{package} links {found:?}, which it must not");
}

#[test]
fn the_key_server_links_no_signing_child_code() {
    assert_links_none(
        "signet-keyserver",
        &["signet-signer", "seccompiler", "signet-client", "signet-desktop"],
    );
    assert!(linked_crates("signet-keyserver").contains("signet-crypto"));
}

#[test]
fn the_signing_child_links_no_network_keyring_or_database_code() {
    assert_links_none(
        "signet-signer",
        &[
            "signet-client",
            "signet-keyserver",
            "reqwest",
            "rustls",
            "hyper",
            "tokio",
            "keyring",
            "diesel",
            "warp",
        ],
    );
}

#[test]
fn the_client_and_the_app_start_the_signing_child_but_do_not_link_it() {
    for package in ["signet-client", "signet-desktop"] {
        assert_links_none(
            package,
            &["signet-signer", "seccompiler", "signet-keyserver", "diesel", "warp"],
        );
        assert!(
            linked_crates(package).contains("signet-crypto"),
            "{package} verifies with signet-crypto"
        );
    }
}

#[test]
fn the_shared_cryptography_has_no_process_network_or_storage_code() {
    assert_links_none(
        "signet-crypto",
        &["seccompiler", "reqwest", "rustls", "tokio", "keyring", "diesel", "warp"],
    );
}

#[test]
fn the_web_tier_links_no_database_ca_letter_or_key_code() {
    assert_links_none(
        "signet-keyserver-web",
        &[
            "signet-keyserver",
            "signet-crypto",
            "signet-signer",
            "diesel",
            "diesel_migrations",
            "libsqlite3-sys",
            "pq-sys",
            "pdf-writer",
            "cms",
            "argon2",
            // Its own TLS key is ECDSA, made by rcgen: no RSA code at all.
            "rsa",
        ],
    );
    assert!(linked_crates("signet-keyserver").contains("signet-keyserver-web"));
}

#[test]
fn the_host_application_links_neither_the_key_tier_nor_any_client_code() {
    // Another organisation may run it: it shares formats, cryptography, the
    // channel's receiving end, the database layer and the HTTP plumbing —
    // never the key tier (CA key, sealed records, letters), the client, its
    // keyring or the signing child.
    assert_links_none(
        "signet-host",
        &[
            "signet-keyserver",
            "signet-client",
            "signet-signer",
            "seccompiler",
            "keyring",
            "pdf-writer",
        ],
    );
    for shared in ["signet-orders", "signet-channel", "signet-database", "signet-crypto"] {
        assert!(
            linked_crates("signet-host").contains(shared),
            "signet-host links {shared}"
        );
    }
}

#[test]
fn the_order_checks_and_the_channel_end_stay_small() {
    // The orders module is shared by the client and the host: no network,
    // keyring, database or key code.
    assert_links_none(
        "signet-orders",
        &[
            "reqwest",
            "rustls",
            "tokio",
            "keyring",
            "diesel",
            "warp",
            "rsa",
            "signet-crypto",
        ],
    );
    // The channel's receiving end keeps sessions in memory: no database, CA or client code.
    assert_links_none(
        "signet-channel",
        &[
            "diesel",
            "pdf-writer",
            "keyring",
            "reqwest",
            "signet-client",
            "signet-signer",
        ],
    );
}
