//! Many simultaneous requests on two server processes sharing one database:
//! a code is spent once, and no wrong code escapes the count.

use std::sync::Barrier;
use std::thread;

use serde_json::json;

use crate::helpers::{ApiResponse, MfaUser, TestApp, spawn_app, spawn_app_with};
use crate::postgres::fresh_database;

/// Two processes on a fresh SQLite file.
fn sqlite_pair() -> (TestApp, TestApp) {
    let first = spawn_app();
    let second = first.another_instance();
    (first, second)
}

/// Sends `count` logins with `code` at once, alternating between the two
/// instances, released together by a barrier.
fn simultaneous_logins(
    apps: [&TestApp; 2],
    mfa: &MfaUser,
    code: &str,
    count: usize,
) -> Vec<ApiResponse> {
    let barrier = Barrier::new(count);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .map(|i| {
                let (app, barrier) = (apps[i % 2], &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    app.login(&mfa.user, Some(code))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a login thread"))
            .collect()
    })
}

fn count(responses: &[ApiResponse], status: u16) -> usize {
    responses.iter().filter(|r| r.status == status).count()
}

fn one_backup_code_logs_in_once(first: &TestApp, second: &TestApp) {
    let mfa = first.user_with_mfa();

    let responses = simultaneous_logins([first, second], &mfa, &mfa.backup_codes[0], 32);

    assert_eq!(count(&responses, 200), 1, "exactly one of 32 logins wins");
    assert_eq!(
        count(&responses, 401) + count(&responses, 429),
        31,
        "the rest are refused"
    );
    let winner = responses
        .iter()
        .find(|r| r.status == 200)
        .expect("a winner");
    assert_eq!(winner.body["backup-codes-remaining"], 9);
    let status = second.status(&mfa.token);
    assert_eq!(status.body["backup-codes-remaining"], 9, "{}", status.text);
}

fn one_totp_code_logs_in_once(first: &TestApp, second: &TestApp) {
    let mut mfa = first.user_with_mfa();
    let code = mfa.authenticator.fresh_code();

    let responses = simultaneous_logins([first, second], &mfa, &code, 32);

    assert_eq!(count(&responses, 200), 1, "exactly one of 32 logins wins");
    assert_eq!(
        count(&responses, 401) + count(&responses, 429),
        31,
        "the rest are refused"
    );
}

/// With every attempt claimed before its code is checked, 50 wrong codes at
/// once yield exactly the five free failures and 45 refusals that count for
/// nothing: the lock-out that follows is the first one, 30 s, not longer.
fn fifty_wrong_codes_are_each_counted_or_refused(first: &TestApp, second: &TestApp) {
    let mfa = first.user_with_mfa();
    let wrong = mfa.authenticator.wrong_code();

    let responses = simultaneous_logins([first, second], &mfa, &wrong, 50);

    assert_eq!(count(&responses, 401), 5, "five wrong codes are counted");
    assert_eq!(
        count(&responses, 429),
        45,
        "the other 45 are refused by the lock-out"
    );
    let next = second.login(&mfa.user, Some(&wrong));
    assert_eq!(next.status, 429, "{}", next.text);
    let retry: u64 = next
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(
        (1..=30).contains(&retry),
        "the first lock-out lasts 30 s, got {retry}"
    );
    assert_eq!(next.body["retry-after"], json!(retry));
}

#[test]
fn thirty_two_logins_with_one_backup_code_succeed_once_on_sqlite() {
    let (first, second) = sqlite_pair();
    one_backup_code_logs_in_once(&first, &second);
}

#[test]
fn thirty_two_logins_with_one_totp_code_succeed_once_on_sqlite() {
    let (first, second) = sqlite_pair();
    one_totp_code_logs_in_once(&first, &second);
}

#[test]
fn fifty_concurrent_wrong_codes_all_count_on_sqlite() {
    let (first, second) = sqlite_pair();
    fifty_wrong_codes_are_each_counted_or_refused(&first, &second);
}

fn postgres_pair(test: &str) -> Option<(crate::postgres::PgDatabase, TestApp, TestApp)> {
    let db = fresh_database(test)?;
    let first = spawn_app_with(&[("DATABASE_URL", &db.url)]);
    let second = first.another_instance();
    Some((db, first, second))
}

#[test]
fn thirty_two_logins_with_one_backup_code_succeed_once_on_postgres() {
    let Some((_db, first, second)) = postgres_pair("backup code race on PostgreSQL") else {
        return;
    };
    one_backup_code_logs_in_once(&first, &second);
}

#[test]
fn thirty_two_logins_with_one_totp_code_succeed_once_on_postgres() {
    let Some((_db, first, second)) = postgres_pair("TOTP race on PostgreSQL") else {
        return;
    };
    one_totp_code_logs_in_once(&first, &second);
}

#[test]
fn fifty_concurrent_wrong_codes_all_count_on_postgres() {
    let Some((_db, first, second)) = postgres_pair("wrong codes on PostgreSQL") else {
        return;
    };
    fifty_wrong_codes_are_each_counted_or_refused(&first, &second);
}
