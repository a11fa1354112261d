//! Does opening a sealed-channel session leak, through its timing, anything
//! about the RSA-OAEP plaintext of an attacker-supplied ciphertext?
//! (RUSTSEC-2023-0071, "Marvin": the rsa crate makes no constant-time
//! promise for padding removal; the key tier decrypts whatever clients send.)
//!
//! Method (after dudect, Reparaz–Balasch–Verbauwhede 2017): three classes of
//! well-formed-length ciphertexts go through the private-key step of
//! [`ChannelServer::open_session`] (`ChannelServer::key_decrypts`: the
//! decryption, padding check and key derivation, which run alike on every
//! path; what the opening does after it depends only on the outcome, which
//! the client is told anyway) in one randomly interleaved sequence, so that
//! machine noise (other builds on the 2 cores, frequency changes,
//! interrupts) falls on every class alike. The warm-up opens sessions whole:
//!
//! * **valid** — a correct OAEP encryption of a 32-byte master key (the session opens);
//! * **random** — a random integer below the modulus: the decrypted block is
//!   random, its leading octet almost never zero, the padding check fails;
//! * **zero-led** — OAEP under another label: the decrypted block starts
//!   with 0x00 and has OAEP structure, only the label hash differs, so the
//!   check fails late. Random vs zero-led is Manger's oracle (RFC 8017 §7.1.2
//!   note); valid vs invalid is Bleichenbacher/Marvin's.
//!
//! Each timing is cropped at the pooled 90th percentile (dudect's cropping
//! against interrupts and preemption), and Welch's t is computed for each
//! pair of classes. |t| < 4.5 is dudect's "no leak detected" threshold. A
//! noisy run is retried once with fresh samples. Wrong-length inputs are
//! refused before any private-key operation (the length is public, as the
//! modulus is); they are timed separately and only reported.
//!
//! Run with `-- --nocapture` to see the figures.

use std::sync::Mutex;
use std::time::Instant;

use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::RandomizedEncryptor;
use sha2::Sha256;
use signet_crypto::channel::ChannelClient;
use signet_crypto::keys::ServerKey;
use signet_keyserver::keys::channel::{ChannelError, ChannelLimits, ChannelServer};
use signet_keyserver::keys::{Clock, Policy, system_clock};
use signet_schema::KeySize;
use signet_schema::channel::OpenRequest;
use signet_schema::protocol::Bytes;

/// The tests of this file run one at a time: each would be the other's noise.
static SERIAL: Mutex<()> = Mutex::new(());

/// Samples per class and round.
const SAMPLES: usize = 2000;
/// Untimed openings before the first round.
const WARM_UP: usize = 150;
/// Requests prepared ahead of a timed batch (bootstrap signing is not timed).
const BATCH: usize = 300;
/// dudect's threshold.
const THRESHOLD: f64 = 4.5;
/// Timings above this pooled percentile are dropped.
const CROP: f64 = 0.90;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Valid,
    Random,
    ZeroLed,
}

const CLASSES: [Class; 3] = [Class::Valid, Class::Random, Class::ZeroLed];

struct Rig {
    server: ChannelServer,
    pinned: Vec<u8>,
    other_label: rsa::oaep::EncryptingKey<Sha256>,
    modulus_len: usize,
    clock: Clock,
}

impl Rig {
    fn new(size: KeySize) -> Rig {
        let integrity = ServerKey::generate(KeySize::Rsa2048).expect("keygen");
        let confidentiality = ServerKey::generate(size).expect("keygen");
        // Every opening here comes from one (unknown) address: the tables are
        // made large enough that no valid opening has to make room, which is
        // work done after the outcome is decided and answered anyway.
        let limits = ChannelLimits {
            max_sessions: 1_000_000,
            max_sessions_per_address: 1_000_000,
            max_pending_bootstraps: 1_000_000,
            ..ChannelLimits::default()
        };
        let clock = system_clock();
        let server = ChannelServer::new(&integrity, &confidentiality, limits, clock.clone()).expect("server");
        let rsa_key = rsa::PrivateKey::from_pkcs8_der(&confidentiality.to_pkcs8_der().expect("der")).expect("key");
        let other_label =
            rsa::oaep::EncryptingKey::<Sha256>::new_with_label(rsa_key.to_public_key(), b"signet/v1/other".as_slice());
        Rig {
            modulus_len: server.encrypted_key_len(),
            pinned: server.integrity_spki().to_vec(),
            server,
            other_label,
            clock,
        }
    }

    /// A fresh opening request of `class` (a fresh bootstrap nonce each: nonces are single-use).
    fn request(&self, class: Class) -> OpenRequest {
        let policy = (&Policy::default()).into();
        let bootstrap = self.server.bootstrap_document(policy).expect("bootstrap");
        let (_, mut request) = ChannelClient::open(&bootstrap, &self.pinned, (self.clock)()).expect("client");
        match class {
            Class::Valid => {}
            Class::Random => {
                let mut c = vec![0u8; self.modulus_len];
                getrandom::fill(&mut c[1..]).expect("rng");
                request.encrypted_key = Bytes(c);
            }
            Class::ZeroLed => {
                let mut master = [0u8; 32];
                getrandom::fill(&mut master).expect("rng");
                let c = self
                    .other_label
                    .encrypt_with_rng(&mut rand::rngs::SysRng, &master)
                    .expect("encrypt");
                request.encrypted_key = Bytes(c);
            }
        }
        request
    }

    /// Times one decryption of the session key (the private-key step of an
    /// opening, alone: what the opening does after it depends only on the
    /// outcome, which the client is told anyway); checks its outcome.
    fn time(&self, class: Class, request: &OpenRequest) -> f64 {
        let start = Instant::now();
        let decrypts = self.server.key_decrypts(request);
        let elapsed = start.elapsed().as_nanos() as f64;
        assert_eq!(decrypts, class == Class::Valid, "{class:?}: unexpected outcome");
        elapsed
    }

    /// Opens a session with `request` whole, as a client would; checks the outcome.
    fn open(&self, class: Class, request: &OpenRequest) {
        match (class, self.server.open_session(request, None)) {
            (Class::Valid, Ok(_)) => {}
            (Class::Random | Class::ZeroLed, Err(ChannelError::BadKeyEncryption)) => {}
            (class, other) => panic!("{class:?}: unexpected outcome {other:?}"),
        }
    }
}

fn random_below(n: usize) -> usize {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("rng");
    (u64::from_le_bytes(b) % n as u64) as usize
}

/// `samples` of each class in one shuffled sequence.
fn schedule(samples: usize) -> Vec<Class> {
    let mut order: Vec<Class> = CLASSES.iter().flat_map(|&c| std::iter::repeat_n(c, samples)).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, random_below(i + 1));
    }
    order
}

struct Summary {
    n: usize,
    mean: f64,
    var: f64,
    median: f64,
}

fn summary(xs: &[f64]) -> Summary {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    Summary {
        n,
        mean,
        var,
        median: sorted[n / 2],
    }
}

fn welch_t(a: &Summary, b: &Summary) -> f64 {
    (a.mean - b.mean) / (a.var / a.n as f64 + b.var / b.n as f64).sqrt()
}

/// One round: returns the largest |t| over the three pairs, after printing the figures.
fn round(rig: &Rig, samples: usize, label: &str) -> f64 {
    let order = schedule(samples);
    let mut timings: Vec<(Class, f64)> = Vec::with_capacity(order.len());
    let started = Instant::now();
    for chunk in order.chunks(BATCH) {
        let requests: Vec<OpenRequest> = chunk.iter().map(|&c| rig.request(c)).collect();
        for (&class, request) in chunk.iter().zip(&requests) {
            timings.push((class, rig.time(class, request)));
        }
    }
    let mut pooled: Vec<f64> = timings.iter().map(|&(_, t)| t).collect();
    pooled.sort_by(f64::total_cmp);
    let cut = pooled[((pooled.len() as f64) * CROP) as usize];
    let by_class = |class: Class| -> Vec<f64> {
        timings
            .iter()
            .filter(|&&(c, t)| c == class && t <= cut)
            .map(|&(_, t)| t)
            .collect()
    };
    let s: Vec<Summary> = CLASSES.iter().map(|&c| summary(&by_class(c))).collect();
    eprintln!(
        "{label}: {} openings in {:.1} s; crop at {:.3} ms (pooled p{:.0})",
        timings.len(),
        started.elapsed().as_secs_f64(),
        cut / 1e6,
        CROP * 100.0
    );
    for (class, s) in CLASSES.iter().zip(&s) {
        eprintln!(
            "  {:<8?} n={:>5} mean={:.4} ms median={:.4} ms sd={:.4} ms",
            class,
            s.n,
            s.mean / 1e6,
            s.median / 1e6,
            s.var.sqrt() / 1e6
        );
    }
    let pairs = [(0, 1), (2, 1), (0, 2)];
    let mut worst: f64 = 0.0;
    for (a, b) in pairs {
        let t = welch_t(&s[a], &s[b]);
        eprintln!("  t({:?} vs {:?}) = {t:+.2}", CLASSES[a], CLASSES[b]);
        worst = worst.max(t.abs());
    }
    worst
}

#[test]
fn oaep_decryption_timing_does_not_depend_on_the_plaintext() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let size = match std::env::var("SIGNET_OAEP_TIMING_BITS").as_deref() {
        Ok("2048") => KeySize::Rsa2048,
        Ok("4096") => KeySize::Rsa4096,
        _ => KeySize::Rsa3072,
    };
    let samples = std::env::var("SIGNET_OAEP_TIMING_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SAMPLES);
    let rig = Rig::new(size);
    eprintln!("RSA-{} confidentiality key, {samples} samples per class", size.bits());
    for i in 0..WARM_UP {
        let class = CLASSES[i % 3];
        rig.open(class, &rig.request(class));
    }
    let first = round(&rig, samples, "round 1");
    if first < THRESHOLD {
        return;
    }
    let second = round(&rig, samples, "round 2 (retry)");
    assert!(
        second < THRESHOLD,
        "timing of OAEP decryption depends on the plaintext: |t| = {first:.2}, then {second:.2} (threshold {THRESHOLD})"
    );
}

#[test]
fn wrong_length_inputs_are_refused_before_decryption() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rig = Rig::new(KeySize::Rsa2048);
    let k = rig.modulus_len;
    let mut times = Vec::new();
    for len in [0, 1, k - 1, k + 1, 2 * k] {
        for _ in 0..50 {
            let mut request = rig.request(Class::Valid);
            request.encrypted_key = Bytes(vec![0x5A; len]);
            let start = Instant::now();
            let outcome = rig.server.open_session(&request, None);
            times.push(start.elapsed().as_nanos() as f64);
            assert!(matches!(outcome, Err(ChannelError::BadKeyEncryption)), "length {len}");
        }
    }
    let valid: Vec<f64> = (0..50)
        .map(|_| {
            let request = rig.request(Class::Valid);
            rig.time(Class::Valid, &request)
        })
        .collect();
    let (wrong, valid) = (summary(&times), summary(&valid));
    eprintln!(
        "wrong length: median {:.4} ms; well-formed length: median {:.4} ms (RSA-2048)",
        wrong.median / 1e6,
        valid.median / 1e6
    );
    // The refusal does no private-key operation: the length is public.
    assert!(wrong.median < valid.median / 5.0);
}
