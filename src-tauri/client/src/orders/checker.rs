//! The one thread that checks orders.
//!
//! libxml2's documents and compiled schemas may not cross threads, and a
//! compiled schema is several megabytes: were orders checked on whichever
//! thread asked (the app's blocking pool has many), each thread would compile
//! its own copies and fill its own malloc arena. Every [`super::check`] is
//! therefore handed to this thread, started on first use; the bytes go in,
//! an owned [`CheckedOrder`] comes out.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Mutex, PoisonError};

use super::{CheckedOrder, OrderError, check_here};

type Answer = Result<CheckedOrder, OrderError>;

struct Job {
    bytes: Vec<u8>,
    today: time::Date,
    answer: SyncSender<Answer>,
}

/// The way to the thread; `None` until it is first needed, and again after
/// it stopped (a panic in libxml2's bindings), so the next check starts a
/// new one.
static JOBS: Mutex<Option<Sender<Job>>> = Mutex::new(None);

/// Runs [`check_here`] on the checking thread and waits for its answer. If
/// the thread cannot be started the check runs on the calling thread: slower
/// to repeat, never skipped.
pub(super) fn run(bytes: &[u8], today: time::Date) -> Answer {
    let (answer, answered) = mpsc::sync_channel(1);
    let job = Job {
        bytes: bytes.to_vec(),
        today,
        answer,
    };
    if send(job).is_none() {
        return check_here(bytes, today);
    }
    // No answer: the thread stopped while checking (the next check starts
    // another); this one is done here.
    answered.recv().unwrap_or_else(|_| check_here(bytes, today))
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
        let answer = check_here(&job.bytes, job.today);
        drop(job.bytes);
        // The caller may have gone; nothing to do then.
        let _ = job.answer.send(answer);
    }
}
