//! Opening the database a URL names, and its migrations.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::conn::{CHECKOUT_TIMEOUT, PgPool, Pools, SqlitePool, SqlitePragmas, prepare_sqlite};
use crate::error::DbError;
use crate::target::{self, Target};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// The key of the PostgreSQL advisory lock held while migrating, so that
/// instances starting together apply each migration once.
const MIGRATION_LOCK_KEY: i64 = 0x6d66_615f_6d69_6772;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A pool of connections to one SQLite file or one PostgreSQL database,
/// implementing every storage port of `mfa-ports`.
pub struct Database {
    pools: Pools,
    shown: String,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .field("at", &self.shown)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens a pool of `pool_size` connections to the database `url` names:
    /// `postgres://…` or `postgresql://…` for PostgreSQL; `sqlite://PATH`,
    /// `sqlite:PATH` or a plain path for a SQLite file, created if missing.
    /// One connection is opened first, so a wrong URL, an unreachable
    /// server or an unwritable file fails here with a clear [`DbError`].
    pub fn connect(url: &str, pool_size: u32) -> Result<Self, DbError> {
        if pool_size == 0 {
            return Err(DbError::PoolSize);
        }
        match target::parse(url)? {
            Target::Sqlite { path } => Self::connect_sqlite(&path, pool_size),
            Target::Postgres { url, shown } => Self::connect_postgres(&url, shown, pool_size),
        }
    }

    /// Applies the migrations not yet applied, and answers how many. Safe to
    /// run on every start and from several instances at once: they queue on
    /// a lock (SQLite's write lock, a PostgreSQL advisory lock), and all of
    /// them run in one transaction, so a failure leaves the schema as it was.
    pub fn run_migrations(&self) -> Result<usize, DbError> {
        self.migrate(
            |conn| Ok(conn.run_pending_migrations(SQLITE_MIGRATIONS)?.len()),
            |conn| Ok(conn.run_pending_migrations(POSTGRES_MIGRATIONS)?.len()),
        )
    }

    /// Reverts every applied migration, newest first, and answers how many.
    /// This drops every table and all data; it exists to test the `down.sql`
    /// files and for an operator who means it.
    pub fn revert_all_migrations(&self) -> Result<usize, DbError> {
        self.migrate(
            |conn| Ok(conn.revert_all_migrations(SQLITE_MIGRATIONS)?.len()),
            |conn| Ok(conn.revert_all_migrations(POSTGRES_MIGRATIONS)?.len()),
        )
    }

    /// `"sqlite"` or `"postgres"`.
    #[must_use]
    pub fn backend(&self) -> &'static str {
        match self.pools {
            Pools::Sqlite(_) => "sqlite",
            Pools::Postgres(_) => "postgres",
        }
    }

    /// Where the database is, for logs: the SQLite file's absolute path, or
    /// `postgres://host:port/dbname` without user, password or parameters.
    #[must_use]
    pub fn describe(&self) -> String {
        self.shown.clone()
    }

    pub(crate) fn pools(&self) -> &Pools {
        &self.pools
    }

    fn connect_sqlite(path: &Path, pool_size: u32) -> Result<Self, DbError> {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        create_sqlite_file(&path)?;
        let location = path.to_string_lossy().into_owned();
        let not_writable = |reason: String| DbError::SqliteNotWritable {
            path: path.clone(),
            reason,
        };

        let mut first =
            SqliteConnection::establish(&location).map_err(|e| not_writable(e.to_string()))?;
        prepare_sqlite(&mut first).map_err(|e| not_writable(e.to_string()))?;
        drop(first);

        // A SQLite connection is a file handle in this process; it cannot go
        // stale the way a network connection can, so the validation query
        // r2d2 runs on every checkout by default would only double the
        // statements of a request.
        let pool: SqlitePool = Pool::builder()
            .max_size(pool_size)
            .test_on_check_out(false)
            .connection_timeout(CHECKOUT_TIMEOUT)
            .connection_customizer(Box::new(SqlitePragmas))
            .build(ConnectionManager::new(&location))
            .map_err(|e| DbError::Pool {
                target: location.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            pools: Pools::Sqlite(pool),
            shown: location,
        })
    }

    fn connect_postgres(url: &str, shown: String, pool_size: u32) -> Result<Self, DbError> {
        PgConnection::establish(url).map_err(|e| DbError::Connect {
            target: shown.clone(),
            reason: e.to_string().trim_end().to_owned(),
        })?;

        let pool: PgPool = Pool::builder()
            .max_size(pool_size)
            .connection_timeout(CHECKOUT_TIMEOUT)
            .build(ConnectionManager::new(url))
            .map_err(|e| DbError::Pool {
                target: shown.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            pools: Pools::Postgres(pool),
            shown,
        })
    }

    /// Runs a migration step on a dedicated connection, in one transaction
    /// that holds the cross-process lock.
    fn migrate(
        &self,
        sqlite: impl FnOnce(&mut SqliteConnection) -> Result<usize, BoxError>,
        postgres: impl FnOnce(&mut PgConnection) -> Result<usize, BoxError>,
    ) -> Result<usize, DbError> {
        let failed = |reason: String| DbError::Migration {
            target: self.shown.clone(),
            reason,
        };
        match &self.pools {
            Pools::Sqlite(pool) => {
                let mut conn = pool.get().map_err(|e| failed(e.to_string()))?;
                conn.immediate_transaction(sqlite)
            }
            Pools::Postgres(pool) => {
                let mut conn = pool.get().map_err(|e| failed(e.to_string()))?;
                conn.transaction(|conn| {
                    diesel::sql_query(format!(
                        "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
                    ))
                    .execute(conn)?;
                    postgres(conn)
                })
            }
        }
        .map_err(|e| failed(e.to_string()))
    }
}

/// Creates the file if missing, so that a missing directory or a lack of
/// permission is reported in the operator's terms rather than SQLite's
/// "unable to open database file".
fn create_sqlite_file(path: &Path) -> Result<(), DbError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    if !dir.is_dir() {
        return Err(DbError::SqliteDirectoryMissing {
            file: path.to_path_buf(),
            dir,
        });
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map(drop)
        .map_err(|e| DbError::SqliteNotWritable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}
