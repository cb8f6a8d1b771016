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
