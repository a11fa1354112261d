//! The threads that run libxml2: check orders, validate status reports.
//!
//! libxml2's documents and compiled schemas may not cross threads, and a
//! compiled schema is several megabytes: were documents checked on whichever
//! thread asked (the app's blocking pool has many, so has a server's), each
//! thread would compile its own copies and fill its own malloc arena. Every
//! [`super::check`] and status-report validation is therefore handed to a
//! few dedicated threads — one unless [`use_threads`] asked for more before
//! the first job (a server checking many orders at once asks for one per
//! core; the desktop app keeps one) — started on first use; the bytes go in,
//! an owned answer comes out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};

/// How many threads to start.
static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Runs the checks on `threads` threads (at least one, at most 64), each
/// with its own compiled schemas. Takes effect when the threads start: call
/// it before the first check.
pub fn use_threads(threads: usize) {
    THREADS.store(threads.clamp(1, 64), Ordering::Relaxed);
}

type Job = Box<dyn FnOnce() + Send>;

/// The way to the thread; `None` until it is first needed, and again after
/// it stopped (a panic in libxml2's bindings), so the next job starts a
/// new one.
static JOBS: Mutex<Option<Sender<Job>>> = Mutex::new(None);

/// Runs `work` on the libxml2 thread and waits for its answer. If the thread
/// cannot be started, or stops while working, `work` runs on the calling
/// thread: slower to repeat, never skipped.
pub(super) fn run<T, F>(work: F) -> T
where
    T: Send + 'static,
    F: Fn() -> T + Send + Sync + 'static,
{
    let work = Arc::new(work);
    let (answer, answered) = mpsc::sync_channel(1);
    let remote = work.clone();
    let job: Job = Box::new(move || {
        // The caller may have gone; nothing to do then.
        let _ = answer.send(remote());
    });
    if send(job).is_none() {
        return work();
    }
    // No answer: the thread stopped while working (the next job starts
    // another); this one is done here.
    answered.recv().unwrap_or_else(|_| work())
}

/// Hands `job` to the thread, starting it when there is none; `None` when no
/// thread can be started.
fn send(job: Job) -> Option<()> {
    let mut jobs = JOBS.lock().unwrap_or_else(PoisonError::into_inner);
    let job = match jobs.as_ref() {
        Some(sender) => match sender.send(job) {
            Ok(()) => return Some(()),
            // The thread stopped: the job comes back for a new one.
            Err(mpsc::SendError(job)) => job,
        },
        None => job,
    };
    let (sender, receiver) = mpsc::channel();
    let receiver = Arc::new(Mutex::new(receiver));
    let mut started = 0;
    for n in 0..THREADS.load(Ordering::Relaxed) {
        let receiver = receiver.clone();
        if std::thread::Builder::new()
            .name(format!("signet-orders-{n}"))
            .spawn(move || serve(&receiver))
            .is_ok()
        {
            started += 1;
        }
    }
    if started == 0 {
        return None;
    }
    sender.send(job).ok()?;
    *jobs = Some(sender);
    Some(())
}

/// Takes jobs one at a time from the shared queue until it closes. A panic
/// ends this thread alone; when every thread has ended, the queue closes
/// and the next job starts new ones.
fn serve(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = match jobs.lock().unwrap_or_else(PoisonError::into_inner).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        job();
    }
}
