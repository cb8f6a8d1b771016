//! Server key rotation against a running server: stage a key, restart,
//! rotate while serving; every secret is re-sealed under the new key and
//! nothing issued under the old one stops working.

use std::process::Output;

use diesel::sql_types::Binary;
use diesel::{Connection, QueryableByName, RunQueryDsl, sqlite::SqliteConnection};

use crate::helpers::{TestApp, TestUser, run_cli, spawn_app};

#[derive(QueryableByName)]
struct Sealed {
    #[diesel(sql_type = Binary)]
    mfa_secret: Vec<u8>,
}

/// The key id of every sealed secret in the database (byte 1 of the form).
fn key_ids(app: &TestApp) -> Vec<u8> {
    let path = app.database_path();
    let mut conn =
        SqliteConnection::establish(path.to_str().expect("UTF-8")).expect("the database opens");
    let rows: Vec<Sealed> =
        diesel::sql_query("SELECT mfa_secret FROM users WHERE mfa_secret IS NOT NULL ORDER BY id")
            .load(&mut conn)
            .expect("sealed secrets");
    rows.iter().map(|r| r.mfa_secret[1]).collect()
}

fn succeeded(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn a_staged_rotation_reseals_every_secret_while_serving() {
    // Arrange: two users with MFA, their secrets sealed under key 1.
    let mut app = spawn_app();
    let mut alice = app.user_with_mfa();
    let bob_user = TestUser {
        email: "bob@example.com".into(),
        ..TestUser::default()
    };
    let bob_token = app.registered_and_logged_in(&bob_user);
    let bob = app.enable_mfa_for(bob_user, bob_token);
    assert_eq!(key_ids(&app), vec![1, 1]);

    // Act: stage key 2, restart so the server can read it, rotate while it serves.
    let staged = succeeded(&run_cli(app.dir(), &["keys", "stage"], &[]));
    app.restart();
    let rotated = succeeded(&run_cli(
        app.dir(),
        &["keys", "rotate", "--batch-size", "1"],
        &[],
    ));
    let resumed = succeeded(&run_cli(app.dir(), &["keys", "rotate", "--resume"], &[]));

    // Assert: both secrets are under key 2, and a second pass has nothing to do.
    assert!(staged.contains("staged key 2"), "{staged}");
    assert!(
        rotated.contains("key 2 is now the current key"),
        "{rotated}"
    );
    assert!(
        rotated.contains("re-sealed 2 secret(s) under key 2"),
        "{rotated}"
    );
    assert!(resumed.contains("re-sealed 0 secret(s)"), "{resumed}");
    assert_eq!(key_ids(&app), vec![2, 2]);
    let key_file = std::fs::read_to_string(app.key_path()).expect("the key file");
    assert!(!key_file.contains("staged"));

    // The running server, which still signs with key 1, opens key-2 secrets.
    let code = alice.authenticator.fresh_code();
    let login = app.login(&alice.user, Some(&code));
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(
        app.status(&alice.token).status,
        200,
        "a token signed before the rotation"
    );

    // After a restart the server uses key 2; everything from before still works.
    app.restart();
    assert_eq!(
        app.status(&alice.token).status,
        200,
        "the oldest token still authenticates"
    );
    let backup = app.login(&bob.user, Some(&bob.backup_codes[0]));
    assert_eq!(
        backup.status, 200,
        "a backup code issued under key 1: {}",
        backup.text
    );
    let fresh = backup.token();
    assert_eq!(app.status(&fresh).status, 200, "a token signed with key 2");
    let secret = app.setup(&fresh);
    assert_eq!(secret.status, 409, "MFA is on");
}
