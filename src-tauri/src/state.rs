//! What the shell keeps while it runs: the key-server connection and at most
//! one signed-in session (whose signer holds the key), plus documents the
//! person prepared and has not signed yet.
//!
//! The session ends — and the signer with it — at sign-out, after
//! [`IDLE_TIMEOUT`] without use, when the window closes and when the app
//! exits; if the app dies without running any of that, the signer ends by
//! itself (parent-death signal).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use signet_client::{Connection, Session, SettingsStore};

use crate::error::{CommandError, CommandResult};
use crate::orders::PreparedOrder;

/// A session unused this long is ended.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The shell's state, shared by every command.
#[derive(Default)]
pub struct AppState {
    /// Where the server's settings live.
    pub store: SettingsStore,
    connection: Mutex<Option<Connection>>,
    session: Mutex<Option<Session>>,
    documents: Mutex<HashMap<String, PreparedOrder>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves the data as it was: keep going.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AppState {
    /// The connection to the remembered server (opened on first use).
    pub fn connection(&self) -> CommandResult<Connection> {
        let mut slot = lock(&self.connection);
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let connection = Connection::open(&self.store)?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Replaces the connection (after connecting to a server).
    pub fn set_connection(&self, connection: Option<Connection>) {
        *lock(&self.connection) = connection;
    }

    /// Runs `work` with the signed-in session.
    pub fn with_session<T>(&self, work: impl FnOnce(&mut Session) -> CommandResult<T>) -> CommandResult<T> {
        let mut slot = lock(&self.session);
        let session = slot.as_mut().ok_or_else(CommandError::not_signed_in)?;
        if !session.signer().is_running() {
            // The signer timed out or died: the key is gone, so is the session.
            *slot = None;
            return Err(CommandError::not_signed_in());
        }
        work(session)
    }

    /// Takes the session out (revocation ends it).
    pub fn take_session(&self) -> Option<Session> {
        lock(&self.session).take()
    }

    /// Starts a session, ending any earlier one.
    pub fn set_session(&self, session: Session) {
        let previous = lock(&self.session).replace(session);
        if let Some(previous) = previous {
            previous.end();
        }
    }

    /// Ends the session, if any: the signer wipes the key and exits.
    pub fn end_session(&self) -> bool {
        lock(&self.documents).clear();
        match self.take_session() {
            Some(session) => {
                session.end();
                true
            }
            None => false,
        }
    }

    /// Ends the session if it has been idle for `limit`; whether it did.
    pub fn end_if_idle(&self, limit: Duration) -> bool {
        let idle = {
            let mut slot = lock(&self.session);
            match slot.as_mut() {
                Some(session) => session.signer().idle_for() >= limit || !session.signer().is_running(),
                None => false,
            }
        };
        idle && self.end_session()
    }

    /// Keeps a prepared document until it is signed or the session ends.
    pub fn keep_document(&self, document: PreparedOrder) {
        let mut documents = lock(&self.documents);
        // A batch prepares many at once; still, never let a page fill memory:
        // past these bounds, what was prepared before must be prepared again.
        const MAX_DOCUMENTS: usize = 4096;
        const MAX_BYTES: usize = 1024 * 1024 * 1024;
        let held: usize = documents.values().map(|d| d.bytes.len()).sum();
        if documents.len() >= MAX_DOCUMENTS || held + document.bytes.len() > MAX_BYTES {
            documents.clear();
        }
        documents.insert(document.id.clone(), document);
    }

    /// A prepared document, removed from the list.
    pub fn take_document(&self, id: &str) -> CommandResult<PreparedOrder> {
        lock(&self.documents)
            .remove(id)
            .ok_or_else(|| CommandError::new("not-found", "That document is no longer prepared: prepare it again."))
    }
}
