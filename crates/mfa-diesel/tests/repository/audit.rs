//! The audit table and the health check.

use mfa_ports::model::{AuditEvent, AuditKind, UserId};
use mfa_ports::ports::{AuditLog, HealthCheck};

use crate::harness::{TestDb, at, new_uuid};

on_both_backends!(
    events_come_back_oldest_first_filtered_by_user_and_time,
    audit_rows_cannot_be_rewritten,
    ping_answers,
);

fn event(kind: AuditKind, user: Option<UserId>, offset: u64) -> AuditEvent {
    AuditEvent {
        kind,
        user_id: user,
        at: at(offset),
        client: user.map(|_| "203.0.113.7".to_owned()),
        detail: format!("offset={offset}"),
    }
}

fn events_come_back_oldest_first_filtered_by_user_and_time(db: &TestDb) {
    let alice = UserId(new_uuid());
    let bob = UserId(new_uuid());
    let later = event(AuditKind::MfaEnabled, Some(alice), 30);
    let anonymous = event(AuditKind::LoginFailed, None, 10);
    let first = event(AuditKind::Registered, Some(alice), 0);
    let bobs = event(AuditKind::LockedOut, Some(bob), 20);
    let same_second = event(AuditKind::MfaSetupStarted, Some(alice), 30);
    for e in [&later, &anonymous, &first, &bobs, &same_second] {
        db.append_audit(e).unwrap();
    }

    assert_eq!(
        db.audit_events(None, None).unwrap(),
        vec![
            first.clone(),
            anonymous,
            bobs,
            later.clone(),
            same_second.clone()
        ],
        "oldest first; ties in insertion order"
    );
    assert_eq!(
        db.audit_events(Some(alice), None).unwrap(),
        vec![first, later.clone(), same_second.clone()]
    );
    assert_eq!(
        db.audit_events(Some(alice), Some(at(30))).unwrap(),
        vec![later, same_second],
        "since is inclusive"
    );
    assert_eq!(db.audit_events(None, Some(at(31))).unwrap(), vec![]);
    assert_eq!(
        db.audit_events(Some(UserId(new_uuid())), None).unwrap(),
        vec![]
    );
}

fn audit_rows_cannot_be_rewritten(db: &TestDb) {
    db.append_audit(&event(AuditKind::LoggedOut, None, 1))
        .unwrap();

    let rewrite = db
        .raw()
        .execute("UPDATE audit_events SET detail = 'forged'");

    let error = rewrite.expect_err("an UPDATE of audit_events must be refused");
    assert!(error.to_string().contains("append-only"), "{error}");
    assert_eq!(db.audit_events(None, None).unwrap()[0].detail, "offset=1");
}

fn ping_answers(db: &TestDb) {
    db.ping().unwrap();
    assert_eq!(
        db.backend(),
        if db.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    );
}
