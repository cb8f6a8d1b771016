//! The binary's sub-commands and flags.

use crate::helpers::{run_cli, spawn_app};

#[test]
fn help_exits_zero() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();

    // Act
    let output = run_cli(dir.path(), &["--help"], &[]);

    // Assert
    assert!(output.status.success(), "{:?}", output.status);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Usage"), "{stdout}");
    assert!(stdout.contains("migrate"), "{stdout}");
}

#[test]
fn an_unknown_flag_is_a_one_line_error() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();

    // Act
    let output = run_cli(dir.path(), &["--bogus"], &[]);

    // Assert
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--bogus"), "{stderr}");
}

#[test]
fn a_bad_bind_address_is_a_one_line_error() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();

    // Act
    let output = run_cli(dir.path(), &["serve", "--bind", "not-an-address"], &[]);

    // Assert
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn migrate_prepares_a_fresh_database() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("mfa.db");

    // Act
    let output = run_cli(dir.path(), &["migrate"], &[]);
    let again = run_cli(dir.path(), &["migrate"], &[]);

    // Assert
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(database.exists());
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn reset_mfa_turns_mfa_off_and_ends_every_session() {
    // Arrange
    let app = spawn_app();
    let mfa = app.user_with_mfa();
    let second = app.login(&mfa.user, Some(&mfa.backup_codes[0]));
    assert_eq!(second.status, 200, "{}", second.text);

    // Act
    let output = run_cli(
        app.dir(),
        &["user", "reset-mfa", "--email", &mfa.user.email],
        &[],
    );

    // Assert
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for token in [&mfa.token, &second.token()] {
        let status = app.status(token);
        assert_eq!(status.status, 401, "a session survived: {}", status.text);
    }
    let login = app.login(&mfa.user, None);
    assert_eq!(login.status, 200, "{}", login.text);
    let status = app.status(&login.token());
    assert_eq!(status.body["enabled"], false, "{}", status.text);
}

#[test]
fn reset_mfa_of_an_unknown_email_fails() {
    // Arrange
    let app = spawn_app();

    // Act
    let output = run_cli(
        app.dir(),
        &["user", "reset-mfa", "--email", "nobody@example.com"],
        &[],
    );

    // Assert
    assert!(!output.status.success());
    assert!(!output.stderr.is_empty());
}

#[test]
fn operator_commands_refuse_a_missing_database_or_key_file() {
    // Arrange: a running deployment, and a directory with neither file.
    let app = spawn_app();
    let elsewhere = tempfile::tempdir().unwrap();
    let missing_db = format!("SQLITE://{}", elsewhere.path().join("mfa.db").display());
    let key = app.key_path();
    let key = key.to_str().unwrap();

    // Act
    let no_db = run_cli(
        app.dir(),
        &["audit"],
        &[("DATABASE_URL", &missing_db), ("MFA_KEY_FILE", key)],
    );
    let no_key = run_cli(
        elsewhere.path(),
        &["user", "reset-mfa", "--email", "a@example.com"],
        &[],
    );

    // Assert: both refuse, and neither created anything.
    assert!(!no_db.status.success());
    assert!(
        String::from_utf8_lossy(&no_db.stderr).contains("no database at"),
        "{no_db:?}"
    );
    assert!(!no_key.status.success());
    assert!(
        String::from_utf8_lossy(&no_key.stderr).contains("no key file at"),
        "{no_key:?}"
    );
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).unwrap().count(),
        0,
        "nothing was created"
    );
}
