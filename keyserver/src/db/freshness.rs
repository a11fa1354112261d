//! Reading the sign-in generation (see [`super::schema::sign_in_generation`]) on behalf of many waiting
//! requests at once.
//!
//! A caller needs a generation read *after* it asked: then every change committed before its request began
//! is counted in the answer. One thread with a connection of its own runs the reads in rounds; a round
//! starts after every request that joined it was made, and one read serves them all. Under load a round
//! costs one small query (one round trip to PostgreSQL) however many requests it answers; idle, it costs
//! nothing.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use diesel::r2d2::R2D2Connection;
use tokio::sync::watch;

use super::{AnyConnection, Database, DbError, models};

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
    /// Whether a request waits for a round that has not started yet.
    wanted: bool,
    /// The latest round finished.
    finished: Round,
    /// Set when the owner is dropped (the thread ends) or the thread has ended: no more rounds.
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

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Rounds> {
        // Every update is a few plain assignments: a panic elsewhere cannot leave them half done.
        self.rounds.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Joins the next round to start and answers its number; `None` when no round will run.
    fn join(&self) -> Option<u64> {
        let mut rounds = self.lock();
        if rounds.stop {
            return None;
        }
        rounds.wanted = true;
        let next = rounds.started + 1;
        drop(rounds);
        self.wanted.notify_one();
        Some(next)
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

/// Fresh reads of the sign-in generation. Dropping it ends its thread.
#[derive(Debug)]
pub struct GenerationReader {
    shared: Arc<Shared>,
}

/// How long the reading thread waits before connecting again after a failure.
const RECONNECT_PAUSE: Duration = Duration::from_millis(200);

impl GenerationReader {
    /// Starts the reading thread on a connection of its own to `database`.
    pub fn start(database: &Database) -> Result<GenerationReader, DbError> {
        let (published, _) = watch::channel(Round {
            number: 0,
            generation: None,
        });
        let shared = Arc::new(Shared {
            rounds: Mutex::new(Rounds {
                started: 0,
                wanted: false,
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
        let connection = database.dedicated_connection()?;
        let database = database.clone();
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("sign-in-generation".into())
            .spawn(move || read_in_rounds(&thread_shared, &database, connection))
            .map_err(|e| DbError::Other(format!("starting the sign-in generation reader: {e}")))?;
        Ok(GenerationReader { shared })
    }

    /// The generation as of a read that started after this call began; `None` if the read failed.
    pub async fn current(&self) -> Option<i64> {
        let mut finished = self.shared.published.subscribe();
        let round = self.shared.join()?;
        match finished.wait_for(|r| r.number >= round).await {
            Ok(r) => r.generation,
            // The sender lives as long as `self`.
            Err(_) => None,
        }
    }

    /// [`GenerationReader::current`] for a blocking caller.
    pub fn current_blocking(&self) -> Option<i64> {
        let round = self.shared.join()?;
        let mut rounds = self.shared.lock();
        while rounds.finished.number < round && !rounds.stop {
            rounds = self
                .shared
                .finished
                .wait(rounds)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        (rounds.finished.number >= round)
            .then_some(rounds.finished.generation)
            .flatten()
    }
}

impl Drop for GenerationReader {
    fn drop(&mut self) {
        self.shared.finish();
    }
}

/// The reading thread: waits for a request, starts a round, reads, publishes; reconnects after a failure.
fn read_in_rounds(shared: &Shared, database: &Database, connection: AnyConnection) {
    let _finish = Finish(shared);
    let mut connection = Some(connection);
    loop {
        let number = {
            let mut rounds = shared.lock();
            while !rounds.wanted && !rounds.stop {
                rounds = shared
                    .wanted
                    .wait(rounds)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
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
        let round = Round { number, generation };
        {
            let mut rounds = shared.lock();
            if rounds.stop {
                return;
            }
            rounds.finished = round;
            // Under the lock, so that a last round from `finish` is never overwritten.
            shared.published.send_replace(round);
        }
        shared.finished.notify_all();
        if connection.is_none() {
            std::thread::sleep(RECONNECT_PAUSE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader() -> (GenerationReader, Database, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let database = Database::open(&dir.path().join("signet.db").display().to_string()).expect("database");
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
    fn no_one_waits_once_the_reader_has_ended() {
        let (reader, _database, _dir) = reader();
        reader.shared.finish();
        assert_eq!(reader.current_blocking(), None);
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        assert_eq!(runtime.block_on(reader.current()), None);
    }
}
