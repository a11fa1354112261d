//! Signing a folder of payment orders through the command line, for
//! BENCHMARKS.md: `signet orders sign DIR` over 1,000 one-payment files
//! (sign-in, schema and bank checks, one detached CMS signature per file,
//! each checked, saved durably and recorded), beside 1,000 raw RSASSA-PSS
//! signatures with a key of the same size made in-process in the same run.
//! The sign-in alone (`signet login`) is measured too, so that its share is
//! known.
//!
//! Real processes: a key server on a loopback port, a session bus with a
//! Secret Service for the settings, the release build of `signet`.
//! Prints one JSON object (and writes it to `SIGNET_BENCH_FOLDER_JSON` when
//! set); `scripts/bench_orders.sh` puts it into the orders section.
//! Run: `cargo bench -p signet-journeys --bench orders_folder`.

use std::time::Instant;

use serde_json::json;
use sha2::{Digest, Sha256};
use signet_client::orders::{self, NewBatch, NewOrder, NewPayment};
use signet_crypto::keys::UserKey;
use signet_journeys::{KeyServer, SecretService};
use signet_schema::{KeySize, SignatureScheme};

const FILES: usize = 1_000;
const RUNS: usize = 3;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// Order `n`: one payment, as an accounting package exports one invoice.
fn one_payment_order(n: usize) -> Vec<u8> {
    let order = NewOrder {
        message_id: format!("FOLDER-{n:04}"),
        initiating_party: "Dana Example Ltd".into(),
        batches: vec![NewBatch {
            execution_date: "2099-01-05".into(),
            debtor_name: "Dana Example Ltd".into(),
            debtor_iban: "DE89370400440532013000".into(),
            debtor_bic: "COBADEFFXXX".into(),
            payments: vec![NewPayment {
                amount: format!("{}.{:02}", 10 + n, n % 100),
                creditor_name: format!("Supplier {n}"),
                creditor_iban: "FR1420041010050500013M02606".into(),
                creditor_bic: "BNPAFRPPXXX".into(),
                remittance: format!("Invoice {n}"),
                ..NewPayment::default()
            }],
            ..NewBatch::default()
        }],
    };
    orders::write::write_now(&order).expect("the order is written").0
}

/// Seconds `signet args…` took; panics unless it exits 0.
fn timed(keys: &SecretService, args: &[&str]) -> f64 {
    let started = Instant::now();
    let run = keys.signet(args);
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(run.code, 0, "signet {args:?}: {run:?}");
    seconds
}

fn main() {
    let server = KeyServer::start();
    let keys = SecretService::start();
    let url = server.base_url.clone();
    timed(&keys, &["connect", &url, "--fingerprint", &server.fingerprint()]);
    let passphrase = keys.write("dana-pass", "marble kettle orbit seventeen lanterns\n");
    keys.apply("dana", "Dana Example", &passphrase);
    keys.consent("dana", &server.bootstrap("dana"));

    let folder = keys.scratch().join("orders");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let mut bytes = 0usize;
    for n in 0..FILES {
        let order = one_payment_order(n);
        bytes += order.len();
        std::fs::write(folder.join(format!("order-{n:04}.xml")), order).expect("write an order");
    }
    let dir = folder.display().to_string();
    eprintln!("{FILES} orders, {bytes} bytes in all");

    // Alternated runs, so that the machine's state is shared alike.
    let reference_key = UserKey::generate(KeySize::default()).expect("a key");
    let digests: Vec<[u8; 32]> = (0..FILES)
        .map(|n| Sha256::digest(format!("payment order {n}")).into())
        .collect();
    let (mut folder_runs, mut login_runs, mut reference_runs) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..RUNS {
        let started = Instant::now();
        for digest in &digests {
            signet_crypto::sign::sign_digest(&reference_key, SignatureScheme::RsaPssSha256, digest).expect("signed");
        }
        reference_runs.push(started.elapsed().as_secs_f64());
        login_runs.push(timed(&keys, &["login", "-u", "dana", "--passphrase-file", &passphrase]));
        let mut args = vec!["orders", "sign", "-u", "dana", "--passphrase-file", &passphrase, &dir];
        if run > 0 {
            args.push("--force");
        }
        folder_runs.push(timed(&keys, &args));
        eprintln!(
            "run {run}: folder {:.2} s, sign-in {:.2} s, raw signatures {:.2} s",
            folder_runs[run], login_runs[run], reference_runs[run]
        );
    }
    // Every order got a signature that verifies over its bytes.
    for n in 0..FILES {
        let order = folder.join(format!("order-{n:04}.xml"));
        let signature = folder.join(format!("order-{n:04}.xml.p7s"));
        signet_crypto::cms::verify_detached(
            &std::fs::read(&signature).expect("a signature"),
            &std::fs::read(&order).expect("the order"),
        )
        .expect("the signature verifies");
    }

    let (folder_s, login_s, reference_s) = (median(folder_runs), median(login_runs), median(reference_runs));
    let figures = json!({
        "files": FILES,
        "bytes": bytes,
        "runs": RUNS,
        "key_bits": KeySize::default().bits(),
        "folder_s": folder_s,
        "login_s": login_s,
        "raw_signatures_s": reference_s,
        "ratio": folder_s / reference_s,
        "ratio_after_sign_in": (folder_s - login_s) / reference_s,
    });
    #[allow(clippy::print_stdout, reason = "the benchmark's output is its report")]
    {
        println!("{figures}");
    }
    if let Some(path) = std::env::var_os("SIGNET_BENCH_FOLDER_JSON") {
        std::fs::write(path, figures.to_string()).expect("write the figures");
    }
}
