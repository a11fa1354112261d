//! `signet-signer`: the ephemeral signing process.
//!
//! Started by the desktop app (or the `signet` CLI) with piped stdin and
//! stdout; speaks the framed protocol of [`signet_schema::protocol`] until it
//! is told to end, its stdin closes, its parent dies or it sits idle too long.
//! Diagnostics go to stderr, never a secret.
//!
//! ```text
//! signet-signer [--idle-timeout SECONDS] [--parent-pid PID] [--version]
//! ```

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::process::ExitCode;
use std::time::Duration;

use signet_schema::protocol::{
    self, ErrorCode, FRAME_HEADER_LEN, PROTOCOL_VERSION, Response, ResponseEnvelope, decode_request, encode_frame,
};
use signet_signer::dispatcher::{Next, Session};
use signet_signer::hardening;
use zeroize::Zeroizing;

/// Default idle time-out: five minutes without a request.
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Exit codes, for the supervising app.
mod exit {
    /// The session ended by request or by stdin closing (or `--version`).
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
    print_version: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        idle_timeout: DEFAULT_IDLE_TIMEOUT,
        parent_pid: None,
        print_version: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--idle-timeout" => {
                let secs: u64 = value("--idle-timeout")?
                    .parse()
                    .map_err(|_| "--idle-timeout takes whole seconds")?;
                if secs == 0 {
                    return Err("--idle-timeout must be at least 1 second".into());
                }
                options.idle_timeout = Duration::from_secs(secs);
            }
            "--parent-pid" => {
                options.parent_pid = Some(
                    value("--parent-pid")?
                        .parse()
                        .map_err(|_| "--parent-pid takes a process id")?,
                );
            }
            "--version" => options.print_version = true,
            other => {
                return Err(format!(
                    "unknown argument `{other}`\nusage: signet-signer [--idle-timeout SECONDS] [--parent-pid PID] [--version]"
                ));
            }
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
    out.write_all(&encode_frame(&ResponseEnvelope {
        v: PROTOCOL_VERSION,
        id,
        response,
    }))?;
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
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "stream ended inside a frame header",
                ));
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Stdin that never blocks longer than the idle time-out: every read first
/// waits for data, so a silent parent, or one that stops half-way through a
/// frame, ends the session. Buffering sits above it, so requests that arrive
/// together are all answered.
struct TimedStdin {
    file: File,
    timeout: Duration,
}

impl Read for TimedStdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !hardening::wait_readable(self.file.as_raw_fd(), self.timeout)? {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.file.read(buf)
    }
}

fn serve(session: &mut Session, idle_timeout: Duration, relock_after_requests: bool) -> Stop {
    // A duplicate of fd 0 that we own, so that reads are ours to time.
    let file = match io::stdin().as_fd().try_clone_to_owned() {
        Ok(fd) => File::from(fd),
        Err(e) => return Stop::Transport(e),
    };
    let mut input = BufReader::new(TimedStdin {
        file,
        timeout: idle_timeout,
    });
    let idle_or_transport = |e: io::Error| {
        if e.kind() == io::ErrorKind::TimedOut {
            Stop::Idle
        } else {
            Stop::Transport(e)
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    loop {
        let mut header = [0u8; FRAME_HEADER_LEN];
        match read_frame_header(&mut input, &mut header) {
            Ok(true) => {}
            Ok(false) => return Stop::Ended,
            Err(e) => return idle_or_transport(e),
        }
        let len = match protocol::frame_len(header) {
            Ok(len) => len,
            Err(0) => {
                let message = "empty frame: a frame carries 1 or more bytes of JSON".to_owned();
                if let Err(e) = protocol_error(&mut out, 0, ErrorCode::MalformedFrame, message) {
                    return Stop::Transport(e);
                }
                continue;
            }
            Err(declared) => {
                // Skip the oversized body without buffering it, then carry on.
                let skipped = io::copy(&mut (&mut input).take(declared as u64), &mut io::sink());
                let message = format!(
                    "frame of {declared} bytes refused: frames are 1 to {} bytes",
                    protocol::MAX_FRAME_LEN
                );
                let result = match skipped {
                    Ok(n) if n == declared as u64 => protocol_error(&mut out, 0, ErrorCode::FrameTooLarge, message),
                    Ok(_) => return Stop::Transport(io::ErrorKind::UnexpectedEof.into()),
                    Err(e) => return idle_or_transport(e),
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
            return idle_or_transport(e);
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
    if options.print_version {
        #[allow(clippy::print_stdout)]
        {
            println!(
                "signet-signer {} (protocol {PROTOCOL_VERSION})",
                env!("CARGO_PKG_VERSION")
            );
        }
        return ExitCode::from(exit::ENDED);
    }
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
            eprintln!(
                "signet-signer: idle for {} s, ending the session",
                options.idle_timeout.as_secs()
            );
            ExitCode::from(exit::IDLE)
        }
        Stop::Transport(e) => {
            eprintln!("signet-signer: transport failure: {e}");
            ExitCode::from(exit::TRANSPORT)
        }
    }
    // `session` is dropped here: the key and pass-phrase keys are wiped before exit.
}
