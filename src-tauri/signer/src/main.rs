//! `signet-signer`: the ephemeral signing process.
//!
//! Started by the desktop app (or the `signet` CLI) with piped stdin and
//! stdout; speaks the framed protocol of [`signet_schema::protocol`] until it
//! is told to end, its stdin closes, its parent dies or it sits idle too long.
//! Diagnostics go to stderr, never a secret.
//!
//! ```text
//! signet-signer [--idle-timeout SECONDS] [--parent-pid PID]
//! ```

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use signet_schema::protocol::{
    self, ErrorCode, FRAME_HEADER_LEN, PROTOCOL_VERSION, Response, ResponseEnvelope, decode_request, encode_frame,
};
use signet_signer::hardening;
use signet_signer::session::{Next, Session};
use zeroize::Zeroizing;

/// Default idle time-out: five minutes without a request.
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Exit codes, for the supervising app.
mod exit {
    /// The session ended by request or by stdin closing.
    pub const ENDED: u8 = 0;
    /// A transport failure (short read, broken pipe).
    pub const TRANSPORT: u8 = 1;
    /// Bad command line.
    pub const USAGE: u8 = 2;
    /// The idle time-out passed.
    pub const IDLE: u8 = 3;
    /// Hardening could not be applied: the signer refuses to run.
    pub const UNHARDENED: u8 = 4;
}

struct Options {
    idle_timeout: Duration,
    parent_pid: Option<u32>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options { idle_timeout: DEFAULT_IDLE_TIMEOUT, parent_pid: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--idle-timeout" => {
                let secs: u64 = value("--idle-timeout")?.parse().map_err(|_| "--idle-timeout takes whole seconds")?;
                if secs == 0 {
                    return Err("--idle-timeout must be at least 1 second".into());
                }
                options.idle_timeout = Duration::from_secs(secs);
            }
            "--parent-pid" => {
                options.parent_pid = Some(value("--parent-pid")?.parse().map_err(|_| "--parent-pid takes a process id")?);
            }
            "--version" => return Err(format!("signet-signer {} (protocol {PROTOCOL_VERSION})", env!("CARGO_PKG_VERSION"))),
            other => return Err(format!("unknown argument `{other}`\nusage: signet-signer [--idle-timeout SECONDS] [--parent-pid PID]")),
        }
    }
    Ok(options)
}

/// Why the loop stopped.
enum Stop {
    Ended,
    Idle,
    Transport(io::Error),
}

fn send(out: &mut impl Write, id: u64, response: Response) -> io::Result<()> {
    out.write_all(&encode_frame(&ResponseEnvelope { v: PROTOCOL_VERSION, id, response }))?;
    out.flush()
}

fn protocol_error(out: &mut impl Write, id: u64, code: ErrorCode, message: String) -> io::Result<()> {
    send(out, id, Response::Error { code, message })
}

/// Reads exactly `buf.len()` bytes; `Ok(false)` if the stream ended before the first byte.
fn read_frame_header(input: &mut impl Read, buf: &mut [u8; FRAME_HEADER_LEN]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stream ended inside a frame header")),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn serve(session: &mut Session, idle_timeout: Duration, relock_after_requests: bool) -> Stop {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    loop {
        match hardening::wait_readable(0, idle_timeout) {
            Ok(true) => {}
            Ok(false) => return Stop::Idle,
            Err(e) => return Stop::Transport(e),
        }
        let mut header = [0u8; FRAME_HEADER_LEN];
        match read_frame_header(&mut input, &mut header) {
            Ok(true) => {}
            Ok(false) => return Stop::Ended,
            Err(e) => return Stop::Transport(e),
        }
        let len = match protocol::frame_len(header) {
            Ok(len) => len,
            Err(declared) => {
                // Skip the oversized body without buffering it, then carry on.
                let skipped = io::copy(&mut (&mut input).take(declared as u64), &mut io::sink());
                let message = format!("frame of {declared} bytes refused: frames are 1 to {} bytes", protocol::MAX_FRAME_LEN);
                let result = match skipped {
                    Ok(n) if n == declared as u64 => protocol_error(&mut out, 0, ErrorCode::FrameTooLarge, message),
                    Ok(_) => return Stop::Transport(io::ErrorKind::UnexpectedEof.into()),
                    Err(e) => Err(e),
                };
                if let Err(e) = result {
                    return Stop::Transport(e);
                }
                continue;
            }
        };
        // The body may hold a pass phrase: wiped when dropped.
        let mut body = Zeroizing::new(vec![0u8; len]);
        if let Err(e) = input.read_exact(&mut body) {
            return Stop::Transport(e);
        }
        let sent = match decode_request(&body) {
            Err(e) => protocol_error(&mut out, e.id, e.code, e.message),
            Ok(envelope) => {
                let (response, next) = session.handle(envelope.request);
                if relock_after_requests {
                    // The heap may have grown around a new key: lock the new pages too.
                    hardening::relock();
                }
                let sent = send(&mut out, envelope.id, response);
                if next == Next::End {
                    return match sent {
                        Ok(()) => Stop::Ended,
                        Err(e) => Stop::Transport(e),
                    };
                }
                sent
            }
        };
        if let Err(e) = sent {
            return Stop::Transport(e);
        }
    }
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let report = match hardening::harden(options.parent_pid, options.idle_timeout) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("signet-signer: refusing to run: {e}");
            return ExitCode::from(exit::UNHARDENED);
        }
    };
    let relock = report.memory_lock == hardening::MemoryLock::HeapAndStack.name();
    let mut session = Session::new(report);
    match serve(&mut session, options.idle_timeout, relock) {
        Stop::Ended => ExitCode::from(exit::ENDED),
        Stop::Idle => {
            eprintln!("signet-signer: idle for {} s, ending the session", options.idle_timeout.as_secs());
            ExitCode::from(exit::IDLE)
        }
        Stop::Transport(e) => {
            eprintln!("signet-signer: transport failure: {e}");
            ExitCode::from(exit::TRANSPORT)
        }
    }
    // `session` is dropped here: the key and pass-phrase keys are wiped before exit.
}
