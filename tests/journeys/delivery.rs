//! Delivery of the signing core, as real processes: the key server hands
//! the client a signed release, the client checks it and runs the signer
//! from a sealed memfd. Each way a release can be wrong is refused with a
//! clear message, the `signet` exit code for the signer (8), and no signer
//! started; an older release is never run again; where running from memory
//! is forbidden, the installed signer runs only if the key server allows it.

use std::path::Path;

use signet_journeys::{KeyServer, Run, SecretService, binary, development_release_key, sha256_hex};

/// `signet`'s exit code for a signer that could not start or was refused.
const SIGNER: i32 = 8;
/// `signet`'s exit code for a request the key server refused.
const FAILED: i32 = 1;

#[track_caller]
fn refused(run: &Run, why: &str) {
    assert_eq!(
        run.code, SIGNER,
        "exit code\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stderr.contains("was refused and did not run"), "{}", run.stderr);
    assert!(run.stderr.contains(why), "expected {why:?} in:\n{}", run.stderr);
}

#[track_caller]
fn delivered(run: &Run, release: u64) -> String {
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!(
            "(release {release}), delivered by the key server, run from memory"
        )),
        "{}",
        run.stdout
    );
    run.stdout.clone()
}

fn connect(keys: &SecretService, server: &KeyServer) {
    let run = keys.signet(&["connect", &server.base_url, "--fingerprint", &server.fingerprint()]);
    assert_eq!(run.code, 0, "{run:?}");
}

fn sha256_of(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).expect("read"))
}

/// Changes one stored value in a key server's SQLite database, as someone
/// with write access to the key tier's storage could: `change` is Python
/// that edits the bytearray `b`.
fn tamper(server: &KeyServer, table: &str, column: &str, key_column: &str, key: &str, change: &str) {
    let script = format!(
        "import sqlite3, sys\n\
         c = sqlite3.connect(sys.argv[1])\n\
         b = bytearray(c.execute('SELECT {column} FROM {table} WHERE {key_column} = ?', (sys.argv[2],)).fetchone()[0])\n\
         {change}\n\
         c.execute('UPDATE {table} SET {column} = ? WHERE {key_column} = ?', (bytes(b), sys.argv[2]))\n\
         c.commit()\n"
    );
    on_database(server, &script, key);
}

/// Runs one SQL statement on a key server's SQLite database.
fn run_sql(server: &KeyServer, statement: &str) {
    on_database(
        server,
        "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute(sys.argv[2])\nc.commit()\n",
        statement,
    );
}

/// Runs Python `script` with the key server's database and `argument` as its arguments.
fn on_database(server: &KeyServer, script: &str, argument: &str) {
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(server.data_dir.join("signet.db"))
        .arg(argument)
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn only_a_signed_current_release_for_this_program_runs_and_never_an_older_one() {
    let signer = binary("signet-signer");
    let dev_key = development_release_key();
    let keys = SecretService::start();
    let server = KeyServer::start_without_signer();
    connect(&keys, &server);

    // Nothing published: nothing runs.
    refused(&keys.signet(&["signer"]), "delivers no signer");

    // A release signed by a key the client was not built to trust.
    let work = keys.scratch();
    let stranger = work.join("stranger.pem");
    let made = server.admin_offline(&[
        "applet",
        "release-key",
        "--out",
        &stranger.display().to_string(),
        "--public-out",
        &work.join("stranger.pub.pem").display().to_string(),
    ]);
    assert!(made.status.success(), "{made:?}");
    let untrusted = server.sign_release(&stranger, &signer, 1, &[]);
    assert!(server.publish(&untrusted, &signer).status.success());
    refused(&keys.signet(&["signer"]), "does not trust");

    // A release for another signer protocol.
    let other_protocol = server.sign_release(&dev_key, &signer, 2, &["--protocol-version", "99"]);
    assert!(server.publish(&other_protocol, &signer).status.success());
    refused(&keys.signet(&["signer"]), "speaks signer protocol 99");

    // Versions only grow at the key server too.
    let stale = server.sign_release(&dev_key, &signer, 2, &[]);
    let out = server.publish(&stale, &signer);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only grow"), "{out:?}");

    // A good release: delivered, with the hash of the binary that was built.
    server.publish_signer(5);
    let shown = delivered(&keys.signet(&["signer"]), 5);
    assert!(shown.contains(&sha256_of(&signer)), "{shown}");
    assert!(shown.contains("release key development"), "{shown}");

    // Another key server (or this one restored from an old backup) offers an
    // older release, properly signed: this computer ran release 5, so no.
    let older = KeyServer::start_without_signer();
    older.publish_signer(3);
    connect(&keys, &older);
    refused(&keys.signet(&["signer"]), "older than release 5");
    // Forgetting the server does not forget what was run.
    assert_eq!(keys.signet(&["forget"]).code, 0);
    connect(&keys, &older);
    refused(&keys.signet(&["signer"]), "older than release 5");
}

#[test]
fn a_changed_binary_or_release_signature_is_refused() {
    let signer = binary("signet-signer");
    let keys = SecretService::start();
    let server = KeyServer::start_without_signer();
    server.publish_signer(1);
    let sha256 = sha256_of(&signer);
    // The stored binary is changed after publication (one byte flipped in the middle).
    tamper(&server, "signer_binaries", "bytes", "sha256", &sha256, "b[1000] ^= 1");
    connect(&keys, &server);
    refused(&keys.signet(&["signer"]), "it was changed after release");
    // Signing in stops at the same check, before any signer starts.
    let pass = keys.write("pass", "marble kettle orbit seventeen lanterns\n");
    let run = keys.signet(&["login", "-u", "nobody", "--passphrase-file", &pass]);
    refused(&run, "it was changed after release");
    assert!(!run.stderr.contains("starting the signing process"), "{}", run.stderr);

    // What someone with write access to the key tier's storage could do to
    // have an old or changed release vouched for: the key tier refuses to
    // sign a freshness statement, so no client runs it.
    server.publish_signer(2);
    server.publish_signer(3);
    let not_vouched = |keys: &SecretService| {
        let run = keys.signet(&["signer"]);
        assert_eq!(run.code, FAILED, "{run:?}");
        assert!(!run.stdout.contains("delivered"), "{}", run.stdout);
    };
    // Release 3 removed: release 2, still validly signed, would be the newest row.
    run_sql(&server, "DELETE FROM signer_releases WHERE version = 3");
    not_vouched(&keys);
    // Release 2 relabelled as release 9.
    run_sql(&server, "UPDATE signer_releases SET version = 9 WHERE version = 2");
    not_vouched(&keys);
    // The signature of the newest release changed.
    server.publish_signer(10);
    tamper(
        &server,
        "signer_releases",
        "signed_release",
        "version",
        "10",
        "b = bytearray(bytes(b).replace(b'\"signature\": \"', b'\"signature\": \"AAAA', 1))",
    );
    not_vouched(&keys);
}

#[test]
fn where_memory_cannot_run_code_the_installed_signer_runs_only_if_the_server_allows() {
    let keys = SecretService::start();
    let server = KeyServer::start();
    connect(&keys, &server);
    // A stand-in for the kernel's setting: vm.memfd_noexec = 2.
    let sysctl = keys.write("memfd_noexec", "2\n");
    let signer = |keys: &SecretService| keys.signet_with(&["signer"], &[("SIGNET_MEMFD_NOEXEC_SYSCTL", &sysctl)]);
    refused(&signer(&keys), "forbids running programs from memory");
    let run = signer(&keys);
    assert!(
        run.stderr.contains("does not allow the signer installed"),
        "{}",
        run.stderr
    );

    // The policy written into storage by someone other than the operator's command counts for nothing.
    run_sql(
        &server,
        "INSERT INTO server_settings (name, value, updated_at) VALUES ('bundled_signer', 'allowed', 0)",
    );
    refused(&signer(&keys), "does not allow the signer installed");

    let out = server.admin(&["applet", "bundled-signer", "allowed"]);
    assert!(out.status.success(), "{out:?}");
    let run = signer(&keys);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("installed signer"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&sha256_of(&binary("signet-signer"))),
        "{}",
        run.stdout
    );
    // Without the stand-in, the delivered signer runs as before.
    delivered(&keys.signet(&["signer"]), 1);
}

#[test]
fn people_apply_consent_and_sign_in_with_the_delivered_signer() {
    let keys = SecretService::start();
    let server = KeyServer::start();
    connect(&keys, &server);
    let pass = keys.write("pass", "marble kettle orbit seventeen lanterns\n");
    keys.apply("dana", "Dana Example", &pass);
    let phrase = server.bootstrap("dana");
    keys.consent("dana", &phrase);
    let run = keys.signet(&["login", "-u", "dana", "--passphrase-file", &pass]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("fetching and checking the signing core"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("(release 1), delivered by the key server, run from memory"),
        "{}",
        run.stderr
    );
}

#[test]
fn make_run_publishes_the_built_signer_and_the_key_server_delivers_it() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let bin = binary("signet-keyserver")
        .parent()
        .expect("the binaries' directory")
        .to_path_buf();
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
    };
    let (port, host_port) = (free_port(), free_port());
    // Without a display, `make run`'s script publishes, serves and waits.
    let mut run = std::process::Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/run.sh"))
        .arg(&bin)
        .arg(&data_dir)
        .arg(format!("127.0.0.1:{port}"))
        .arg(format!("127.0.0.1:{host_port}"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdout(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("scripts/run.sh");
    let mut said = String::new();
    for line in BufReader::new(run.stdout.take().expect("stdout")).lines() {
        let line = line.expect("a line");
        said.push_str(&line);
        said.push('\n');
        if line.starts_with("no display") {
            break;
        }
    }
    let listed = std::process::Command::new(binary("signet-keyserver"))
        .args(["applet", "list", "--data-dir"])
        .arg(&data_dir)
        .output()
        .expect("applet list");
    let _ = std::process::Command::new("kill")
        .arg("--")
        .arg(format!("-{}", run.id()))
        .status();
    let _ = run.wait();
    assert!(said.contains("published signer release"), "{said}");
    // The host application was certified by the key server's CA and started beside it.
    assert!(
        said.contains(&format!("host application order-desk: https://127.0.0.1:{host_port}")),
        "{said}"
    );
    let listed = String::from_utf8_lossy(&listed.stdout);
    let first_build = listed.lines().nth(1).unwrap_or_default();
    assert!(
        listed.starts_with("release ") && listed.lines().next().unwrap_or_default().ends_with("(delivered)"),
        "{listed}"
    );
    assert!(first_build.contains(&sha256_of(&binary("signet-signer"))), "{listed}");
}
