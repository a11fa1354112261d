//! Supervision of the signing process: the only place a private key exists
//! in clear on this computer.
//!
//! A [`Signer`] is started at sign-in, from the image the key server
//! delivered ([`crate::delivery`]), and ended at sign-out, on idle
//! time-out, when the window closes and when the app exits; it is killed if
//! it does not end politely, and it ends by itself if this process dies
//! (`PR_SET_PDEATHSIG` and a parent check on its side).

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use crate::child::SignerProcess;
use crate::delivery::{SignerIdentity, SignerImage};
use signet_schema::protocol::{HardeningReport, Request, Response};

use crate::error::{ClientError, Result};

/// Environment variable naming the installed signer binary (unusual
/// installs), run only where the key server's policy allows it.
pub const SIGNER_ENV: &str = "SIGNET_SIGNER";
/// The signer binary's file name.
pub const SIGNER_BINARY: &str = "signet-signer";

/// Finds the installed signer: `$SIGNET_SIGNER`, else next to this program.
pub fn locate() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(SIGNER_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(ClientError::SignerUnavailable(format!(
                "{SIGNER_ENV} names {}, which is not a file",
                path.display()
            )))
        };
    }
    let exe = std::env::current_exe().map_err(|e| ClientError::SignerUnavailable(e.to_string()))?;
    let dir = exe
        .parent()
        .ok_or_else(|| ClientError::SignerUnavailable("this program has no directory".into()))?;
    // Test binaries live one level down (`deps/`) from the binaries they test.
    for candidate in [dir.join(SIGNER_BINARY), dir.join("..").join(SIGNER_BINARY)] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(ClientError::SignerUnavailable(format!(
        "{SIGNER_BINARY} is not installed next to {}",
        exe.display()
    )))
}

/// A request to the spawning thread: what to start, where to answer.
type SpawnRequest = (PathBuf, Vec<String>, mpsc::Sender<std::io::Result<SignerProcess>>);

/// Starts the signer from one thread that lives as long as the program.
///
/// The signer asks the kernel for `SIGKILL` when its parent dies
/// (`PR_SET_PDEATHSIG`), and "parent" there means the *thread* that forked
/// it: started from a worker of a thread pool, the signer would be killed
/// when that worker retires after a few idle seconds. So every signer is
/// forked by this one thread, which never exits.
fn spawn(path: &std::path::Path, args: &[&str]) -> Result<SignerProcess> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let gone = || ClientError::SignerUnavailable("the thread that starts the signer could not run".into());
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, incoming) = mpsc::channel::<SpawnRequest>();
        // If the thread cannot be made, `incoming` is dropped and every send below fails.
        let _ = std::thread::Builder::new()
            .name("signer-spawner".into())
            .spawn(move || {
                for (path, args, answer) in incoming {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let _ = answer.send(SignerProcess::start(&path, &args));
                }
            });
        Mutex::new(requests)
    });
    let (answer, answered) = mpsc::channel();
    let request = (path.to_path_buf(), args.iter().map(|a| a.to_string()).collect(), answer);
    spawner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send(request)
        .map_err(|_| gone())?;
    answered
        .recv()
        .map_err(|_| gone())?
        .map_err(|e| ClientError::SignerUnavailable(format!("{}: {e}", path.display())))
}

/// A running signing process.
pub struct Signer {
    process: Option<SignerProcess>,
    pid: u32,
    hardening: HardeningReport,
    identity: SignerIdentity,
    last_used: Instant,
    /// Whether a sealed channel to the key tier is open in it.
    pub(crate) channel_open: bool,
    /// The policy the key tier's bootstrap document signed when that
    /// channel was opened (verified by the signing core).
    pub(crate) signed_policy: Option<signet_schema::channel::BootstrapPolicy>,
    /// The host application (its address) a sealed channel is open to, if any.
    pub(crate) host_channel: Option<String>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("pid", &self.pid).finish_non_exhaustive()
    }
}

impl Signer {
    /// Starts the signer `image` (see [`crate::delivery::deliver`]) and
    /// checks it is hardened.
    pub fn start(image: &SignerImage) -> Result<Signer> {
        let mut process = spawn(&image.program(), &[])?;
        let (pid, hardening) = match process.call(Request::Hello)? {
            Response::Ready { pid, hardening, .. } => (pid, hardening),
            other => return Err(ClientError::SignerFailed(format!("unexpected greeting {other:?}"))),
        };
        if !hardening.not_dumpable || !hardening.core_dumps_disabled || !hardening.sandbox_verified {
            return Err(ClientError::SignerUnavailable(format!(
                "the signing process is not protected as it must be ({hardening:?})"
            )));
        }
        Ok(Signer {
            process: Some(process),
            pid,
            hardening,
            identity: image.identity.clone(),
            last_used: Instant::now(),
            channel_open: false,
            signed_policy: None,
            host_channel: None,
        })
    }

    /// The process id (the desktop app watches it).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Which signer runs: its release, where it came from, its hash.
    pub fn identity(&self) -> &SignerIdentity {
        &self.identity
    }

    /// The protection the signer reported at start.
    pub fn hardening(&self) -> &HardeningReport {
        &self.hardening
    }

    /// Time since the last request.
    pub fn idle_for(&self) -> Duration {
        self.last_used.elapsed()
    }

    /// Sends one request; an error answer becomes [`ClientError::SignerRefused`].
    pub fn call(&mut self, request: Request) -> Result<Response> {
        let process = self
            .process
            .as_mut()
            .ok_or_else(|| ClientError::SignerFailed("the session has ended".into()))?;
        self.last_used = Instant::now();
        match process.call(request) {
            Ok(response) => Ok(response),
            Err(e) => {
                let error = ClientError::from(e);
                if matches!(error, ClientError::SignerFailed(_)) {
                    // The process is gone or broken: never talk to it again.
                    self.process = None;
                }
                Err(error)
            }
        }
    }

    /// Whether the process is still there to talk to.
    pub fn is_running(&mut self) -> bool {
        match self.process.as_mut() {
            Some(process) => matches!(process.wait_exit(Duration::ZERO), Ok(None)),
            None => false,
        }
    }

    /// Ends the session: the signer wipes its keys and exits; killed if it
    /// has not gone within a second.
    pub fn end(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.call(Request::End);
            process.close_stdin();
            let _ = process.wait_exit(Duration::from_secs(1));
            // Dropping the process kills it if it is still there.
        }
    }
}

impl Drop for Signer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads a signer answer of the expected kind.
macro_rules! expect_answer {
    ($response:expr, $pattern:pat => $value:expr) => {
        match $response {
            $pattern => Ok($value),
            other => Err($crate::error::ClientError::SignerFailed(format!(
                "unexpected answer {:?}",
                std::mem::discriminant(&other)
            ))),
        }
    };
}
pub(crate) use expect_answer;
