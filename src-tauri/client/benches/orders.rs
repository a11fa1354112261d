//! Payment orders, each timed next to its reference in the same run:
//!
//! * check (parse, validate against the official schema, bank checks,
//!   summary) of a 10,000-payment pain.001.001.09 file (about 5 MB), next to
//!   `xmllint --noout --schema` on the same file;
//! * signing that file once it was checked and its summary confirmed (what
//!   the confirm step does: execution dates again, SHA-256, detached CMS
//!   over the digest with the test-vector RSA key, the new signature checked
//!   against the digest), and the whole path from the file's bytes (the
//!   check first), each next to one raw RSASSA-PSS signature plus one
//!   SHA-256 of the file.
//!
//! `scripts/bench_orders.sh` runs it and writes the ratios to BENCHMARKS.md.

use std::process::Command;
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use signet_client::orders::{self, NewBatch, NewOrder, NewPayment};
use signet_crypto::keys::UserKey;
use signet_schema::SignatureScheme;

const IBANS: [&str; 4] = [
    "DE89370400440532013000",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "IE29AIBK93115212345678",
];

/// An order of `n` payments from two accounts.
pub fn large_order(n: usize) -> Vec<u8> {
    let batch = |iban: &str, payments: Vec<NewPayment>| NewBatch {
        execution_date: "2099-01-04".into(),
        debtor_name: "ACME Trading GmbH".into(),
        debtor_iban: iban.into(),
        debtor_bic: "COBADEFFXXX".into(),
        payments,
        ..NewBatch::default()
    };
    let payments: Vec<NewPayment> = (0..n)
        .map(|i| NewPayment {
            amount: format!("{}.{:02}", 1 + i % 50_000, i % 100),
            creditor_name: format!("Supplier number {i}"),
            creditor_iban: IBANS[i % IBANS.len()].into(),
            creditor_bic: "BNPAFRPPXXX".into(),
            remittance: format!("Invoice {i} of 2099, order reference {}", i * 7),
            ..NewPayment::default()
        })
        .collect();
    let (first, second) = payments.split_at(n / 2);
    let order = NewOrder {
        message_id: "BENCH-10000".into(),
        initiating_party: "ACME Trading GmbH".into(),
        batches: vec![batch(IBANS[0], first.to_vec()), batch(IBANS[2], second.to_vec())],
    };
    orders::write::write_now(&order).expect("the order is written").0
}

const KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../schema/crypto/tests/vectors/sign/key.pk8.der"
);

/// The test-vector key and a self-signed certificate for it, made by OpenSSL.
fn key(dir: &std::path::Path) -> (UserKey, Vec<u8>) {
    let key = UserKey::from_pkcs8_der(&std::fs::read(KEY).expect("the vector key")).expect("the vector key parses");
    let certificate = dir.join("cert.der");
    let status = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-x509",
            "-keyform",
            "DER",
            "-key",
            KEY,
            "-subj",
            "/CN=Signet benchmark",
            "-days",
            "2",
        ])
        .args(["-outform", "DER", "-out"])
        .arg(&certificate)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl made no certificate");
    (key, std::fs::read(certificate).expect("certificate"))
}

fn benches(c: &mut Criterion) {
    let bytes = large_order(10_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("order.xml");
    std::fs::write(&file, &bytes).expect("write");
    let xsd = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/iso20022/pain.001.001.09.xsd");
    let today = orders::today();
    eprintln!("order: {} bytes, 10000 payments", bytes.len());
    // The script measures the command line's memory on the same file.
    if let Some(out) = std::env::var_os("SIGNET_BENCH_ORDER_OUT") {
        std::fs::write(out, &bytes).expect("write the order for the script");
    }

    let mut group = c.benchmark_group("orders-check");
    group.sample_size(20);
    group.bench_function("signet", |b| b.iter(|| orders::check(&bytes, today).expect("valid")));
    group.bench_function("xmllint", |b| {
        b.iter(|| {
            let status = Command::new("xmllint")
                .args(["--noout", "--schema", xsd])
                .arg(&file)
                .stderr(std::process::Stdio::null())
                .status()
                .expect("xmllint runs");
            assert!(status.success());
        })
    });
    group.finish();

    let (key, certificate) = key(dir.path());
    let mut group = c.benchmark_group("orders-sign");
    group.sample_size(20);
    let sign_checked = |checked: &orders::CheckedOrder| {
        checked.still_signable(today).expect("still signable");
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        let signature = signet_crypto::cms::sign_detached_digest(
            &key,
            SignatureScheme::RsaPssSha256,
            &certificate,
            &digest,
            SystemTime::now(),
        )
        .expect("signed");
        signet_crypto::cms::verify_detached_digest(&signature, &digest).expect("verifies");
        signature
    };
    let checked = orders::check(&bytes, today).expect("valid");
    group.bench_function("checked", |b| b.iter(|| sign_checked(&checked)));
    group.bench_function("from-file", |b| {
        b.iter(|| sign_checked(&orders::check(&bytes, today).expect("valid")))
    });
    group.bench_function("raw-signature-and-sha256", |b| {
        b.iter(|| {
            let digest = Sha256::digest(&bytes);
            let signature = signet_crypto::sign::sign(&key, SignatureScheme::RsaPssSha256, b"x").expect("signed");
            (digest, signature)
        })
    });
    group.finish();
}

criterion_group!(orders_benches, benches);
criterion_main!(orders_benches);
