//! Orders to the bank's host application, as real processes over real
//! sockets: the key server certifies the host (operator commands on each
//! side) and publishes it; office users sign and submit from the `signet`
//! command line; the host verifies, holds an order over the limit for a
//! second signature, and answers each step with a signed pain.002 that the
//! client checks and keeps, and that OpenSSL verifies too. A plain body to
//! the host is refused unread; a host the CA revoked gets no more orders.

use signet_journeys::{HostApp, KeyServer, SecretService, expect_exit as expect, openssl};

const ACCOUNT: &str = "DE89370400440532013000";

/// The host's order id on the line that names `message_id`, and the SHA-256
/// printed under it.
fn order_id(stdout: &str, message_id: &str) -> (String, String) {
    let mut lines = stdout.lines().skip_while(|l| !l.contains(message_id));
    let id = lines
        .next()
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no order {message_id} in:\n{stdout}"))
        .to_owned();
    let sha256 = lines
        .next()
        .and_then(|l| l.trim().strip_prefix("sha256 "))
        .unwrap_or_else(|| panic!("no sha256 under {message_id} in:\n{stdout}"))
        .to_owned();
    (id, sha256)
}

#[test]
fn orders_are_submitted_co_signed_and_answered_with_signed_reports() {
    let server = KeyServer::start();
    let keys = SecretService::start();
    let work = keys.scratch();
    expect(
        &keys.signet(&["connect", &server.base_url, "--fingerprint", &server.fingerprint()]),
        0,
    );
    let dana_pass = keys.write("dana-pass", "marble kettle orbit seventeen lanterns\n");
    keys.apply("dana", "Dana Example", &dana_pass);
    keys.consent("dana", &server.bootstrap("dana"));
    let alice_pass = keys.registered_user(
        "dana",
        &dana_pass,
        "alice",
        "Alice Example",
        "violet harbour quietly folds maps\n",
    );
    let bob_pass = keys.registered_user(
        "dana",
        &dana_pass,
        "bob",
        "Bob Example",
        "copper meadow listens to rain\n",
    );

    let host = HostApp::start(&server, "order-desk", &[]);
    host.mandate(ACCOUNT, "alice", "E", Some("1000.00"));
    host.mandate(ACCOUNT, "bob", "B", None);

    // Alice signs and submits an order within her limit: accepted at once.
    let order = |name: &str, amount: &str| {
        let csv = keys.write(
            &format!("{name}.csv"),
            &format!(
                "execution_date,debtor_name,debtor_iban,creditor_name,creditor_iban,amount,remittance\n\
                 2099-01-05,Example Ltd,{ACCOUNT},Supplier Ltd,FR1420041010050500013M02606,{amount},Invoice {name}\n"
            ),
        );
        let path = work.join(format!("{name}.xml")).display().to_string();
        expect(&keys.signet(&["orders", "new", "--from", &csv, "-o", &path]), 0);
        path
    };
    let alice = |args: &[&str]| {
        let mut all = vec![args[0], args[1], "-u", "alice", "--passphrase-file", &alice_pass];
        all.extend_from_slice(&args[2..]);
        keys.signet(&all)
    };
    let small = order("small", "250.00");
    let run = alice(&["orders", "submit", &small]);
    expect(&run, 0);
    assert!(run.stdout.contains(": accepted"), "{}", run.stdout);
    assert!(run.stdout.contains("signed by the host: ACCP"), "{}", run.stdout);

    // The report kept beside the order verifies with OpenSSL against the key server's CA.
    let report = format!("{small}.pain002.xml");
    assert!(
        std::fs::read_to_string(&report)
            .expect("the report")
            .contains("<GrpSts>ACCP</GrpSts>")
    );
    let ca = work.join("ca.pem");
    std::fs::write(&ca, server.client().get("/v1/ca.pem").1).expect("write the CA");
    let (ok, output) = openssl(
        &work,
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-purpose",
            "any",
            "-in",
            &format!("{report}.p7s"),
            "-content",
            &report,
            "-CAfile",
            &ca.display().to_string(),
            "-out",
            "/dev/null",
        ],
    );
    assert!(ok, "openssl cms -verify of the host's report: {output}");

    // Over her limit, Alice's signature counts as the first of two: the order waits.
    let large = order("large", "5000.00");
    let run = alice(&["orders", "submit", &large]);
    expect(&run, 0);
    assert!(run.stdout.contains("awaiting-signatures"), "{}", run.stdout);
    assert!(run.stdout.contains("PDNG"), "{}", run.stdout);

    // Bob finds it waiting for him and co-signs: A + B, accepted.
    let run = keys.signet(&["orders", "pending", "-u", "bob", "--passphrase-file", &bob_pass]);
    expect(&run, 0);
    let message_id = std::fs::read_to_string(&large)
        .expect("the order")
        .split("<MsgId>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("a message id")
        .to_owned();
    let (id, sha256) = order_id(&run.stdout, &message_id);
    // Alice cannot add a second signature of her own.
    let run = alice(&["orders", "cosign", &id, "--sha256", &sha256]);
    expect(&run, 0);
    assert!(run.stdout.contains("DS26"), "{}", run.stdout);
    let bob = |args: &[&str]| {
        let mut all = vec![args[0], args[1], "-u", "bob", "--passphrase-file", &bob_pass];
        all.extend_from_slice(&args[2..]);
        keys.signet(&all)
    };
    // Bob signs only the bytes he reviewed: another hash signs nothing.
    let other = "0".repeat(64);
    let run = bob(&["orders", "cosign", &id, "--sha256", &other]);
    expect(&run, 7);
    assert!(run.stderr.contains("not the one you reviewed"), "{}", run.stderr);
    let bob_copy = work.join("bob");
    let run = bob(&[
        "orders",
        "cosign",
        &id,
        "--sha256",
        &sha256,
        "--out",
        &bob_copy.display().to_string(),
    ]);
    expect(&run, 0);
    assert!(run.stdout.contains(": accepted"), "{}", run.stdout);
    assert!(run.stdout.contains("signed by bob (class B"), "{}", run.stdout);
    // Bob's copy: the exact bytes, his signature and the host's report, which states when
    // each signature arrived. His signature checks at its own time of receipt; the order's
    // earlier receipt (Alice's) does not vouch for it, so a co-signature cannot borrow it.
    let bob_order = bob_copy.join(format!("{message_id}.xml")).display().to_string();
    assert_eq!(
        std::fs::read(&bob_order).expect("Bob's copy of the order"),
        std::fs::read(&large).expect("Alice's order")
    );
    let run = keys.signet(&["verify", &bob_order]);
    expect(&run, 0);
    assert!(run.stdout.starts_with("VALID"), "{}", run.stdout);
    let run = keys.signet(&["verify", &bob_order, "--receipt", &format!("{large}.pain002.xml")]);
    expect(&run, 7);
    assert!(run.stderr.contains("does not record this signature"), "{}", run.stderr);

    // Alice sees both orders as the host holds them, and submitting one again is a duplicate.
    let run = alice(&["orders", "list"]);
    expect(&run, 0);
    assert_eq!(run.stdout.matches(": accepted").count(), 2, "{}", run.stdout);
    let run = alice(&["orders", "submit", "--force", &small]);
    expect(&run, 1);
    assert!(run.stdout.contains("AM05"), "{}", run.stdout);

    // A plain body is refused unread: only the sealed channel reaches the host's desk.
    let (status, body) = host.client().post("/v1/orders", "application/json", b"{}");
    assert_eq!(status, 415, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("sealing-required"));

    // An auditor's check uses the host's signed time of receipt, kept beside the order.
    let run = keys.signet(&["verify", &small]);
    expect(&run, 0);
    assert!(run.stdout.starts_with("VALID"), "{}", run.stdout);
    assert!(run.stdout.contains("by order-desk"), "{}", run.stdout);
    // Another order's receipt does not vouch for this one.
    let run = keys.signet(&["verify", &small, "--receipt", &format!("{large}.pain002.xml")]);
    expect(&run, 7);
    assert!(run.stderr.contains("another order"), "{}", run.stderr);
    // Alice's key is compromised and revoked: what the host received before stays valid.
    // Times are whole seconds, and a revocation in the second of a receipt counts against
    // the signature: the revocation comes a second later.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let run = keys.signet(&[
        "revoke",
        "-u",
        "alice",
        "--passphrase-file",
        &alice_pass,
        "--yes",
        "--reason",
        "key-compromise",
    ]);
    expect(&run, 0);
    let run = keys.signet(&["verify", &small]);
    expect(&run, 0);
    assert!(run.stdout.starts_with("VALID"), "{}", run.stdout);

    // Bob signs an order, then makes a new key pair (his certificate is superseded) before
    // sending it: the request comes under his new certificate, the signature under the old
    // one. The host refuses it (DS0E) and its signed answer vouches for the receipt of no
    // signature, so it cannot serve an auditor as a time of receipt.
    let late = order("late", "20.00");
    expect(&bob(&["orders", "sign", &late]), 0);
    // Whole-second times: a new key in the second of the signature would count against it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    expect(&keys.signet(&["rekey", "-u", "bob", "--passphrase-file", &bob_pass]), 0);
    let run = bob(&["orders", "send", &late]);
    expect(&run, 1);
    assert!(run.stdout.contains("DS0E"), "{}", run.stdout);
    let run = keys.signet(&["verify", &late]);
    expect(&run, 7);
    assert!(run.stderr.contains("does not record this signature"), "{}", run.stderr);
    // Without the receipt, the signer's own clock says it was signed in time.
    std::fs::remove_file(format!("{late}.pain002.xml")).expect("set the receipt aside");
    let run = keys.signet(&["verify", &late]);
    expect(&run, 0);
    assert!(run.stdout.starts_with("VALID"), "{}", run.stdout);

    // An order signed under another CA's certificate is not valid here, whatever it carries.
    let elsewhere = KeyServer::start();
    let other = SecretService::start();
    expect(
        &other.signet(&[
            "connect",
            &elsewhere.base_url,
            "--fingerprint",
            &elsewhere.fingerprint(),
        ]),
        0,
    );
    let erin_pass = other.write("erin-pass", "quiet orchard numbers seven lanterns\n");
    other.apply("erin", "Erin Example", &erin_pass);
    other.consent("erin", &elsewhere.bootstrap("erin"));
    let foreign = work.join("foreign.xml");
    std::fs::copy(&small, &foreign).expect("copy an order");
    let foreign = foreign.display().to_string();
    expect(
        &other.signet(&[
            "orders",
            "sign",
            "-u",
            "erin",
            "--passphrase-file",
            &erin_pass,
            &foreign,
        ]),
        0,
    );
    let run = keys.signet(&["verify", &foreign]);
    expect(&run, 7);
    assert!(
        run.stderr.contains("not issued by this key server's CA"),
        "{}",
        run.stderr
    );

    // The operator revokes the host: clients no longer send it orders.
    let out = server.admin(&["admin", "revoke-host", "--name", "order-desk"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let another = order("another", "10.00");
    let run = keys.signet(&[
        "orders",
        "submit",
        "-u",
        "bob",
        "--passphrase-file",
        &bob_pass,
        &another,
    ]);
    expect(&run, 7);
    assert!(run.stderr.contains("revoked"), "{}", run.stderr);
}
