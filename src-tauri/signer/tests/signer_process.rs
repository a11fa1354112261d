//! The real `signet-signer` binary, driven over its pipes as the app drives it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::Digest as _;
use signet_client::child::{ChildError, SignerProcess};
use signet_crypto::keys::PublicKey;
use signet_crypto::sign;
use signet_schema::protocol::{
    Bytes, ChannelPeer, ErrorCode, MAX_FRAME_LEN, Passphrase, Request, Response, SignatureFormat, encode_frame,
};
use signet_schema::{KdfParams, KeySize, RegistrationData, SignatureScheme};
use signet_signer::hardening::locked_kib;

const SIGNER: &str = env!("CARGO_BIN_EXE_signet-signer");

fn start(args: &[&str]) -> SignerProcess {
    SignerProcess::start(Path::new(SIGNER), args).expect("spawn signet-signer")
}

/// The error code of a refused call.
fn refused(result: Result<Response, ChildError>) -> ErrorCode {
    match result {
        Err(ChildError::Protocol { code, .. }) => code,
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

fn exit_code(signer: &mut SignerProcess, within: Duration) -> Option<i32> {
    signer.wait_exit(within).expect("wait").map(|s| s.code().unwrap_or(-1))
}

fn alice() -> RegistrationData {
    RegistrationData {
        user_id: "alice".into(),
        common_name: "Alice Example".into(),
        organization: "Example Bank".into(),
        organizational_unit: String::new(),
        email: "alice@example.com".into(),
        country: "GB".into(),
    }
}

fn pass(text: &str) -> Passphrase {
    Passphrase::new(text.into())
}

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

#[test]
fn hello_reports_hardening_in_force() {
    let mut signer = start(&[]);
    let Ok(Response::Ready {
        protocol,
        pid,
        hardening,
        ..
    }) = signer.call(Request::Hello)
    else {
        panic!("not ready")
    };
    assert_eq!(protocol, signet_schema::protocol::PROTOCOL_VERSION);
    assert_eq!(pid, signer.pid());
    assert!(hardening.core_dumps_disabled && hardening.not_dumpable && hardening.parent_death_signal);
    assert_eq!(hardening.sandbox, "seccomp");
    assert!(
        hardening.sandbox_verified,
        "the probe saw a socket or a write-open succeed"
    );
    assert_eq!(hardening.idle_timeout_secs, 300);
    // Seen from outside, through /proc.
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("child limits");
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .expect("core line");
    assert_eq!(core.split_whitespace().nth(4), Some("0"), "{core}");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("child status");
    assert!(
        status.lines().any(|l| l.starts_with("Seccomp:") && l.ends_with('2')),
        "no seccomp filter in force"
    );
    assert!(status.lines().any(|l| l.starts_with("NoNewPrivs:") && l.ends_with('1')));
    assert!(hardening.memory_locked);
    assert_eq!(
        hardening.memory_lock,
        if is_root() { "all-pages" } else { "heap-and-stack" }
    );
    assert!(locked_kib(pid).is_some_and(|k| k > 0), "VmLck is 0");
}

/// As an ordinary user under the usual 8 MiB lock limit, the signer locks its
/// heap and stack, and the KDF (19 MiB here) still runs.
#[test]
fn unprivileged_signer_locks_heap_and_stack() {
    if !is_root() {
        return; // hello_reports_hardening_in_force covers this case directly
    }
    let args = ["--reuid=65534", "--regid=65534", "--clear-groups", "--", SIGNER];
    let mut signer = SignerProcess::start(Path::new("setpriv"), &args).expect("spawn through setpriv");
    let pid = signer.pid();
    let Ok(Response::Ready { hardening, .. }) = signer.call(Request::Hello) else {
        panic!("not ready")
    };
    assert_eq!(hardening.memory_lock, "heap-and-stack");
    assert!(hardening.memory_locked && hardening.sandbox_verified);
    let before = locked_kib(pid).expect("VmLck");
    let generated = signer.call(Request::GenerateKey {
        registration: alice(),
        passphrase: pass("correct horse battery staple"),
        kdf: KdfParams::FLOOR,
        key_bits: KeySize::Rsa2048,
    });
    assert!(matches!(generated, Ok(Response::KeyGenerated { .. })), "{generated:?}");
    let after = locked_kib(pid).expect("VmLck");
    assert!(before > 0 && after >= before, "VmLck {before} -> {after} KiB");
    assert!(after <= 8 * 1024, "locked {after} KiB, above the usual limit");
    assert_eq!(signer.end().expect("end").code(), Some(0));
}

#[test]
fn apply_then_sign_in_then_sign() {
    // Apply: a fresh key, sealed, with its PKCS#10 and verifier.
    let mut signer = start(&[]);
    let Ok(Response::KeyGenerated {
        record,
        certification_request,
        verifier,
        public_key,
    }) = signer.call(Request::GenerateKey {
        registration: alice(),
        passphrase: pass("correct horse battery staple"),
        kdf: KdfParams::FLOOR,
        key_bits: KeySize::Rsa2048,
    })
    else {
        panic!("no key generated")
    };
    assert!(!certification_request.0.is_empty());
    assert_eq!(verifier.0.len(), 32);
    assert_eq!(signer.call(Request::End).expect("ended"), Response::Ended);
    assert_eq!(exit_code(&mut signer, Duration::from_secs(2)), Some(0));

    // Sign in with a new process, as after a restart of the app.
    let mut signer = start(&[]);
    let header = signet_schema::SealedKeyRecord::parse(&record.0)
        .expect("record parses")
        .header;
    let Ok(Response::Unlocked {
        verifier: wrong_verifier,
    }) = signer.call(Request::Unlock {
        user_id: "alice".into(),
        kdf: header.kdf_params,
        salt: Bytes(header.salt.clone()),
        passphrase: pass("correct horse battery stapler"),
    })
    else {
        panic!("unlock failed")
    };
    assert_ne!(wrong_verifier, verifier, "a wrong pass phrase gives another verifier");
    let wrong = signer.call(Request::OpenRecord {
        record: record.clone(),
        registration: alice(),
    });
    assert_eq!(refused(wrong), ErrorCode::WrongPassphrase);
    let Ok(Response::Unlocked { verifier: again }) = signer.call(Request::Unlock {
        user_id: "alice".into(),
        kdf: header.kdf_params,
        salt: Bytes(header.salt),
        passphrase: pass("correct horse battery staple"),
    }) else {
        panic!("unlock failed")
    };
    assert_eq!(again, verifier);
    let opened = signer.call(Request::OpenRecord {
        record,
        registration: alice(),
    });
    assert_eq!(
        opened.expect("opened"),
        Response::RecordOpened {
            public_key: public_key.clone(),
            key_bits: 2048
        }
    );

    // Sign many.
    let public = PublicKey::from_spki_der(&public_key.0).expect("spki");
    for (i, scheme) in [SignatureScheme::RsaPssSha256, SignatureScheme::RsaPkcs1v15Sha256]
        .into_iter()
        .enumerate()
    {
        let content = format!("payment order {i}").into_bytes();
        let Ok(Response::Signed { signature }) = signer.call(Request::Sign {
            content: Bytes(content.clone()),
            scheme,
            format: SignatureFormat::Raw,
            certificate: None,
        }) else {
            panic!("not signed")
        };
        sign::verify(&public, scheme, &content, &signature.0).expect("signature verifies");
    }
    // A document of any size: only its SHA-256 crosses the pipe (8 MiB here,
    // beyond what one frame could carry).
    let large = vec![b'x'; 8 * 1024 * 1024];
    let digest = sha2::Sha256::digest(&large).to_vec();
    for scheme in [SignatureScheme::RsaPssSha256, SignatureScheme::RsaPkcs1v15Sha256] {
        let reply = signer.call(Request::SignDigest {
            sha256: Bytes(digest.clone()),
            scheme,
            format: SignatureFormat::Raw,
            certificate: None,
        });
        let Ok(Response::Signed { signature }) = reply else {
            panic!("not signed: {reply:?}")
        };
        sign::verify(&public, scheme, &large, &signature.0).expect("the digest's signature verifies over the content");
    }
    let short = signer.call(Request::SignDigest {
        sha256: Bytes(vec![0; 20]),
        scheme: SignatureScheme::RsaPssSha256,
        format: SignatureFormat::Raw,
        certificate: None,
    });
    assert_eq!(refused(short), ErrorCode::BadRequest);
    let no_cert = signer.call(Request::Sign {
        content: Bytes(b"x".to_vec()),
        scheme: SignatureScheme::RsaPssSha256,
        format: SignatureFormat::Cms,
        certificate: None,
    });
    assert_eq!(refused(no_cert), ErrorCode::BadRequest);
    assert_eq!(signer.call(Request::End).expect("ended"), Response::Ended);
    assert_eq!(exit_code(&mut signer, Duration::from_secs(2)), Some(0));
}

#[test]
fn requests_out_of_order_get_typed_errors() {
    let mut signer = start(&[]);
    let sign = signer.call(Request::Sign {
        content: Bytes(b"x".to_vec()),
        scheme: SignatureScheme::RsaPssSha256,
        format: SignatureFormat::Raw,
        certificate: None,
    });
    assert_eq!(refused(sign), ErrorCode::NoKey);
    let open = signer.call(Request::OpenRecord {
        record: Bytes(vec![1, 2, 3]),
        registration: alice(),
    });
    assert_eq!(refused(open), ErrorCode::NotUnlocked);
    let weak = signer.call(Request::Unlock {
        user_id: "alice".into(),
        kdf: KdfParams {
            m_kib: 1024,
            t: 1,
            p: 1,
        },
        salt: Bytes(vec![0; 16]),
        passphrase: pass("x"),
    });
    assert_eq!(refused(weak), ErrorCode::KdfTooWeak);
    assert!(matches!(signer.call(Request::Hello), Ok(Response::Ready { .. })));
}

#[test]
fn channel_requests_without_a_channel_are_refused() {
    let mut signer = start(&[]);
    let seal = signer.call(Request::ChannelSeal {
        peer: ChannelPeer::KeyServer,
        method: "POST".into(),
        path: "/v1/signin".into(),
        plaintext: Bytes(b"{}".to_vec()),
    });
    assert_eq!(refused(seal), ErrorCode::ChannelRefused);
    let forged = signet_schema::channel::SignedBootstrap {
        document: Bytes(br#"{"version":1}"#.to_vec()),
        signature: Bytes(vec![0; 384]),
    };
    let open = signer.call(Request::ChannelOpen {
        peer: ChannelPeer::KeyServer,
        bootstrap: forged,
        pinned_integrity_key: None,
    });
    assert_eq!(refused(open), ErrorCode::ChannelRefused);
    assert!(matches!(signer.call(Request::Hello), Ok(Response::Ready { .. })));
}

#[test]
fn malformed_and_oversized_frames_get_error_replies() {
    let mut signer = start(&[]);
    let cases: Vec<(Vec<u8>, ErrorCode)> = vec![
        (b"\x00\x00\x00\x03abc".to_vec(), ErrorCode::MalformedFrame),
        (b"\x00\x00\x00\x02\xff\xfe".to_vec(), ErrorCode::MalformedFrame),
        (
            encode_frame(&serde_json::json!({"v": 9, "id": 4, "type": "hello"})),
            ErrorCode::UnsupportedVersion,
        ),
        (
            encode_frame(&serde_json::json!({"v": 2, "id": 5, "type": "format-disk"})),
            ErrorCode::UnknownMessage,
        ),
        (
            encode_frame(&serde_json::json!({"v": 2, "id": 6, "type": "sign", "content": 17})),
            ErrorCode::BadRequest,
        ),
        (0u32.to_be_bytes().to_vec(), ErrorCode::MalformedFrame),
    ];
    for (frame, code) in cases {
        signer.send_raw(&frame).expect("send");
        let (_, reply) = signer.read_reply().expect("reply");
        assert!(
            matches!(reply, Response::Error { code: c, .. } if c == code),
            "expected {code:?}, got {reply:?}"
        );
    }
    // An oversized frame is skipped, not buffered, and the session survives it.
    let declared = MAX_FRAME_LEN + 1;
    let mut frame = (declared as u32).to_be_bytes().to_vec();
    frame.resize(4 + declared, b'x');
    signer.send_raw(&frame).expect("send");
    let (_, reply) = signer.read_reply().expect("reply");
    assert!(
        matches!(
            reply,
            Response::Error {
                code: ErrorCode::FrameTooLarge,
                ..
            }
        ),
        "{reply:?}"
    );
    assert!(matches!(signer.call(Request::Hello), Ok(Response::Ready { .. })));
}

#[test]
fn exits_when_stdin_closes() {
    let mut signer = start(&[]);
    assert!(matches!(signer.call(Request::Hello), Ok(Response::Ready { .. })));
    signer.close_stdin();
    assert_eq!(exit_code(&mut signer, Duration::from_secs(1)), Some(0));
}

#[test]
fn a_truncated_frame_is_a_transport_error() {
    let mut signer = start(&[]);
    signer.send_raw(b"\x00\x00\x01\x00{\"v\":1").expect("send");
    signer.close_stdin();
    assert_eq!(exit_code(&mut signer, Duration::from_secs(1)), Some(1));
}

#[test]
fn requests_sent_together_are_all_answered() {
    let mut signer = start(&["--idle-timeout", "5"]);
    let mut frames = Vec::new();
    for id in 1..=3u64 {
        frames.extend(encode_frame(&serde_json::json!({"v": 2, "id": id, "type": "hello"})));
    }
    signer.send_raw(&frames).expect("send");
    for id in 1..=3u64 {
        let (reply_id, reply) = signer.read_reply().expect("reply");
        assert_eq!(reply_id, id);
        assert!(matches!(reply, Response::Ready { .. }));
    }
}

#[test]
fn a_stalled_frame_ends_with_the_idle_timeout() {
    let mut signer = start(&["--idle-timeout", "1"]);
    signer
        .send_raw(b"\x00\x00\x00\x40{\"v\":1,")
        .expect("send half a frame");
    assert_eq!(exit_code(&mut signer, Duration::from_secs(3)), Some(3));
}

#[test]
fn version_is_printed_on_stdout() {
    let output = Command::new(SIGNER)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("signet-signer "));
}

#[test]
fn exits_after_the_idle_timeout() {
    let mut signer = start(&["--idle-timeout", "1"]);
    assert!(matches!(signer.call(Request::Hello), Ok(Response::Ready { .. })));
    let started = Instant::now();
    assert_eq!(exit_code(&mut signer, Duration::from_secs(3)), Some(3));
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[test]
fn bad_arguments_are_refused() {
    let status = Command::new(SIGNER)
        .arg("--idle-timeout")
        .arg("soon")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(status.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&status.stderr).contains("--idle-timeout"));
}

/// Kills the signer's parent with SIGKILL while the signer's stdin stays open
/// (held by `sleep`), so only PR_SET_PDEATHSIG can end it.
#[test]
fn dies_within_a_second_of_its_parent() {
    let mut shell = Command::new("sh")
        .arg("-c")
        .arg(format!("sleep 30 | '{SIGNER}'"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn shell");
    let shell_pid = shell.id();
    let signer_pid = wait_for_child_named(shell_pid, "signet-signer").expect("signer started under the shell");
    let sleep_pid = wait_for_child_named(shell_pid, "sleep").expect("sleep started under the shell");
    // kill(1) keeps this test free of unsafe code.
    let killed = Command::new("kill")
        .args(["-KILL", &shell_pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let _ = shell.wait();
    let deadline = Instant::now() + Duration::from_secs(1);
    while alive(signer_pid) {
        assert!(
            Instant::now() < deadline,
            "signer {signer_pid} outlived its parent by more than a second"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = Command::new("kill").args(["-KILL", &sleep_pid.to_string()]).status();
}

fn wait_for_child_named(parent: u32, name: &str) -> Option<u32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // stat: "pid (comm) state ppid ..."; comm is cut at 15 bytes.
            let Some((comm, rest)) = stat
                .split_once(") ")
                .and_then(|(l, r)| Some((l.split_once(" (")?.1, r)))
            else {
                continue;
            };
            let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(parent) && name.starts_with(comm) && alive(pid) {
                // Give it time to reach its read loop (hardening applied).
                std::thread::sleep(Duration::from_millis(100));
                return Some(pid);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Alive and not a zombie (a zombie holds no memory).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(stat.split_once(") ").map(|(_, r)| r.as_bytes()[0]), Some(b'Z' | b'X')),
        Err(_) => false,
    }
}
