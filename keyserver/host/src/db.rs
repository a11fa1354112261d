//! The host's database: its tables, the queries its steps compose inside
//! one transaction, and its migrations, on the shared [`signet_database`]
//! (SQLite by default, PostgreSQL through the same code).

use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
pub use signet_database::{AnyConnection, Database, DatabaseOptions, DbError, Migrations, TransactionError};

/// Migrations for SQLite, embedded in the binary and run when the database opens.
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// Migrations for PostgreSQL, embedded in the binary and run when the database opens.
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The host's migrations.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: || SQLITE_MIGRATIONS,
    postgres: || POSTGRES_MIGRATIONS,
};

/// Opens the host's database at `url` and brings its tables up to date.
pub fn open(url: &str) -> Result<Database, DbError> {
    Database::open(url, &MIGRATIONS)
}

/// The tables.
pub mod schema {
    diesel::table! {
        /// Who may sign for which debtor account, how, up to which amount.
        mandates (iban, user_id) {
            iban -> Text,
            user_id -> Text,
            class -> Text,
            amount_limit -> Nullable<Text>,
            currency -> Text,
            created_at -> BigInt,
        }
    }

    diesel::table! {
        /// Orders received.
        orders (order_id) {
            order_id -> Text,
            message_id -> Text,
            bytes -> Binary,
            sha256 -> Text,
            payments -> BigInt,
            totals -> Text,
            submitted_by -> Text,
            state -> Text,
            reason_code -> Nullable<Text>,
            reason -> Nullable<Text>,
            received_at -> BigInt,
            expires_at -> BigInt,
            report_xml -> Binary,
            report_signature -> Binary,
        }
    }

    diesel::table! {
        /// The debtor accounts of each order, with its total per account.
        order_accounts (order_id, iban) {
            order_id -> Text,
            iban -> Text,
            total -> Text,
            currency -> Text,
        }
    }

    diesel::table! {
        /// Every signature an order holds.
        order_signatures (order_id, user_id) {
            order_id -> Text,
            user_id -> Text,
            class -> Text,
            certificate_serial -> Text,
            signature -> Binary,
            signing_time -> Nullable<BigInt>,
            received_at -> BigInt,
        }
    }

    diesel::table! {
        /// Nonces of signed requests.
        nonces (nonce) {
            nonce -> Text,
            expires_at -> BigInt,
        }
    }

    diesel::table! {
        /// The latest verified CRL.
        crl (id) {
            id -> BigInt,
            der -> Binary,
            this_update -> BigInt,
            next_update -> BigInt,
            fetched_at -> BigInt,
        }
    }

    diesel::joinable!(order_accounts -> orders (order_id));
    diesel::joinable!(order_signatures -> orders (order_id));
    diesel::allow_tables_to_appear_in_same_query!(mandates, orders, order_accounts, order_signatures, nonces, crl);
}

/// A mandate (`mandates`).
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::mandates)]
pub struct Mandate {
    pub iban: String,
    pub user_id: String,
    /// `E`, `A`, `B` or `T`.
    pub class: String,
    /// Largest order total (per account) the signature counts for; `None`: no limit.
    pub amount_limit: Option<String>,
    /// The limit's currency (ISO 4217).
    pub currency: String,
    pub created_at: i64,
}

/// An order (`orders`).
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::orders)]
pub struct StoredOrder {
    pub order_id: String,
    pub message_id: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub payments: i64,
    /// Totals per currency, `;`-separated (`1250.00 EUR`).
    pub totals: String,
    pub submitted_by: String,
    pub state: String,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    pub received_at: i64,
    pub expires_at: i64,
    pub report_xml: Vec<u8>,
    pub report_signature: Vec<u8>,
}

/// One debtor account of an order (`order_accounts`).
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::order_accounts)]
pub struct OrderAccount {
    pub order_id: String,
    pub iban: String,
    /// The order's total on this account, exact decimal.
    pub total: String,
    /// Its currency, or `MIXED` when the payments are in several.
    pub currency: String,
}

/// One signature on an order (`order_signatures`).
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::order_signatures)]
pub struct StoredSignature {
    pub order_id: String,
    pub user_id: String,
    pub class: String,
    pub certificate_serial: String,
    pub signature: Vec<u8>,
    pub signing_time: Option<i64>,
    pub received_at: i64,
}

/// The stored CRL (`crl`).
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::crl)]
pub struct StoredCrl {
    pub id: i64,
    pub der: Vec<u8>,
    pub this_update: i64,
    pub next_update: i64,
    pub fetched_at: i64,
}

/// Queries on `mandates`.
pub mod mandates {
    use super::*;
    use schema::mandates::dsl;

    /// Sets `mandate`, replacing the same user's mandate on the same account.
    pub fn put(c: &mut AnyConnection, mandate: &Mandate) -> Result<(), DbError> {
        diesel::delete(dsl::mandates.find((&mandate.iban, &mandate.user_id))).execute(c)?;
        diesel::insert_into(schema::mandates::table)
            .values(mandate.clone())
            .execute(c)?;
        Ok(())
    }

    /// Removes a mandate; whether there was one.
    pub fn remove(c: &mut AnyConnection, iban: &str, user_id: &str) -> Result<bool, DbError> {
        Ok(diesel::delete(dsl::mandates.find((iban, user_id))).execute(c)? > 0)
    }

    /// The mandate of `user_id` on `iban`, if any.
    pub fn find(c: &mut AnyConnection, iban: &str, user_id: &str) -> Result<Option<Mandate>, DbError> {
        Ok(dsl::mandates
            .find((iban, user_id))
            .select(Mandate::as_select())
            .first(c)
            .optional()?)
    }

    /// Whether `user_id` holds any mandate here.
    pub fn any_for_user(c: &mut AnyConnection, user_id: &str) -> Result<bool, DbError> {
        let found: Option<String> = dsl::mandates
            .filter(dsl::user_id.eq(user_id))
            .select(dsl::iban)
            .first(c)
            .optional()?;
        Ok(found.is_some())
    }

    /// Every mandate, by account and user.
    pub fn all(c: &mut AnyConnection) -> Result<Vec<Mandate>, DbError> {
        Ok(dsl::mandates
            .order((dsl::iban.asc(), dsl::user_id.asc()))
            .select(Mandate::as_select())
            .load(c)?)
    }
}

/// Queries on `orders` and the tables that belong to an order.
pub mod orders {
    use super::*;
    use schema::order_accounts::dsl as accounts;
    use schema::order_signatures::dsl as signatures;
    use schema::orders::dsl;

    /// Stores a new order with its accounts; a waiting or accepted order of
    /// the same submitter with the same message id is [`DbError::Constraint`].
    pub fn insert(c: &mut AnyConnection, order: &StoredOrder, accounts: &[OrderAccount]) -> Result<(), DbError> {
        diesel::insert_into(schema::orders::table)
            .values(order.clone())
            .execute(c)?;
        for account in accounts {
            diesel::insert_into(schema::order_accounts::table)
                .values(account.clone())
                .execute(c)?;
        }
        Ok(())
    }

    /// "Waits or was accepted" (a rejected, cancelled or expired order frees
    /// its message id and its bytes), written exactly as the partial unique indexes
    /// `orders_live_message_id` and `orders_live_sha256` say it: with the
    /// states as literals (not bound parameters) the planners of both
    /// backends see that the query implies the index's condition and use the
    /// index, instead of scanning every order ever stored.
    pub const LIVE: &str = "state NOT IN ('rejected', 'cancelled', 'expired')";

    fn live() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
        diesel::dsl::sql::<diesel::sql_types::Bool>(LIVE)
    }

    /// Whether an order of `submitter`'s that is waiting or accepted carries `message_id`.
    pub fn live_message_id(c: &mut AnyConnection, submitter: &str, message_id: &str) -> Result<bool, DbError> {
        let found: Option<String> = dsl::orders
            .filter(dsl::submitted_by.eq(submitter))
            .filter(dsl::message_id.eq(message_id))
            .filter(live())
            .select(dsl::order_id)
            .first(c)
            .optional()?;
        Ok(found.is_some())
    }

    /// Whether an order with these exact bytes waits or was accepted, whoever submitted it.
    pub fn live_sha256(c: &mut AnyConnection, sha256: &str) -> Result<bool, DbError> {
        let found: Option<String> = dsl::orders
            .filter(dsl::sha256.eq(sha256))
            .filter(live())
            .select(dsl::order_id)
            .first(c)
            .optional()?;
        Ok(found.is_some())
    }

    /// The order `order_id`, if any.
    pub fn find(c: &mut AnyConnection, order_id: &str) -> Result<Option<StoredOrder>, DbError> {
        Ok(dsl::orders
            .find(order_id)
            .select(StoredOrder::as_select())
            .first(c)
            .optional()?)
    }

    /// Its debtor accounts.
    pub fn accounts(c: &mut AnyConnection, order_id: &str) -> Result<Vec<OrderAccount>, DbError> {
        Ok(accounts::order_accounts
            .filter(accounts::order_id.eq(order_id))
            .order(accounts::iban.asc())
            .select(OrderAccount::as_select())
            .load(c)?)
    }

    /// Its signatures, oldest first.
    pub fn signatures(c: &mut AnyConnection, order_id: &str) -> Result<Vec<StoredSignature>, DbError> {
        Ok(signatures::order_signatures
            .filter(signatures::order_id.eq(order_id))
            .order(signatures::received_at.asc())
            .select(StoredSignature::as_select())
            .load(c)?)
    }

    /// Adds a signature; the same user twice is [`DbError::Constraint`].
    pub fn add_signature(c: &mut AnyConnection, signature: &StoredSignature) -> Result<(), DbError> {
        diesel::insert_into(schema::order_signatures::table)
            .values(signature.clone())
            .execute(c)?;
        Ok(())
    }

    /// Records a new state, its reason and the signed report that says so.
    pub fn set_state(
        c: &mut AnyConnection,
        order_id: &str,
        state: &str,
        reason: Option<(&str, &str)>,
        report: (&[u8], &[u8]),
    ) -> Result<(), DbError> {
        let (reason_code, reason_text) = reason.map_or((None, None), |(c, t)| (Some(c), Some(t)));
        diesel::update(dsl::orders.find(order_id))
            .set((
                dsl::state.eq(state),
                dsl::reason_code.eq(reason_code),
                dsl::reason.eq(reason_text),
                dsl::report_xml.eq(report.0),
                dsl::report_signature.eq(report.1),
            ))
            .execute(c)?;
        Ok(())
    }

    /// Orders in `state`, oldest first, at most `limit`.
    pub fn in_state(c: &mut AnyConnection, state: &str, limit: i64) -> Result<Vec<StoredOrder>, DbError> {
        Ok(dsl::orders
            .filter(dsl::state.eq(state))
            .order(dsl::received_at.asc())
            .limit(limit)
            .select(StoredOrder::as_select())
            .load(c)?)
    }

    /// Orders in `state` whose waiting time ended before `now`, at most `limit`.
    pub fn expired(c: &mut AnyConnection, state: &str, now: i64, limit: i64) -> Result<Vec<StoredOrder>, DbError> {
        Ok(dsl::orders
            .filter(dsl::state.eq(state))
            .filter(dsl::expires_at.le(now))
            .order(dsl::expires_at.asc())
            .limit(limit)
            .select(StoredOrder::as_select())
            .load(c)?)
    }

    /// Orders `user_id` submitted or signed, newest first, at most `limit`.
    pub fn of_user(c: &mut AnyConnection, user_id: &str, limit: i64) -> Result<Vec<StoredOrder>, DbError> {
        let signed = signatures::order_signatures
            .filter(signatures::user_id.eq(user_id))
            .select(signatures::order_id);
        Ok(dsl::orders
            .filter(dsl::submitted_by.eq(user_id).or(dsl::order_id.eq_any(signed)))
            .order(dsl::received_at.desc())
            .limit(limit)
            .select(StoredOrder::as_select())
            .load(c)?)
    }

    /// Orders waiting for signatures on an account `user_id` holds a
    /// mandate for, that `user_id` has not signed, oldest first.
    pub fn awaiting(c: &mut AnyConnection, user_id: &str, limit: i64) -> Result<Vec<StoredOrder>, DbError> {
        use schema::mandates::dsl as mandates;
        let my_accounts = mandates::mandates
            .filter(mandates::user_id.eq(user_id))
            .filter(mandates::class.ne("T"))
            .select(mandates::iban);
        let on_my_accounts = accounts::order_accounts
            .filter(accounts::iban.eq_any(my_accounts))
            .select(accounts::order_id);
        let signed = signatures::order_signatures
            .filter(signatures::user_id.eq(user_id))
            .select(signatures::order_id);
        Ok(dsl::orders
            .filter(dsl::state.eq("awaiting-signatures"))
            .filter(dsl::order_id.eq_any(on_my_accounts))
            .filter(dsl::order_id.ne_all(signed))
            .order(dsl::received_at.asc())
            .limit(limit)
            .select(StoredOrder::as_select())
            .load(c)?)
    }
}

/// Queries on `nonces`.
pub mod nonces {
    use super::*;
    use schema::nonces::dsl;

    /// Uses `nonce` once: `false` when it was used before (and is still remembered).
    pub fn consume(c: &mut AnyConnection, nonce: &str, now: i64, expires_at: i64) -> Result<bool, DbError> {
        diesel::delete(dsl::nonces.filter(dsl::expires_at.lt(now))).execute(c)?;
        let seen: Option<String> = dsl::nonces.find(nonce).select(dsl::nonce).first(c).optional()?;
        if seen.is_some() {
            return Ok(false);
        }
        diesel::insert_into(schema::nonces::table)
            .values((dsl::nonce.eq(nonce), dsl::expires_at.eq(expires_at)))
            .execute(c)?;
        Ok(true)
    }
}

/// Queries on `crl`.
pub mod crl {
    use super::*;
    use schema::crl::dsl;

    /// The stored CRL, if any.
    pub fn get(c: &mut AnyConnection) -> Result<Option<StoredCrl>, DbError> {
        Ok(dsl::crl.find(1).select(StoredCrl::as_select()).first(c).optional()?)
    }

    /// Keeps `crl` as the one stored.
    pub fn put(c: &mut AnyConnection, crl: &StoredCrl) -> Result<(), DbError> {
        diesel::delete(dsl::crl).execute(c)?;
        diesel::insert_into(schema::crl::table).values(crl.clone()).execute(c)?;
        Ok(())
    }
}
