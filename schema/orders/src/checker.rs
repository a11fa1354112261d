//! The one thread that runs libxml2: checks orders, validates status reports.
//!
//! libxml2's documents and compiled schemas may not cross threads, and a
//! compiled schema is several megabytes: were documents checked on whichever
//! thread asked (the app's blocking pool has many, so has a server's), each
//! thread would compile its own copies and fill its own malloc arena. Every
//! [`super::check`] and status-report validation is therefore handed to this
//! thread, started on first use; the bytes go in, an owned answer comes out.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};

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
    std::thread::Builder::new()
        .name("signet-orders".into())
        .spawn(move || serve(receiver))
        .ok()?;
    sender.send(job).ok()?;
    *jobs = Some(sender);
    Some(())
}

fn serve(jobs: Receiver<Job>) {
    for job in jobs {
        job();
    }
}
