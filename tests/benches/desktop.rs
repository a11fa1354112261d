//! Desktop app figures for BENCHMARKS.md, measured on the release build
//! driven through WebDriver under Xvfb, each beside a reference from the
//! same run:
//!
//! - cold start to the first screen (spawn request → a screen visible),
//!   beside the time for the app's process to exist (the driver's share);
//! - memory of the app (its process and WebKit's) after signing in and
//!   signing, beside the same at the first screen;
//! - sign click → result on screen, beside one RSA-PSS signature made
//!   through the signer protocol directly.
//!
//! Prints one JSON object; `scripts/bench_desktop.sh` turns it into the
//! BENCHMARKS.md section. Run: `cargo bench -p signet-journeys --bench desktop`.

use std::time::{Duration, Instant};

use serde_json::json;
use signet_client::child::SignerProcess;
use signet_journeys::webdriver::{App, Display, processes};
use signet_journeys::{KeyServer, SecretService, binary};
use signet_schema::protocol::{Bytes, Passphrase, Request, Response, SignatureFormat};
use signet_schema::{RegistrationData, SignatureScheme};

const LONG: Duration = Duration::from_secs(60);
const STARTS: usize = 7;
const SIGNATURES: usize = 10;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// Memory (KiB) of the app's processes — the shell and WebKit's helpers.
#[derive(Default)]
struct Memory {
    /// VmRSS: counts the WebKit libraries once per process that maps them.
    resident: u64,
    /// Pss: shares shared pages out, so it adds up across processes.
    proportional: u64,
    /// Private pages: what the app alone holds.
    private: u64,
    /// The Pss of Mesa's GL driver and the LLVM it links, which WebKit's
    /// EGL display loads into the web process.
    mesa: u64,
    /// Pss of each process: the shell, WebKit's web process, its network
    /// process, the signing core.
    by_process: [u64; 4],
}

fn memory_kib(marker: &str) -> Memory {
    let field = |text: &str, name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
            .unwrap_or(0)
    };
    let mut total = Memory::default();
    for (which, pid) in ["signet-desktop", "WebKitWebProces", "WebKitNetworkPr", "signet-signer"]
        .iter()
        .enumerate()
        .flat_map(|(which, name)| processes(name, marker).into_iter().map(move |pid| (which, pid)))
    {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        total.resident += field(&status, "VmRSS:");
        total.proportional += field(&rollup, "Pss:");
        total.by_process[which] += field(&rollup, "Pss:");
        total.private += field(&rollup, "Private_Clean:") + field(&rollup, "Private_Dirty:");
        // smaps: a mapping's header line names the file, its Pss line follows.
        let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
        let mut in_mesa = false;
        for line in smaps.lines() {
            if line.split_whitespace().nth(1).is_some_and(|perms| perms.len() == 4) && line.contains('-') {
                in_mesa = line.contains("libLLVM") || line.contains("_dri.so");
            } else if in_mesa && line.starts_with("Pss:") {
                total.mesa += field(line, "Pss:");
            }
        }
    }
    total
}

fn wait_visible_fast(app: &App, css: &str) {
    let deadline = Instant::now() + LONG;
    while !app.is_visible(css) {
        assert!(Instant::now() < deadline, "{css} never appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn main() {
    let server = KeyServer::start();
    let keys = SecretService::start();
    let display = Display::start();
    let home = {
        let out = keys.command("sh").args(["-c", "echo $HOME"]).output().expect("sh");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let marker = format!("HOME={home}");
    let pass = "marble kettle orbit seventeen lanterns";
    let pass_file = keys.write("pass", pass);

    // A registered, active user, set up from the command line.
    let run = keys.signet(&["connect", &server.base_url, "--fingerprint", &server.fingerprint()]);
    assert_eq!(run.code, 0, "{run:?}");
    keys.apply("dana", "Dana Example", &pass_file);
    keys.consent("dana", &server.bootstrap("dana"));

    // Cold start, several times; the first run also warms the disk cache, so it is dropped.
    let (mut to_process, mut to_screen) = (Vec::new(), Vec::new());
    let mut idle_kib = Memory::default();
    for round in 0..=STARTS {
        let start = Instant::now();
        let app = App::start(&display, &keys, &[]);
        let existed = start.elapsed();
        wait_visible_fast(&app, "section.screen:not([hidden])");
        let shown = start.elapsed();
        if round > 0 {
            to_process.push(existed.as_secs_f64() * 1000.0);
            to_screen.push(shown.as_secs_f64() * 1000.0);
        }
        std::thread::sleep(Duration::from_millis(500));
        idle_kib = memory_kib(&marker);
        app.quit();
        std::thread::sleep(Duration::from_millis(300));
    }

    // Sign in, then sign orders: click → result.
    let app = App::start(&display, &keys, &[]);
    app.click("#nav [data-screen=signin]");
    app.fill("#signin-user-id", "dana");
    app.fill("#signin-pass", pass);
    app.click("#signin-submit");
    app.wait_visible("#screen-sign", LONG);
    let mut clicks = Vec::new();
    for n in 0..SIGNATURES {
        app.fill("#order-debtor-name", "Example Bank Payments");
        app.fill("#order-debtor-iban", "GB82 WEST 1234 5698 7654 32");
        app.fill("#order-creditor-name", "ACME Supplies Ltd");
        app.fill("#order-creditor-iban", "DE89 3704 0044 0532 0130 00");
        app.fill("#order-amount", &format!("{}.00", 100 + n));
        app.fill("#order-reference", &format!("Invoice {n}"));
        app.set_value("#order-date", "2099-12-01");
        app.click("#order-prepare");
        app.wait_visible("#order-confirm", LONG);
        let start = Instant::now();
        app.click("#order-confirm");
        let deadline = Instant::now() + LONG;
        while !app.is_visible("#sign-result") || !app.text("#sign-result").contains(".p7s") {
            assert!(Instant::now() < deadline, "no result");
            std::thread::sleep(Duration::from_millis(2));
        }
        clicks.push(start.elapsed().as_secs_f64() * 1000.0);
        app.script("document.querySelector('#sign-result').hidden = true", json!([]));
    }
    let busy_kib = memory_kib(&marker);
    app.quit();

    // Reference: one PSS-3072 signature through the signer protocol, no app, no webview.
    let mut signer = SignerProcess::start(&binary("signet-signer"), &[]).expect("signer");
    let registration = RegistrationData {
        user_id: "ref".into(),
        common_name: "Reference".into(),
        organization: "Example".into(),
        organizational_unit: String::new(),
        email: "ref@example.com".into(),
        country: "GB".into(),
    };
    let generated = signer
        .call(Request::GenerateKey {
            registration,
            passphrase: Passphrase::new(pass.into()),
            kdf: signet_schema::KdfParams::FLOOR,
            key_bits: signet_schema::KeySize::Rsa3072,
        })
        .expect("key");
    assert!(matches!(generated, Response::KeyGenerated { .. }));
    let mut raw = Vec::new();
    for n in 0..SIGNATURES {
        let start = Instant::now();
        let signed = signer
            .call(Request::Sign {
                content: Bytes(format!("<Document>{n}</Document>").into_bytes()),
                scheme: SignatureScheme::RsaPssSha256,
                format: SignatureFormat::Raw,
                certificate: None,
            })
            .expect("sign");
        assert!(matches!(signed, Response::Signed { .. }));
        raw.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    drop(signer);

    let report = json!({
        "cold_start_ms": median(to_screen.clone()),
        "cold_start_max_ms": to_screen.iter().cloned().fold(0.0, f64::max),
        "process_exists_ms": median(to_process),
        "starts": STARTS,
        "idle_rss_mib": idle_kib.resident as f64 / 1024.0,
        "busy_rss_mib": busy_kib.resident as f64 / 1024.0,
        "idle_pss_mib": idle_kib.proportional as f64 / 1024.0,
        "busy_pss_mib": busy_kib.proportional as f64 / 1024.0,
        "busy_private_mib": busy_kib.private as f64 / 1024.0,
        "busy_mesa_pss_mib": busy_kib.mesa as f64 / 1024.0,
        "busy_pss_by_process_mib": busy_kib.by_process.map(|kib| kib as f64 / 1024.0),
        "idle_pss_by_process_mib": idle_kib.by_process.map(|kib| kib as f64 / 1024.0),
        "sign_click_ms": median(clicks.clone()),
        "sign_click_max_ms": clicks.iter().cloned().fold(0.0, f64::max),
        "signer_sign_ms": median(raw),
        "signatures": SIGNATURES,
    });
    #[allow(clippy::print_stdout, reason = "the benchmark's output is its report")]
    {
        println!("{report}");
    }
}
