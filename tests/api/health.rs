//! Health and the OpenAPI document.

use serde_json::json;

use crate::helpers::spawn_app;

#[test]
fn health_answers_ok() {
    // Arrange
    let app = spawn_app();

    // Act
    let response = app.health();

    // Assert
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body, json!({"status": "ok"}));
}

#[test]
fn the_openapi_document_describes_every_endpoint() {
    // Arrange
    let app = spawn_app();
    let endpoints = [
        ("/api/auth/register", "post"),
        ("/api/auth/login", "post"),
        ("/api/auth/logout", "post"),
        ("/api/auth/mfa/setup", "post"),
        ("/api/auth/mfa/enable", "post"),
        ("/api/auth/mfa/disable", "post"),
        ("/api/auth/mfa/status", "get"),
        ("/api/auth/mfa/backup-codes", "post"),
        ("/health", "get"),
        ("/api/openapi.json", "get"),
    ];

    // Act
    let response = app.openapi();

    // Assert
    assert_eq!(response.status, 200, "{}", response.text);
    let version = response.body["openapi"]
        .as_str()
        .expect("an openapi version");
    assert!(version.starts_with("3."), "{version}");
    let paths = response.body["paths"].as_object().expect("paths");
    for (path, method) in endpoints {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is missing from the document"
        );
    }
}
