//! Secrets stay secret: not in the database file, not in the log; the key
//! file is private.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mfa_core::TotpSecret;

use crate::helpers::{MfaUser, contains_bytes, read_if_exists, run_cli, spawn_app};

/// Every form in which the user's secrets could leak.
fn secret_forms(mfa: &MfaUser, token: &str) -> Vec<(String, Vec<u8>)> {
    let raw = TotpSecret::parse_base32(&mfa.secret).unwrap();
    let mut forms = vec![
        ("secret".to_owned(), mfa.secret.clone().into_bytes()),
        (
            "secret, lower case".to_owned(),
            mfa.secret.to_lowercase().into_bytes(),
        ),
        ("raw secret bytes".to_owned(), raw.expose_bytes().to_vec()),
        (
            "password".to_owned(),
            mfa.user.password.clone().into_bytes(),
        ),
        ("first token".to_owned(), mfa.token.clone().into_bytes()),
        ("second token".to_owned(), token.as_bytes().to_vec()),
    ];
    // The other text encodings a careless store or log line might use.
    let hex: String = raw
        .expose_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let encodings = [
        ("secret as hex", hex.clone()),
        ("secret as upper-case hex", hex.to_uppercase()),
        ("secret as base64", STANDARD.encode(raw.expose_bytes())),
        (
            "secret as URL-safe base64",
            URL_SAFE_NO_PAD.encode(raw.expose_bytes()),
        ),
        ("password as base64", STANDARD.encode(&mfa.user.password)),
    ];
    for (what, text) in encodings {
        forms.push((what.to_owned(), text.into_bytes()));
    }
    for code in &mfa.backup_codes {
        let bare = code.replace('-', "");
        for form in [
            code.clone(),
            code.to_lowercase(),
            bare.clone(),
            bare.to_lowercase(),
        ] {
            forms.push((format!("backup code {code}"), form.into_bytes()));
        }
    }
    forms
}

#[test]
fn the_database_file_holds_no_secret_in_the_clear() {
    // Arrange
    let mut app = spawn_app();
    let mfa = app.user_with_mfa();
    let login = app.login(&mfa.user, Some(&mfa.backup_codes[1]));
    assert_eq!(login.status, 200, "{}", login.text);
    let token = login.token();

    // Act
    let mut bytes = read_if_exists(&app.database_path());
    let wal = app.dir().join("mfa.db-wal");
    bytes.extend(read_if_exists(&wal));
    app.stop();
    bytes.extend(read_if_exists(&app.database_path()));
    bytes.extend(read_if_exists(&wal));

    // Assert
    assert!(bytes.len() > 4096, "the database file was found");
    for (what, form) in secret_forms(&mfa, &token) {
        assert!(
            !contains_bytes(&bytes, &form),
            "the database holds the {what}"
        );
    }
}

#[test]
fn the_log_has_a_line_per_request_and_no_secret() {
    // Arrange
    let mut app = spawn_app();
    let mut mfa = app.user_with_mfa();
    let with_backup = app.login(&mfa.user, Some(&mfa.backup_codes[2]));
    let with_totp = app.login(&mfa.user, Some(&mfa.authenticator.fresh_code()));
    let refused = app.login(&mfa.user, Some(&mfa.backup_codes[2]));
    assert_eq!(with_backup.status, 200, "{}", with_backup.text);
    assert_eq!(with_totp.status, 200, "{}", with_totp.text);
    assert_eq!(refused.status, 401, "{}", refused.text);
    let token = with_totp.token();
    assert_eq!(app.status(&token).status, 200);

    // Act
    app.stop();
    let log = app.log();

    // Assert
    let login_lines = log
        .lines()
        .filter(|l| l.contains("/api/auth/login"))
        .count();
    assert_eq!(login_lines, 4, "one line per login request:\n{log}");
    for response in [&with_backup, &with_totp, &refused] {
        let id = response.header("X-Request-Id").expect("a request id");
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(id)).collect();
        assert!(
            lines.iter().any(|l| l.contains("/api/auth/login")
                && l.contains("POST")
                && l.contains(&response.status.to_string())),
            "no request line for {id}:\n{log}"
        );
    }
    for path in [
        "/api/auth/register",
        "/api/auth/mfa/setup",
        "/api/auth/mfa/enable",
    ] {
        let lines = log.lines().filter(|l| l.contains(path)).count();
        assert_eq!(lines, 1, "one line for {path}:\n{log}");
    }
    for (what, form) in secret_forms(&mfa, &token) {
        assert!(
            !contains_bytes(log.as_bytes(), &form),
            "the log holds the {what}:\n{log}"
        );
    }
    assert!(
        !log.contains(&mfa.user.email),
        "the log holds the email:\n{log}"
    );
    let key = fs::read_to_string(app.key_path()).unwrap();
    assert!(!log.contains(key.trim()), "the log holds the server key");
}

#[test]
fn a_generated_key_file_is_private() {
    // Arrange + act
    let app = spawn_app();

    // Assert
    let meta = fs::metadata(app.key_path()).expect("the key file was created");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(meta.len() >= 32, "a key of at least 32 bytes");
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("mfa.key");
    fs::write(&key, format!("{}\n", "5a".repeat(32))).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();

    // Act
    let output = run_cli(dir.path(), &["serve", "--bind", "127.0.0.1:0"], &[]);

    // Assert
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("644") && stderr.contains("600"),
        "the message names the permissions: {stderr}"
    );
    assert!(!stderr.contains(&"5a".repeat(32)), "the key is never shown");
}

#[test]
fn a_key_file_of_the_wrong_size_is_refused() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("mfa.key");
    fs::write(&key, "5a".repeat(20)).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();

    // Act
    let output = run_cli(dir.path(), &["serve", "--bind", "127.0.0.1:0"], &[]);

    // Assert
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("key file"), "{stderr}");
    assert!(!stderr.contains(&"5a".repeat(20)), "the key is never shown");
}
