//! Benchmarks of the signing core and the signer process.
//!
//! Run through `make bench` (scripts/bench.sh), which also times OpenSSL on
//! the same machine in the same run and writes the ratios to BENCHMARKS.md.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group};
use signet_client::child::SignerProcess;
use signet_crypto::keys::UserKey;
use signet_crypto::{kdf, seal, sign};
use signet_schema::protocol::{Bytes, Passphrase, Request, Response, SignatureFormat};
use signet_schema::{KdfParams, KeySize, RegistrationData, SealedKeyRecord, SignatureScheme};
use signet_signer::hardening::locked_kib;

const SIZES: [KeySize; 3] = [KeySize::Rsa2048, KeySize::Rsa3072, KeySize::Rsa4096];
const ORDER: &[u8] = include_bytes!("../../../schema/crypto/tests/vectors/sign/message.xml");

fn registration() -> RegistrationData {
    RegistrationData {
        user_id: "alice".into(),
        common_name: "Alice Example".into(),
        organization: "Example Bank".into(),
        organizational_unit: "Payments".into(),
        email: "alice@example.com".into(),
        country: "GB".into(),
    }
}

/// The signer binary built by cargo next to the benchmark executable.
fn signer_path() -> PathBuf {
    let exe = std::env::current_exe().expect("bench executable");
    let deps = exe.parent().expect("deps directory");
    let path = deps.parent().expect("profile directory").join("signet-signer");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --release -p signet-signer` first",
        path.display()
    );
    path
}

fn keys(sizes: &[KeySize]) -> Vec<(KeySize, UserKey)> {
    sizes
        .iter()
        .map(|&s| (s, UserKey::generate(s).expect("keygen")))
        .collect()
}

fn keygen(c: &mut Criterion) {
    let mut g = c.benchmark_group("keygen");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for size in SIZES {
        g.bench_function(BenchmarkId::from_parameter(size.bits()), |b| {
            b.iter(|| UserKey::generate(black_box(size)).expect("keygen"))
        });
    }
    g.finish();
}

fn kdf_costs(c: &mut Criterion) {
    let mut g = c.benchmark_group("kdf");
    g.sample_size(10);
    for (name, params) in [("floor", KdfParams::FLOOR), ("default", KdfParams::DEFAULT)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                kdf::derive(b"correct horse battery staple", "alice", black_box(params), &[7; 16]).expect("derive")
            })
        });
    }
    g.finish();
}

fn record(c: &mut Criterion) {
    let key = UserKey::generate(KeySize::Rsa3072).expect("keygen");
    let pass_keys = kdf::derive(b"correct horse battery staple", "alice", KdfParams::FLOOR, &[7; 16]).expect("derive");
    let reg = registration();
    let sealed = seal::seal(&key, &reg, &pass_keys).expect("seal");
    let mut g = c.benchmark_group("record");
    g.bench_function("seal/3072", |b| {
        b.iter(|| seal::seal(&key, &reg, &pass_keys).expect("seal"))
    });
    g.bench_function("open/3072", |b| {
        b.iter(|| seal::open(black_box(&sealed), &reg, &pass_keys).expect("open"))
    });
    g.finish();
}

fn signatures(c: &mut Criterion) {
    let keys = keys(&SIZES);
    let mut g = c.benchmark_group("sign");
    for (size, key) in &keys {
        for (name, scheme) in [
            ("pss", SignatureScheme::RsaPssSha256),
            ("pkcs1v15", SignatureScheme::RsaPkcs1v15Sha256),
        ] {
            g.bench_function(format!("{name}/{}", size.bits()), |b| {
                b.iter(|| sign::sign(key, scheme, black_box(ORDER)).expect("sign"))
            });
        }
    }
    g.finish();
    let mut g = c.benchmark_group("verify");
    for (size, key) in &keys {
        let public = key.public_key();
        for (name, scheme) in [
            ("pss", SignatureScheme::RsaPssSha256),
            ("pkcs1v15", SignatureScheme::RsaPkcs1v15Sha256),
        ] {
            let sig = sign::sign(key, scheme, ORDER).expect("sign");
            g.bench_function(format!("{name}/{}", size.bits()), |b| {
                b.iter(|| sign::verify(&public, scheme, black_box(ORDER), &sig).expect("verify"))
            });
        }
    }
    g.finish();
}

/// A signer process with an opened 3072-bit key (floor KDF to keep set-up short).
fn signer_with_key(path: &Path) -> SignerProcess {
    let mut signer = SignerProcess::start(path, &[]).expect("start signer");
    let Ok(Response::KeyGenerated { .. }) = signer.call(Request::GenerateKey {
        registration: registration(),
        passphrase: Passphrase::new("correct horse battery staple".into()),
        kdf: KdfParams::FLOOR,
        key_bits: KeySize::Rsa3072,
    }) else {
        panic!("generate-key failed")
    };
    signer
}

fn process(c: &mut Criterion) {
    let path = signer_path();
    let mut g = c.benchmark_group("process");
    g.sample_size(50);
    // Reference: creating any process at all.
    g.bench_function("spawn-true", |b| {
        b.iter(|| std::process::Command::new("true").status().expect("run true"))
    });
    g.bench_function("startup-to-ready", |b| {
        b.iter(|| {
            let mut signer = SignerProcess::start(&path, &[]).expect("start");
            let ready = signer.call(Request::Hello).expect("hello");
            drop(signer); // killed and reaped: not part of the time to ready, but cheap
            ready
        })
    });
    g.finish();

    // Per-signature cost through the protocol against the same library call.
    let mut signer = signer_with_key(&path);
    let key = UserKey::generate(KeySize::Rsa3072).expect("keygen");
    let mut g = c.benchmark_group("roundtrip");
    g.bench_function("library/pss/3072", |b| {
        b.iter(|| sign::sign(&key, SignatureScheme::RsaPssSha256, black_box(ORDER)).expect("sign"))
    });
    g.bench_function("protocol/pss/3072", |b| {
        b.iter(|| {
            signer
                .call(Request::Sign {
                    content: Bytes(ORDER.to_vec()),
                    scheme: SignatureScheme::RsaPssSha256,
                    format: SignatureFormat::Raw,
                    certificate: None,
                })
                .expect("sign")
        })
    });
    g.finish();
}

criterion_group!(benches, keygen, kdf_costs, record, signatures, process);

/// Resident memory of a signer with a key open, written for scripts/bench.sh.
fn memory_report() {
    let path = signer_path();
    let status = |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |text: &str, name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("status field")
    };
    let mut idle = SignerProcess::start(&path, &[]).expect("start");
    idle.call(Request::Hello).expect("hello");
    let idle_rss = field(&status(idle.pid()), "VmRSS:");
    drop(idle);

    let mut signer = signer_with_key(&path);
    let record = match signer.call(Request::Reseal {
        passphrase: Passphrase::new("correct horse battery staple".into()),
        kdf: KdfParams::DEFAULT,
    }) {
        Ok(Response::Resealed { record, .. }) => record,
        other => panic!("reseal failed: {other:?}"),
    };
    drop(signer);
    // A fresh process that signs in with the default KDF: the real sign-in path.
    let mut signer = SignerProcess::start(&path, &[]).expect("start");
    let started = Instant::now();
    let header = SealedKeyRecord::parse(&record.0).expect("record").header;
    signer
        .call(Request::Unlock {
            user_id: "alice".into(),
            kdf: header.kdf_params,
            salt: Bytes(header.salt),
            passphrase: Passphrase::new("correct horse battery staple".into()),
        })
        .expect("unlock");
    signer
        .call(Request::OpenRecord {
            record,
            registration: registration(),
        })
        .expect("open");
    let sign_in = started.elapsed();
    for _ in 0..20 {
        signer
            .call(Request::Sign {
                content: Bytes(ORDER.to_vec()),
                scheme: SignatureScheme::RsaPssSha256,
                format: SignatureFormat::Raw,
                certificate: None,
            })
            .expect("sign");
    }
    let text = status(signer.pid());
    let report = serde_json::json!({
        "idle_rss_kib": idle_rss,
        "key_open_rss_kib": field(&text, "VmRSS:"),
        "peak_rss_kib": field(&text, "VmHWM:"),
        "locked_kib": locked_kib(signer.pid()),
        "sign_in_default_kdf_ms": sign_in.as_secs_f64() * 1e3,
    });
    let out = std::env::var("SIGNET_BENCH_MEMORY_JSON").unwrap_or_else(|_| "signer-memory.json".into());
    std::fs::write(&out, serde_json::to_vec_pretty(&report).expect("json")).expect("write memory report");
    eprintln!("memory: {report}");
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    memory_report();
}
