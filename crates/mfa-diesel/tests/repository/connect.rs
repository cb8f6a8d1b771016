//! Opening databases: URL forms, SQLite's file and settings, and errors an
//! operator can act on. These do not depend on the backend under test.
#![allow(clippy::unwrap_used)]

use mfa_diesel::{Database, DbError};
use mfa_ports::ports::{HealthCheck, UserStore};

use crate::harness::new_user;

#[test]
fn a_missing_sqlite_file_is_created_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    assert!(!path.exists());

    let db = Database::connect(path.to_str().unwrap(), 2).unwrap();
    db.run_migrations().unwrap();
    db.create_user(&new_user("wal@example.com")).unwrap();

    assert!(path.is_file());
    assert!(
        dir.path().join("fresh.db-wal").exists(),
        "WAL journal in use"
    );
    assert_eq!(db.backend(), "sqlite");
    assert_eq!(db.describe(), path.display().to_string());
}

#[test]
fn every_sqlite_url_form_opens_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forms.db");
    let plain = path.display().to_string();

    let first = Database::connect(&format!("sqlite://{plain}"), 1).unwrap();
    first.run_migrations().unwrap();
    first.create_user(&new_user("forms@example.com")).unwrap();

    for url in [format!("sqlite:{plain}"), plain.clone()] {
        let db = Database::connect(&url, 1).unwrap();
        assert_eq!(
            db.run_migrations().unwrap(),
            0,
            "{url}: same file, already migrated"
        );
        assert!(
            db.user_by_email("forms@example.com").unwrap().is_some(),
            "{url}"
        );
    }
}

#[test]
fn a_missing_directory_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("mfa.db");

    let error = Database::connect(path.to_str().unwrap(), 1).unwrap_err();

    assert!(
        matches!(error, DbError::SqliteDirectoryMissing { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("no-such-dir"), "{text}");
}

#[test]
fn a_path_that_cannot_be_written_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: no user, root included, can
    // open it as a database file.
    let path = dir.path().join("taken");
    std::fs::create_dir(&path).unwrap();

    let error = Database::connect(path.to_str().unwrap(), 1).unwrap_err();

    assert!(
        matches!(error, DbError::SqliteNotWritable { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn unusable_urls_and_sizes_are_refused() {
    assert_eq!(Database::connect("", 1).unwrap_err(), DbError::EmptyUrl);
    assert_eq!(
        Database::connect(":memory:", 1).unwrap_err(),
        DbError::SqliteInMemory
    );
    assert_eq!(
        Database::connect("/tmp/x.db", 0).unwrap_err(),
        DbError::PoolSize
    );
    let error = Database::connect("mysql://root@localhost/mfa", 1).unwrap_err();
    assert!(error.to_string().contains("mysql://"), "{error}");
}

#[test]
fn an_unreachable_server_is_reported_without_the_password() {
    let url = "postgres://admin:hunter2secret@127.0.0.1:1/mfa";

    let error = Database::connect(url, 1).unwrap_err();

    let text = error.to_string();
    assert!(matches!(error, DbError::Connect { .. }), "{error:?}");
    assert!(text.contains("postgres://127.0.0.1:1/mfa"), "{text}");
    assert!(!text.contains("hunter2secret"), "{text}");
}

#[test]
fn a_database_is_usable_from_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(dir.path().join("t.db").to_str().unwrap(), 4).unwrap();
    db.run_migrations().unwrap();

    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| db.ping().unwrap());
        }
    });
    db.ping().unwrap();
}
