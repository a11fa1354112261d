//! The host's verification throughput and latency, next to its reference
//! measured in the same run on the same cores: one-payment orders, each
//! signed by a user whose mandate lets them sign alone, submitted to the
//! host in process (request signature, certificate and CRL, schema and bank
//! checks, CMS over the exact bytes, mandate, duplicate check, one SQLite
//! transaction, the signed pain.002) from as many threads as there are
//! cores; the reference is raw CMS verification of the same signatures over
//! the same bytes with the same library, on as many threads. The requests
//! are made before any clock runs.
//!
//! `scripts/bench_host.sh` runs it and writes the figures to BENCHMARKS.md.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    dead_code,
    reason = "a benchmark that prints its figures and fails loudly"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::Desk;
use signet_schema::host::{OrderState, SignedHostRequest, SubmitOrder};

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}

/// Submits `requests` from as many threads as `chunk` makes; how long it
/// took, and each submission's latency to its signed report.
fn submit_all(desk: &Desk, requests: &[SignedHostRequest], chunk: usize) -> (Duration, Vec<Duration>) {
    let started = Instant::now();
    let latencies: Vec<Duration> = std::thread::scope(|scope| {
        let workers: Vec<_> = requests
            .chunks(chunk)
            .map(|part| {
                let host = desk.host.clone();
                scope.spawn(move || {
                    part.iter()
                        .map(|request| {
                            let t = Instant::now();
                            let status = host.submit(request).expect("answered");
                            assert_eq!(status.order.state, OrderState::Accepted);
                            t.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("worker")).collect()
    });
    (started.elapsed(), latencies)
}

/// Stores `n` accepted orders from a thousand other users in the host's
/// SQLite database, in one statement, as a long-running host would hold them.
fn prefill(desk: &Desk, n: usize) {
    use diesel::RunQueryDsl;
    let url = desk.pki.data_dir.join("host.db").display().to_string();
    let db = signet_host::db::open(&url).expect("the host's database");
    let at = desk.now() - 86_400;
    db.write(|c| {
        diesel::sql_query(format!(
            "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n}) \
             INSERT INTO orders (order_id, message_id, bytes, sha256, payments, totals, submitted_by, state, \
             reason_code, reason, received_at, expires_at, report_xml, report_signature) \
             SELECT printf('STORED%026d', i), printf('OLD-%d', i), X'00', printf('%064d', i), 1, '10.00 EUR', \
             'user-' || (i % 1000), 'accepted', NULL, NULL, {at}, {at}, X'00', X'00' FROM seq"
        ))
        .execute(c)
        .map(|_| ())
        .map_err(signet_database::DbError::from)
    })
    .expect("stored");
}

fn main() {
    let orders: usize = std::env::var("SIGNET_BENCH_HOST_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(600);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let desk = Desk::open(None);
    let alice = desk.user("alice");
    desk.mandate(&alice, "E", None);
    let requests: Vec<SignedHostRequest> = (0..orders)
        .map(|i| {
            let bytes = desk.order(&format!("BENCH-{i}"), "10.00");
            common::submission(desk.host.certificate_der(), &alice, &bytes, desk.now())
        })
        .collect();
    let signed: Vec<(Vec<u8>, Vec<u8>)> = requests
        .iter()
        .map(|r| {
            let s: SubmitOrder = serde_json::from_slice(&r.payload.0).expect("payload");
            (s.order.0, s.signature.0)
        })
        .collect();
    let chunk = orders.div_ceil(threads);

    // Reference: CMS verification alone, same signatures, same cores.
    let started = Instant::now();
    std::thread::scope(|scope| {
        for part in signed.chunks(chunk) {
            scope.spawn(move || {
                for (order, signature) in part {
                    signet_crypto::cms::verify_detached(signature, order).expect("verifies");
                }
            });
        }
    });
    let reference = started.elapsed();

    // What every submission also does: a pain.002 signed with the host's RSA key (a
    // private-key operation), alone, for the same orders on as many threads.
    let started = Instant::now();
    std::thread::scope(|scope| {
        for part in signed.chunks(chunk) {
            let host = desk.host.clone();
            let now = desk.now();
            scope.spawn(move || {
                for (order, _) in part {
                    host.signed_report(
                        order,
                        signet_orders::status_report::ReportStatus::Accepted,
                        Vec::new(),
                        now,
                        &"00".repeat(32),
                        Vec::new(),
                    )
                    .expect("a report");
                }
            });
        }
    });
    let report_signing = started.elapsed();

    // The host: every submission, its latency to the signed report.
    let (host, latencies) = submit_all(&desk, &requests, chunk);

    // The same on hosts that already store 10^3 and 10^6 orders (or what
    // SIGNET_BENCH_HOST_STORED lists): is the rate flat as the tables grow?
    let stored: Vec<usize> = std::env::var("SIGNET_BENCH_HOST_STORED")
        .ok()
        .map(|list| list.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 1_000_000]);
    let mut by_stored = Vec::new();
    for n in stored {
        let desk = Desk::open(None);
        let filled = Instant::now();
        prefill(&desk, n);
        let filled = filled.elapsed();
        let alice = desk.user("alice");
        desk.mandate(&alice, "E", None);
        let requests: Vec<SignedHostRequest> = (0..orders)
            .map(|i| {
                let bytes = desk.order(&format!("STORED-{i}"), "10.00");
                common::submission(desk.host.certificate_der(), &alice, &bytes, desk.now())
            })
            .collect();
        let (took, _) = submit_all(&desk, &requests, chunk);
        println!(
            "{n} orders stored ({:.0} s to store): {:.0} orders/s",
            filled.as_secs_f64(),
            orders as f64 / took.as_secs_f64()
        );
        by_stored.push(serde_json::json!({ "stored": n, "per_s": orders as f64 / took.as_secs_f64() }));
    }
    let mut sorted = latencies;
    sorted.sort();
    let reference_per_s = orders as f64 / reference.as_secs_f64();
    let host_per_s = orders as f64 / host.as_secs_f64();
    let report = serde_json::json!({
        "orders": orders,
        "threads": threads,
        "reference_per_s": reference_per_s,
        "host_per_s": host_per_s,
        "ratio": host_per_s / reference_per_s,
        "report_signing_per_s": orders as f64 / report_signing.as_secs_f64(),
        "by_stored": by_stored,
        "p50_ms": percentile(&sorted, 0.50),
        "p99_ms": percentile(&sorted, 0.99),
    });
    println!("{report}");
    if let Ok(path) = std::env::var("SIGNET_BENCH_HOST_JSON") {
        std::fs::write(path, report.to_string()).expect("write the figures");
    }
}
