//! A restart on the same database and key file keeps every state.

use serde_json::json;

use crate::helpers::spawn_app;

#[test]
fn a_restart_keeps_sessions_mfa_and_used_codes() {
    // Arrange
    let mut app = spawn_app();
    let mut mfa = app.user_with_mfa();
    let used = app.login(&mfa.user, Some(&mfa.backup_codes[0]));
    assert_eq!(used.status, 200, "{}", used.text);

    // Act
    app.restart();

    // Assert
    let status = app.status(&mfa.token);
    assert_eq!(
        status.status, 200,
        "the old token stopped working: {}",
        status.text
    );
    assert_eq!(status.body["enabled"], true);
    assert_eq!(status.body["backup-codes-remaining"], 9);

    let reused = app.login(&mfa.user, Some(&mfa.backup_codes[0]));
    assert_eq!(
        reused.status, 401,
        "a used code works again: {}",
        reused.text
    );
    assert_eq!(
        reused.body,
        json!({"success": false, "error": "Invalid MFA code"})
    );

    let totp = app.login(&mfa.user, Some(&mfa.authenticator.fresh_code()));
    assert_eq!(totp.status, 200, "{}", totp.text);
    assert_eq!(app.status(&totp.token()).status, 200);
}

#[test]
fn a_restart_keeps_the_failure_count() {
    // Arrange
    let mut app = spawn_app();
    let mut mfa = app.user_with_mfa();
    let wrong = mfa.authenticator.wrong_code();
    for _ in 0..5 {
        assert_eq!(app.login(&mfa.user, Some(&wrong)).status, 401);
    }

    // Act
    app.restart();
    let after = app.login(&mfa.user, Some(&mfa.authenticator.fresh_code()));

    // Assert
    assert_eq!(after.status, 429, "{}", after.text);
    assert!(after.header("Retry-After").is_some());
}
