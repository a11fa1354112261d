//! The parent's side of the signer protocol: start a `signet-signer`
//! process, send requests, read replies, end it.
//!
//! Used by the desktop app's supervisor, the CLI, the tests and the
//! benchmarks, so that every one of them speaks the protocol through the
//! same code.

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use signet_schema::protocol::{
    ErrorCode, FRAME_HEADER_LEN, MAX_FRAME_LEN, PROTOCOL_VERSION, Request, RequestEnvelope, Response, decode_response,
    encode_frame,
};

/// Why a call to the signer failed. Transport failures mean the process is
/// gone or broken; protocol failures are answers and the session goes on.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    /// The pipe broke, the process died, or a reply was not a valid frame.
    #[error("signer transport failure: {0}")]
    Transport(#[from] io::Error),
    /// The signer answered with an error.
    #[error("signer refused the request ({code:?}): {message}")]
    Protocol {
        /// Stable error code.
        code: ErrorCode,
        /// The signer's explanation.
        message: String,
    },
}

/// A running `signet-signer` with piped stdin and stdout.
pub struct SignerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    next_id: u64,
}

impl SignerProcess {
    /// Starts the signer binary at `path` with extra `args`, telling it our
    /// process id so that it can check it was not orphaned before starting.
    pub fn start(path: &Path, args: &[&str]) -> io::Result<SignerProcess> {
        use std::os::unix::process::CommandExt as _;
        let mut child = Command::new(path)
            // A delivered signer's path is `/proc/self/fd/N`: its name is its own.
            .arg0("signet-signer")
            // Nothing from this process's environment reaches the signer
            // (LD_PRELOAD, allocator settings…) but the home directory.
            .env_clear()
            .envs(std::env::var_os("HOME").map(|home| ("HOME", home)))
            .args(args)
            .arg("--parent-pid")
            .arg(std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("signer stdout was not piped"))?;
        Ok(SignerProcess {
            child,
            stdin,
            stdout,
            next_id: 1,
        })
    }

    /// The signer's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a request and waits for its reply; an error reply becomes
    /// [`ChildError::Protocol`].
    pub fn call(&mut self, request: Request) -> Result<Response, ChildError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send_raw(&encode_frame(&RequestEnvelope {
            v: PROTOCOL_VERSION,
            id,
            request,
        }))?;
        let (reply_id, response) = self.read_reply()?;
        if reply_id != id {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("reply to request {reply_id}, expected {id}"),
            )
            .into());
        }
        match response {
            Response::Error { code, message } => Err(ChildError::Protocol { code, message }),
            response => Ok(response),
        }
    }

    /// Writes bytes as they are (tests use it to send broken frames).
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::BrokenPipe))?;
        stdin.write_all(bytes)?;
        stdin.flush()
    }

    /// Reads one reply frame: the request id it answers and the reply.
    pub fn read_reply(&mut self) -> io::Result<(u64, Response)> {
        let mut header = [0u8; FRAME_HEADER_LEN];
        self.stdout.read_exact(&mut header)?;
        let len = u32::from_be_bytes(header) as usize;
        if len == 0 || len > 2 * MAX_FRAME_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("reply frame of {len} bytes"),
            ));
        }
        let mut body = vec![0u8; len];
        self.stdout.read_exact(&mut body)?;
        let envelope = decode_response(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok((envelope.id, envelope.response))
    }

    /// Closes the signer's stdin; it ends its session and exits.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits at most `within` for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Ends the session politely and waits for the process.
    pub fn end(mut self) -> Result<ExitStatus, ChildError> {
        self.call(Request::End)?;
        self.close_stdin();
        Ok(self.child.wait()?)
    }
}

impl Drop for SignerProcess {
    /// A signer is never left behind: killed if still running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
