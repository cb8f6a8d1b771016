//! The storage ports on [`crate::Database`].
//!
//! Each method is one statement or one write transaction; the database, not
//! this process, decides races, so the guarantees hold across threads and
//! across server instances sharing a PostgreSQL database. Nothing here logs:
//! the caller logs an error once, where it handles it.

mod audit;
mod sessions;
mod throttle;
mod users;
