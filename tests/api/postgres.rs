//! A fresh PostgreSQL database per test, from `TEST_DATABASE_URL`.

use diesel::{Connection, RunQueryDsl, pg::PgConnection};

/// A database created for one test and dropped after it.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

/// A fresh database, or `None` (with a note on stderr) when
/// `TEST_DATABASE_URL` is unset outside CI. In CI its absence fails the test.
pub fn fresh_database(test: &str) -> Option<PgDatabase> {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: TEST_DATABASE_URL must name a PostgreSQL server in CI"
        );
        eprintln!("{test}: skipped, TEST_DATABASE_URL is not set");
        return None;
    };
    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix).expect("random bytes");
    let name = format!(
        "mfa_api_{}",
        suffix
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut admin = PgConnection::establish(&admin_url).expect("the PostgreSQL server answers");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .expect("CREATE DATABASE");
    let (server, _) = admin_url
        .rsplit_once('/')
        .expect("a database URL with a path");
    let url = format!("{server}/{name}");
    Some(PgDatabase {
        admin_url,
        name,
        url,
    })
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}
