//! Turning MFA off.

use serde_json::json;

use crate::helpers::{TestUser, spawn_app};

#[test]
fn disable_needs_a_code_and_ends_every_other_session() {
    // Arrange
    let app = spawn_app();
    let user = TestUser::default();
    let token = app.registered_and_logged_in(&user);
    let other_token = app.login(&user, None).token();
    let mut mfa = app.enable_mfa_for(user, token);

    // Act
    let missing = app.disable(&mfa.token, &json!({}));
    let wrong = app.disable(
        &mfa.token,
        &json!({"mfa-code": mfa.authenticator.wrong_code()}),
    );
    let right = app.disable(
        &mfa.token,
        &json!({"mfa-code": mfa.authenticator.fresh_code()}),
    );

    // Assert
    assert_eq!(missing.status, 400, "{}", missing.text);
    assert_eq!(missing.body["success?"], false);
    assert!(missing.error().contains("mfa-code"), "{}", missing.text);
    assert_eq!(wrong.status, 403, "{}", wrong.text);
    assert_eq!(wrong.body["success?"], false);
    assert_eq!(right.status, 200, "{}", right.text);
    assert_eq!(right.body, json!({"success?": true}));

    let status = app.status(&mfa.token);
    assert_eq!(
        status.status, 200,
        "the calling session stays: {}",
        status.text
    );
    assert_eq!(
        status.body,
        json!({"enabled": false, "enabled-at": null, "backup-codes-remaining": 0})
    );
    let revoked = app.status(&other_token);
    assert_eq!(revoked.status, 401, "{}", revoked.text);
    assert_eq!(revoked.header("WWW-Authenticate"), Some("Bearer"));
    assert_eq!(revoked.body["success?"], false);

    let login = app.login(&mfa.user, None);
    assert_eq!(login.status, 200, "{}", login.text);
    assert!(login.body["token"].is_string(), "no second factor any more");
}

#[test]
fn disable_accepts_a_backup_code() {
    // Arrange
    let app = spawn_app();
    let mfa = app.user_with_mfa();

    // Act
    let response = app.disable(&mfa.token, &json!({"mfa-code": mfa.backup_codes[9]}));

    // Assert
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(app.status(&mfa.token).body["enabled"], false);
}

#[test]
fn disable_when_mfa_is_off_is_a_conflict() {
    // Arrange
    let app = spawn_app();
    let token = app.registered_and_logged_in(&TestUser::default());

    // Act
    let response = app.disable(&token, &json!({"mfa-code": "123456"}));
    let without_code = app.disable(&token, &json!({}));

    // Assert
    assert_eq!(response.status, 409, "{}", response.text);
    assert_eq!(response.body["success?"], false);
    assert!(response.body["error"].is_string());
    assert_eq!(
        without_code.status, 400,
        "the body is checked first: {}",
        without_code.text
    );
}

#[test]
fn after_disable_a_new_setup_starts_afresh() {
    // Arrange
    let app = spawn_app();
    let mut mfa = app.user_with_mfa();
    let off = app.disable(
        &mfa.token,
        &json!({"mfa-code": mfa.authenticator.fresh_code()}),
    );
    assert_eq!(off.status, 200, "{}", off.text);

    // Act
    let again = app.enable_mfa_for(mfa.user.clone(), mfa.token.clone());

    // Assert
    assert_ne!(again.secret, mfa.secret);
    let old_code = app.login(&mfa.user, Some(&mfa.backup_codes[0]));
    assert_eq!(
        old_code.status, 401,
        "an erased code logs in: {}",
        old_code.text
    );
    let status = app.status(&mfa.token);
    assert_eq!(status.body["enabled"], true);
    assert_eq!(status.body["backup-codes-remaining"], 10);
}
