//! The whole flow of the original guide, and the login answers around it.

use base64::Engine as _;
use serde_json::json;

use crate::helpers::{
    Authenticator, TestUser, is_backup_code, now, parse_rfc3339, spawn_app, strings,
};

#[test]
fn the_flow_of_the_original_guide_works_end_to_end() {
    // Arrange
    let app = spawn_app();
    let user = TestUser::default();

    // Act + assert: register
    let registered = app.register(&user);
    assert_eq!(registered.status, 201, "{}", registered.text);
    assert_eq!(registered.body["success?"], true);
    let id = registered.body["user"]["id"].as_str().expect("a user id");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(registered.body["user"]["email"], user.email.as_str());
    assert_eq!(registered.body["user"]["name"], user.name.as_str());

    // Act + assert: login without MFA
    let login = app.login(&user, None);
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["success"], true);
    assert_eq!(login.body["session-id"].as_str().map(str::len), Some(36));
    let token = login.token();
    assert!(!token.is_empty());
    let expires_at = parse_rfc3339(login.body["expires-at"].as_str().expect("expires-at"));
    let in_secs = expires_at.unix_timestamp() - i64::try_from(now().0).unwrap();
    assert!(
        (60..=13 * 3600).contains(&in_secs),
        "expires in {in_secs} s"
    );
    assert_eq!(login.body["user"]["id"], id);
    assert_eq!(login.body["user"]["email"], user.email.as_str());
    assert_eq!(login.body["user"]["name"], user.name.as_str());

    // Act + assert: setup
    let setup = app.setup(&token);
    assert_eq!(setup.status, 200, "{}", setup.text);
    assert_eq!(setup.body["success?"], true);
    let secret = setup.body["secret"].as_str().expect("a secret").to_owned();
    assert_eq!(
        secret.len(),
        32,
        "160 bits in base32 without padding: {secret}"
    );
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );
    let qr = setup.body["qr-code-url"].as_str().expect("a qr-code-url");
    let encoded = qr
        .strip_prefix("data:image/svg+xml;base64,")
        .unwrap_or_else(|| panic!("not an SVG data URI: {}", &qr[..qr.len().min(60)]));
    let svg = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("valid base64");
    assert!(String::from_utf8_lossy(&svg).contains("<svg"));
    let uri = setup.body["otpauth-uri"].as_str().expect("an otpauth-uri");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    for part in [
        "issuer=",
        "algorithm=SHA1",
        "digits=6",
        "period=30",
        "ada.lovelace%40example.com",
        &format!("secret={secret}"),
    ] {
        assert!(uri.contains(part), "{part} missing from {uri}");
    }
    let backup_codes = strings(&setup.body["backup-codes"]);
    assert_eq!(backup_codes.len(), 10);
    for code in &backup_codes {
        assert!(is_backup_code(code), "bad backup code shape: {code}");
    }
    let mut distinct = backup_codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10, "the codes are distinct");
    assert!(!setup.body["issuer"].as_str().expect("an issuer").is_empty());
    assert_eq!(setup.body["account-name"], user.email.as_str());

    // Act + assert: enable, echoing the secret and the codes
    let mut authenticator = Authenticator::new(&secret);
    let enable = app.enable(
        &token,
        &json!({
            "verificationCode": authenticator.fresh_code(),
            "secret": secret,
            "backupCodes": backup_codes,
        }),
    );
    assert_eq!(enable.status, 200, "{}", enable.text);
    assert_eq!(enable.body, json!({"success?": true}));

    // Act + assert: login without a code asks for one and opens no session
    let password_only = app.login(&user, None);
    assert_eq!(password_only.status, 200, "{}", password_only.text);
    assert_eq!(
        password_only.body,
        json!({"requires-mfa?": true, "message": "MFA code required"})
    );

    // Act + assert: login with a TOTP code
    let with_code = app.login(&user, Some(&authenticator.fresh_code()));
    assert_eq!(with_code.status, 200, "{}", with_code.text);
    assert_eq!(with_code.body["success"], true);
    assert!(with_code.body.get("backup-codes-remaining").is_none());
    let second_token = with_code.token();
    assert_ne!(second_token, token);

    // Act + assert: status
    let status = app.status(&second_token);
    assert_eq!(status.status, 200, "{}", status.text);
    assert_eq!(status.body["enabled"], true);
    parse_rfc3339(status.body["enabled-at"].as_str().expect("enabled-at"));
    assert_eq!(status.body["backup-codes-remaining"], 10);
}

#[test]
fn status_before_setup_shows_mfa_off() {
    // Arrange
    let app = spawn_app();
    let token = app.registered_and_logged_in(&TestUser::default());

    // Act
    let status = app.status(&token);

    // Assert
    assert_eq!(status.status, 200, "{}", status.text);
    assert_eq!(
        status.body,
        json!({"enabled": false, "enabled-at": null, "backup-codes-remaining": 0})
    );
}

#[test]
fn enable_accepts_the_kebab_case_aliases() {
    // Arrange
    let app = spawn_app();
    let user = TestUser::default();
    let token = app.registered_and_logged_in(&user);
    let setup = app.setup(&token);
    assert_eq!(setup.status, 200, "{}", setup.text);
    let secret = setup.body["secret"].as_str().unwrap().to_owned();
    let mut authenticator = Authenticator::new(&secret);

    // Act
    let enable = app.enable(
        &token,
        &json!({
            "verification-code": authenticator.fresh_code(),
            "backup-codes": setup.body["backup-codes"],
        }),
    );

    // Assert
    assert_eq!(enable.status, 200, "{}", enable.text);
    assert_eq!(enable.body["success?"], true);
    assert_eq!(app.status(&token).body["enabled"], true);
}

#[test]
fn wrong_email_and_wrong_password_get_the_same_answer() {
    // Arrange
    let app = spawn_app();
    let user = TestUser::default();
    assert_eq!(app.register(&user).status, 201);
    let unknown = TestUser {
        email: "nobody@example.com".to_owned(),
        ..user.clone()
    };
    let wrong_password = TestUser {
        password: "not-the-password".to_owned(),
        ..user
    };

    // Act
    let by_email = app.login(&unknown, None);
    let by_password = app.login(&wrong_password, None);

    // Assert
    let expected = json!({"success": false, "error": "Invalid email or password"});
    assert_eq!(by_email.status, 401, "{}", by_email.text);
    assert_eq!(by_password.status, 401, "{}", by_password.text);
    assert_eq!(by_email.body, expected);
    assert_eq!(by_password.body, expected);
    assert_eq!(by_email.text, by_password.text);
}

#[test]
fn emails_are_compared_case_insensitively() {
    // Arrange
    let app = spawn_app();
    let user = TestUser::default();
    assert_eq!(app.register(&user).status, 201);
    let shouting = TestUser {
        email: user.email.to_uppercase(),
        ..user
    };

    // Act
    let duplicate = app.register(&shouting);
    let login = app.login(&shouting, None);

    // Assert
    assert_eq!(duplicate.status, 409, "{}", duplicate.text);
    assert_eq!(duplicate.body["success?"], false);
    assert_eq!(login.status, 200, "{}", login.text);
}
