//! The MFA columns: throttle claims, TOTP steps, backup codes, pending
//! setups, enabling and disabling.

use diesel::QueryResult;
use diesel::result::DatabaseErrorKind;
use mfa_core::{BackupCodeHash, Failures, StoredBackupCode};
use mfa_ports::model::{
    PendingSetupRecord, SealedSecret, SecretSlot, SessionRecord, StoredMfa, UserId, UserRecord,
};
use mfa_ports::ports::{SessionStore, UserStore};

use crate::harness::{
    TestDb, at, enabled_user, hash, hashes, new_uuid, sealed, session, setup, user,
};

on_both_backends!(
    claiming_an_attempt_is_compare_and_set,
    a_totp_step_is_accepted_only_when_newer,
    a_backup_code_is_spent_once,
    replacing_codes_retires_the_old_ones,
    a_pending_setup_is_stored_replaced_counted_and_discarded,
    enabling_moves_the_pending_setup_into_the_user,
    enabling_refuses_a_stale_setup_id,
    enabling_refuses_when_already_enabled_or_nothing_is_pending,
    sealed_secrets_are_stored_byte_for_byte,
    sealed_secrets_are_paged_in_id_order_and_replaced_only_if_unchanged,
    disabling_erases_everything_and_revokes_other_sessions,
    an_operator_reset_revokes_every_session_even_with_mfa_off,
    the_schema_refuses_a_half_enabled_user,
);

fn record(db: &TestDb, id: UserId) -> UserRecord {
    db.user_by_id(id).unwrap().expect("user exists")
}

/// The user's codes, sorted by hash: the store keeps no order.
fn codes(db: &TestDb, id: UserId) -> Vec<StoredBackupCode> {
    match record(db, id).mfa {
        StoredMfa::Enabled {
            mut backup_codes, ..
        } => {
            backup_codes.sort_by_key(|c| *c.hash.as_bytes());
            backup_codes
        }
        StoredMfa::Disabled => panic!("MFA is off"),
    }
}

fn unused(hashes: &[BackupCodeHash]) -> Vec<StoredBackupCode> {
    let mut codes: Vec<_> = hashes
        .iter()
        .map(|&hash| StoredBackupCode { hash, used: false })
        .collect();
    codes.sort_by_key(|c| *c.hash.as_bytes());
    codes
}

fn last_step(db: &TestDb, id: UserId) -> Option<u64> {
    match record(db, id).mfa {
        StoredMfa::Enabled {
            last_accepted_step, ..
        } => last_accepted_step,
        StoredMfa::Disabled => panic!("MFA is off"),
    }
}

fn claiming_an_attempt_is_compare_and_set(db: &TestDb) {
    let id = user(db, "hana@example.com");
    let zero = Failures::default();

    assert!(db.claim_second_factor_attempt(id, zero, at(1)).unwrap());
    assert!(
        !db.claim_second_factor_attempt(id, zero, at(2)).unwrap(),
        "count moved on"
    );
    let one = record(db, id).second_factor_failures;
    assert_eq!(
        one,
        Failures {
            consecutive: 1,
            last_at: Some(at(1))
        }
    );
    assert!(db.claim_second_factor_attempt(id, one, at(3)).unwrap());
    assert_eq!(
        record(db, id).second_factor_failures,
        Failures {
            consecutive: 2,
            last_at: Some(at(3))
        }
    );

    db.reset_second_factor_failures(id).unwrap();
    assert_eq!(record(db, id).second_factor_failures, Failures::default());
    assert!(db.claim_second_factor_attempt(id, zero, at(4)).unwrap());
    assert!(
        !db.claim_second_factor_attempt(UserId(new_uuid()), zero, at(5))
            .unwrap()
    );
}

fn a_totp_step_is_accepted_only_when_newer(db: &TestDb) {
    let off = user(db, "ivan@example.com");
    assert!(
        !db.accept_totp_step(off, 100).unwrap(),
        "MFA off: nothing to accept"
    );

    let id = enabled_user(db, "judy@example.com", 1, 100);
    assert_eq!(last_step(db, id), Some(100), "enable used up its step");

    assert!(
        !db.accept_totp_step(id, 100).unwrap(),
        "replay of the enable step"
    );
    assert!(!db.accept_totp_step(id, 99).unwrap(), "older step");
    assert!(db.accept_totp_step(id, 101).unwrap());
    assert!(!db.accept_totp_step(id, 101).unwrap(), "replay");
    assert!(db.accept_totp_step(id, 105).unwrap());
    assert!(
        !db.accept_totp_step(id, 103).unwrap(),
        "older than the newest"
    );
    assert_eq!(last_step(db, id), Some(105));
    assert!(!db.accept_totp_step(UserId(new_uuid()), 200).unwrap());
}

fn a_backup_code_is_spent_once(db: &TestDb) {
    let id = enabled_user(db, "kim@example.com", 2, 7);
    let set = hashes(2);
    let other = enabled_user(db, "lee@example.com", 3, 7);

    assert!(db.consume_backup_code(id, &set[4], at(20)).unwrap());
    assert!(
        !db.consume_backup_code(id, &set[4], at(21)).unwrap(),
        "already spent"
    );
    assert!(
        !db.consume_backup_code(id, &hash(0xee), at(22)).unwrap(),
        "unknown code"
    );
    assert!(
        !db.consume_backup_code(other, &set[5], at(23)).unwrap(),
        "another user's code is not this user's"
    );

    let stored = codes(db, id);
    assert_eq!(stored.len(), 10);
    assert_eq!(stored.iter().filter(|c| c.used).count(), 1);
    assert!(stored.iter().any(|c| c.used && c.hash == set[4]));
    assert!(codes(db, other).iter().all(|c| !c.used));
}

fn replacing_codes_retires_the_old_ones(db: &TestDb) {
    let id = enabled_user(db, "mia@example.com", 4, 7);
    let old = hashes(4);
    let new = hashes(5);
    assert!(db.consume_backup_code(id, &old[0], at(20)).unwrap());

    assert!(db.replace_backup_codes(id, &new, at(30)).unwrap());

    assert_eq!(codes(db, id), unused(&new), "a fresh, unused set");
    assert!(
        !db.consume_backup_code(id, &old[1], at(31)).unwrap(),
        "old codes stop working"
    );
    assert!(db.consume_backup_code(id, &new[1], at(32)).unwrap());

    let off = user(db, "ned@example.com");
    assert!(
        !db.replace_backup_codes(off, &new, at(33)).unwrap(),
        "MFA off"
    );
    assert_eq!(record(db, off).mfa, StoredMfa::Disabled);
    let stray = db.raw().count(&format!(
        "SELECT COUNT(*) AS value FROM backup_codes WHERE user_id = '{}'",
        off.0
    ));
    assert_eq!(stray, 0, "no codes stored for a user without MFA");
}

fn a_pending_setup_is_stored_replaced_counted_and_discarded(db: &TestDb) {
    let id = user(db, "olga@example.com");
    assert_eq!(db.pending_setup(id).unwrap(), None);
    let first = setup(6);

    db.put_pending_setup(id, &first).unwrap();
    assert_eq!(
        db.pending_setup(id).unwrap(),
        Some(first.clone()),
        "codes keep their order"
    );
    assert_eq!(db.record_setup_failure(id, first.id).unwrap(), Some(1));

    let second = setup(7);
    db.put_pending_setup(id, &second).unwrap();
    assert_eq!(
        db.pending_setup(id).unwrap(),
        Some(second.clone()),
        "replaced whole"
    );
    assert_eq!(
        db.record_setup_failure(id, first.id).unwrap(),
        None,
        "stale id"
    );
    assert_eq!(db.record_setup_failure(id, second.id).unwrap(), Some(1));
    assert_eq!(db.record_setup_failure(id, second.id).unwrap(), Some(2));
    assert_eq!(
        db.pending_setup(id).unwrap(),
        Some(PendingSetupRecord {
            failed_attempts: 2,
            ..second.clone()
        })
    );

    db.discard_pending_setup(id, first.id).unwrap();
    assert!(
        db.pending_setup(id).unwrap().is_some(),
        "a stale id discards nothing"
    );
    db.discard_pending_setup(id, second.id).unwrap();
    assert_eq!(db.pending_setup(id).unwrap(), None);
    assert_eq!(
        db.record_setup_failure(id, second.id).unwrap(),
        None,
        "gone"
    );
}

fn enabling_moves_the_pending_setup_into_the_user(db: &TestDb) {
    let id = user(db, "pia@example.com");
    let pending = setup(8);
    db.put_pending_setup(id, &pending).unwrap();
    assert!(
        db.claim_second_factor_attempt(id, Failures::default(), at(1))
            .unwrap()
    );

    assert!(db.enable_mfa(id, &pending, at(42), 1234).unwrap());

    let after = record(db, id);
    let StoredMfa::Enabled {
        sealed_secret,
        enabled_at,
        last_accepted_step,
        ..
    } = after.mfa
    else {
        panic!("MFA is off after enable");
    };
    assert_eq!(sealed_secret, pending.sealed_secret);
    assert_eq!(enabled_at, at(42));
    assert_eq!(last_accepted_step, Some(1234));
    assert_eq!(codes(db, id), unused(&pending.backup_codes));
    assert_eq!(
        after.second_factor_failures,
        Failures::default(),
        "failures cleared"
    );
    assert_eq!(
        db.pending_setup(id).unwrap(),
        None,
        "the pending setup is used up"
    );
}

fn enabling_refuses_a_stale_setup_id(db: &TestDb) {
    let id = user(db, "quinn@example.com");
    let stale = setup(9);
    let current = setup(10);
    db.put_pending_setup(id, &stale).unwrap();
    db.put_pending_setup(id, &current).unwrap();

    assert!(!db.enable_mfa(id, &stale, at(5), 5).unwrap());

    assert_eq!(record(db, id).mfa, StoredMfa::Disabled);
    assert_eq!(
        db.pending_setup(id).unwrap(),
        Some(current.clone()),
        "untouched"
    );
    assert!(db.enable_mfa(id, &current, at(6), 6).unwrap());
}

fn enabling_refuses_when_already_enabled_or_nothing_is_pending(db: &TestDb) {
    let nothing = user(db, "rosa@example.com");
    assert!(!db.enable_mfa(nothing, &setup(11), at(5), 5).unwrap());
    assert_eq!(record(db, nothing).mfa, StoredMfa::Disabled);
    assert!(
        !db.enable_mfa(UserId(new_uuid()), &setup(11), at(5), 5)
            .unwrap()
    );

    let id = enabled_user(db, "sam@example.com", 12, 50);
    let before = record(db, id).mfa;
    let again = setup(13);
    db.put_pending_setup(id, &again).unwrap();

    assert!(!db.enable_mfa(id, &again, at(60), 60).unwrap());

    assert_eq!(
        record(db, id).mfa,
        before,
        "secret, step and codes unchanged"
    );
    assert_eq!(
        db.pending_setup(id).unwrap(),
        Some(again),
        "rolled back: setup kept"
    );
}

fn sealed_secrets_are_stored_byte_for_byte(db: &TestDb) {
    let id = user(db, "tess@example.com");
    let pending = setup(14);
    db.put_pending_setup(id, &pending).unwrap();
    let mut raw = db.raw();

    let pending_bytes = raw.bytes(&format!(
        "SELECT sealed_secret AS value FROM mfa_pending_setups WHERE user_id = '{}'",
        id.0
    ));
    assert_eq!(pending_bytes, Some(sealed(14).0));

    assert!(db.enable_mfa(id, &pending, at(1), 1).unwrap());
    let user_bytes = raw.bytes(&format!(
        "SELECT mfa_secret AS value FROM users WHERE id = '{}'",
        id.0
    ));
    assert_eq!(user_bytes, Some(sealed(14).0));
    let code = raw.bytes(&format!(
        "SELECT code_hash AS value FROM backup_codes WHERE user_id = '{}' ORDER BY code_hash",
        id.0
    ));
    assert_eq!(code.as_deref(), Some(hash(14 * 16).as_bytes().as_slice()));
}

fn sealed_secrets_are_paged_in_id_order_and_replaced_only_if_unchanged(db: &TestDb) {
    let mut active: Vec<UserId> = (0..5)
        .map(|i| enabled_user(db, &format!("page{i}@example.com"), 20 + i, 1))
        .collect();
    active.sort();
    let waiting = user(db, "waiting@example.com");
    db.put_pending_setup(waiting, &setup(30)).unwrap();
    user(db, "plain@example.com");

    let first = db
        .sealed_secrets_after(SecretSlot::Active, None, 2)
        .unwrap();
    let second = db
        .sealed_secrets_after(SecretSlot::Active, Some(first[1].0), 2)
        .unwrap();
    let last = db
        .sealed_secrets_after(SecretSlot::Active, Some(second[1].0), 2)
        .unwrap();
    let ids: Vec<UserId> = first
        .iter()
        .chain(&second)
        .chain(&last)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(
        ids, active,
        "every user with MFA on, once, in id order; none without"
    );
    let pending = db
        .sealed_secrets_after(SecretSlot::Pending, None, 10)
        .unwrap();
    assert_eq!(pending, vec![(waiting, sealed(30))]);

    let (id, old) = first[0].clone();
    let new = SealedSecret(vec![9; 40]);
    assert!(
        db.replace_sealed_secret(id, SecretSlot::Active, &old, &new)
            .unwrap()
    );
    assert!(
        !db.replace_sealed_secret(id, SecretSlot::Active, &old, &sealed(1))
            .unwrap(),
        "the old value is gone"
    );
    let StoredMfa::Enabled { sealed_secret, .. } = db.user_by_id(id).unwrap().unwrap().mfa else {
        panic!("MFA still on");
    };
    assert_eq!(sealed_secret, new);
    assert!(
        db.replace_sealed_secret(waiting, SecretSlot::Pending, &sealed(30), &new)
            .unwrap()
    );
    assert_eq!(
        db.pending_setup(waiting).unwrap().unwrap().sealed_secret,
        new
    );
}

fn disabling_erases_everything_and_revokes_other_sessions(db: &TestDb) {
    let id = enabled_user(db, "uma@example.com", 15, 70);
    assert!(db.accept_totp_step(id, 71).unwrap());
    assert!(
        db.claim_second_factor_attempt(id, Failures::default(), at(2))
            .unwrap()
    );
    db.put_pending_setup(id, &setup(16)).unwrap();
    let [kept, other_device, third] = [session(id), session(id), session(id)];
    let bystander_user = user(db, "vic@example.com");
    let bystander = session(bystander_user);
    for s in [&kept, &other_device, &third, &bystander] {
        db.create_session(s).unwrap();
    }

    assert!(db.disable_mfa(id, Some(kept.id)).unwrap(), "MFA was on");

    let after = record(db, id);
    assert_eq!(after.mfa, StoredMfa::Disabled);
    assert_eq!(after.second_factor_failures, Failures::default());
    assert_eq!(db.pending_setup(id).unwrap(), None);
    let revoked = |s: &SessionRecord| db.session(s.id).unwrap().unwrap().revoked;
    assert!(!revoked(&kept), "the caller's session stays");
    assert!(revoked(&other_device) && revoked(&third));
    assert!(!revoked(&bystander));

    let mut raw = db.raw();
    let secret = raw.bytes(&format!(
        "SELECT mfa_secret AS value FROM users WHERE id = '{}'",
        id.0
    ));
    assert_eq!(secret, None, "the sealed secret is erased");
    let codes_left = raw.count(&format!(
        "SELECT COUNT(*) AS value FROM backup_codes WHERE user_id = '{}'",
        id.0
    ));
    assert_eq!(codes_left, 0);
    assert!(!db.accept_totp_step(id, 72).unwrap(), "no TOTP without MFA");
    assert!(!db.consume_backup_code(id, &hashes(15)[0], at(3)).unwrap());

    assert!(!db.disable_mfa(id, Some(kept.id)).unwrap(), "already off");

    let pending = setup(17);
    db.put_pending_setup(id, &pending).unwrap();
    assert!(
        db.enable_mfa(id, &pending, at(90), 90).unwrap(),
        "a new secret after disable"
    );
    assert_eq!(
        last_step(db, id),
        Some(90),
        "the new secret's own step mark"
    );
}

fn an_operator_reset_revokes_every_session_even_with_mfa_off(db: &TestDb) {
    let id = user(db, "wes@example.com");
    let [a, b] = [session(id), session(id)];
    db.create_session(&a).unwrap();
    db.create_session(&b).unwrap();

    assert!(!db.disable_mfa(id, None).unwrap(), "MFA was off");

    assert!(db.session(a.id).unwrap().unwrap().revoked);
    assert!(db.session(b.id).unwrap().unwrap().revoked);
    assert!(
        !db.disable_mfa(UserId(new_uuid()), None).unwrap(),
        "no such user"
    );
}

fn is_check_violation(outcome: &QueryResult<usize>) -> bool {
    matches!(
        outcome,
        Err(diesel::result::Error::DatabaseError(
            DatabaseErrorKind::CheckViolation,
            _
        ))
    )
}

fn the_schema_refuses_a_half_enabled_user(db: &TestDb) {
    let id = user(db, "xena@example.com");
    let mut raw = db.raw();

    let without_secret = raw.execute(&format!(
        "UPDATE users SET mfa_enabled = TRUE WHERE id = '{}'",
        id.0
    ));
    assert!(
        is_check_violation(&without_secret),
        "MFA on without a secret: {without_secret:?}"
    );

    let enabled = enabled_user(db, "yuri@example.com", 18, 1);
    let secret_left_behind = raw.execute(&format!(
        "UPDATE users SET mfa_enabled = FALSE, mfa_enabled_at = NULL, mfa_last_step = NULL \
         WHERE id = '{}'",
        enabled.0
    ));
    assert!(
        is_check_violation(&secret_left_behind),
        "MFA off with a secret left: {secret_left_behind:?}"
    );
    assert_eq!(record(db, id).mfa, StoredMfa::Disabled);
    assert!(matches!(record(db, enabled).mfa, StoredMfa::Enabled { .. }));
}
