//! The ways MFA setup and enable refuse.

use serde_json::json;

use crate::helpers::{Authenticator, TestUser, spawn_app, strings};

/// A valid base32 secret that is not the pending one.
const OTHER_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

#[test]
fn enable_without_a_pending_setup_is_a_conflict() {
    // Arrange
    let app = spawn_app();
    let token = app.registered_and_logged_in(&TestUser::default());

    // Act
    let response = app.enable(&token, &json!({"verificationCode": "123456"}));

    // Assert
    assert_eq!(response.status, 409, "{}", response.text);
    assert_eq!(response.body["success?"], false);
    assert!(response.body["error"].is_string());
}

#[test]
fn a_wrong_verification_code_is_refused() {
    // Arrange
    let app = spawn_app();
    let token = app.registered_and_logged_in(&TestUser::default());
    let setup = app.setup(&token);
    let authenticator = Authenticator::new(setup.body["secret"].as_str().unwrap());

    // Act
    let response = app.enable(
        &token,
        &json!({"verificationCode": authenticator.wrong_code()}),
    );

    // Assert
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(
        response.body,
        json!({"success?": false, "error": "Invalid verification code"})
    );
    assert_eq!(app.status(&token).body["enabled"], false);
}

#[test]
fn a_client_cannot_choose_its_own_secret_or_codes() {
    // Arrange
    let app = spawn_app();
    let token = app.registered_and_logged_in(&TestUser::default());
    let setup = app.setup(&token);
    assert_eq!(setup.status, 200, "{}", setup.text);
    let theirs = Authenticator::new(OTHER_SECRET);
    let mut ours = Authenticator::new(setup.body["secret"].as_str().unwrap());
    let mut other_codes = strings(&setup.body["backup-codes"]);
    other_codes[0] = "ABCD-EFGH-JKMN".to_owned();

    // Act
    let chosen_secret = app.enable(
        &token,
        &json!({
            "verificationCode": theirs.code_at_step(theirs.current_step()),
            "secret": OTHER_SECRET,
        }),
    );
    let our_code = ours.code_at_step(ours.current_step());
    let echoed_other_secret = app.enable(
        &token,
        &json!({"verificationCode": our_code, "secret": OTHER_SECRET}),
    );
    let chosen_codes = app.enable(
        &token,
        &json!({"verificationCode": our_code, "backupCodes": other_codes}),
    );
    let right = app.enable(&token, &json!({"verificationCode": ours.fresh_code()}));

    // Assert
    for refused in [&chosen_secret, &echoed_other_secret, &chosen_codes] {
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert_eq!(refused.body["success?"], false);
        assert!(refused.body["error"].is_string());
    }
    assert_eq!(right.status, 200, "{}", right.text);
}

#[test]
fn setup_and_enable_refuse_once_mfa_is_on() {
    // Arrange
    let app = spawn_app();
    let mut mfa = app.user_with_mfa();

    // Act
    let setup = app.setup(&mfa.token);
    let enable = app.enable(
        &mfa.token,
        &json!({"verificationCode": mfa.authenticator.fresh_code()}),
    );

    // Assert
    assert_eq!(setup.status, 409, "{}", setup.text);
    assert_eq!(setup.body["success?"], false);
    assert!(setup.body.get("secret").is_none());
    assert_eq!(enable.status, 409, "{}", enable.text);
    assert_eq!(enable.body["success?"], false);
}

#[test]
fn a_new_setup_replaces_the_pending_one() {
    // Arrange
    let app = spawn_app();
    let token = app.registered_and_logged_in(&TestUser::default());
    let first = app.setup(&token);
    let second = app.setup(&token);
    let first_secret = first.body["secret"].as_str().unwrap();
    let second_secret = second.body["secret"].as_str().unwrap();
    assert_ne!(first_secret, second_secret);
    let stale = Authenticator::new(first_secret);
    let mut current = Authenticator::new(second_secret);

    // Act
    let with_stale = app.enable(
        &token,
        &json!({"verificationCode": stale.code_at_step(stale.current_step())}),
    );
    let with_current = app.enable(&token, &json!({"verificationCode": current.fresh_code()}));

    // Assert
    assert_eq!(with_stale.status, 400, "{}", with_stale.text);
    assert_eq!(with_current.status, 200, "{}", with_current.text);
}

#[test]
fn five_wrong_verification_codes_discard_the_pending_setup() {
    // Arrange
    let app = spawn_app();
    let token = app.registered_and_logged_in(&TestUser::default());
    let setup = app.setup(&token);
    let mut authenticator = Authenticator::new(setup.body["secret"].as_str().unwrap());
    let wrong = authenticator.wrong_code();
    for _ in 0..5 {
        let refused = app.enable(&token, &json!({"verificationCode": wrong}));
        assert_eq!(refused.status, 400, "{}", refused.text);
    }

    // Act
    let right = app.enable(
        &token,
        &json!({"verificationCode": authenticator.fresh_code()}),
    );

    // Assert
    assert_eq!(right.status, 409, "{}", right.text);
    assert_eq!(app.status(&token).body["enabled"], false);
}
