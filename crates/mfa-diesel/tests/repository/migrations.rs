//! The embedded migrations: idempotent, and reversible.

use mfa_ports::model::StoredMfa;
use mfa_ports::ports::UserStore;

use crate::harness::{TestDb, enabled_user, new_user};

on_both_backends!(
    applying_migrations_again_is_a_no_op,
    down_migrations_revert_everything_and_apply_again,
    describe_shows_where_without_credentials,
);

const TABLES: [&str; 6] = [
    "audit_events",
    "backup_codes",
    "login_throttles",
    "mfa_pending_setups",
    "sessions",
    "users",
];

fn applying_migrations_again_is_a_no_op(db: &TestDb) {
    let id = enabled_user(db, "kept@example.com", 1, 1);

    assert_eq!(db.run_migrations().unwrap(), 0);
    assert_eq!(db.second_instance().run_migrations().unwrap(), 0);

    assert_eq!(db.raw().tables(), TABLES);
    assert!(
        matches!(
            db.user_by_id(id).unwrap().unwrap().mfa,
            StoredMfa::Enabled { .. }
        ),
        "data survives"
    );
}

fn down_migrations_revert_everything_and_apply_again(db: &TestDb) {
    enabled_user(db, "gone@example.com", 2, 1);

    assert_eq!(db.revert_all_migrations().unwrap(), 2);
    assert_eq!(
        db.raw().tables(),
        Vec::<String>::new(),
        "every table dropped"
    );
    assert!(
        db.user_by_email("gone@example.com").is_err(),
        "no table, no answer"
    );

    assert_eq!(db.run_migrations().unwrap(), 2);
    assert_eq!(db.raw().tables(), TABLES);
    assert!(db.user_by_email("gone@example.com").unwrap().is_none());
    db.create_user(&new_user("back@example.com")).unwrap();
}

fn describe_shows_where_without_credentials(db: &TestDb) {
    let shown = db.describe();
    if db.is_postgres() {
        assert!(shown.starts_with("postgres"), "{shown}");
        assert!(!shown.contains('@'), "no user or password: {shown}");
        let name = db.url().rsplit('/').next().unwrap();
        assert!(shown.ends_with(name), "{shown}");
    } else {
        assert_eq!(shown, db.url().trim_start_matches("sqlite://"));
    }
    assert!(format!("{:?}", **db).contains(&shown));
}
