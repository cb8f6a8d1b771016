#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod conn;
mod database;
mod error;
mod rows;
mod schema;
mod store;
mod target;

pub use database::Database;
pub use error::DbError;

/// The SQLite file a database URL names, or `None` for PostgreSQL; the same
/// reading of the URL as [`Database::connect`], for callers that must not
/// create a missing file.
pub fn sqlite_file(url: &str) -> Result<Option<std::path::PathBuf>, DbError> {
    Ok(match target::parse(url)? {
        target::Target::Sqlite { path } => Some(path),
        target::Target::Postgres { .. } => None,
    })
}
