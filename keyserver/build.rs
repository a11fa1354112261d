//! Rebuild when a migration changes: they are embedded in the binary. The
//! target triple is compiled in as the default target of signed releases.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!(
        "cargo:rustc-env=SIGNET_TARGET={}",
        std::env::var("TARGET").unwrap_or_default()
    );
}
