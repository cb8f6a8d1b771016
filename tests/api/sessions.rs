//! Logout and the bearer token.

use serde_json::json;

use crate::helpers::{ApiResponse, TestUser, spawn_app};

fn assert_unauthorized(response: &ApiResponse) {
    assert_eq!(response.status, 401, "{}", response.text);
    assert_eq!(response.header("WWW-Authenticate"), Some("Bearer"));
    assert_eq!(response.body["success?"], false);
    assert!(response.body["error"].is_string(), "{}", response.text);
}

/// The token with one alphanumeric character in its middle changed.
fn tampered(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let index = (bytes.len() / 2..bytes.len())
        .chain(0..bytes.len() / 2)
        .find(|&i| bytes[i].is_ascii_alphanumeric())
        .expect("an alphanumeric character");
    bytes[index] = if bytes[index] == b'a' { b'b' } else { b'a' };
    String::from_utf8(bytes).expect("still ASCII")
}

#[test]
fn logout_ends_the_session_at_once() {
    // Arrange
    let app = spawn_app();
    let token = app.registered_and_logged_in(&TestUser::default());
    assert_eq!(app.status(&token).status, 200);

    // Act
    let logout = app.logout(&token);

    // Assert
    assert_eq!(logout.status, 200, "{}", logout.text);
    assert_eq!(logout.body, json!({"success?": true}));
    assert_unauthorized(&app.status(&token));
    assert_unauthorized(&app.logout(&token));
}

#[test]
fn logout_leaves_other_sessions_alone() {
    // Arrange
    let app = spawn_app();
    let user = TestUser::default();
    let first = app.registered_and_logged_in(&user);
    let second = app.login(&user, None).token();

    // Act
    let logout = app.logout(&first);

    // Assert
    assert_eq!(logout.status, 200, "{}", logout.text);
    assert_eq!(app.status(&second).status, 200);
}

#[test]
fn a_missing_malformed_or_forged_token_is_refused() {
    // Arrange
    let app = spawn_app();
    let token = app.registered_and_logged_in(&TestUser::default());
    let forged = tampered(&token);
    assert_ne!(forged, token);

    // Act
    let missing = app.get("/api/auth/mfa/status", None);
    let garbage = app.status("garbage");
    let changed = app.status(&forged);
    let wrong_scheme =
        app.get_with_authorization("/api/auth/mfa/status", &format!("Basic {token}"));

    // Assert
    for response in [&missing, &garbage, &changed, &wrong_scheme] {
        assert_unauthorized(response);
    }
    assert_eq!(app.status(&token).status, 200, "the real token still works");
}

#[test]
fn every_authenticated_endpoint_checks_the_token_before_the_body() {
    // Arrange
    let app = spawn_app();
    let endpoints = [
        "/api/auth/logout",
        "/api/auth/mfa/setup",
        "/api/auth/mfa/enable",
        "/api/auth/mfa/disable",
        "/api/auth/mfa/backup-codes",
    ];

    // Act
    let responses: Vec<ApiResponse> = endpoints
        .iter()
        .map(|path| app.send_raw("POST", path, None, Some("application/json"), b"{not json"))
        .collect();

    // Assert
    for response in &responses {
        assert_unauthorized(response);
    }
}
