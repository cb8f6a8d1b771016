//! Fresh databases for each test, and the records tests build.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Nullable, Text};
use diesel::{PgConnection, SqliteConnection};
use mfa_core::{BackupCodeHash, UnixTime};
use mfa_diesel::Database;
use mfa_ports::model::{
    NewUser, PendingSetupRecord, SealedSecret, SessionId, SessionRecord, SetupId, User, UserId,
};
use mfa_ports::ports::UserStore;
use tempfile::TempDir;
use uuid::Uuid;

/// Connections per pool: enough for the 16 threads of the race tests to
/// hold one each at the same time.
pub const POOL_SIZE: u32 = 16;

/// A migrated database of one test, dropped (PostgreSQL) or deleted
/// (SQLite) when the test ends, passed or failed.
pub struct TestDb {
    // Field order is drop order: the pool closes before its database goes.
    db: Database,
    url: String,
    place: Place,
}

/// What to clean up after the test; held only for its `Drop`.
enum Place {
    Sqlite { _dir: TempDir },
    Postgres { _drop: DropDatabase },
}

impl Deref for TestDb {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.db
    }
}

/// A migrated SQLite database in a file of a fresh temporary directory.
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("mfa.db").display());
    let db = Database::connect(&url, POOL_SIZE).expect("SQLite opens");
    assert_eq!(db.run_migrations().expect("migrations apply"), 2);
    TestDb {
        db,
        url,
        place: Place::Sqlite { _dir: dir },
    }
}

/// A migrated PostgreSQL database of its own, or `None` (the test is
/// skipped) when `TEST_DATABASE_URL` is unset outside CI.
pub fn postgres() -> Option<TestDb> {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "TEST_DATABASE_URL is not set: CI must run the repository suite on PostgreSQL \
             (e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres)"
        );
        eprintln!("skipped on PostgreSQL: TEST_DATABASE_URL is not set");
        return None;
    };

    let name = format!("mfa_test_{}_{}", std::process::id(), unique());
    let mut admin = PgConnection::establish(&admin_url)
        .unwrap_or_else(|e| panic!("cannot connect to TEST_DATABASE_URL: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("CREATE DATABASE");
    let place = Place::Postgres {
        _drop: DropDatabase {
            admin_url: admin_url.clone(),
            name: name.clone(),
        },
    };

    let url = with_database(&admin_url, &name);
    let db = Database::connect(&url, POOL_SIZE).expect("PostgreSQL opens");
    assert_eq!(db.run_migrations().expect("migrations apply"), 2);
    Some(TestDb { db, url, place })
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        // Best effort: a failure here must not hide the test's own outcome.
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Raw access to the same database, bypassing the adapter, for checks of
/// what is stored.
pub enum Raw {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

#[derive(QueryableByName)]
struct Bytes {
    #[diesel(sql_type = Nullable<Binary>)]
    value: Option<Vec<u8>>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    value: String,
}

impl TestDb {
    /// The URL this test's database was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A second, independent pool on the same database, as a second server
    /// instance would have.
    pub fn second_instance(&self) -> Database {
        Database::connect(&self.url, POOL_SIZE).expect("a second pool opens")
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.place, Place::Postgres { .. })
    }

    pub fn raw(&self) -> Raw {
        match self.place {
            Place::Sqlite { .. } => {
                let path = self.url.trim_start_matches("sqlite://");
                Raw::Sqlite(SqliteConnection::establish(path).expect("raw SQLite connection"))
            }
            Place::Postgres { .. } => {
                Raw::Postgres(PgConnection::establish(&self.url).expect("raw PG connection"))
            }
        }
    }
}

impl Raw {
    /// Runs a statement; the error, if any, is returned for the test to check.
    pub fn execute(&mut self, sql: &str) -> QueryResult<usize> {
        match self {
            Self::Sqlite(c) => diesel::sql_query(sql).execute(c),
            Self::Postgres(c) => diesel::sql_query(sql).execute(c),
        }
    }

    /// The one nullable BLOB/BYTEA a query selects `AS value`.
    pub fn bytes(&mut self, sql: &str) -> Option<Vec<u8>> {
        let rows: Vec<Bytes> = match self {
            Self::Sqlite(c) => diesel::sql_query(sql).load(c),
            Self::Postgres(c) => diesel::sql_query(sql).load(c),
        }
        .expect("query runs");
        rows.into_iter().next().and_then(|r| r.value)
    }

    /// The integer a query selects `AS value` (cast to BIGINT).
    pub fn count(&mut self, sql: &str) -> i64 {
        let rows: Vec<Count> = match self {
            Self::Sqlite(c) => diesel::sql_query(sql).load(c),
            Self::Postgres(c) => diesel::sql_query(sql).load(c),
        }
        .expect("query runs");
        rows.first().expect("one row").value
    }

    /// The application tables present, sorted.
    pub fn tables(&mut self) -> Vec<String> {
        let sql = match self {
            Self::Sqlite(_) => {
                "SELECT name AS value FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__diesel%' ORDER BY name"
            }
            Self::Postgres(_) => {
                "SELECT tablename::text AS value FROM pg_tables WHERE schemaname = 'public' \
                 AND tablename NOT LIKE '__diesel%' ORDER BY tablename"
            }
        };
        let rows: Vec<Name> = match self {
            Self::Sqlite(c) => diesel::sql_query(sql).load(c),
            Self::Postgres(c) => diesel::sql_query(sql).load(c),
        }
        .expect("query runs");
        rows.into_iter().map(|r| r.value).collect()
    }
}

/// A number not handed out before in this process, mixed with the clock so
/// that parallel test processes do not collide either.
pub fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (u64::from(nanos) << 20) ^ NEXT.fetch_add(1, Ordering::Relaxed)
}

pub fn new_uuid() -> Uuid {
    Uuid::from_u128((u128::from(unique()) << 64) | u128::from(unique()))
}

pub const T0: UnixTime = UnixTime(1_700_000_000);

pub fn at(offset: u64) -> UnixTime {
    T0.plus_secs(offset)
}

pub fn new_user(email: &str) -> NewUser {
    NewUser {
        user: User {
            id: UserId(new_uuid()),
            email: email.to_owned(),
            name: "Test User".to_owned(),
        },
        canonical_email: email.trim().to_lowercase(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        created_at: T0,
    }
}

/// Creates a user and answers its id.
pub fn user(db: &Database, email: &str) -> UserId {
    let new = new_user(email);
    db.create_user(&new).expect("user created");
    new.user.id
}

pub fn hash(tag: u8) -> BackupCodeHash {
    let mut bytes = [tag; 32];
    bytes[0] = 0;
    bytes[31] = 0xff;
    BackupCodeHash::from_bytes(bytes)
}

/// Ten distinct hashes, different for each `set`.
pub fn hashes(set: u8) -> Vec<BackupCodeHash> {
    (0..10)
        .map(|i| hash(set.wrapping_mul(16).wrapping_add(i)))
        .collect()
}

/// Sealed bytes with a NUL, a high byte and no valid UTF-8, so that any
/// text conversion on the way would show.
pub fn sealed(tag: u8) -> SealedSecret {
    SealedSecret(vec![
        0x00, 0xff, 0xfe, tag, 0x80, 0x00, 0xc3, 0x28, tag, 0x01,
    ])
}

pub fn setup(tag: u8) -> PendingSetupRecord {
    PendingSetupRecord {
        id: SetupId(new_uuid()),
        sealed_secret: sealed(tag),
        backup_codes: hashes(tag),
        created_at: at(0),
        expires_at: at(600),
        failed_attempts: 0,
    }
}

/// A user with MFA on: `setup(tag)` enabled at `at(10)` with step `step`.
pub fn enabled_user(db: &Database, email: &str, tag: u8, step: u64) -> UserId {
    let id = user(db, email);
    let pending = setup(tag);
    db.put_pending_setup(id, &pending).expect("setup stored");
    assert!(
        db.enable_mfa(id, &pending, at(10), step)
            .expect("enable runs")
    );
    id
}

pub fn session(user: UserId) -> SessionRecord {
    SessionRecord {
        id: SessionId(new_uuid()),
        user_id: user,
        created_at: at(0),
        expires_at: at(3600),
        revoked: false,
    }
}

/// Runs `f(i)` on `n` threads released together; answers how many said true.
pub fn race(n: usize, f: impl Fn(usize) -> bool + Sync) -> usize {
    let start = std::sync::Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (start, f) = (&start, &f);
                s.spawn(move || {
                    start.wait();
                    f(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("racing thread"))
            .filter(|won| *won)
            .count()
    })
}
