//! Wrong passwords per canonical email.

use mfa_core::Failures;
use mfa_ports::ports::LoginThrottleStore;

use crate::harness::{TestDb, at};

on_both_backends!(password_failures_count_per_email_until_reset);

fn password_failures_count_per_email_until_reset(db: &TestDb) {
    let email = "carol@example.com";
    assert_eq!(db.password_failures(email).unwrap(), Failures::default());

    let first = db.record_password_failure(email, at(1)).unwrap();
    let second = db.record_password_failure(email, at(5)).unwrap();

    assert_eq!(
        first,
        Failures {
            consecutive: 1,
            last_at: Some(at(1))
        }
    );
    assert_eq!(
        second,
        Failures {
            consecutive: 2,
            last_at: Some(at(5))
        }
    );
    assert_eq!(db.password_failures(email).unwrap(), second);
    assert_eq!(
        db.password_failures("dave@example.com").unwrap(),
        Failures::default(),
        "counts are per email"
    );

    db.reset_password_failures(email).unwrap();
    assert_eq!(db.password_failures(email).unwrap(), Failures::default());
    assert_eq!(
        db.record_password_failure(email, at(9)).unwrap(),
        Failures {
            consecutive: 1,
            last_at: Some(at(9))
        }
    );
    db.reset_password_failures("never-failed@example.com")
        .unwrap();
}
