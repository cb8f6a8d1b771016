//! Login sessions.

use mfa_ports::model::{SessionId, SessionRecord};
use mfa_ports::ports::SessionStore;

use crate::harness::{TestDb, at, new_uuid, session, user};

on_both_backends!(
    a_session_is_stored_read_and_revoked,
    revoking_a_users_sessions_keeps_the_one_named,
);

fn a_session_is_stored_read_and_revoked(db: &TestDb) {
    let owner = user(db, "erin@example.com");
    let mut s = session(owner);
    s.expires_at = at(86_400);

    db.create_session(&s).unwrap();
    assert_eq!(db.session(s.id).unwrap(), Some(s.clone()));

    db.revoke_session(s.id).unwrap();
    assert_eq!(
        db.session(s.id).unwrap(),
        Some(SessionRecord {
            revoked: true,
            ..s.clone()
        })
    );
    db.revoke_session(s.id).unwrap();
    assert!(
        db.session(s.id).unwrap().unwrap().revoked,
        "revoking twice is harmless"
    );

    assert_eq!(db.session(SessionId(new_uuid())).unwrap(), None);
    db.revoke_session(SessionId(new_uuid())).unwrap();
}

fn revoking_a_users_sessions_keeps_the_one_named(db: &TestDb) {
    let owner = user(db, "frank@example.com");
    let other = user(db, "grace@example.com");
    let [kept, a, b] = [session(owner), session(owner), session(owner)];
    let theirs = session(other);
    for s in [&kept, &a, &b, &theirs] {
        db.create_session(s).unwrap();
    }

    assert_eq!(db.revoke_user_sessions(owner, Some(kept.id)).unwrap(), 2);
    assert_eq!(
        db.revoke_user_sessions(owner, Some(kept.id)).unwrap(),
        0,
        "already revoked"
    );

    let revoked = |s: &SessionRecord| db.session(s.id).unwrap().unwrap().revoked;
    assert!(!revoked(&kept));
    assert!(revoked(&a) && revoked(&b));
    assert!(!revoked(&theirs), "another user's session is untouched");

    assert_eq!(db.revoke_user_sessions(owner, None).unwrap(), 1);
    assert!(revoked(&kept));
    assert!(!revoked(&theirs));
}
