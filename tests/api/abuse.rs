//! Replayed codes and the lock-out after repeated failures.

use serde_json::json;

use crate::helpers::spawn_app;

#[test]
fn a_totp_code_is_accepted_once() {
    // Arrange
    let app = spawn_app();
    let mut mfa = app.user_with_mfa();
    let enable_code = mfa
        .authenticator
        .code_at_step(mfa.authenticator.last_step());
    let code = mfa.authenticator.fresh_code();
    let spaced = format!("{} {}", &code[..3], &code[3..]);

    // Act
    let with_enable_code = app.login(&mfa.user, Some(&enable_code));
    let first = app.login(&mfa.user, Some(&code));
    let replayed = app.login(&mfa.user, Some(&code));
    let replayed_spaced = app.login(&mfa.user, Some(&spaced));

    // Assert
    let refused = json!({"success": false, "error": "Invalid MFA code"});
    assert_eq!(with_enable_code.status, 401, "{}", with_enable_code.text);
    assert_eq!(with_enable_code.body, refused);
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.body["token"].is_string());
    assert_eq!(replayed.status, 401, "{}", replayed.text);
    assert_eq!(replayed.body, refused);
    assert_eq!(replayed_spaced.status, 401, "{}", replayed_spaced.text);
    assert_eq!(replayed_spaced.body, refused);
}

#[test]
fn five_wrong_codes_lock_the_account_even_for_a_right_code() {
    // Arrange
    let app = spawn_app();
    let mut mfa = app.user_with_mfa();
    let wrong = mfa.authenticator.wrong_code();

    // Act
    let failures: Vec<u16> = (0..5)
        .map(|_| app.login(&mfa.user, Some(&wrong)).status)
        .collect();
    let locked = app.login(&mfa.user, Some(&mfa.authenticator.fresh_code()));

    // Assert
    assert_eq!(failures, vec![401; 5]);
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert_eq!(locked.body["success"], false);
    assert!(locked.body.get("token").is_none());
    let header: u64 = locked
        .header("Retry-After")
        .expect("a Retry-After header")
        .parse()
        .expect("whole seconds in Retry-After");
    let body = locked.body["retry-after"]
        .as_u64()
        .expect("an integer retry-after");
    assert!((1..=30).contains(&header), "Retry-After: {header}");
    assert!((1..=30).contains(&body), "retry-after: {body}");
}

#[test]
fn the_lock_out_also_guards_disable_and_regeneration() {
    // Arrange
    let app = spawn_app();
    let mut mfa = app.user_with_mfa();
    let wrong = mfa.authenticator.wrong_code();
    for _ in 0..5 {
        let refused = app.login(&mfa.user, Some(&wrong));
        assert_eq!(refused.status, 401, "{}", refused.text);
    }

    // Act
    let disable = app.disable(&mfa.token, &json!({"mfa-code": mfa.backup_codes[0]}));
    let regenerate = app.regenerate_backup_codes(
        &mfa.token,
        &json!({"mfa-code": mfa.authenticator.fresh_code()}),
    );

    // Assert
    for response in [&disable, &regenerate] {
        assert_eq!(response.status, 429, "{}", response.text);
        assert_eq!(response.body["success?"], false);
        assert!(response.header("Retry-After").is_some());
        assert!(response.body["retry-after"].is_u64());
    }
    assert_eq!(app.status(&mfa.token).body["enabled"], true);
}

#[test]
fn attempts_during_a_lock_out_neither_count_nor_extend_it() {
    // Arrange
    let app = spawn_app();
    let mfa = app.user_with_mfa();
    let wrong = mfa.authenticator.wrong_code();
    for _ in 0..5 {
        assert_eq!(app.login(&mfa.user, Some(&wrong)).status, 401);
    }

    // Act
    let first = app.login(&mfa.user, Some(&wrong));
    let later: Vec<_> = (0..3).map(|_| app.login(&mfa.user, Some(&wrong))).collect();

    // Assert
    assert_eq!(first.status, 429, "{}", first.text);
    let first_wait = first.body["retry-after"].as_u64().unwrap();
    for response in &later {
        assert_eq!(response.status, 429, "{}", response.text);
        let wait = response.body["retry-after"].as_u64().unwrap();
        assert!(
            wait <= first_wait,
            "the lock-out grew from {first_wait} to {wait} s"
        );
    }
}

#[test]
fn replayed_and_malformed_codes_count_and_a_password_does_not_reset_the_count() {
    // Arrange
    let app = spawn_app();
    let mut mfa = app.user_with_mfa();
    let enable_code = mfa
        .authenticator
        .code_at_step(mfa.authenticator.last_step());
    let wrong = mfa.authenticator.wrong_code();

    // Act
    let refused: Vec<u16> = [enable_code.as_str(), "12ab56", "1234567", &wrong]
        .iter()
        .map(|code| app.login(&mfa.user, Some(code)).status)
        .collect();
    let password_only = app.login(&mfa.user, None);
    let fifth = app.login(&mfa.user, Some(&wrong));
    let right = app.login(&mfa.user, Some(&mfa.authenticator.fresh_code()));

    // Assert
    assert_eq!(refused, vec![401; 4]);
    assert_eq!(
        password_only.body["requires-mfa?"], true,
        "{}",
        password_only.text
    );
    assert_eq!(fifth.status, 401, "{}", fifth.text);
    assert_eq!(right.status, 429, "{}", right.text);
}

#[test]
fn a_passed_second_factor_resets_the_count() {
    // Arrange
    let app = spawn_app();
    let mfa = app.user_with_mfa();
    let wrong = mfa.authenticator.wrong_code();
    for _ in 0..4 {
        assert_eq!(app.login(&mfa.user, Some(&wrong)).status, 401);
    }
    let passed = app.login(&mfa.user, Some(&mfa.backup_codes[0]));
    assert_eq!(passed.status, 200, "{}", passed.text);

    // Act
    let again: Vec<u16> = (0..4)
        .map(|_| app.login(&mfa.user, Some(&wrong)).status)
        .collect();
    let next = app.login(&mfa.user, Some(&mfa.backup_codes[1]));

    // Assert
    assert_eq!(again, vec![401; 4]);
    assert_eq!(next.status, 200, "{}", next.text);
}

#[test]
fn wrong_codes_at_disable_and_regeneration_count_towards_the_lock_out() {
    // Arrange
    let app = spawn_app();
    let mut mfa = app.user_with_mfa();
    let wrong = json!({"mfa-code": mfa.authenticator.wrong_code()});

    // Act
    let disables: Vec<u16> = (0..3)
        .map(|_| app.disable(&mfa.token, &wrong).status)
        .collect();
    let regenerations: Vec<u16> = (0..2)
        .map(|_| app.regenerate_backup_codes(&mfa.token, &wrong).status)
        .collect();
    let login = app.login(&mfa.user, Some(&mfa.authenticator.fresh_code()));

    // Assert
    assert_eq!(disables, vec![403; 3]);
    assert_eq!(regenerations, vec![403; 2]);
    assert_eq!(login.status, 429, "{}", login.text);
    assert_eq!(login.body["success"], false);
}
