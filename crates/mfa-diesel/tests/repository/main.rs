//! The repository suite: every storage port of `mfa-ports` on a real
//! database. Each suite function takes a [`harness::TestDb`] (a migrated
//! [`mfa_diesel::Database`] plus raw access for checks) and is run against a
//! temporary SQLite file always, and against PostgreSQL when
//! `TEST_DATABASE_URL` is set, each test in a database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Declares, for each named suite function of the enclosing module, one
/// `#[test]` on SQLite (module `sqlite`) and one on PostgreSQL (module
/// `postgres`).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let db = crate::harness::sqlite();
                    super::$name(&db);
                }
            )*
        }

        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(db) = crate::harness::postgres() {
                        super::$name(&db);
                    }
                }
            )*
        }
    };
}

mod audit;
mod connect;
mod harness;
mod mfa;
mod migrations;
mod races;
mod sessions;
mod throttle;
mod users;
