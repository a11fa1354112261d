//! Starting the signing core as a sign-in does, for BENCHMARKS.md: from the
//! click to a signer that answered its greeting, with delivery (the release
//! manifest already checked, the binary fetched from the key server, checked,
//! put into a sealed memfd, checked again, executed) beside the signer
//! installed on disk started the same way, in the same run. The whole
//! delivery (manifest fetched and checked too) is reported beside them.
//!
//! Real processes: the release build of `signet-keyserver serve` on a
//! loopback port with the release build of `signet-signer` published; the
//! client library in this process, as the app and the CLI use it.
//! Prints one JSON object (and writes it to `SIGNET_BENCH_DELIVERY_JSON`
//! when set); `scripts/bench_delivery.sh` puts it into BENCHMARKS.md.
//! Run: `cargo bench -p signet-journeys --bench signer_delivery`.

use std::time::Instant;

use serde_json::json;
use signet_client::delivery::{self, SignerImage};
use signet_client::server::KeyServer as Https;
use signet_client::signer::Signer;
use signet_journeys::{KeyServer, binary};

const ROUNDS: usize = 30;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// Milliseconds `work` took.
fn timed(mut work: impl FnMut()) -> f64 {
    let started = Instant::now();
    work();
    started.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let server = KeyServer::start();
    let fingerprint = server.fingerprint().parse().expect("a fingerprint");
    let https = Https::new(&server.base_url, fingerprint).expect("the key server");
    let (_, checked) = delivery::fetch_release(&https, None).expect("a release");
    let installed = SignerImage::installed(binary("signet-signer"), &checked).expect("the installed signer");
    let size = checked.build.size;

    let (mut bundled, mut delivered, mut whole) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        // Interleaved, so that drift in the machine's load touches all three alike.
        bundled.push(timed(|| Signer::start(&installed).expect("start").end()));
        delivered.push(timed(|| {
            let image = delivery::load_release(&https, &checked).expect("delivered");
            Signer::start(&image).expect("start").end();
        }));
        whole.push(timed(|| {
            let (_, checked) = delivery::fetch_release(&https, None).expect("a release");
            let image = delivery::load_release(&https, &checked).expect("delivered");
            Signer::start(&image).expect("start").end();
        }));
    }
    let (bundled, delivered, whole) = (median(bundled), median(delivered), median(whole));
    // The binary at 100 Mbit/s, the allowance for the transfer.
    let transfer_ms = size as f64 * 8.0 / 100e6 * 1e3;
    let report = json!({
        "rounds": ROUNDS,
        "binary_bytes": size,
        "bundled_ms": bundled,
        "delivered_ms": delivered,
        "whole_ms": whole,
        "transfer_100mbit_ms": transfer_ms,
        "ratio": delivered / bundled,
        "allowed_ms": 1.2 * bundled + transfer_ms,
    });
    #[allow(clippy::print_stdout, reason = "the benchmark's output is its report")]
    {
        println!("{report}");
    }
    if let Some(path) = std::env::var_os("SIGNET_BENCH_DELIVERY_JSON") {
        std::fs::write(path, report.to_string()).expect("write the report");
    }
}
