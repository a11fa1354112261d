//! Compiles in what delivery of the signing core needs to know about this
//! build: the release keys it trusts and the target it runs on.
//!
//! `SIGNET_RELEASE_KEYS` names a PEM file of the trusted release keys' public
//! halves, or is `development` for the development key in
//! `schema/release-keys/` (see its README: never for production builds).
//! Debug builds default to the development key; release builds must say.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=SIGNET_RELEASE_KEYS");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let development = manifest_dir.join("../../schema/release-keys/development.pub.pem");
    let release_build = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let (path, name) = match std::env::var_os("SIGNET_RELEASE_KEYS") {
        Some(value) if value == "development" => (development, "development"),
        Some(path) => (PathBuf::from(path), "release"),
        // A debug build trusts the development key; a release build is told
        // which keys to trust, so that none trusts a public key by accident.
        None if !release_build => (development, "development"),
        None => panic!(
            "a release build of the client needs SIGNET_RELEASE_KEYS: the PEM file of the release keys' public \
             halves, or `development` for the development key (never for production; see \
             schema/release-keys/README.md)"
        ),
    };
    println!("cargo:rerun-if-changed={}", path.display());
    let pem = match std::fs::read_to_string(&path) {
        Ok(pem) if pem.contains("-----BEGIN PUBLIC KEY-----") => pem,
        Ok(_) => panic!("{} holds no PEM `PUBLIC KEY` block", path.display()),
        Err(e) => panic!("the release keys {}: {e}", path.display()),
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("release-keys.pem");
    if let Err(e) = std::fs::write(&out, pem) {
        panic!("{}: {e}", out.display());
    }
    println!("cargo:rustc-env=SIGNET_RELEASE_KEYS_NAME={name}");
    println!(
        "cargo:rustc-env=SIGNET_TARGET={}",
        std::env::var("TARGET").unwrap_or_default()
    );
}
