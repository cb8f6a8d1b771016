//! Requests at the edges: unknown routes, wrong methods, bad bodies.

use serde_json::json;

use crate::helpers::{ApiResponse, TestUser, spawn_app, spawn_app_with};

const REGISTER: &str = "/api/auth/register";

fn assert_json_error(response: &ApiResponse, status: u16) {
    assert_json_error_with_key(response, status, "success?");
}

/// The login endpoint's answers say `"success"`, every other one `"success?"`.
fn assert_json_error_with_key(response: &ApiResponse, status: u16, key: &str) {
    assert_eq!(response.status, status, "{}", response.text);
    assert!(
        response
            .header("Content-Type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        response.headers
    );
    assert_eq!(response.body[key], false, "{}", response.text);
    assert!(
        response.body["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{}",
        response.text
    );
}

fn register_json(app: &crate::helpers::TestApp, body: &str) -> ApiResponse {
    app.send_raw(
        "POST",
        REGISTER,
        None,
        Some("application/json"),
        body.as_bytes(),
    )
}

#[test]
fn an_unknown_route_is_a_json_404() {
    // Arrange
    let app = spawn_app();

    // Act
    let get = app.get("/api/auth/nothing-here", None);
    let post = app.post_json("/nope", None, &json!({}));

    // Assert
    assert_json_error(&get, 404);
    assert_json_error(&post, 404);
}

#[test]
fn a_wrong_method_is_a_json_405_with_allow() {
    // Arrange
    let app = spawn_app();

    // Act
    let get_login = app.get("/api/auth/login", None);
    let post_status = app.post_json("/api/auth/mfa/status", None, &json!({}));

    // Assert
    assert_json_error_with_key(&get_login, 405, "success");
    assert_eq!(get_login.header("Allow"), Some("POST"));
    assert_json_error(&post_status, 405);
    assert_eq!(post_status.header("Allow"), Some("GET"));
}

#[test]
fn a_body_that_is_not_json_is_a_415() {
    // Arrange
    let app = spawn_app();
    let user = TestUser::default();
    let body = json!({"email": user.email, "password": user.password, "name": user.name});

    // Act
    let response = app.send_raw(
        "POST",
        REGISTER,
        None,
        Some("text/plain"),
        body.to_string().as_bytes(),
    );

    // Assert
    assert_json_error(&response, 415);
}

#[test]
fn a_body_over_64_kib_is_a_413() {
    // Arrange
    let app = spawn_app();
    let body = json!({
        "email": "big@example.com",
        "password": "a-long-enough-password",
        "name": "x".repeat(70 * 1024),
    });

    // Act
    let response = register_json(&app, &body.to_string());

    // Assert
    assert_json_error(&response, 413);
}

#[test]
fn malformed_json_is_a_400_saying_so() {
    // Arrange
    let app = spawn_app();

    // Act
    let response = register_json(&app, r#"{"email": "a@example.com", "password": "#);

    // Assert
    assert_json_error(&response, 400);
    assert_eq!(response.error(), "The request body is not valid JSON");
}

#[test]
fn a_missing_field_is_a_400_naming_it() {
    // Arrange
    let app = spawn_app();

    // Act
    let response = register_json(
        &app,
        r#"{"email": "a@example.com", "password": "long enough password"}"#,
    );

    // Assert
    assert_json_error(&response, 400);
    assert!(response.error().contains("name"), "{}", response.text);
}

#[test]
fn a_wrong_type_is_a_400_naming_the_field() {
    // Arrange
    let app = spawn_app();

    // Act
    let response = register_json(
        &app,
        r#"{"email": 5, "password": "long enough password", "name": "Ada"}"#,
    );

    // Assert
    assert_json_error(&response, 400);
    assert!(response.error().contains("email"), "{}", response.text);
    assert!(
        !response.error().contains("invalid type"),
        "{}",
        response.text
    );
}

#[test]
fn invalid_fields_are_a_400_naming_them() {
    // Arrange
    let app = spawn_app();
    let TestUser {
        email,
        password,
        name,
    } = TestUser::default();
    let long_email = format!("{}@example.com", "a".repeat(250));
    let cases = [
        ("email", ["no-at-sign", &password, &name]),
        ("email", ["ada lovelace@example.com", &password, &name]),
        ("email", ["ada@localhost", &password, &name]),
        ("email", [&long_email, &password, &name]),
        ("password", [&email, "short", &name]),
        ("password", [&email, &"p".repeat(1025), &name]),
        ("name", [&email, &password, ""]),
        ("name", [&email, &password, "Ada\u{7}"]),
        ("name", [&email, &password, &"n".repeat(201)]),
    ];

    // Act
    let responses: Vec<(&str, ApiResponse)> = cases
        .iter()
        .map(|(field, [email, password, name])| {
            let body = json!({"email": email, "password": password, "name": name});
            (*field, app.post_json(REGISTER, None, &body))
        })
        .collect();

    // Assert
    for (field, response) in &responses {
        assert_json_error(response, 400);
        assert!(
            response.error().to_lowercase().contains(field),
            "{field}: {}",
            response.text
        );
    }
}

#[test]
fn login_errors_use_the_plain_success_key() {
    // Arrange
    let app = spawn_app();

    // Act
    let response = app.send_raw(
        "POST",
        "/api/auth/login",
        None,
        Some("application/json"),
        b"{\"email\": \"a@example.com\"}",
    );

    // Assert
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(response.body["success"], false);
    assert!(response.error().contains("password"), "{}", response.text);
}

#[test]
fn setup_and_logout_accept_an_empty_or_an_ignored_json_body() {
    // Arrange
    let app = spawn_app();
    let user = TestUser::default();
    let token = app.registered_and_logged_in(&user);
    let more_tokens: Vec<String> = (0..3).map(|_| app.login(&user, None).token()).collect();

    // Act
    let setups = [
        app.send_empty("POST", "/api/auth/mfa/setup", Some(&token)),
        app.send_raw(
            "POST",
            "/api/auth/mfa/setup",
            Some(&token),
            Some("application/json"),
            b"",
        ),
        app.post_json("/api/auth/mfa/setup", Some(&token), &json!({})),
    ];
    let logouts = [
        app.send_empty("POST", "/api/auth/logout", Some(&more_tokens[0])),
        app.send_raw(
            "POST",
            "/api/auth/logout",
            Some(&more_tokens[1]),
            Some("application/json"),
            b"",
        ),
        app.post_json("/api/auth/logout", Some(&more_tokens[2]), &json!({})),
    ];

    // Assert
    for setup in &setups {
        assert_eq!(setup.status, 200, "{}", setup.text);
        assert_eq!(setup.body["success?"], true);
        assert!(setup.body["secret"].is_string());
    }
    for (logout, token) in logouts.iter().zip(&more_tokens) {
        assert_eq!(logout.status, 200, "{}", logout.text);
        assert_eq!(logout.body, json!({"success?": true}));
        assert_eq!(app.status(token).status, 401);
    }
}

#[test]
fn register_and_login_are_limited_per_client_address() {
    // Arrange
    let app = spawn_app_with(&[("MFA_RATE_LIMIT_PER_IP", "3")]);
    let stranger = TestUser {
        email: "nobody@example.com".to_owned(),
        ..TestUser::default()
    };

    // Act
    let registers: Vec<ApiResponse> = (0..4).map(|_| register_json(&app, "{")).collect();
    let logins: Vec<ApiResponse> = (0..4).map(|_| app.login(&stranger, None)).collect();
    let status_is_not_limited = app.get("/api/auth/mfa/status", None);

    // Assert
    let statuses: Vec<u16> = registers.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![400, 400, 400, 429]);
    assert!(logins.iter().all(|r| [401, 429].contains(&r.status)));
    for limited in [&registers[3], &logins[3]] {
        assert_eq!(limited.status, 429, "{}", limited.text);
        let wait: u64 = limited
            .header("Retry-After")
            .expect("a Retry-After header")
            .parse()
            .expect("whole seconds");
        assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    }
    assert_eq!(status_is_not_limited.status, 401);
}

#[test]
fn emails_are_trimmed_and_passwords_count_characters_not_bytes() {
    // Arrange
    let app = spawn_app();
    let user = TestUser {
        email: "  grace@example.com ".to_owned(),
        password: "éééééééé".to_owned(),
        name: "Grace Hopper".to_owned(),
    };
    let trimmed = TestUser {
        email: "grace@example.com".to_owned(),
        ..user.clone()
    };

    // Act
    let registered = app.register(&user);
    let login = app.login(&trimmed, None);

    // Assert
    assert_eq!(registered.status, 201, "{}", registered.text);
    assert_eq!(registered.body["user"]["email"], "grace@example.com");
    assert_eq!(login.status, 200, "{}", login.text);
}
