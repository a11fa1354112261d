//! Reading the sign-in generation (see [`super::schema::sign_in_generation`]) on behalf of many waiting
//! requests at once.
//!
//! A caller needs a generation read *after* it asked: then every change committed before its request began
//! is counted in the answer. Reads run in rounds, one at a time; a round serves every request that arrived
//! before it started, so under load one small query answers many sign-ins, and idle costs nothing.
//!
//! * SQLite: a read takes microseconds and never leaves the machine, so a waiting request that finds no round
//!   running reads itself, on its own thread, with a connection kept for the purpose (a short busy time-out:
//!   a read that would wait is a failed read, and the caller goes to the database instead).
//! * PostgreSQL: a read is a round trip, so a thread of its own runs the rounds and requests wait for it.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::R2D2Connection;
use tokio::sync::watch;

use super::{AnyConnection, Backend, Database, DbError, models};

/// The outcome of one round: its number and the generation read, or `None` when the read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Round {
    number: u64,
    generation: Option<i64>,
}

#[derive(Debug)]
struct Rounds {
    /// The number of the latest round that has started (its read sent or about to be).
    started: u64,
    /// Whether a request waits for a round that has not started yet (PostgreSQL's reading thread).
    wanted: bool,
    /// Whether a request is reading now (SQLite).
    running: bool,
    /// Blocking callers waiting on `Shared::finished` (a wake-up costs a system call: only when needed).
    blocked: usize,
    /// The latest round finished.
    finished: Round,
    /// Set when the owner is dropped or the reading thread has ended: no more rounds.
    stop: bool,
}

#[derive(Debug)]
struct Shared {
    rounds: Mutex<Rounds>,
    /// Wakes the reading thread.
    wanted: Condvar,
    /// Wakes blocking waiters when a round finishes.
    finished: Condvar,
    /// Wakes async waiters when a round finishes.
    published: watch::Sender<Round>,
}

/// What a waiting request does next.
enum Turn {
    /// A round that started after it arrived has finished: its answer.
    Done(Option<i64>),
    /// Nobody is reading: it reads, as the next round.
    Lead,
    /// Someone is reading: it waits for that round to finish.
    Wait,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Rounds> {
        // Every update is a few plain assignments: a panic elsewhere cannot leave them half done.
        self.rounds.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The number of the first round that starts after now; `None` when no round will run.
    fn next_round(&self) -> Option<u64> {
        let rounds = self.lock();
        (!rounds.stop).then_some(rounds.started + 1)
    }

    /// Asks the reading thread for round `next_round()` and answers its number.
    fn join(&self) -> Option<u64> {
        let mut rounds = self.lock();
        if rounds.stop {
            return None;
        }
        // Only the first request of a round wakes the thread: it takes every later one along.
        let first = !rounds.wanted;
        rounds.wanted = true;
        let next = rounds.started + 1;
        drop(rounds);
        if first {
            self.wanted.notify_one();
        }
        Some(next)
    }

    /// For a request that needs round `need` or later, in SQLite's way.
    fn turn(&self, need: u64) -> Turn {
        let mut rounds = self.lock();
        if rounds.finished.number >= need {
            return Turn::Done(rounds.finished.generation);
        }
        if rounds.stop {
            return Turn::Done(None);
        }
        if rounds.running {
            return Turn::Wait;
        }
        // The round is claimed now but numbered when its read begins: whoever
        // arrives in between needs exactly that round and waits for it.
        rounds.running = true;
        Turn::Lead
    }

    /// Starts the claimed round: its number.
    fn begin(&self) -> u64 {
        let mut rounds = self.lock();
        rounds.started += 1;
        rounds.started
    }

    /// Gives up a claimed round before it began: someone else may read.
    fn abandon(&self) {
        let blocked = {
            let mut rounds = self.lock();
            rounds.running = false;
            // Wakes the waiters (the round did not change) so that one of them leads.
            let finished = rounds.finished;
            self.published.send_replace(finished);
            rounds.blocked > 0
        };
        if blocked {
            self.finished.notify_all();
        }
    }

    /// Publishes round `number`'s outcome and wakes everyone waiting, unless the rounds have ended.
    fn publish(&self, number: u64, generation: Option<i64>) {
        let blocked = {
            let mut rounds = self.lock();
            rounds.running = false;
            if rounds.stop {
                return;
            }
            let round = Round { number, generation };
            rounds.finished = round;
            // Under the lock, so that the last round from `finish` is never overwritten.
            self.published.send_replace(round);
            rounds.blocked > 0
        };
        if blocked {
            self.finished.notify_all();
        }
    }

    /// Waits (blocking) on `finished` while `waiting` holds.
    fn wait_while<'a>(
        &self,
        mut rounds: MutexGuard<'a, Rounds>,
        waiting: impl Fn(&Rounds) -> bool,
    ) -> MutexGuard<'a, Rounds> {
        while waiting(&rounds) {
            rounds.blocked += 1;
            rounds = self
                .finished
                .wait(rounds)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            rounds.blocked -= 1;
        }
        rounds
    }

    /// Ends the rounds for good and answers everyone waiting with `None`.
    fn finish(&self) {
        let last = Round {
            number: u64::MAX,
            generation: None,
        };
        {
            let mut rounds = self.lock();
            rounds.stop = true;
            rounds.finished = last;
            self.published.send_replace(last);
        }
        self.wanted.notify_all();
        self.finished.notify_all();
    }
}

/// Ends the rounds when the reading thread ends, however it ends (a panic included), so that no request
/// waits for a round that will never come.
struct Finish<'a>(&'a Shared);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// A request that claimed the next round and reads it itself. Dropped, it publishes the round (as a failed
/// read if reading did not finish: a panic), or gives it up if it never began (the request was cancelled
/// while letting others join), so that nobody waits for it for ever.
struct Leading<'a> {
    shared: &'a Shared,
    number: Option<u64>,
    generation: Option<i64>,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        match self.number {
            Some(number) => self.shared.publish(number, self.generation),
            None => self.shared.abandon(),
        }
    }
}

/// SQLite's kept connection, used by one reading request at a time.
struct Inline {
    database: Database,
    connection: Mutex<Option<AnyConnection>>,
}

impl std::fmt::Debug for Inline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inline")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// A busy time-out short enough for a read on a request's own thread.
const INLINE_BUSY_TIMEOUT: &str = "PRAGMA busy_timeout = 50;";

impl Inline {
    fn read(&self) -> Option<i64> {
        let mut connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if connection.is_none() {
            *connection = open_inline(&self.database).ok();
        }
        let read = connection.as_mut().map(models::sign_in_generation::current)?;
        match read {
            Ok(generation) => Some(generation),
            Err(e) => {
                tracing::warn!(error = %e, "reading the sign-in generation failed");
                if connection.as_mut().is_none_or(|c| c.is_broken() || c.ping().is_err()) {
                    *connection = None;
                }
                None
            }
        }
    }
}

fn open_inline(database: &Database) -> Result<AnyConnection, DbError> {
    let mut connection = database.dedicated_connection()?;
    if let AnyConnection::Sqlite(c) = &mut connection {
        c.batch_execute(INLINE_BUSY_TIMEOUT)?;
    }
    Ok(connection)
}

/// Fresh reads of the sign-in generation. Dropping it ends the rounds (and PostgreSQL's reading thread).
#[derive(Debug)]
pub struct GenerationReader {
    shared: Arc<Shared>,
    /// SQLite: the connection waiting requests read with; `None` for PostgreSQL's reading thread.
    inline: Option<Inline>,
}

/// How long PostgreSQL's reading thread waits before connecting again after a failure.
const RECONNECT_PAUSE: Duration = Duration::from_millis(200);

/// PostgreSQL's rounds begin at most this often: under load the requests of a millisecond share one query
/// (each query costs the database server and this process a round trip and its wake-ups), for at most that
/// much more wait; a request after a quiet spell is read at once.
const ROUND_PACE: Duration = Duration::from_millis(1);

impl GenerationReader {
    /// Prepares the reads on a connection of its own to `database` (and, for PostgreSQL, starts the reading
    /// thread).
    pub fn start(database: &Database) -> Result<GenerationReader, DbError> {
        let (published, _) = watch::channel(Round {
            number: 0,
            generation: None,
        });
        let shared = Arc::new(Shared {
            rounds: Mutex::new(Rounds {
                started: 0,
                wanted: false,
                running: false,
                blocked: 0,
                finished: Round {
                    number: 0,
                    generation: None,
                },
                stop: false,
            }),
            wanted: Condvar::new(),
            finished: Condvar::new(),
            published,
        });
        if database.backend() == Backend::Sqlite {
            let connection = open_inline(database)?;
            let inline = Inline {
                database: database.clone(),
                connection: Mutex::new(Some(connection)),
            };
            return Ok(GenerationReader {
                shared,
                inline: Some(inline),
            });
        }
        let connection = database.dedicated_connection()?;
        let database = database.clone();
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("sign-in-generation".into())
            .spawn(move || read_in_rounds(&thread_shared, &database, connection))
            .map_err(|e| DbError::Other(format!("starting the sign-in generation reader: {e}")))?;
        Ok(GenerationReader { shared, inline: None })
    }

    /// The generation as of a read that started after this call began; `None` if the read failed.
    pub async fn current(&self) -> Option<i64> {
        let mut finished = self.shared.published.subscribe();
        let Some(inline) = &self.inline else {
            let round = self.shared.join()?;
            return match finished.wait_for(|r| r.number >= round).await {
                Ok(r) => r.generation,
                // The sender lives as long as `self`.
                Err(_) => None,
            };
        };
        let need = self.shared.next_round()?;
        loop {
            match self.shared.turn(need) {
                Turn::Done(generation) => return generation,
                Turn::Lead => {
                    let mut leading = Leading {
                        shared: &self.shared,
                        number: None,
                        generation: None,
                    };
                    // Requests already on their way on this thread get to join the round before it
                    // begins: under load one read then serves many.
                    tokio::task::yield_now().await;
                    leading.number = Some(self.shared.begin());
                    leading.generation = inline.read();
                    return leading.generation;
                }
                Turn::Wait => {
                    if finished.changed().await.is_err() {
                        return None;
                    }
                }
            }
        }
    }

    /// [`GenerationReader::current`] for a blocking caller, on a thread of
    /// its own: never on a runtime worker, where it could wait for a round
    /// claimed by a task that this very thread would have to run.
    pub fn current_blocking(&self) -> Option<i64> {
        debug_assert!(
            tokio::runtime::Handle::try_current().is_err(),
            "current_blocking called on a runtime thread"
        );
        let Some(inline) = &self.inline else {
            let round = self.shared.join()?;
            let rounds = self
                .shared
                .wait_while(self.shared.lock(), |r| r.finished.number < round && !r.stop);
            return (rounds.finished.number >= round)
                .then_some(rounds.finished.generation)
                .flatten();
        };
        let need = self.shared.next_round()?;
        loop {
            match self.shared.turn(need) {
                Turn::Done(generation) => return generation,
                Turn::Lead => {
                    let mut leading = Leading {
                        shared: &self.shared,
                        number: Some(self.shared.begin()),
                        generation: None,
                    };
                    leading.generation = inline.read();
                    return leading.generation;
                }
                Turn::Wait => {
                    // Until the round being read ends (then this request may lead the next).
                    drop(
                        self.shared
                            .wait_while(self.shared.lock(), |r| r.running && r.finished.number < need && !r.stop),
                    );
                }
            }
        }
    }
}

impl Drop for GenerationReader {
    fn drop(&mut self) {
        self.shared.finish();
    }
}

/// PostgreSQL's reading thread: waits for a request, starts a round, reads, publishes; reconnects after a
/// failure.
fn read_in_rounds(shared: &Shared, database: &Database, connection: AnyConnection) {
    let _finish = Finish(shared);
    let mut connection = Some(connection);
    let mut last_began: Option<std::time::Instant> = None;
    loop {
        // Wait for a request; then let the pace gather the others arriving meanwhile.
        {
            let mut rounds = shared.lock();
            while !rounds.wanted && !rounds.stop {
                rounds = shared
                    .wanted
                    .wait(rounds)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        }
        if let Some(wait) = last_began.and_then(|began| ROUND_PACE.checked_sub(began.elapsed())) {
            std::thread::sleep(wait);
        }
        last_began = Some(std::time::Instant::now());
        let number = {
            let mut rounds = shared.lock();
            if rounds.stop {
                return;
            }
            rounds.wanted = false;
            rounds.started += 1;
            rounds.started
        };
        if connection.is_none() {
            connection = database.dedicated_connection().ok();
        }
        let generation = match connection.as_mut().map(models::sign_in_generation::current) {
            Some(Ok(generation)) => Some(generation),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "reading the sign-in generation failed");
                if connection.as_mut().is_none_or(|c| c.is_broken() || c.ping().is_err()) {
                    connection = None;
                }
                None
            }
            None => None,
        };
        shared.publish(number, generation);
        if connection.is_none() {
            std::thread::sleep(RECONNECT_PAUSE);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future as _;

    use super::*;

    fn reader() -> (GenerationReader, Database, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let database = super::super::open(&dir.path().join("signet.db").display().to_string()).expect("database");
        (GenerationReader::start(&database).expect("reader"), database, dir)
    }

    fn bump(database: &Database) {
        database
            .write(|c| -> Result<(), DbError> {
                use diesel::RunQueryDsl;
                diesel::sql_query("UPDATE sign_in_generation SET generation = generation + 1").execute(c)?;
                Ok(())
            })
            .expect("bump");
    }

    #[test]
    fn every_read_sees_what_was_committed_before_it_was_asked() {
        let (reader, database, _dir) = reader();
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let first = reader.current_blocking().expect("generation");
        assert_eq!(runtime.block_on(reader.current()), Some(first));
        bump(&database);
        assert_eq!(reader.current_blocking(), Some(first + 1));
        bump(&database);
        assert_eq!(runtime.block_on(reader.current()), Some(first + 2));
        // Many waiting at once are all answered.
        let answers: Vec<Option<i64>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16).map(|_| scope.spawn(|| reader.current_blocking())).collect();
            handles.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        assert!(answers.iter().all(|a| *a == Some(first + 2)), "{answers:?}");
    }

    #[test]
    fn a_reader_cancelled_before_its_round_began_leaves_no_one_waiting() {
        let (reader, database, _dir) = reader();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let first = reader.current_blocking().expect("generation");
        runtime.block_on(async {
            // Claims the next round, lets others join, and is dropped before reading.
            {
                let mut claiming = std::pin::pin!(reader.current());
                let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(claiming.as_mut().poll(cx))).await;
                assert!(polled.is_pending(), "the claimed round yields once before it begins");
            }
            bump(&database);
            let next = tokio::time::timeout(Duration::from_secs(5), reader.current()).await;
            assert_eq!(next.expect("nobody is left waiting"), Some(first + 1));
        });
        assert_eq!(reader.current_blocking(), Some(first + 1));
    }

    #[test]
    fn no_one_waits_once_the_reader_has_ended() {
        let (reader, _database, _dir) = reader();
        reader.shared.finish();
        assert_eq!(reader.current_blocking(), None);
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        assert_eq!(runtime.block_on(reader.current()), None);
    }
}
