//! Concurrent requests on one user: the database must pick exactly one
//! winner, across threads of one pool and across two pools (two server
//! instances).

use mfa_core::Failures;
use mfa_diesel::Database;
use mfa_ports::model::StoredMfa;
use mfa_ports::ports::{LoginThrottleStore, UserStore};

use crate::harness::{TestDb, at, enabled_user, hashes, race, setup, user};

const THREADS: usize = 16;

on_both_backends!(
    one_winner_for_a_backup_code,
    one_winner_for_a_totp_step,
    one_winner_for_an_attempt_claim,
    two_instances_one_winner_for_a_backup_code,
    two_instances_one_winner_for_a_totp_step,
    two_instances_one_winner_for_an_attempt_claim,
    one_winner_for_enabling_a_setup,
    concurrent_failures_are_all_counted,
);

/// The pool that thread `i` uses: alternating between `pools`.
fn pool<'a>(pools: &'a [&'a Database], i: usize) -> &'a Database {
    pools[i % pools.len()]
}

fn backup_code_race(db: &TestDb, pools: &[&Database]) {
    let id = enabled_user(db, "race-code@example.com", 1, 1);
    let code = hashes(1)[3];

    let winners = race(THREADS, |i| {
        pool(pools, i)
            .consume_backup_code(id, &code, at(5))
            .unwrap()
    });

    assert_eq!(winners, 1, "exactly one request may spend a backup code");
    let StoredMfa::Enabled { backup_codes, .. } = db.user_by_id(id).unwrap().unwrap().mfa else {
        panic!("MFA is off");
    };
    assert_eq!(backup_codes.iter().filter(|c| c.used).count(), 1);
}

fn totp_step_race(db: &TestDb, pools: &[&Database]) {
    let id = enabled_user(db, "race-step@example.com", 2, 10);

    let winners = race(THREADS, |i| {
        pool(pools, i).accept_totp_step(id, 11).unwrap()
    });

    assert_eq!(winners, 1, "exactly one request may use a TOTP step");
    let StoredMfa::Enabled {
        last_accepted_step, ..
    } = db.user_by_id(id).unwrap().unwrap().mfa
    else {
        panic!("MFA is off");
    };
    assert_eq!(last_accepted_step, Some(11));
}

fn claim_race(db: &TestDb, pools: &[&Database]) {
    let id = user(db, "race-claim@example.com");
    let seen = Failures::default();

    let winners = race(THREADS, |i| {
        pool(pools, i)
            .claim_second_factor_attempt(id, seen, at(5))
            .unwrap()
    });

    assert_eq!(winners, 1, "one claim per observed count");
    let failures = db.user_by_id(id).unwrap().unwrap().second_factor_failures;
    assert_eq!(failures.consecutive, 1);
}

fn one_winner_for_a_backup_code(db: &TestDb) {
    backup_code_race(db, &[db]);
}

fn one_winner_for_a_totp_step(db: &TestDb) {
    totp_step_race(db, &[db]);
}

fn one_winner_for_an_attempt_claim(db: &TestDb) {
    claim_race(db, &[db]);
}

fn two_instances_one_winner_for_a_backup_code(db: &TestDb) {
    let second = db.second_instance();
    backup_code_race(db, &[db, &second]);
}

fn two_instances_one_winner_for_a_totp_step(db: &TestDb) {
    let second = db.second_instance();
    totp_step_race(db, &[db, &second]);
}

fn two_instances_one_winner_for_an_attempt_claim(db: &TestDb) {
    let second = db.second_instance();
    claim_race(db, &[db, &second]);
}

fn one_winner_for_enabling_a_setup(db: &TestDb) {
    let second = db.second_instance();
    let pools: [&Database; 2] = [db, &second];
    let id = user(db, "race-enable@example.com");
    let pending = setup(3);
    db.put_pending_setup(id, &pending).unwrap();

    let winners = race(THREADS, |i| {
        let step = 100 + u64::try_from(i).unwrap();
        pool(&pools, i)
            .enable_mfa(id, &pending, at(5), step)
            .unwrap()
    });

    assert_eq!(winners, 1, "a setup is enabled once");
    assert_eq!(db.pending_setup(id).unwrap(), None);
    let StoredMfa::Enabled { backup_codes, .. } = db.user_by_id(id).unwrap().unwrap().mfa else {
        panic!("MFA is off");
    };
    assert_eq!(backup_codes.len(), 10);
}

fn concurrent_failures_are_all_counted(db: &TestDb) {
    let second = db.second_instance();
    let pools: [&Database; 2] = [db, &second];
    let email = "race-password@example.com";
    let id = user(db, "race-setup@example.com");
    let pending = setup(4);
    db.put_pending_setup(id, &pending).unwrap();
    let counts = std::sync::Mutex::new(Vec::new());
    let setup_counts = std::sync::Mutex::new(Vec::new());

    race(THREADS, |i| {
        let failures = pool(&pools, i)
            .record_password_failure(email, at(7))
            .unwrap();
        let setup_failures = pool(&pools, i)
            .record_setup_failure(id, pending.id)
            .unwrap();
        counts.lock().unwrap().push(failures.consecutive);
        setup_counts.lock().unwrap().push(setup_failures.unwrap());
        true
    });

    let expected: Vec<u32> = (1..=u32::try_from(THREADS).unwrap()).collect();
    for seen in [counts, setup_counts] {
        let mut seen = seen.into_inner().unwrap();
        seen.sort_unstable();
        assert_eq!(
            seen, expected,
            "every increment counted once, each count seen once"
        );
    }
    assert_eq!(
        db.password_failures(email).unwrap().consecutive,
        u32::try_from(THREADS).unwrap()
    );
}
