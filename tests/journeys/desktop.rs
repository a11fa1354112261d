//! The desktop app as people use it: the real binary under Xvfb, driven
//! through WebDriver (tauri-driver + WebKitWebDriver), against a real key
//! server, with settings in a real Secret Service.
//!
//! One journey, in the order a new installation lives it: connect and
//! confirm the fingerprint, apply, consent with the phrase from the letter
//! the server produced, sign in, sign a payment order and see the result;
//! change the pass phrase and make a new key pair from *My key*; the help
//! desk prints a letter and re-registers a user who lost their pass phrase;
//! another user revokes their own key; an auditor opens an archived
//! certificate. Then the signer's
//! lifetime: gone within a second when the window is closed by a close
//! request, and when the app is killed. Screenshots of each screen go to
//! `$SIGNET_SCREENSHOTS` when set (`make screenshots` → docs/screenshots).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use signet_journeys::webdriver::{App, Display, processes, wait_gone};
use signet_journeys::{KeyServer, SecretService, openssl, phrase_in_letter};

const LONG: Duration = Duration::from_secs(60);

struct Shots {
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Shots {
    fn new() -> Shots {
        match std::env::var_os("SIGNET_SCREENSHOTS") {
            Some(dir) => Shots {
                dir: PathBuf::from(dir),
                _temp: None,
            },
            None => {
                let temp = tempfile::tempdir().expect("tempdir");
                Shots {
                    dir: temp.path().to_path_buf(),
                    _temp: Some(temp),
                }
            }
        }
    }

    fn take(&self, app: &App, name: &str) {
        app.screenshot(&self.dir.join(format!("{name}.png")));
    }
}

/// Files under `dir` (symbolic links not followed) whose bytes are `wanted`.
fn copies_of(wanted: &[u8], dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file()
                && entry.metadata().is_ok_and(|m| m.len() == wanted.len() as u64)
                && std::fs::read(entry.path()).is_ok_and(|bytes| bytes == wanted)
            {
                found.push(entry.path());
            }
        }
    }
    found
}

fn home(keys: &SecretService) -> PathBuf {
    let out = keys.command("sh").args(["-c", "echo $HOME"]).output().expect("sh");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn sign_in(app: &App, user: &str, passphrase: &str) {
    app.click("#nav [data-screen=signin]");
    app.fill("#signin-user-id", user);
    app.fill("#signin-pass", passphrase);
    app.click("#signin-submit");
    app.wait_visible("#screen-sign", LONG);
    app.wait_text("#whoami", user, LONG);
}

#[test]
fn people_use_the_desktop_app_from_first_start_to_audit() {
    let server = KeyServer::start();
    let keys = SecretService::start();
    let display = Display::start();
    let shots = Shots::new();
    let home = home(&keys);
    let marker = format!("HOME={}", home.display());
    let dana_pass = "marble kettle orbit seventeen lanterns";
    let dana_new_pass = "velvet compass drizzle eighty harbours";

    let app = App::start(&display, &keys, &[]);

    // Connect: the fingerprint shown is the server's; confirmed, it is pinned.
    app.wait_visible("#screen-connect", LONG);
    app.fill("#server-url", &server.base_url);
    app.click("#probe");
    let shown = app.wait_text("#fingerprint", ":", LONG);
    assert!(shown.contains(&server.fingerprint()), "shown {shown}");
    shots.take(&app, "connect");
    // The shell draws no GL: with the page shown, it has loaded no EGL driver (Mesa and its LLVM).
    for shell in processes("signet-desktop", &marker) {
        let maps = std::fs::read_to_string(format!("/proc/{shell}/maps")).expect("the shell's maps");
        let drivers: Vec<&str> = maps
            .lines()
            .filter(|l| l.contains("libEGL_mesa") || l.contains("_dri.so"))
            .collect();
        assert!(drivers.is_empty(), "the shell loaded a GL driver: {drivers:?}");
    }
    app.click("#confirm-fingerprint");
    app.wait_text("#connected", &server.base_url, LONG);

    // Apply: the meter refuses a weak pass phrase, then the application goes in.
    app.click("#nav [data-screen=apply]");
    app.fill("#reg-user-id", "dana");
    app.fill("#reg-name", "Dana Example");
    app.fill("#reg-org", "Example Bank");
    app.fill("#reg-unit", "Payments");
    app.fill("#reg-email", "dana@example.com");
    app.fill("#reg-country", "GB");
    app.fill("#reg-pass", "password123");
    app.wait_text("#strength-text", "15 characters", LONG);
    app.fill("#reg-pass", dana_pass);
    app.fill("#reg-pass2", dana_pass);
    shots.take(&app, "apply");
    app.click("#apply-submit");
    app.wait_text("#apply-result", "letter", LONG);
    assert!(
        app.script("return document.querySelector('#reg-pass').value", json!([])) == json!(""),
        "pass phrase left in the page"
    );

    // The operator makes Dana the first help-desk account and prints her letter.
    let phrase = server.bootstrap("dana");

    // Consent with the phrase from the letter.
    app.click("#nav [data-screen=consent]");
    app.fill("#consent-user-id", "dana");
    app.fill("#consent-phrase", &phrase);
    shots.take(&app, "consent");
    app.click("#consent-submit");
    app.wait_text("#consent-result", "Dana Example", LONG);

    // Sign in, sign a payment order, see the result; OpenSSL verifies what was saved.
    app.click("#nav [data-screen=signin]");
    app.fill("#signin-user-id", "dana");
    shots.take(&app, "signin");
    sign_in(&app, "dana", dana_pass);
    app.fill("#order-debtor-name", "Example Bank Payments");
    app.fill("#order-debtor-iban", "GB82 WEST 1234 5698 7654 32");
    app.fill("#order-creditor-name", "ACME Supplies Ltd");
    app.fill("#order-creditor-iban", "DE89 3704 0044 0532 0130 00");
    app.fill("#order-amount", "1250.00");
    app.set_value("#order-currency", "EUR");
    app.fill("#order-reference", "Invoice 4711");
    app.set_value("#order-date", "2099-12-01");
    // A second payment in the same order.
    app.click("#order-add-payment");
    app.fill("#order-creditor-name-2", "Office Supplies Ltd");
    // A wrong check digit is pointed out beside the field as soon as it is left.
    app.fill("#order-creditor-iban-2", "IE30 AIBK 9311 5212 3456 78");
    app.fill("#order-amount-2", "99.95");
    app.wait_text("#order-creditor-iban-2-problem", "not a valid IBAN", LONG);
    app.fill("#order-creditor-iban-2", "IE29 AIBK 9311 5212 3456 78");
    app.fill("#order-amount-2", "99.95");
    app.fill("#order-reference-2", "Order 77");
    shots.take(&app, "sign-compose");
    app.click("#order-prepare");
    // Totals, each payment and the largest, read back from the written pain.001.001.09.
    let summary = app.wait_text("#order-summary", "1,349.95 EUR", LONG);
    assert!(summary.contains("pain.001.001.09"), "{summary}");
    assert!(
        summary.contains("1,250.00 EUR") && summary.contains("99.95 EUR"),
        "{summary}"
    );
    assert!(summary.contains("2 of 2 payments"), "{summary}");
    shots.take(&app, "sign-summary");
    app.click("#order-confirm");
    app.wait_text("#sign-result", ".p7s", LONG);
    shots.take(&app, "sign-result");
    let signed = home.join("Signet/signed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&signed)
        .expect("signed folder")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "the order and its signature: {files:?}");
    std::fs::write(signed.join("ca.pem"), server.client().get("/v1/ca.pem").1).expect("ca");
    let order = files[0].display().to_string();
    let (ok, text) = openssl(
        &signed,
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &format!("{order}.p7s"),
            "-content",
            &order,
            "-CAfile",
            "ca.pem",
            "-out",
            "/dev/null",
        ],
    );
    assert!(ok, "{text}");
    // What was signed is a pain.001.001.09 file the official schema accepts.
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/iso20022/pain.001.001.09.xsd");
    let valid = std::process::Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(&files[0])
        .output()
        .expect("xmllint runs");
    assert!(valid.status.success(), "{}", String::from_utf8_lossy(&valid.stderr));
    let order_name = files[0].file_name().expect("name").to_string_lossy().into_owned();

    // A batch: two orders that pass (one .09, one .03) and one the banks'
    // checks refuse; one confirmation signs the two, the refused one is named.
    let batch = home.join("batch");
    std::fs::create_dir_all(&batch).expect("batch folder");
    let written = std::fs::read_to_string(&files[0]).expect("the signed order");
    std::fs::write(batch.join("repeat.xml"), &written).expect("order");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/orders/tests/orders/sample.pain.001.001.03.xml"),
        batch.join("accounting-package.xml"),
    )
    .expect("a .03 order");
    std::fs::write(batch.join("refused.xml"), written.replace(">1250.00<", ">1250.001<")).expect("bad order");
    app.upload(
        "#file-input",
        &[
            &batch.join("repeat.xml"),
            &batch.join("accounting-package.xml"),
            &batch.join("refused.xml"),
        ],
    );
    app.click("#file-prepare");
    app.wait_text("#batch-counts", "2 of 3 files can be signed", LONG);
    let listed = app.text("#batch-files");
    assert!(
        listed.contains("Amt/InstdAmt") && listed.contains("1,250.51 EUR"),
        "{listed}"
    );
    shots.take(&app, "sign-batch");
    app.click("#batch-confirm");
    app.wait_text("#sign-result", "Signed 2 of 2", LONG);
    shots.take(&app, "sign-batch-result");

    // My keys: the certificate and the history of signatures.
    app.click("#nav [data-screen=keys]");
    app.wait_text("#history", &order_name, LONG);
    let first_certificate = app.wait_text("#keys-certificate", "Dana Example", LONG);
    let signer_shown = app.wait_text("#keys-signer", "Delivered by the key server", LONG);
    let signer_file = signet_journeys::binary("signet-signer");
    let signer_bytes = std::fs::read(&signer_file).expect("the built signer");
    assert!(
        signer_shown
            .replace(' ', "")
            .contains(&signet_journeys::sha256_hex(&signer_bytes)),
        "{signer_shown}"
    );
    shots.take(&app, "keys");
    // The delivered signer runs from a sealed memfd, and no copy of it is on
    // this computer's disk: not in the app's home, not in the temporary directories.
    let signers = processes("signet-signer", &marker);
    assert_eq!(signers.len(), 1, "one signer: {signers:?}");
    let exe = std::fs::read_link(format!("/proc/{}/exe", signers[0])).expect("the signer's executable");
    assert!(
        exe.to_string_lossy().starts_with("/memfd:signet-signer"),
        "the signer runs from {exe:?}"
    );
    for dir in [
        home.clone(),
        std::env::temp_dir(),
        PathBuf::from("/var/tmp"),
        PathBuf::from("/dev/shm"),
    ] {
        let copies = copies_of(&signer_bytes, &dir);
        assert!(copies.is_empty(), "the signer was written to disk: {copies:?}");
    }

    // A new pass phrase: the fields are emptied, the old one no longer opens the key.
    app.fill("#cp-current", dana_pass);
    app.fill("#cp-new", dana_new_pass);
    app.fill("#cp-new2", dana_new_pass);
    app.click("#cp-submit:not([disabled])");
    app.wait_text("#cp-result", "pass phrase is changed", LONG);
    for field in ["#cp-current", "#cp-new", "#cp-new2"] {
        let left = app.script("return document.querySelector(arguments[0]).value", json!([field]));
        assert_eq!(left, json!(""), "{field} left in the page");
    }
    let old_file = keys.write("dana-old-pass", dana_pass);
    assert_eq!(
        keys.signet(&["login", "-u", "dana", "--passphrase-file", &old_file])
            .code,
        3,
        "the old pass phrase still opens the key"
    );
    let dana_file = keys.write("dana-pass", dana_new_pass);

    // A new key pair: a new certificate; the one before it is superseded.
    app.fill("#newkey-current", dana_new_pass);
    app.click("#newkey-submit");
    let made = app.wait_text("#newkey-result", "new key pair is in use", LONG);
    let second_certificate = app.wait_text("#keys-certificate", "Dana Example", LONG);
    assert_ne!(first_certificate, second_certificate, "{made}");
    app.script(
        "document.querySelector('#newkey-result').scrollIntoView({block: 'center'})",
        json!([]),
    );
    shots.take(&app, "keys-new-key");
    app.click("#sign-out");
    sign_in(&app, "dana", dana_new_pass);

    // Help desk: Erik's letter is saved and marked printed from the app.
    let erik_file = keys.write("erik-pass", "quiet harbour umbrella ninety violins");
    let erik_application = keys.apply("erik", "Erik Example", &erik_file);
    app.click("#nav [data-screen=helpdesk]");
    app.click("#letters-refresh");
    let row = format!("#letters tr[data-application='{erik_application}']");
    app.wait_visible(&row, LONG);
    shots.take(&app, "helpdesk");
    app.click(&format!("{row} .save-letter"));
    let saved = app.wait_text("#helpdesk-message", ".pdf", LONG);
    let pdf_path = home
        .join("Signet/letters")
        .join(format!("letter-{erik_application}.pdf"));
    assert!(saved.contains(&pdf_path.display().to_string()), "{saved}");
    let erik_phrase = phrase_in_letter(&std::fs::read(&pdf_path).expect("saved letter")).expect("phrase");
    app.click(&format!("{row} .mark-printed"));
    app.wait_text("#helpdesk-message", "printed", LONG);
    // Printed letters stay listed until they are posted.
    app.click("#letters-refresh");
    app.wait_text(&row, "printed", LONG);
    app.click(&format!("{row} .mark-dispatched"));
    app.wait_text(&row, "posted", LONG);
    keys.consent("erik", &erik_phrase);
    assert_eq!(
        keys.signet(&["login", "-u", "erik", "--passphrase-file", &erik_file])
            .code,
        0
    );

    // Erik lost his pass phrase: the help desk re-registers him.
    app.fill("#user-search", "erik");
    app.click("#user-search-submit");
    let user_row = "#users tr[data-user='erik']";
    app.wait_text(user_row, "active", LONG);
    app.click(&format!("{user_row} .reset-user"));
    app.click(&format!("{user_row} .confirm"));
    app.wait_text("#helpdesk-message", "erik", LONG);
    assert_eq!(
        keys.signet(&["login", "-u", "erik", "--passphrase-file", &erik_file])
            .code,
        3
    );

    // Gus revokes his own key: asked to confirm, signed out, the key is gone.
    let gus_pass = "timber falcon seventy quiet orchards";
    let gus_file = keys.registered_user("dana", &dana_file, "gus", "Gus Example", gus_pass);
    app.click("#sign-out");
    sign_in(&app, "gus", gus_pass);
    app.click("#nav [data-screen=keys]");
    app.fill("#revoke-pass", gus_pass);
    app.set_value("#revoke-reason", "key-compromise");
    app.click("#revoke-submit");
    app.wait_visible("#revoke-confirm-box", LONG);
    shots.take(&app, "keys-revoke");
    app.click("#revoke-confirm");
    app.wait_text("#signin-notice", "revoked", LONG);
    assert!(!app.is_visible("#sign-out"), "still signed in after revoking");
    assert_eq!(
        keys.signet(&["login", "-u", "gus", "--passphrase-file", &gus_file])
            .code,
        3,
        "a revoked key still opens"
    );

    // An auditor opens Erik's archived (revoked) certificate.
    let fiona_pass = "copper meadow lantern fifty giraffes";
    keys.registered_user("dana", &dana_file, "fiona", "Fiona Example", fiona_pass);
    let out = server.admin(&["admin", "set-role", "--user-id", "fiona", "--role", "auditor"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    sign_in(&app, "fiona", fiona_pass);
    app.click("#nav [data-screen=audit]");
    app.set_value("#audit-user", "erik");
    app.click("#audit-search");
    let revoked_row = "#certificates tr[data-serial] td";
    app.wait_text("#certificates", "revoked", LONG);
    shots.take(&app, "audit");
    app.click(revoked_row);
    app.wait_text("#certificate-detail", "BEGIN CERTIFICATE", LONG);
    app.wait_text("#certificate-detail", "Erik Example", LONG);
    shots.take(&app, "audit-certificate");
    assert!(
        !app.is_visible("#nav [data-screen=helpdesk]"),
        "an auditor sees no help-desk screen"
    );

    // Closing the window (a close request, as from the window manager) ends the signer within a second.
    let apps = processes("signet-desktop", &marker);
    let signers = processes("signet-signer", &marker);
    assert_eq!(
        (apps.len(), signers.len()),
        (1, 1),
        "one app, one signer: {apps:?} {signers:?}"
    );
    // The delivered signer's sealed memfd lives in the app, and goes with it.
    let memfds = std::fs::read_dir(format!("/proc/{}/fd", apps[0]))
        .expect("the app's descriptors")
        .flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy().starts_with("/memfd:signet-signer"))
        })
        .count();
    assert_eq!(memfds, 1, "the app holds the delivered signer in one memfd");
    let close = std::process::Command::new("/usr/bin/python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("close_window.py"))
        .arg(apps[0].to_string())
        .env("DISPLAY", &display.name)
        .output()
        .expect("close_window.py");
    assert!(close.status.success(), "{}", String::from_utf8_lossy(&close.stderr));
    let took = wait_gone(signers[0], Duration::from_secs(1));
    assert!(took.is_some(), "the signer outlived the closed window");
    assert!(
        wait_gone(apps[0], Duration::from_secs(5)).is_some(),
        "the app did not exit"
    );
    app.quit();

    // Killing the app: the signer goes by itself (parent-death signal).
    let app = App::start(&display, &keys, &[]);
    sign_in(&app, "fiona", fiona_pass);
    let apps = processes("signet-desktop", &marker);
    let signers = processes("signet-signer", &marker);
    assert_eq!(
        (apps.len(), signers.len()),
        (1, 1),
        "one app, one signer: {apps:?} {signers:?}"
    );
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &apps[0].to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert!(
        wait_gone(signers[0], Duration::from_secs(1)).is_some(),
        "the signer outlived the killed app"
    );
    app.quit();
}

/// The order's file among `dir`'s, by what its name ends with.
fn file_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    found.sort();
    found
}

#[test]
fn office_users_send_orders_to_the_bank_co_sign_and_see_its_signed_reports() {
    use signet_journeys::HostApp;

    const ACCOUNT: &str = "DE89 3704 0044 0532 0130 00";
    let server = KeyServer::start();
    let keys = SecretService::start();
    let display = Display::start();
    let shots = Shots::new();
    let home = home(&keys);
    let connected = keys.signet(&["connect", &server.base_url, "--fingerprint", &server.fingerprint()]);
    assert_eq!(connected.code, 0, "{}", connected.stderr);
    let dana_file = keys.write("dana-pass", "marble kettle orbit seventeen lanterns\n");
    keys.apply("dana", "Dana Example", &dana_file);
    keys.consent("dana", &server.bootstrap("dana"));
    let alice_pass = "violet harbour quietly folds maps";
    let alice_file = keys.registered_user("dana", &dana_file, "alice", "Alice Example", alice_pass);
    let bob_pass = "copper meadow listens to rain";
    keys.registered_user("dana", &dana_file, "bob", "Bob Example", bob_pass);
    let fiona_pass = "copper meadow lantern fifty giraffes";
    keys.registered_user("dana", &dana_file, "fiona", "Fiona Example", fiona_pass);
    let out = server.admin(&["admin", "set-role", "--user-id", "fiona", "--role", "auditor"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let host = HostApp::start(&server, "order-desk", &[]);
    let iban = ACCOUNT.replace(' ', "");
    host.mandate(&iban, "alice", "E", Some("1000.00"));
    host.mandate(&iban, "bob", "B", None);

    // Alice signs an order over her limit in the app and sends it to the bank: it waits for a second signature.
    let app = App::start(&display, &keys, &[]);
    app.wait_visible("#screen-signin", LONG);
    sign_in(&app, "alice", alice_pass);
    app.fill("#order-debtor-name", "Example Ltd");
    app.fill("#order-debtor-iban", ACCOUNT);
    app.fill("#order-creditor-name", "Supplier SA");
    app.fill("#order-creditor-iban", "FR14 2004 1010 0505 0001 3M02 606");
    app.fill("#order-amount", "5000.00");
    app.set_value("#order-currency", "EUR");
    app.fill("#order-reference", "Invoice 9001");
    app.set_value("#order-date", "2099-01-05");
    app.click("#order-prepare");
    app.wait_text("#order-summary", "5,000.00 EUR", LONG);
    app.click("#order-confirm");
    app.wait_text("#sign-result", ".p7s", LONG);
    app.click("#send-to-bank");
    let sent = app.wait_text("#send-to-bank-answers", "PDNG", LONG);
    assert!(sent.contains("waiting for signatures"), "{sent}");
    shots.take(&app, "bank-sent");
    let signed = home.join("Signet/signed");
    let reports = file_ending(&signed, ".pain002.xml");
    assert_eq!(reports.len(), 1, "the host's report kept beside the order: {reports:?}");
    assert!(
        std::fs::read_to_string(&reports[0])
            .expect("the report")
            .contains("<GrpSts>PDNG</GrpSts>")
    );

    // Bob finds it waiting for him, reviews the exact bytes the host holds, and co-signs: accepted.
    app.click("#sign-out");
    sign_in(&app, "bob", bob_pass);
    app.click("#nav [data-screen=orders]");
    app.wait_text("#orders-pending", "alice (A)", LONG);
    shots.take(&app, "bank-pending");
    app.click("#orders-pending .review-order");
    let detail = app.wait_text("#order-detail", "5,000.00 EUR", LONG);
    assert!(detail.contains("Supplier SA") && detail.contains("PDNG"), "{detail}");
    shots.take(&app, "bank-review");
    app.click("#order-cosign");
    let answer = app.wait_text("#orders-result", "ACCP", LONG);
    assert!(answer.contains("accepted") && answer.contains("bob (B)"), "{answer}");
    app.wait_text("#orders-mine", "accepted", LONG);
    assert!(!app.is_visible("#bank-alert"), "an alert about Bob's own signature");
    shots.take(&app, "bank-cosigned");

    // On another computer, someone with Alice's pass phrase signs and sends an order
    // under her name: when she next signs in here, the app raises the alarm.
    let elsewhere = keys.scratch().join("another-computer");
    std::fs::create_dir_all(&elsewhere).expect("another computer's folder");
    let csv = keys.write(
        "elsewhere.csv",
        &format!(
            "execution_date,debtor_name,debtor_iban,creditor_name,creditor_iban,amount,remittance\n\
             2099-01-05,Example Ltd,{iban},Somebody Else,GB82WEST12345698765432,900.00,Not Alice\n"
        ),
    );
    let order = elsewhere.join("elsewhere.xml").display().to_string();
    let other = [("XDG_DATA_HOME", elsewhere.to_str().expect("a path"))];
    let run = keys.signet_with(&["orders", "new", "--from", &csv, "-o", &order], &other);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = keys.signet_with(
        &[
            "orders",
            "submit",
            "-u",
            "alice",
            "--passphrase-file",
            &alice_file,
            &order,
        ],
        &other,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    app.click("#sign-out");
    sign_in(&app, "alice", alice_pass);
    let alert = app.wait_text("#bank-alert", "did not make", LONG);
    assert_eq!(
        app.script("return document.querySelectorAll('#bank-alert li').length", json!([])),
        json!(1),
        "only the order signed elsewhere: {alert}"
    );
    shots.take(&app, "bank-alert");
    app.click("#bank-alert-open");
    app.wait_text("#orders-mine", "accepted", LONG);
    // Her list marks the one order signed elsewhere, and only it.
    let marked = app.script(
        "return Array.from(document.querySelectorAll('#orders-mine tr.refused')).map(r => r.dataset.order)",
        json!([]),
    );
    let alerted = app.script(
        "return Array.from(document.querySelectorAll('#bank-alert li')).map(l => l.dataset.order)",
        json!([]),
    );
    assert_eq!(marked, alerted, "the marked rows are the alerted orders");
    assert_eq!(marked.as_array().map(Vec::len), Some(1), "{marked}");

    // An auditor checks Alice's order with the bank's receipt: the host's signed time is used.
    app.click("#sign-out");
    sign_in(&app, "fiona", fiona_pass);
    app.click("#nav [data-screen=audit]");
    let order_file = file_ending(&signed, ".xml")
        .into_iter()
        .find(|p| !p.to_string_lossy().ends_with(".pain002.xml"))
        .expect("Alice's order");
    let with = |suffix: &str| PathBuf::from(format!("{}{suffix}", order_file.display()));
    app.upload("#check-file", &[&order_file]);
    app.upload("#check-signature", &[&with(".p7s")]);
    app.upload("#check-receipt", &[&with(".pain002.xml")]);
    app.upload("#check-receipt-signature", &[&with(".pain002.xml.p7s")]);
    app.click("#check-submit");
    let checked = app.wait_text("#check-result", "VALID", LONG);
    assert!(checked.contains("by order-desk"), "{checked}");
    assert!(!checked.contains("NOT VALID"), "{checked}");
    app.script(
        "document.querySelector('#check-result').scrollIntoView({block: 'end'})",
        json!([]),
    );
    shots.take(&app, "audit-receipt");
    app.quit();
}
