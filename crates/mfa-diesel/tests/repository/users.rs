//! Accounts: create, find, conflicts, and the errors a refused write gives.

use mfa_core::Failures;
use mfa_ports::model::{SessionId, StoredMfa, UserId};
use mfa_ports::ports::{SessionStore, StoreError, UserStore};

use crate::harness::{TestDb, new_user, new_uuid, session};

on_both_backends!(
    create_then_find_by_id_and_by_canonical_email,
    unknown_users_are_none,
    a_second_account_with_the_same_canonical_email_conflicts,
    refused_writes_carry_no_values,
);

fn create_then_find_by_id_and_by_canonical_email(db: &TestDb) {
    let new = new_user("Ada.Lovelace@Example.COM");

    db.create_user(&new).unwrap();

    let by_id = db.user_by_id(new.user.id).unwrap().expect("found by id");
    let by_email = db
        .user_by_email("ada.lovelace@example.com")
        .unwrap()
        .expect("found by canonical email");
    for found in [&by_id, &by_email] {
        assert_eq!(found.user, new.user);
        assert_eq!(
            found.user.email, "Ada.Lovelace@Example.COM",
            "email kept as given"
        );
        assert_eq!(found.password_hash, new.password_hash);
        assert_eq!(found.mfa, StoredMfa::Disabled);
        assert_eq!(found.second_factor_failures, Failures::default());
    }
    assert!(
        db.user_by_email("Ada.Lovelace@Example.COM")
            .unwrap()
            .is_none(),
        "lookups are by the canonical form the caller passes"
    );
}

fn unknown_users_are_none(db: &TestDb) {
    assert!(db.user_by_id(UserId(new_uuid())).unwrap().is_none());
    assert!(db.user_by_email("nobody@example.com").unwrap().is_none());
}

fn a_second_account_with_the_same_canonical_email_conflicts(db: &TestDb) {
    let first = new_user("bob@example.com");
    db.create_user(&first).unwrap();

    let same = new_user("  BOB@Example.com");
    assert_eq!(same.canonical_email, first.canonical_email);
    assert_eq!(db.create_user(&same), Err(StoreError::Conflict));

    let found = db.user_by_email("bob@example.com").unwrap().unwrap();
    assert_eq!(
        found.user.id, first.user.id,
        "the first account is untouched"
    );
    assert!(db.user_by_id(same.user.id).unwrap().is_none());
    db.create_user(&new_user("bobby@example.com")).unwrap();
}

fn refused_writes_carry_no_values(db: &TestDb) {
    let ghost = UserId(new_uuid());
    let orphan = session(ghost);

    let error = db
        .create_session(&orphan)
        .expect_err("foreign keys are enforced");

    let StoreError::Unavailable(text) = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    let ghost_text = ghost.0.to_string();
    assert!(!text.contains(&ghost_text), "{text}");
    assert!(!text.contains(&orphan.id.0.to_string()), "{text}");
    assert!(text.contains("foreign key"), "{text}");
    assert!(db.session(SessionId(orphan.id.0)).unwrap().is_none());
}
