//! The errors of this crate: [`DbError`] for setting the database up, and
//! the mapping of diesel's errors to the ports' [`StoreError`].
//!
//! A [`StoreError`]'s text goes to the operator's log. It is built from the
//! kind of failure and the names of tables and constraints only, never from
//! a bound value or the database's detail line (PostgreSQL's detail repeats
//! the offending key, such as an email).

use std::path::PathBuf;

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};
use mfa_ports::ports::StoreError;

/// Why the database could not be opened, prepared or migrated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// No URL or path was given.
    #[error(
        "the database URL is empty: give a postgres:// URL, sqlite://PATH or the path of a \
         SQLite file"
    )]
    EmptyUrl,
    /// The URL names a database this service does not support.
    #[error(
        "database URLs starting with `{scheme}://` are not supported: use postgres://, \
         postgresql://, sqlite://PATH or the path of a SQLite file"
    )]
    UnsupportedScheme {
        /// The scheme given.
        scheme: String,
    },
    /// `:memory:` would give each pooled connection its own empty database.
    #[error(
        "an in-memory SQLite database is not shared between pooled connections: give the \
         path of a file instead"
    )]
    SqliteInMemory,
    /// `file:` URIs carry options this crate does not check.
    #[error("SQLite `file:` URIs are not supported: give a plain path or sqlite://PATH")]
    SqliteUri,
    /// A pool of zero connections could never serve a request.
    #[error("the database pool size must be at least 1")]
    PoolSize,
    /// The SQLite file's directory is missing.
    #[error(
        "cannot create the SQLite database {}: its directory {} does not exist (or is not a \
         directory); create it or choose another path",
        file.display(),
        dir.display()
    )]
    SqliteDirectoryMissing {
        /// The database file.
        file: PathBuf,
        /// Its missing directory.
        dir: PathBuf,
    },
    /// The SQLite file, or its directory, cannot be written.
    #[error(
        "cannot open the SQLite database {} for writing ({reason}): the file and its \
         directory must be writable by this user, since SQLite keeps its -wal and -shm files \
         beside it",
        path.display()
    )]
    SqliteNotWritable {
        /// The database file.
        path: PathBuf,
        /// What the operating system or SQLite said.
        reason: String,
    },
    /// The first connection failed.
    #[error("cannot connect to the database at {target}: {reason}")]
    Connect {
        /// Where, without credentials.
        target: String,
        /// What the driver said.
        reason: String,
    },
    /// The connection pool could not be filled.
    #[error("cannot open the database connection pool for {target}: {reason}")]
    Pool {
        /// Where, without credentials.
        target: String,
        /// What the pool said.
        reason: String,
    },
    /// Applying or reverting migrations failed; the database is left as the
    /// last successful migration left it.
    #[error("the database migrations on {target} failed: {reason}")]
    Migration {
        /// Where, without credentials.
        target: String,
        /// What failed.
        reason: String,
    },
}

/// Maps a diesel error to the ports' error. A unique violation is a
/// [`StoreError::Conflict`]; data that cannot be decoded is
/// [`StoreError::Corrupt`]; everything else is [`StoreError::Unavailable`].
pub(crate) fn store_error(error: DieselError) -> StoreError {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => StoreError::Conflict,
        DieselError::DatabaseError(kind, info) => {
            StoreError::Unavailable(describe_database_error(kind, info.as_ref()))
        }
        DieselError::DeserializationError(e) => {
            StoreError::Corrupt(format!("a stored value could not be decoded: {e}"))
        }
        DieselError::NotFound => {
            StoreError::Unavailable("the database returned no row where one was expected".into())
        }
        DieselError::SerializationError(_) => {
            StoreError::Unavailable("a value could not be encoded for the database".into())
        }
        DieselError::RollbackErrorOnCommit { .. } | DieselError::BrokenTransactionManager => {
            StoreError::Unavailable("a database transaction could not be completed".into())
        }
        _ => StoreError::Unavailable("the database call failed".into()),
    }
}

/// An error of the pool itself: no connection became free in time, or a
/// new connection could not be opened.
pub(crate) fn pool_error(error: &diesel::r2d2::PoolError) -> StoreError {
    StoreError::Unavailable(format!("no database connection is available: {error}"))
}

fn describe_database_error(kind: DatabaseErrorKind, info: &dyn DatabaseErrorInformation) -> String {
    let what = match kind {
        DatabaseErrorKind::ForeignKeyViolation => "a foreign key refused the write",
        DatabaseErrorKind::NotNullViolation => "a NOT NULL column refused the write",
        DatabaseErrorKind::CheckViolation => "a CHECK constraint refused the write",
        DatabaseErrorKind::SerializationFailure => "a concurrent transaction conflicted",
        DatabaseErrorKind::ReadOnlyTransaction => "the database is read-only",
        DatabaseErrorKind::ClosedConnection => "the database connection was closed",
        DatabaseErrorKind::UnableToSendCommand => "the statement could not be sent",
        _ => "the database refused the statement",
    };
    let mut text = format!("{what}: {}", without_quoted(info.message()));
    if let Some(table) = info.table_name() {
        text.push_str(&format!("; table {table}"));
    }
    if let Some(constraint) = info.constraint_name() {
        text.push_str(&format!("; constraint {constraint}"));
    }
    text
}

/// The message with every quoted part replaced by `"…"`: PostgreSQL quotes
/// both names and values, and a value must never reach a log.
fn without_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut open: Option<char> = None;
    for c in message.chars() {
        match open {
            Some(quote) if c == quote => {
                out.push('…');
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None if c == '"' || c == '\'' => {
                out.push(c);
                open = Some(c);
            }
            None => out.push(c),
        }
    }
    if open.is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_parts_of_a_message_are_hidden() {
        assert_eq!(
            without_quoted(r#"invalid input syntax for type uuid: "bob@example.com""#),
            r#"invalid input syntax for type uuid: "…""#
        );
        assert_eq!(without_quoted("value 'abc"), "value '…");
        assert_eq!(without_quoted("database is locked"), "database is locked");
    }

    #[test]
    fn a_unique_violation_is_a_conflict() {
        let error = DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate key value".to_owned()),
        );
        assert_eq!(store_error(error), StoreError::Conflict);
    }

    #[test]
    fn other_refusals_name_the_kind_but_not_the_values() {
        let error = DieselError::DatabaseError(
            DatabaseErrorKind::CheckViolation,
            Box::new(r#"new row violates check constraint "users_mfa_state""#.to_owned()),
        );
        let StoreError::Unavailable(text) = store_error(error) else {
            panic!("not mapped to Unavailable");
        };
        assert!(
            text.starts_with("a CHECK constraint refused the write"),
            "{text}"
        );
        assert!(!text.contains("users_mfa_state"), "{text}");
    }
}
