//! The `signet` command line as scripts use it, as real processes against a
//! real key server, with settings in a real Secret Service: connect with a
//! confirmed fingerprint, apply, consent from the printed letter, sign a
//! folder, verify, write, check and sign payment orders, help-desk and auditor work, pass-phrase change, new key,
//! revocation — and the exit codes a script relies on.

use signet_journeys::{KeyServer, SecretService, expect_exit as expect};

/// `signet` exit codes (see `signet --help`).
const OK: i32 = 0;
const FAILED: i32 = 1;
const USAGE: i32 = 2;
const AUTHENTICATION: i32 = 3;
const SERVER_IDENTITY: i32 = 5;
const KEYRING: i32 = 6;
const NOT_VALID: i32 = 7;

#[test]
fn a_script_registers_signs_a_folder_and_audits() {
    let mut server = KeyServer::start();
    let keys = SecretService::start();
    let work = keys.scratch();
    let url = server.base_url.as_str();

    // Nothing set up yet; a wrong fingerprint is refused and nothing is saved.
    expect(&keys.signet(&["status"]), SERVER_IDENTITY);
    let wrong = "00".repeat(32);
    let run = keys.signet(&["connect", url, "--fingerprint", &wrong]);
    expect(&run, SERVER_IDENTITY);
    assert!(run.stderr.contains("identity"), "{}", run.stderr);
    // No terminal to confirm on and no fingerprint given: refused.
    expect(&keys.signet(&["connect", url]), USAGE);
    expect(&keys.signet(&["status"]), SERVER_IDENTITY);
    expect(
        &keys.signet(&["connect", url, "--fingerprint", &server.fingerprint()]),
        OK,
    );
    let status = keys.signet(&["status"]);
    expect(&status, OK);
    assert!(status.stdout.contains(url), "{}", status.stdout);

    // Dana applies; a weak pass phrase is refused before anything is made.
    let weak = keys.write("weak", "password123\n");
    let run = keys.signet(&[
        "register",
        "--user-id",
        "dana",
        "--name",
        "Dana Example",
        "--organization",
        "Example Bank",
        "--email",
        "dana@example.com",
        "--country",
        "GB",
        "--passphrase-file",
        &weak,
    ]);
    expect(&run, USAGE);
    assert!(run.stderr.contains("15 characters"), "{}", run.stderr);
    let dana_pass = keys.write("dana-pass", "marble kettle orbit seventeen lanterns\n");
    let application = keys.apply("dana", "Dana Example", &dana_pass);
    assert!(!application.is_empty());

    // The operator makes Dana the first help-desk account; she consents from the letter.
    let phrase = server.bootstrap("dana");
    // The phrase is Crockford base32: change its first symbol to another symbol.
    let first = phrase.find(|c: char| c.is_ascii_alphanumeric()).expect("a symbol");
    let other = if phrase[first..].starts_with('0') { "1" } else { "0" };
    let mut mistyped = phrase.clone();
    mistyped.replace_range(first..first + 1, other);
    let typo = keys.write("typo", &mistyped);
    let run = keys.signet(&["consent", "--user-id", "dana", "--phrase-file", &typo]);
    assert!(run.code == AUTHENTICATION, "a mistyped phrase: {run:?}");
    let phrase_file = keys.write("phrase", &phrase);
    expect(
        &keys.signet(&["consent", "--user-id", "dana", "--phrase-file", &phrase_file]),
        OK,
    );

    // A wrong pass phrase: exit 3; the right one signs a folder of orders.
    let wrong_pass = keys.write("wrong-pass", "not the pass phrase of dana at all\n");
    expect(
        &keys.signet(&["login", "--passphrase-file", &wrong_pass]),
        AUTHENTICATION,
    );
    expect(&keys.signet(&["login", "--passphrase-file", &dana_pass]), OK);
    // The operator raises the key-derivation policy: at Dana's next sign-in
    // her record is sealed again under it (the same pass phrase, no new
    // certificate), once.
    server.restart_with(&["--kdf-memory-kib", "98304", "--kdf-passes", "3"]);
    let run = keys.signet(&["login", "--passphrase-file", &dana_pass]);
    expect(&run, OK);
    assert!(
        run.stderr.contains("is sealed again") && !run.stderr.contains("warning"),
        "{}",
        run.stderr
    );
    let run = keys.signet(&["login", "--passphrase-file", &dana_pass]);
    expect(&run, OK);
    assert!(
        !run.stderr.contains("sealed again"),
        "sealed again twice: {}",
        run.stderr
    );
    let orders = work.join("orders");
    std::fs::create_dir_all(&orders).expect("mkdir");
    for n in 1..=3 {
        let csv = keys.write(
            &format!("order-{n}.csv"),
            &format!(
                "execution_date,debtor_name,debtor_iban,creditor_name,creditor_iban,amount,remittance\n\
                 2099-01-05,Dana Example Ltd,DE89370400440532013000,Supplier {n} Ltd,FR1420041010050500013M02606,{n}00.00,Invoice {n}\n"
            ),
        );
        let order = orders.join(format!("order-{n}.xml")).display().to_string();
        expect(&keys.signet(&["orders", "new", "--from", &csv, "-o", &order]), OK);
    }
    // A file that is not a payment order is never signed, by `signet sign` either.
    let note = orders.join("note.xml");
    std::fs::write(&note, "<Document><MsgId>NOT-AN-ORDER</MsgId></Document>").expect("a file");
    let run = keys.signet(&["sign", "--passphrase-file", &dana_pass, &orders.display().to_string()]);
    expect(&run, FAILED);
    assert!(
        run.stdout.contains("3 of 4 order(s) signed; 1 refused"),
        "{}",
        run.stdout
    );
    assert!(
        !orders.join("note.xml.p7s").exists(),
        "a file that is not an order was signed"
    );
    std::fs::remove_file(&note).expect("remove the file");
    let order = orders.join("order-1.xml").display().to_string();
    // Signing again without --force would overwrite: refused, nothing signed.
    expect(&keys.signet(&["sign", "--passphrase-file", &dana_pass, &order]), USAGE);
    let run = keys.signet(&["verify", &order]);
    expect(&run, OK);
    assert!(run.stdout.starts_with("VALID"), "{}", run.stdout);
    assert!(run.stdout.contains("dana"), "{}", run.stdout);
    std::fs::write(
        orders.join("order-2.xml"),
        "<Document><MsgId>CHANGED</MsgId></Document>",
    )
    .expect("tamper");
    expect(
        &keys.signet(&["verify", &orders.join("order-2.xml").display().to_string()]),
        NOT_VALID,
    );

    // Payment orders: one written from a CSV of transactions, one refused by the
    // banks' checks; signing the folder signs the good one only, after one
    // pass-phrase entry, and the signature verifies.
    let payments = work.join("payments");
    std::fs::create_dir_all(&payments).expect("mkdir");
    let csv = keys.write(
        "payments.csv",
        "execution_date,debtor_name,debtor_iban,creditor_name,creditor_iban,amount,remittance\n\
         2099-01-05,Dana Example Ltd,DE89370400440532013000,Fournitures Dupont SARL,FR1420041010050500013M02606,1250.00,Invoice 4711\n\
         2099-01-05,Dana Example Ltd,DE89370400440532013000,Office Supplies Ltd,IE29AIBK93115212345678,99.95,Order 77\n",
    );
    let good = payments.join("good.xml");
    let run = keys.signet(&["orders", "new", "--from", &csv, "-o", &good.display().to_string()]);
    expect(&run, OK);
    assert!(
        run.stdout.contains("total 1349.95 EUR (2 payment(s))"),
        "{}",
        run.stdout
    );
    let written = std::fs::read_to_string(&good).expect("the order");
    std::fs::write(payments.join("bad.xml"), written.replace(">1250.00<", ">1250.001<")).expect("bad order");
    expect(&keys.signet(&["orders", "check", &good.display().to_string()]), OK);
    let folder = payments.display().to_string();
    let run = keys.signet(&["orders", "check", &folder]);
    expect(&run, FAILED);
    assert!(
        run.stdout.contains("REFUSED") && run.stdout.contains("Amt/InstdAmt"),
        "{}",
        run.stdout
    );
    expect(&keys.signet(&["orders", "check", "/nonexistent/order.xml"]), USAGE);
    let run = keys.signet(&["orders", "sign", "--passphrase-file", &dana_pass, &folder]);
    expect(&run, FAILED);
    assert!(
        run.stdout.contains("1 of 2 order(s) signed; 1 refused"),
        "{}",
        run.stdout
    );
    assert!(payments.join("good.xml.p7s").exists());
    assert!(!payments.join("bad.xml.p7s").exists(), "a refused order was signed");
    let run = keys.signet(&["verify", &good.display().to_string()]);
    expect(&run, OK);
    assert!(run.stdout.starts_with("VALID"), "{}", run.stdout);
    // The history cannot be written (its folder would be under a file): the
    // order is signed and saved, and said to be so, not "NOT signed".
    std::fs::remove_file(payments.join("bad.xml")).expect("remove the refused order");
    std::fs::remove_file(payments.join("good.xml.p7s")).expect("remove the signature");
    let out = keys
        .command(signet_journeys::binary("signet"))
        .args(["orders", "sign", "--passphrase-file", &dana_pass, &folder])
        .env("XDG_DATA_HOME", &dana_pass)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run signet");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(FAILED), "{stdout}");
    assert!(
        stdout.contains("signed and saved") && stdout.contains("not recorded") && !stdout.contains("NOT signed"),
        "{stdout}"
    );
    assert!(payments.join("good.xml.p7s").exists(), "the signature was not kept");

    // Erik applies; the help desk prints his letter; he consents and becomes an auditor.
    let erik_pass = keys.write("erik-pass", "quiet harbour umbrella ninety violins\n");
    keys.apply("erik", "Erik Example", &erik_pass);
    let run = keys.signet(&["helpdesk", "--passphrase-file", &dana_pass, "-u", "dana", "letters"]);
    expect(&run, OK);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("erik"))
        .expect("erik's letter listed")
        .to_owned();
    let erik_application = line.split_whitespace().next().expect("application id").to_owned();
    let erik_phrase = keys.print_letter("dana", &dana_pass, &erik_application);
    keys.consent("erik", &erik_phrase);
    // Erik is not help desk: the server refuses his staff request.
    expect(
        &keys.signet(&["helpdesk", "-u", "erik", "--passphrase-file", &erik_pass, "letters"]),
        AUTHENTICATION,
    );
    let out = server.admin(&["admin", "set-role", "--user-id", "erik", "--role", "auditor"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run = keys.signet(&["audit", "-u", "erik", "--passphrase-file", &erik_pass, "certs", "--csv"]);
    expect(&run, OK);
    assert!(
        run.stdout.lines().count() >= 3,
        "a header and two certificates: {}",
        run.stdout
    );
    let run = keys.signet(&["audit", "-u", "erik", "--passphrase-file", &erik_pass, "verify-log"]);
    expect(&run, OK);
    assert!(run.stdout.contains("intact"), "{}", run.stdout);
    let run = keys.signet(&[
        "audit",
        "-u",
        "erik",
        "--passphrase-file",
        &erik_pass,
        "events",
        "--subject",
        "dana",
    ]);
    expect(&run, OK);
    assert!(run.stdout.contains("dana"), "{}", run.stdout);

    // Dana takes a new key: her earlier signature stays valid (made before the old certificate was superseded).
    expect(
        &keys.signet(&["rekey", "-u", "dana", "--passphrase-file", &dana_pass]),
        OK,
    );
    let run = keys.signet(&["audit", "check", &order]);
    expect(&run, OK);
    assert!(run.stdout.contains("superseded"), "{}", run.stdout);
    let run = keys.signet(&[
        "audit",
        "-u",
        "erik",
        "--passphrase-file",
        &erik_pass,
        "certs",
        "--user",
        "dana",
        "--status",
        "superseded",
    ]);
    expect(&run, OK);
    assert_eq!(
        run.stdout.lines().count(),
        2,
        "one superseded certificate: {}",
        run.stdout
    );

    // Erik changes his pass phrase: the old one stops working.
    let erik_new = keys.write("erik-new", "copper meadow lantern fifty giraffes\n");
    expect(
        &keys.signet(&[
            "passphrase",
            "-u",
            "erik",
            "--passphrase-file",
            &erik_pass,
            "--new-passphrase-file",
            &erik_new,
        ]),
        OK,
    );
    expect(
        &keys.signet(&["login", "-u", "erik", "--passphrase-file", &erik_pass]),
        AUTHENTICATION,
    );
    expect(
        &keys.signet(&["login", "-u", "erik", "--passphrase-file", &erik_new]),
        OK,
    );

    // Revocation needs confirmation; then the key is gone for good.
    expect(
        &keys.signet(&["revoke", "-u", "erik", "--passphrase-file", &erik_new]),
        USAGE,
    );
    expect(
        &keys.signet(&[
            "revoke",
            "-u",
            "erik",
            "--passphrase-file",
            &erik_new,
            "--yes",
            "--reason",
            "key-compromise",
        ]),
        OK,
    );
    let run = keys.signet(&["login", "-u", "erik", "--passphrase-file", &erik_new]);
    expect(&run, AUTHENTICATION);
    assert!(run.stderr.contains("revoked"), "{}", run.stderr);

    // Help desk: the user list shows both, and revoking an unknown user is refused.
    let run = keys.signet(&["helpdesk", "-u", "dana", "--passphrase-file", &dana_pass, "users"]);
    expect(&run, OK);
    assert!(
        run.stdout.contains("erik") && run.stdout.contains("revoked"),
        "{}",
        run.stdout
    );
    expect(
        &keys.signet(&[
            "helpdesk",
            "-u",
            "dana",
            "--passphrase-file",
            &dana_pass,
            "revoke",
            "nobody",
        ]),
        FAILED,
    );
}

#[test]
fn without_a_keyring_the_command_line_stops_with_a_clear_message() {
    let keys = SecretService::start();
    let out = keys
        .command(signet_journeys::binary("signet"))
        .arg("status")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .output()
        .expect("run signet");
    assert_eq!(out.status.code(), Some(KEYRING), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keyring"), "{stderr}");
}
