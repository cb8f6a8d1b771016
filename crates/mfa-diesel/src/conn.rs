//! The two connection pools, the macro that runs one query body on either,
//! and what differs between the backends: how a write transaction begins,
//! how a user row is locked, and how a SQLite connection is prepared.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sql_types::Text;
use diesel::{PgConnection, SqliteConnection};

use crate::schema::users;

pub(crate) type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;
pub(crate) type PgPool = Pool<ConnectionManager<PgConnection>>;

/// One pool per backend; a [`crate::Database`] holds exactly one.
#[derive(Debug)]
pub(crate) enum Pools {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// How long a request waits for a free connection before the store answers
/// `Unavailable`.
pub(crate) const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a SQLite connection waits for another writer before failing
/// with `SQLITE_BUSY`, in milliseconds.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// Runs `$body` (a block evaluating to a `QueryResult`) with `$conn` bound
/// to a pooled connection of the database's backend, and maps errors to
/// `StoreError`. The body is compiled once per backend, so it may use any
/// query both support; what differs goes through [`BackendConnection`].
macro_rules! with_connection {
    ($db:expr, |$conn:ident| $body:block) => {{
        let result: ::diesel::QueryResult<_> = match $db.pools() {
            $crate::conn::Pools::Sqlite(pool) => {
                let mut pooled = pool.get().map_err(|e| $crate::error::pool_error(&e))?;
                $crate::conn::run(
                    &mut *pooled,
                    |$conn: &mut ::diesel::SqliteConnection| -> ::diesel::QueryResult<_> { $body },
                )
            }
            $crate::conn::Pools::Postgres(pool) => {
                let mut pooled = pool.get().map_err(|e| $crate::error::pool_error(&e))?;
                $crate::conn::run(
                    &mut *pooled,
                    |$conn: &mut ::diesel::PgConnection| -> ::diesel::QueryResult<_> { $body },
                )
            }
        };
        result.map_err($crate::error::store_error)
    }};
}
pub(crate) use with_connection;

/// Gives `with_connection!`'s body a function boundary, so that `?` in it
/// returns a diesel error from the body rather than from the port method.
pub(crate) fn run<C, T>(
    conn: &mut C,
    body: impl FnOnce(&mut C) -> QueryResult<T>,
) -> QueryResult<T> {
    body(conn)
}

/// What a write transaction needs that the backends spell differently.
pub(crate) trait BackendConnection: Connection + Sized {
    /// Runs `f` in a transaction that may write. On SQLite it is
    /// `BEGIN IMMEDIATE`: the write lock is taken up front, so two
    /// transactions that read then write queue on `busy_timeout` instead of
    /// one failing with `SQLITE_BUSY` at its first write.
    fn write_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T>;

    /// Within a write transaction, locks the user's row until the end of it
    /// and answers whether MFA is on, `None` if there is no such user.
    ///
    /// Every write transaction takes this lock first, so they all lock in
    /// one order (user, then the user's other rows) and cannot deadlock.
    fn lock_user_mfa(&mut self, user_id: &str) -> QueryResult<Option<bool>>;
}

impl BackendConnection for SqliteConnection {
    fn write_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T> {
        self.immediate_transaction(f)
    }

    fn lock_user_mfa(&mut self, user_id: &str) -> QueryResult<Option<bool>> {
        // BEGIN IMMEDIATE already holds the database's only write lock.
        users::table
            .find(user_id)
            .select(users::mfa_enabled)
            .first(self)
            .optional()
    }
}

impl BackendConnection for PgConnection {
    fn write_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T> {
        self.transaction(f)
    }

    fn lock_user_mfa(&mut self, user_id: &str) -> QueryResult<Option<bool>> {
        // NO KEY UPDATE, the lock an UPDATE takes: it does not block the key
        // share lock that inserting a child row (a session) takes.
        users::table
            .find(user_id)
            .select(users::mfa_enabled)
            .for_no_key_update()
            .first(self)
            .optional()
    }
}

/// Prepares every new SQLite connection of the pool.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        prepare_sqlite(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

/// WAL lets readers go on while one writer commits; `synchronous = FULL`
/// makes every commit durable, so a spent backup code or an accepted TOTP
/// step cannot come back after a power cut; foreign keys are off in SQLite
/// unless asked for on each connection.
pub(crate) fn prepare_sqlite(conn: &mut SqliteConnection) -> QueryResult<()> {
    conn.batch_execute(&format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};"))?;
    let mode: Vec<JournalMode> = diesel::sql_query("PRAGMA journal_mode = WAL").load(conn)?;
    if !mode
        .first()
        .is_some_and(|m| m.journal_mode.eq_ignore_ascii_case("wal"))
    {
        return Err(diesel::result::Error::QueryBuilderError(
            "SQLite refused to switch the database to WAL mode (is it on a network file system?)"
                .into(),
        ));
    }
    conn.batch_execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
}
