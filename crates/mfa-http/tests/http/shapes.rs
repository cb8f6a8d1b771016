//! Answer shapes and statuses of each endpoint.

use actix_web::http::StatusCode;
use actix_web::test;
use mfa_core::{Totp, TotpConfig, TotpSecret};
use serde_json::json;

use crate::support::{NOW, alice, app, login_token, post_json, send, state};

#[actix_web::test]
async fn register_and_login_answer_with_the_original_shapes() {
    let app = app(state(0)).await;

    let (status, _, body) = send(&app, post_json("/api/auth/register", &alice())).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["success?"], true);
    assert_eq!(body["user"]["email"], "alice@example.com");
    assert_eq!(body["user"]["name"], "Alice");
    assert!(body["user"]["id"].as_str().unwrap().len() == 36);

    let (status, _, body) = send(&app, post_json("/api/auth/login", &alice())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"], true);
    assert!(body["token"].as_str().unwrap().starts_with("mfa1."));
    assert!(body["expires-at"].as_str().unwrap().ends_with('Z'));
    assert!(body.get("backup-codes-remaining").is_none());
}

#[actix_web::test]
async fn the_login_endpoint_answers_success_without_a_question_mark_even_on_errors() {
    let app = app(state(0)).await;
    let wrong = json!({"email": "nobody@example.com", "password": "whatever12"});
    let (status, _, body) = send(&app, post_json("/api/auth/login", &wrong)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"success": false, "error": "Invalid email or password"})
    );

    let (status, _, body) = send(
        &app,
        test::TestRequest::post()
            .uri("/api/auth/login")
            .set_payload("{")
            .insert_header(("content-type", "application/json")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"success": false, "error": "The request body is not valid JSON"})
    );
}

#[actix_web::test]
async fn mfa_setup_enable_and_login_with_a_code() {
    let app = app(state(0)).await;
    let token = login_token(&app).await;
    let bearer = ("authorization", format!("Bearer {token}"));

    let (status, _, setup) = send(
        &app,
        test::TestRequest::post()
            .uri("/api/auth/mfa/setup")
            .insert_header(bearer.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    assert!(
        setup["qr-code-url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/svg+xml;base64,")
    );
    assert_eq!(setup["account-name"], "alice@example.com");
    let secret = TotpSecret::parse_base32(setup["secret"].as_str().unwrap()).unwrap();
    let totp = Totp::new(&secret, TotpConfig::default());

    let enable =
        json!({"verificationCode": totp.generate(NOW), "backupCodes": setup["backup-codes"]});
    let (status, _, body) = send(
        &app,
        post_json("/api/auth/mfa/enable", &enable).insert_header(bearer.clone()),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success?": true})));

    let (status, _, body) = send(&app, post_json("/api/auth/login", &alice())).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"requires-mfa?": true, "message": "MFA code required"})
        )
    );

    let next = totp.code_at_step(totp.step_at(NOW) + 1);
    let mut with_code = alice();
    with_code["mfa-code"] = json!(next);
    let (status, _, body) = send(&app, post_json("/api/auth/login", &with_code)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = send(&app, post_json("/api/auth/login", &with_code)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"success": false, "error": "Invalid MFA code"})
        )
    );

    let (status, _, body) = send(
        &app,
        test::TestRequest::get()
            .uri("/api/auth/mfa/status")
            .insert_header(bearer),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["enabled"], true);
    assert_eq!(body["backup-codes-remaining"], 10);
}

#[actix_web::test]
async fn the_bearer_token_is_checked_before_the_body() {
    let app = app(state(0)).await;
    let req = test::TestRequest::post()
        .uri("/api/auth/mfa/enable")
        .set_payload("not json")
        .insert_header(("content-type", "text/plain"));
    let (status, headers, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers.get("www-authenticate").unwrap(), "Bearer");
    assert_eq!(body["success?"], false);
}

#[actix_web::test]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let app = app(state(0)).await;
    let (status, _, body) = send(&app, test::TestRequest::get().uri("/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["success?"], false);

    let (status, headers, body) = send(&app, test::TestRequest::get().uri("/api/auth/login")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers.get("allow").unwrap(), "POST");
    assert_eq!(
        body["success"], false,
        "the login endpoint answers without the question mark"
    );

    let (status, headers, _) =
        send(&app, test::TestRequest::post().uri("/api/auth/mfa/status")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers.get("allow").unwrap(), "GET");
}

#[actix_web::test]
async fn a_panicking_handler_answers_500_and_the_server_keeps_serving() {
    let app = app(state(0)).await;
    let (status, headers, body) = send(&app, test::TestRequest::get().uri("/boom")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(headers.contains_key("x-request-id"));
    let error = body["error"].as_str().unwrap();
    assert!(
        !error.contains("deliberate") && !error.contains("panick"),
        "{error}"
    );
    let (status, _, _) = send(&app, test::TestRequest::get().uri("/health")).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn login_and_register_are_limited_per_address() {
    let app = app(state(3)).await;
    for _ in 0..3 {
        let (status, _, _) = send(&app, post_json("/api/auth/login", &alice())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, headers, body) = send(&app, post_json("/api/auth/login", &alice())).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.get("retry-after").is_some());
    assert_eq!(body["success"], false);
    assert!(body["retry-after"].as_u64().unwrap() >= 1);
}

#[actix_web::test]
async fn the_openapi_document_lists_every_endpoint() {
    let app = app(state(0)).await;
    let (status, _, doc) = send(&app, test::TestRequest::get().uri("/api/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/mfa/setup",
        "/api/auth/mfa/enable",
        "/api/auth/mfa/disable",
        "/api/auth/mfa/status",
        "/api/auth/mfa/backup-codes",
        "/health",
        "/api/openapi.json",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    let login = &doc["components"]["schemas"]["LoginBody"]["properties"];
    assert!(login.get("mfa-code").is_some(), "{login}");
    let enable = &doc["components"]["schemas"]["EnableBody"]["properties"];
    assert!(enable.get("verificationCode").is_some() && enable.get("backupCodes").is_some());
}
