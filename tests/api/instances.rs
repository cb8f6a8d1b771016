//! Two server processes on one database behave as one service.

use std::thread;

use crate::helpers::{ApiResponse, MfaUser, TestApp, spawn_app};

/// Sends the same login from four threads, two against each instance, at once.
fn concurrent_logins(apps: [&TestApp; 2], mfa: &MfaUser, code: &str) -> Vec<ApiResponse> {
    thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let app = apps[i % 2];
                scope.spawn(move || app.login(&mfa.user, Some(code)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a login thread"))
            .collect()
    })
}

fn statuses(responses: &[ApiResponse]) -> Vec<u16> {
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    statuses
}

#[test]
fn a_logout_on_one_instance_ends_the_session_on_the_other() {
    // Arrange
    let first = spawn_app();
    let second = first.another_instance();
    let token = first.registered_and_logged_in(&crate::helpers::TestUser::default());
    assert_eq!(
        second.status(&token).status,
        200,
        "a token works on every instance"
    );

    // Act
    let logout = first.logout(&token);

    // Assert
    assert_eq!(logout.status, 200, "{}", logout.text);
    let refused = second.status(&token);
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert_eq!(refused.header("WWW-Authenticate"), Some("Bearer"));
}

#[test]
fn a_backup_code_sent_concurrently_to_two_instances_logs_in_once() {
    // Arrange
    let first = spawn_app();
    let second = first.another_instance();
    let mfa = first.user_with_mfa();

    // Act
    let responses = concurrent_logins([&first, &second], &mfa, &mfa.backup_codes[4]);

    // Assert
    assert_eq!(
        statuses(&responses),
        vec![200, 401, 401, 401],
        "{:?}",
        responses.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    assert_eq!(first.status(&mfa.token).body["backup-codes-remaining"], 9);
}

#[test]
fn a_totp_code_sent_concurrently_to_two_instances_logs_in_once() {
    // Arrange
    let first = spawn_app();
    let second = first.another_instance();
    let mut mfa = first.user_with_mfa();
    let code = mfa.authenticator.fresh_code();

    // Act
    let responses = concurrent_logins([&first, &second], &mfa, &code);

    // Assert
    assert_eq!(
        statuses(&responses),
        vec![200, 401, 401, 401],
        "{:?}",
        responses.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
}

#[test]
fn a_lock_out_on_one_instance_holds_on_the_other() {
    // Arrange
    let first = spawn_app();
    let second = first.another_instance();
    let mut mfa = first.user_with_mfa();
    let wrong = mfa.authenticator.wrong_code();
    for _ in 0..5 {
        assert_eq!(first.login(&mfa.user, Some(&wrong)).status, 401);
    }

    // Act
    let response = second.login(&mfa.user, Some(&mfa.authenticator.fresh_code()));

    // Assert
    assert_eq!(response.status, 429, "{}", response.text);
    assert!(response.header("Retry-After").is_some());
}
