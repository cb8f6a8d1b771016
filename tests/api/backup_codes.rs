//! Logging in with backup codes, and replacing them.

use serde_json::json;

use crate::helpers::{is_backup_code, spawn_app, strings};

#[test]
fn a_backup_code_logs_in_once_in_any_case_without_dashes() {
    // Arrange
    let app = spawn_app();
    let mfa = app.user_with_mfa();
    let typed = mfa.backup_codes[3].replace('-', "").to_lowercase();

    // Act
    let first = app.login(&mfa.user, Some(&typed));
    let again = app.login(&mfa.user, Some(&mfa.backup_codes[3]));

    // Assert
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["success"], true);
    assert!(first.body["token"].is_string());
    assert_eq!(first.body["backup-codes-remaining"], 9);
    assert_eq!(again.status, 401, "{}", again.text);
    assert_eq!(
        again.body,
        json!({"success": false, "error": "Invalid MFA code"})
    );
    assert_eq!(app.status(&mfa.token).body["backup-codes-remaining"], 9);
}

#[test]
fn a_backup_code_with_spaces_is_accepted() {
    // Arrange
    let app = spawn_app();
    let mfa = app.user_with_mfa();
    let typed = format!("  {}  ", mfa.backup_codes[0].replace('-', " "));

    // Act
    let login = app.login(&mfa.user, Some(&typed));

    // Assert
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["backup-codes-remaining"], 9);
}

#[test]
fn regenerated_codes_replace_every_earlier_one() {
    // Arrange
    let app = spawn_app();
    let mut mfa = app.user_with_mfa();
    let proof = mfa.authenticator.fresh_code();

    // Act
    let regenerated = app.regenerate_backup_codes(&mfa.token, &json!({"mfa-code": proof}));

    // Assert
    assert_eq!(regenerated.status, 200, "{}", regenerated.text);
    assert_eq!(regenerated.body["success?"], true);
    let new_codes = strings(&regenerated.body["backup-codes"]);
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| is_backup_code(c)), "{new_codes:?}");
    assert!(new_codes.iter().all(|c| !mfa.backup_codes.contains(c)));

    let old = app.login(&mfa.user, Some(&mfa.backup_codes[0]));
    assert_eq!(old.status, 401, "an old code still logs in: {}", old.text);
    let new = app.login(&mfa.user, Some(&new_codes[0]));
    assert_eq!(new.status, 200, "{}", new.text);
    assert_eq!(new.body["backup-codes-remaining"], 9);
}

#[test]
fn regeneration_needs_a_valid_second_factor() {
    // Arrange
    let app = spawn_app();
    let mfa = app.user_with_mfa();

    // Act
    let missing = app.regenerate_backup_codes(&mfa.token, &json!({}));
    let wrong = app.regenerate_backup_codes(
        &mfa.token,
        &json!({"mfa-code": mfa.authenticator.wrong_code()}),
    );
    let with_backup_code =
        app.regenerate_backup_codes(&mfa.token, &json!({"mfa-code": mfa.backup_codes[5]}));

    // Assert
    assert_eq!(missing.status, 400, "{}", missing.text);
    assert!(missing.error().contains("mfa-code"), "{}", missing.text);
    assert_eq!(wrong.status, 403, "{}", wrong.text);
    assert_eq!(wrong.body["success?"], false);
    assert_eq!(with_backup_code.status, 200, "{}", with_backup_code.text);
    assert_eq!(strings(&with_backup_code.body["backup-codes"]).len(), 10);
}

#[test]
fn regeneration_without_mfa_is_a_conflict() {
    // Arrange
    let app = spawn_app();
    let token = app.registered_and_logged_in(&crate::helpers::TestUser::default());

    // Act
    let response = app.regenerate_backup_codes(&token, &json!({"mfa-code": "123456"}));

    // Assert
    assert_eq!(response.status, 409, "{}", response.text);
    assert_eq!(response.body["success?"], false);
}
