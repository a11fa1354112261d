//! The key tier's database: its tables ([`schema`]), the queries flows
//! compose inside one transaction ([`models`]) and its migrations, on the
//! shared [`signet_database`] (SQLite or PostgreSQL through one code path).

mod generation_rounds;
pub mod models;
pub mod schema;

pub use generation_rounds::GenerationReader;
pub use models::*;
pub use signet_database::*;

/// Migrations for SQLite, embedded in the binary and run when the database opens.
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// Migrations for PostgreSQL, embedded in the binary and run when the database opens.
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The key tier's migrations.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: || SQLITE_MIGRATIONS,
    postgres: || POSTGRES_MIGRATIONS,
};

/// Opens the key tier's database at `url` (see [`Database::open`]) and brings its tables up to date.
pub fn open(url: &str) -> Result<Database, DbError> {
    up_to_date(Database::open(url, &MIGRATIONS)?)
}

/// [`open`] with the given pool settings.
pub fn open_with(url: &str, options: &DatabaseOptions) -> Result<Database, DbError> {
    up_to_date(Database::open_with(url, &MIGRATIONS, options)?)
}

/// What the migrations cannot do in SQL: people registered before the help
/// desk's search index existed are indexed, a thousand per transaction. (Key
/// tiers starting together on one PostgreSQL database may index the same
/// people: the one that loses looks again.)
fn up_to_date(db: Database) -> Result<Database, DbError> {
    let mut lost = 0;
    loop {
        match db.write(|c| models::user_terms::index_missing(c, 1000)) {
            Ok(0) => return Ok(db),
            Ok(_) => {}
            Err(DbError::Constraint { .. }) if lost < 10 => lost += 1,
            Err(e) => return Err(e),
        }
    }
}
