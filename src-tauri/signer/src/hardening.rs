//! Process hardening for the signer: the crate's only `unsafe` code, kept in
//! this one module. Every call here is a thin, commented wrapper over a libc
//! system call whose arguments are plain integers or pointers to locals.
//!
//! Applied once at start-up, before the first request is read:
//!
//! 1. `RLIMIT_CORE = 0` — no core file, whatever the system's core pattern.
//! 2. `PR_SET_DUMPABLE = 0` — no ptrace attach by same-uid processes, no
//!    readable `/proc/<pid>/mem`, no core dump even through a pipe handler.
//! 3. `PR_SET_PDEATHSIG = SIGKILL` — the kernel kills the signer when the
//!    thread that spawned it dies, even if the app is SIGKILLed and never runs
//!    its exit handlers; then the parent is checked to close the race where it
//!    died before the call.
//! 4. Memory locking — key pages never reach swap. With a lock limit that
//!    covers the KDF's memory (or CAP_IPC_LOCK), `mlockall(MCL_CURRENT |
//!    MCL_FUTURE | MCL_ONFAULT)`; under the usual 8 MiB desktop limit, the
//!    heap, stack and small anonymous mappings, re-locked after every request
//!    (see [`MemoryLock`]). Secrets are also zeroized on drop.
//! 5. A seccomp-BPF filter (default allow, listed calls fail with `EPERM`):
//!    no sockets, no file opened for writing or created, no file-system
//!    changes, no `exec`, no `ptrace`, no `io_uring` (which would bypass the
//!    filter). Installed with `PR_SET_NO_NEW_PRIVS`, inherited by nothing
//!    since the signer never forks. A probe then checks that a socket and a
//!    write-open are refused.

#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op, SeccompCondition as Cond, SeccompFilter,
    SeccompRule,
};
use signet_schema::protocol::HardeningReport;

use signet_crypto::{Error, Result};

/// Memory the KDF may need beyond the process's usual few MiB: enough for
/// Argon2id at 1 GiB (`m` is capped at 4 GiB by the schema, far above policy).
const MEMLOCK_NEEDED: u64 = 1 << 30;

fn last_os_error(what: &str) -> Error {
    Error::System(format!("{what}: {}", io::Error::last_os_error()))
}

/// Sets `RLIMIT_CORE` to 0 (soft and hard).
pub fn disable_core_dumps() -> Result<()> {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads one rlimit struct from a valid local.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) } != 0 {
        return Err(last_os_error("setrlimit(RLIMIT_CORE)"));
    }
    Ok(())
}

/// Names the process `signet-signer` (`/proc/<pid>/comm`, what `ps` and
/// `top` show): started from a memfd, the kernel would name it after the
/// descriptor's number. Best effort: a name is not a protection.
pub fn name_process() {
    const NAME: &[u8] = b"signet-signer\0";
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes from a static.
    unsafe { libc::prctl(libc::PR_SET_NAME, NAME.as_ptr(), 0, 0, 0) };
}

/// Clears the dumpable flag.
pub fn set_not_dumpable() -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(last_os_error("prctl(PR_SET_DUMPABLE)"));
    }
    Ok(())
}

/// Whether the process is currently dumpable.
pub fn is_dumpable() -> bool {
    // SAFETY: prctl with integer arguments only; returns the flag.
    unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) == 1 }
}

/// Asks the kernel for SIGKILL when the parent dies, then checks that the
/// parent is still the expected one (or, with none expected, not init).
pub fn die_with_parent(expected_parent: Option<u32>) -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } != 0 {
        return Err(last_os_error("prctl(PR_SET_PDEATHSIG)"));
    }
    // SAFETY: getppid cannot fail.
    let parent = unsafe { libc::getppid() } as u32;
    let orphaned = match expected_parent {
        Some(expected) => parent != expected,
        None => parent == 1,
    };
    if orphaned {
        return Err(Error::System("the parent process is already gone".into()));
    }
    Ok(())
}

/// How much of the signer's memory is locked against swapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryLock {
    /// `mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)`: every page, now and later.
    AllPages,
    /// The heap, the stack and the small anonymous mappings, re-locked after
    /// every request ([`relock`]): where keys, derived keys and buffers live.
    /// Used when `RLIMIT_MEMLOCK` (8 MiB on most desktops) cannot cover the
    /// KDF's memory, which stays unlocked and is wiped after use.
    HeapAndStack,
    /// Nothing could be locked.
    None,
}

impl MemoryLock {
    /// The name used in the hardening report.
    pub fn name(self) -> &'static str {
        match self {
            MemoryLock::AllPages => "all-pages",
            MemoryLock::HeapAndStack => "heap-and-stack",
            MemoryLock::None => "none",
        }
    }
}

/// Whether the effective capabilities include CAP_IPC_LOCK (bit 14), which
/// lifts the lock limit.
fn has_ipc_lock_capability() -> bool {
    const CAP_IPC_LOCK: u32 = 14;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:").map(|v| v.trim().to_owned()))
        })
        .and_then(|hex| u64::from_str_radix(&hex, 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
}

/// The soft lock limit after raising it to the hard one, in bytes.
fn memlock_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct into a valid local.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: as above; raising the soft limit to the hard one needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &raised) } == 0 {
            limit = raised;
        }
    }
    Some(limit.rlim_cur)
}

/// Locks memory as well as the lock limit allows (see [`MemoryLock`]).
pub fn lock_memory() -> MemoryLock {
    let Some(limit) = memlock_limit() else {
        return MemoryLock::None;
    };
    if limit == libc::RLIM_INFINITY || limit >= MEMLOCK_NEEDED || has_ipc_lock_capability() {
        // SAFETY: mlockall with flag arguments only. MCL_ONFAULT locks pages
        // as they are touched rather than populating every mapping up front.
        if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) } == 0 {
            return MemoryLock::AllPages;
        }
    }
    if relock() > 0 {
        MemoryLock::HeapAndStack
    } else {
        MemoryLock::None
    }
}

/// Anonymous mappings larger than this are not locked piecemeal: they are the
/// KDF's working memory, which the lock limit cannot cover.
const SMALL_MAPPING: u64 = 1 << 20;

/// Locks the heap, the stack and small anonymous read-write mappings (again:
/// they grow). Returns the bytes it asked to lock; locking is on fault
/// (`MLOCK_ONFAULT`), so nothing is populated that was not already used.
pub fn relock() -> u64 {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return 0;
    };
    let mut locked = 0;
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let path = fields.nth(3).unwrap_or("");
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16)) else {
            continue;
        };
        let len = end.saturating_sub(start);
        let wanted = match path {
            "[heap]" | "[stack]" => true,
            "" => perms.starts_with("rw") && len <= SMALL_MAPPING,
            _ => false,
        };
        // SAFETY: mlock2 only pins pages of a mapping that /proc says exists
        // in this process; it reads and writes no memory.
        if wanted && unsafe { libc::mlock2(start as *const libc::c_void, len as usize, libc::MLOCK_ONFAULT) } == 0 {
            locked += len;
        }
    }
    locked
}

/// Reads `VmLck` (locked memory, KiB) of a process from `/proc`.
pub fn locked_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The seccomp filter: every listed call fails with `EPERM`; the rest are allowed.
fn filter() -> Result<BpfProgram> {
    let enc = |e: seccompiler::BackendError| Error::System(format!("seccomp filter: {e}"));
    let always = Vec::new;
    let flag = |arg: u8, mask: i32, value: i32| -> Result<SeccompRule> {
        let cond = Cond::new(arg, Len::Dword, Op::MaskedEq(mask as u64), value as u64).map_err(enc)?;
        SeccompRule::new(vec![cond]).map_err(enc)
    };
    // open(2)-style flags that mean "write or create": denied, read-only opens allowed.
    let writing_open = |arg: u8| -> Result<Vec<SeccompRule>> {
        Ok(vec![
            flag(arg, libc::O_ACCMODE, libc::O_WRONLY)?,
            flag(arg, libc::O_ACCMODE, libc::O_RDWR)?,
            flag(arg, libc::O_CREAT, libc::O_CREAT)?,
            flag(arg, libc::O_TRUNC, libc::O_TRUNC)?,
            flag(arg, libc::O_APPEND, libc::O_APPEND)?,
        ])
    };
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    rules.insert(libc::SYS_open, writing_open(1)?);
    rules.insert(libc::SYS_openat, writing_open(2)?);
    for call in [
        // network
        libc::SYS_socket,
        libc::SYS_socketpair,
        libc::SYS_connect,
        libc::SYS_bind,
        libc::SYS_listen,
        libc::SYS_accept,
        libc::SYS_accept4,
        // file creation and file-system changes
        libc::SYS_openat2,
        libc::SYS_creat,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_mkdir,
        libc::SYS_mkdirat,
        libc::SYS_mknod,
        libc::SYS_mknodat,
        libc::SYS_rmdir,
        libc::SYS_unlink,
        libc::SYS_unlinkat,
        libc::SYS_rename,
        libc::SYS_renameat,
        libc::SYS_renameat2,
        libc::SYS_link,
        libc::SYS_linkat,
        libc::SYS_symlink,
        libc::SYS_symlinkat,
        libc::SYS_truncate,
        libc::SYS_ftruncate,
        libc::SYS_fallocate,
        libc::SYS_chmod,
        libc::SYS_fchmod,
        libc::SYS_fchmodat,
        libc::SYS_chown,
        libc::SYS_fchown,
        libc::SYS_lchown,
        libc::SYS_fchownat,
        libc::SYS_setxattr,
        libc::SYS_lsetxattr,
        libc::SYS_fsetxattr,
        libc::SYS_memfd_create,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_copy_file_range,
        libc::SYS_splice,
        libc::SYS_tee,
        // new programs, other processes' memory, ring-based I/O that bypasses seccomp
        libc::SYS_execve,
        libc::SYS_execveat,
        libc::SYS_fork,
        libc::SYS_vfork,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_userfaultfd,
        libc::SYS_perf_event_open,
        libc::SYS_bpf,
        libc::SYS_kexec_load,
        libc::SYS_init_module,
        libc::SYS_finit_module,
    ] {
        rules.insert(call, always());
    }
    let arch = std::env::consts::ARCH.try_into().map_err(enc)?;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(enc)?;
    filter.try_into().map_err(enc)
}

/// Installs the seccomp filter for the calling thread (sets `no_new_privs`).
pub fn install_sandbox() -> Result<()> {
    let program = filter()?;
    seccompiler::apply_filter(&program).map_err(|e| Error::System(format!("seccomp: {e}")))
}

/// Checks that the sandbox refuses a TCP socket, a UDP socket and opening
/// `/dev/null` for writing; true only if all three fail with `EPERM`.
pub fn probe_sandbox() -> bool {
    let refused = |r: io::Result<()>| matches!(r, Err(e) if e.raw_os_error() == Some(libc::EPERM));
    let tcp = refused(std::net::TcpListener::bind("127.0.0.1:0").map(drop));
    let udp = refused(std::net::UdpSocket::bind("127.0.0.1:0").map(drop));
    let write = refused(std::fs::OpenOptions::new().write(true).open("/dev/null").map(drop));
    tcp && udp && write
}

/// Applies every step; returns what is in force. Fails only when a step
/// that cannot legitimately fail on Linux does (then the signer must not run).
pub fn harden(expected_parent: Option<u32>, idle_timeout: Duration) -> Result<HardeningReport> {
    name_process();
    disable_core_dumps()?;
    set_not_dumpable()?;
    die_with_parent(expected_parent)?;
    let memory_lock = lock_memory();
    install_sandbox()?;
    let sandbox_verified = probe_sandbox();
    Ok(HardeningReport {
        core_dumps_disabled: true,
        not_dumpable: !is_dumpable(),
        memory_locked: memory_lock != MemoryLock::None,
        memory_lock: memory_lock.name().into(),
        parent_death_signal: true,
        sandbox: "seccomp".into(),
        sandbox_verified,
        idle_timeout_secs: idle_timeout.as_secs(),
    })
}

/// Waits until `fd` is readable (or has hung up), at most `timeout`.
/// `Ok(false)` means the time ran out.
pub fn wait_readable(fd: i32, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    loop {
        // SAFETY: poll reads and writes one pollfd struct in a valid local.
        let n = unsafe { libc::poll(&mut pfd, 1, millis) };
        if n >= 0 {
            return Ok(n > 0);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const CHILD_ENV: &str = "SIGNET_SANDBOX_CHILD_DIR";

    /// Runs in a child copy of this test binary: installs the real filter,
    /// then tries what the signer must never do.
    #[test]
    fn sandbox_child() {
        let Ok(dir) = std::env::var(CHILD_ENV) else {
            return;
        };
        let listener_addr = std::env::var("SIGNET_SANDBOX_LISTENER").expect("listener address");
        let readable = std::path::Path::new(&dir).join("readable.txt");
        install_sandbox().expect("install filter");
        let eperm = |r: io::Result<()>| matches!(r, Err(e) if e.raw_os_error() == Some(libc::EPERM));
        assert!(
            eperm(std::fs::write(std::path::Path::new(&dir).join("new.txt"), b"key").map(drop)),
            "created a file"
        );
        assert!(
            eperm(std::fs::OpenOptions::new().append(true).open(&readable).map(drop)),
            "opened for append"
        );
        assert!(
            eperm(std::fs::OpenOptions::new().write(true).open(&readable).map(drop)),
            "opened for writing"
        );
        assert!(eperm(std::fs::remove_file(&readable)), "removed a file");
        assert!(
            eperm(std::fs::create_dir(std::path::Path::new(&dir).join("d"))),
            "made a directory"
        );
        assert!(
            eperm(std::net::TcpStream::connect(&listener_addr).map(drop)),
            "connected to a socket"
        );
        assert!(
            eperm(std::net::UdpSocket::bind("127.0.0.1:0").map(drop)),
            "bound a socket"
        );
        assert!(eperm(Command::new("/bin/true").status().map(drop)), "ran a program");
        // What the signer needs still works: reading, memory, randomness.
        assert_eq!(std::fs::read(&readable).expect("read still allowed"), b"hello");
        let mut buf = [0u8; 16];
        getrandom::fill(&mut buf).expect("getrandom still allowed");
        assert!(probe_sandbox());
    }

    #[test]
    fn sandbox_refuses_files_sockets_and_exec() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("readable.txt"), b"hello").expect("write fixture");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
        let output = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "hardening::tests::sandbox_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .env(
                "SIGNET_SANDBOX_LISTENER",
                listener.local_addr().expect("addr").to_string(),
            )
            .output()
            .expect("run child");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("1 passed"), "child ran no test:\n{stdout}");
        // Nothing was created, nothing removed.
        assert!(!dir.path().join("new.txt").exists());
        assert!(dir.path().join("readable.txt").exists());
        listener.set_nonblocking(true).expect("nonblocking");
        assert!(
            listener.accept().is_err(),
            "the child's connection reached the listener"
        );
    }

    #[test]
    fn core_dumps_and_dumpable_flag() {
        // Changing this test process's own flags is harmless and checks the calls.
        disable_core_dumps().expect("setrlimit");
        let mut limit = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 1,
        };
        // SAFETY: getrlimit writes into a valid local.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) }, 0);
        assert_eq!((limit.rlim_cur, limit.rlim_max), (0, 0));
        set_not_dumpable().expect("prctl");
        assert!(!is_dumpable());
    }

    #[test]
    fn wait_readable_times_out_on_a_silent_pipe() {
        let (reader, _writer) = std::io::pipe().expect("pipe");
        use std::os::fd::AsRawFd;
        let started = std::time::Instant::now();
        assert!(!wait_readable(reader.as_raw_fd(), Duration::from_millis(100)).expect("poll"));
        assert!(started.elapsed() >= Duration::from_millis(90));
    }
}
