//! The databases of Signet's servers — the key tier's and the host application's, each its own — on SQLite
//! (embedded default) or PostgreSQL through one code path.
//!
//! [`AnyConnection`] wraps either backend; [`Database`] owns a connection pool, runs the server's embedded
//! [`Migrations`] when it opens, and hands out one transaction at a time: [`Database::write`] for work that
//! changes data, [`Database::read`] for work that only looks. Query functions take `&mut AnyConnection`, so
//! a flow composes several of them inside one transaction and either all of its changes land or none.
//!
//! Isolation: a SQLite write transaction starts with `BEGIN IMMEDIATE`, taking the single write lock at once
//! (a deferred transaction that reads and then writes can fail with `SQLITE_BUSY` without waiting), so
//! writers run one after the other. A PostgreSQL write transaction runs at `READ COMMITTED` and first takes
//! the advisory lock [`WRITE_LOCK_KEY`], so writers queue there as they do on SQLite, across every process
//! sharing the database; should PostgreSQL still abort one with a serialization failure (SQLSTATE 40001), the
//! whole closure runs again, a bounded number of times. The closure must therefore be [`FnMut`] and free of
//! side effects outside the database. Read transactions take no lock and run side by side with each other
//! and with the one writer.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, Connection, SimpleConnection, TransactionManager};
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::result::{ConnectionError, DatabaseErrorKind, Error as DieselError};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::MigrationHarness;
#[cfg(feature = "testing")]
pub mod testing;

pub use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use signet_keyserver_web::error::Failure;

/// A server's migrations, one set per backend, embedded in its binary (`embed_migrations!` in a `const`,
/// handed over as a function that returns it) and run by [`Database::open`].
#[derive(Clone, Copy, Debug)]
pub struct Migrations {
    /// Migrations for SQLite.
    pub sqlite: fn() -> EmbeddedMigrations,
    /// Migrations for PostgreSQL.
    pub postgres: fn() -> EmbeddedMigrations,
}

/// The PostgreSQL advisory lock that queues write transactions (taken with
/// `pg_advisory_xact_lock`, so it is released at commit or rollback).
pub const WRITE_LOCK_KEY: i64 = 7_268_420_231;

/// How often a PostgreSQL write transaction runs when it keeps losing serialization races.
pub const WRITE_ATTEMPTS: u32 = 5;

/// Set on every new SQLite connection. `busy_timeout` comes first so that switching to WAL (which needs the
/// write lock) waits for another process instead of failing. `synchronous = FULL` makes a commit durable
/// across power loss, `secure_delete` overwrites deleted content (erased key records do not linger in free
/// pages), and foreign keys are off by default in SQLite.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                              PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON;";

/// A connection to either backend; diesel's `MultiConnection` runs the same query on both.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    /// PostgreSQL, for installations with several key server processes.
    Postgresql(PgConnection),
    /// SQLite, a file next to the server: the default.
    Sqlite(SqliteConnection),
}

/// Which database a [`Database`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Which kind of integrity rule a change broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintKind {
    /// A row with the same key already exists.
    Unique,
    /// A referenced row does not exist (or a referencing row still does).
    ForeignKey,
    /// A `CHECK` or `NOT NULL` rule.
    Check,
}

/// What went wrong in the database. The display text is for the log, not for clients.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The database cannot be reached or is too busy: connection refused, pool exhausted, SQLite file locked
    /// past the busy timeout, or repeated serialization failures. Retrying later may succeed (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The change conflicts with stored data (HTTP 409).
    #[error("database constraint violated ({kind:?}): {message}")]
    Constraint {
        /// Which rule.
        kind: ConstraintKind,
        /// The database's own message, for the log.
        message: String,
    },
    /// The row asked for does not exist (HTTP 404).
    #[error("not found in the database")]
    NotFound,
    /// A concurrent transaction changed what this one read (PostgreSQL SQLSTATE 40001). [`Database::write`]
    /// retries on it and reports [`DbError::Unavailable`] once its attempts are used up.
    #[error("transaction lost a race with a concurrent one")]
    SerializationFailure,
    /// A stored value that the code cannot read, such as an unknown state name.
    #[error("stored value not understood: {0}")]
    Corrupt(String),
    /// The embedded migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// Anything else: a bug or an unexpected database state.
    #[error("database error: {0}")]
    Other(String),
}

impl From<DieselError> for DbError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => DbError::NotFound,
            DieselError::DatabaseError(kind, info) => {
                let message = info.message().to_owned();
                let constraint = |kind| DbError::Constraint {
                    kind,
                    message: message.clone(),
                };
                match kind {
                    DatabaseErrorKind::UniqueViolation => constraint(ConstraintKind::Unique),
                    DatabaseErrorKind::ForeignKeyViolation => constraint(ConstraintKind::ForeignKey),
                    DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
                        constraint(ConstraintKind::Check)
                    }
                    DatabaseErrorKind::SerializationFailure => DbError::SerializationFailure,
                    DatabaseErrorKind::ClosedConnection => DbError::Unavailable(message),
                    // SQLITE_BUSY / SQLITE_LOCKED after busy_timeout: another writer holds the file too long.
                    _ if is_sqlite_busy(&message) => DbError::Unavailable(message),
                    _ => DbError::Other(message),
                }
            }
            DieselError::DeserializationError(e) => DbError::Corrupt(e.to_string()),
            DieselError::BrokenTransactionManager => DbError::Unavailable(error.to_string()),
            other => DbError::Other(other.to_string()),
        }
    }
}

/// A stored name (a state, a role) the code does not know: the database was
/// written by something else.
impl From<signet_schema::vocabulary::UnknownName> for DbError {
    fn from(error: signet_schema::vocabulary::UnknownName) -> Self {
        DbError::Corrupt(format!("{error} in the database"))
    }
}

impl From<ConnectionError> for DbError {
    fn from(error: ConnectionError) -> Self {
        DbError::Unavailable(error.to_string())
    }
}

impl From<diesel::r2d2::PoolError> for DbError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        DbError::Unavailable(error.to_string())
    }
}

impl From<diesel::r2d2::Error> for DbError {
    fn from(error: diesel::r2d2::Error) -> Self {
        match error {
            diesel::r2d2::Error::ConnectionError(e) => e.into(),
            diesel::r2d2::Error::QueryError(e) => e.into(),
        }
    }
}

/// SQLite's messages for `SQLITE_BUSY` and `SQLITE_LOCKED`, which diesel reports as an unknown error kind.
fn is_sqlite_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database table is locked")
}

/// An error type that a transaction closure may return: it can carry a [`DbError`], and
/// [`Database::write`] can see whether it is a serialization failure worth retrying.
///
/// Flows with their own error enum implement it with a `Db(DbError)` variant:
/// `fn database_error(&self) -> Option<&DbError> { match self { Self::Db(e) => Some(e), _ => None } }`.
pub trait TransactionError: From<DbError> {
    /// The database error inside this error, if it is one.
    fn database_error(&self) -> Option<&DbError>;
}

impl TransactionError for DbError {
    fn database_error(&self) -> Option<&DbError> {
        Some(self)
    }
}

/// The file of the SQLite database at `url` (a path, or `sqlite:`/`sqlite://` and one); `None` for
/// PostgreSQL. Parsed as [`Database::open`] parses it.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    match Target::parse(url) {
        Target::Sqlite(path) => Some(path),
        Target::Postgres(_) => None,
    }
}

/// Where the pool's connections go, parsed from the configured URL.
#[derive(Clone)]
enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Target {
    /// `postgres://…` and `postgresql://…` are PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a bare path are
    /// an SQLite file.
    fn parse(url: &str) -> Target {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Target::Postgres(url.to_owned())
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            Target::Sqlite(PathBuf::from(path))
        }
    }

    fn backend(&self) -> Backend {
        match self {
            Target::Sqlite(_) => Backend::Sqlite,
            Target::Postgres(_) => Backend::Postgres,
        }
    }
}

impl fmt::Debug for Target {
    /// A PostgreSQL URL may hold a password: only the backend and the SQLite path are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Target::Postgres(_) => f.write_str("postgres://***"),
        }
    }
}

/// Opens connections for the pool on the backend chosen by the URL.
///
/// Diesel's `AnyConnection::establish` tries each backend in turn, so a PostgreSQL URL whose server is down
/// would silently become an SQLite file named like the URL; this manager never guesses.
#[derive(Debug)]
struct ConnectionOpener(Target);

impl ManageConnection for ConnectionOpener {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, Self::Error> {
        let connection = match &self.0 {
            Target::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    diesel::r2d2::Error::ConnectionError(ConnectionError::InvalidConnectionUrl(
                        "the SQLite path is not UTF-8".to_owned(),
                    ))
                })?;
                SqliteConnection::establish(path).map(AnyConnection::Sqlite)
            }
            Target::Postgres(url) => PgConnection::establish(url).map(AnyConnection::Postgresql),
        };
        connection.map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, connection: &mut AnyConnection) -> Result<(), Self::Error> {
        connection.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, connection: &mut AnyConnection) -> bool {
        connection.is_broken()
    }
}

/// Applies [`SQLITE_PRAGMAS`] to every new SQLite connection.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<AnyConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, connection: &mut AnyConnection) -> Result<(), diesel::r2d2::Error> {
        apply_pragmas(connection).map_err(diesel::r2d2::Error::QueryError)
    }
}

fn apply_pragmas(connection: &mut AnyConnection) -> Result<(), DieselError> {
    match connection {
        AnyConnection::Sqlite(c) => c.batch_execute(SQLITE_PRAGMAS),
        AnyConnection::Postgresql(_) => Ok(()),
    }
}

/// Pool settings; [`Database::open`] uses the defaults.
#[derive(Clone, Debug)]
pub struct DatabaseOptions {
    /// Most connections open at once.
    pub max_connections: u32,
    /// How long to wait for a connection before answering [`DbError::Unavailable`].
    pub connection_timeout: Duration,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            max_connections: 8,
            connection_timeout: Duration::from_secs(2),
        }
    }
}

/// A server's database: a connection pool with its migrations applied.
///
/// Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct Database {
    pool: Pool<ConnectionOpener>,
    target: Target,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens the database at `url` with default pool settings and brings its tables up to date.
    ///
    /// `postgres://…` or `postgresql://…` selects PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a plain file
    /// path selects SQLite (the file is created if missing). An unreachable server gives
    /// [`DbError::Unavailable`] and never creates a file.
    pub fn open(url: &str, migrations: &Migrations) -> Result<Database, DbError> {
        Database::open_with(url, migrations, &DatabaseOptions::default())
    }

    /// Opens the database at `url` (see [`Database::open`]) with the given pool settings.
    pub fn open_with(url: &str, migrations: &Migrations, options: &DatabaseOptions) -> Result<Database, DbError> {
        let target = Target::parse(url);
        if let Target::Sqlite(path) = &target {
            let name = path.to_string_lossy();
            if name.is_empty() || name.contains(":memory:") || name.contains("mode=memory") {
                // Every pooled connection would see a database of its own.
                return Err(DbError::Other(
                    "an in-memory SQLite database cannot back a connection pool".to_owned(),
                ));
            }
        }
        let opener = ConnectionOpener(target.clone());

        // One connection of its own first: it reports the real connection error at once (the pool would
        // retry until its timeout) and runs the migrations before any pooled connection is used.
        let mut first = opener.connect()?;
        apply_pragmas(&mut first)?;
        run_migrations(&mut first, migrations)?;
        drop(first);

        let pool = Pool::builder()
            .max_size(options.max_connections.max(1))
            .min_idle(Some(0))
            .connection_timeout(options.connection_timeout)
            .test_on_check_out(true)
            .connection_customizer(Box::new(SqlitePragmas))
            .build_unchecked(opener);
        Ok(Database { pool, target })
    }

    /// Which backend this database runs on.
    pub fn backend(&self) -> Backend {
        self.target.backend()
    }

    /// A connection outside the pool, for a task that keeps one for itself (SQLite pragmas applied).
    pub fn dedicated_connection(&self) -> Result<AnyConnection, DbError> {
        let mut connection = ConnectionOpener(self.target.clone()).connect()?;
        apply_pragmas(&mut connection)?;
        Ok(connection)
    }

    fn connection(&self) -> Result<PooledConnection<ConnectionOpener>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` in one write transaction and commits it if `f` returns `Ok`; on `Err` nothing `f` did remains.
    ///
    /// SQLite: `BEGIN IMMEDIATE`. PostgreSQL: `READ COMMITTED` behind the advisory lock [`WRITE_LOCK_KEY`];
    /// when PostgreSQL reports a serialization failure
    /// (from `f` or at commit) the transaction is rolled back and `f` runs again, at most [`WRITE_ATTEMPTS`]
    /// times, after which the error is [`DbError::Unavailable`]. `f` may therefore run more than once and
    /// must not act outside the database.
    pub fn write<T, E, F>(&self, mut f: F) -> Result<T, E>
    where
        E: TransactionError,
        F: FnMut(&mut AnyConnection) -> Result<T, E>,
    {
        let mut connection = self.connection()?;
        let mut attempt = 1;
        loop {
            match write_transaction(&mut connection, &mut f) {
                Err(e)
                    if matches!(e.database_error(), Some(DbError::SerializationFailure))
                        && attempt < WRITE_ATTEMPTS =>
                {
                    std::thread::sleep(Duration::from_millis(5 << attempt));
                    attempt += 1;
                }
                Err(e) if matches!(e.database_error(), Some(DbError::SerializationFailure)) => {
                    return Err(DbError::Unavailable(format!(
                        "write transaction lost {WRITE_ATTEMPTS} serialization races in a row"
                    ))
                    .into());
                }
                result => return result,
            }
        }
    }

    /// Runs `f` in one read-only transaction: it sees one consistent snapshot, and any attempt to write fails
    /// (SQLite `PRAGMA query_only`, PostgreSQL `READ ONLY`). The transaction is always rolled back.
    pub fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<DbError>,
        F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    {
        let mut connection = self.connection()?;
        let connection = &mut *connection;
        match connection {
            AnyConnection::Sqlite(c) => {
                AnsiTransactionManager::begin_transaction_sql(c, "PRAGMA query_only = ON; BEGIN")
                    .map_err(DbError::from)?
            }
            AnyConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction_sql(
                c,
                "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            )
            .map_err(DbError::from)?,
        }
        let result = f(connection);
        let rolled_back = <AnyConnection as Connection>::TransactionManager::rollback_transaction(connection);
        let restored = match connection {
            AnyConnection::Sqlite(c) => c.batch_execute("PRAGMA query_only = OFF"),
            AnyConnection::Postgresql(_) => Ok(()),
        };
        let value = result?;
        rolled_back.map_err(DbError::from)?;
        restored.map_err(DbError::from)?;
        Ok(value)
    }

    /// Empties SQLite's write-ahead log into the database and truncates it
    /// (`PRAGMA wal_checkpoint(TRUNCATE)`), so that pages as they were before
    /// the last writes are nowhere in the files: after an erasure, with
    /// `secure_delete` overwriting the erased content in the database itself.
    /// Answers whether the log is empty now (readers still using it hold it
    /// back; it is tried a few times). PostgreSQL: nothing to do, `true`.
    pub fn truncate_log(&self) -> Result<bool, DbError> {
        #[derive(diesel::QueryableByName)]
        struct Checkpoint {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            busy: i32,
        }
        let mut connection = self.connection()?;
        let AnyConnection::Sqlite(c) = &mut *connection else {
            return Ok(true);
        };
        for attempt in 0..5 {
            let checkpoint: Checkpoint =
                diesel::RunQueryDsl::get_result(diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)"), c)?;
            if checkpoint.busy == 0 {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(20 << attempt));
        }
        Ok(false)
    }

    /// [`Database::write`] on tokio's blocking thread pool, for async handlers.
    pub async fn write_async<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: TransactionError + Send + 'static,
        F: FnMut(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    {
        let database = self.clone();
        join(tokio::task::spawn_blocking(move || database.write(f)).await)
    }

    /// [`Database::read`] on tokio's blocking thread pool, for async handlers.
    pub async fn read_async<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    {
        let database = self.clone();
        join(tokio::task::spawn_blocking(move || database.read(f)).await)
    }
}

/// The result of a blocking task: a panic in it continues in the caller, a cancelled task (runtime shutting
/// down) is [`DbError::Unavailable`].
fn join<T, E: From<DbError>>(joined: Result<Result<T, E>, tokio::task::JoinError>) -> Result<T, E> {
    match joined {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(DbError::Unavailable(format!("database task cancelled: {e}")).into()),
    }
}

/// How a PostgreSQL write transaction starts: READ COMMITTED, then the
/// queue's lock ([`WRITE_LOCK_KEY`], spelt out: SQL takes no parameters here).
const WRITE_BEGIN_POSTGRES: &str =
    "BEGIN TRANSACTION ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(7268420231)";

/// One attempt of [`Database::write`].
fn write_transaction<T, E, F>(connection: &mut AnyConnection, f: &mut F) -> Result<T, E>
where
    E: From<DbError>,
    F: FnMut(&mut AnyConnection) -> Result<T, E>,
{
    match connection {
        // query_only may be left on by a read whose reset failed; a write must be able to write.
        AnyConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "PRAGMA query_only = OFF; BEGIN IMMEDIATE")
                .map_err(DbError::from)?
        }
        AnyConnection::Postgresql(c) => {
            // Every write appends to the one audit chain, so concurrent writers would
            // always conflict: an advisory lock queues them, as BEGIN IMMEDIATE does on
            // SQLite, across every key-tier process sharing the database. Under READ
            // COMMITTED each statement after the lock sees what the previous holder
            // committed (a SERIALIZABLE snapshot would predate the wait), and writers
            // holding the lock one at a time cannot interleave.
            AnsiTransactionManager::begin_transaction_sql(c, WRITE_BEGIN_POSTGRES).map_err(DbError::from)?
        }
    }
    match f(connection) {
        Ok(value) => {
            // On a failed COMMIT diesel rolls back itself and returns the commit error.
            <AnyConnection as Connection>::TransactionManager::commit_transaction(connection).map_err(DbError::from)?;
            Ok(value)
        }
        Err(e) => {
            // A failed rollback leaves the connection marked broken; the pool then discards it.
            let _ = <AnyConnection as Connection>::TransactionManager::rollback_transaction(connection);
            Err(e)
        }
    }
}

/// Applies the embedded migrations that `connection`'s database has not seen yet.
fn run_migrations(connection: &mut AnyConnection, migrations: &Migrations) -> Result<(), DbError> {
    let applied = match connection {
        AnyConnection::Sqlite(c) => c.run_pending_migrations((migrations.sqlite)()).map(|v| v.len()),
        AnyConnection::Postgresql(c) => c.run_pending_migrations((migrations.postgres)()).map(|v| v.len()),
    };
    applied.map(|_| ()).map_err(|e| DbError::Migration(e.to_string()))
}

/// A database failure as the client sees it: "try again" when the database
/// is busy or unreachable, nothing at all otherwise.
impl From<DbError> for Failure {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(_) => Failure {
                body: signet_schema::api::ApiError {
                    code: signet_schema::api::ApiErrorCode::Unavailable,
                    message: "the database is unavailable or too busy to answer now; try again in a moment".into(),
                    field: None,
                },
                detail: Some(e.to_string()),
            },
            other => Failure::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{WRITE_BEGIN_POSTGRES, WRITE_LOCK_KEY};

    #[test]
    fn postgres_writers_queue_on_the_published_lock() {
        assert!(WRITE_BEGIN_POSTGRES.ends_with(&format!("pg_advisory_xact_lock({WRITE_LOCK_KEY})")));
    }
}
