//! A table of malformed requests across every endpoint: each gets its exact
//! status and the JSON error shape, and none changes any state.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::support::{NOW, alice, alice_with_mfa, app, post_json, send, state};

enum Auth {
    None,
    Valid,
    Raw(&'static str),
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    auth: Auth,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    /// A fragment the error sentence must contain.
    error: &'static str,
}

fn json_case(
    name: &'static str,
    path: &'static str,
    auth: Auth,
    body: &str,
    status: u16,
    error: &'static str,
) -> Case {
    Case {
        name,
        method: "POST",
        path,
        auth,
        content_type: Some("application/json"),
        body: body.as_bytes().to_vec(),
        status,
        error,
    }
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn huge() -> String {
    format!("{{\"email\": \"{}\"}}", "a".repeat(70_000))
}

/// A token of the right form but far over the 512 bytes accepted.
const OVERLONG_TOKEN: &str = concat!(
    "Bearer mfa1.",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ".AA"
);

const REGISTER: &str = "/api/auth/register";
const LOGIN: &str = "/api/auth/login";
const ENABLE: &str = "/api/auth/mfa/enable";
const DISABLE: &str = "/api/auth/mfa/disable";
const CODES: &str = "/api/auth/mfa/backup-codes";
const SETUP: &str = "/api/auth/mfa/setup";
const STATUS: &str = "/api/auth/mfa/status";

fn cases() -> Vec<Case> {
    use Auth::{None as Anon, Raw, Valid};
    let ok_password = "\"password\": \"correct horse battery\"";
    let cases = vec![
        json_case(
            "register: truncated JSON",
            REGISTER,
            Anon,
            "{\"email\":",
            400,
            "not valid JSON",
        ),
        json_case(
            "register: empty body",
            REGISTER,
            Anon,
            "",
            400,
            "not valid JSON",
        ),
        json_case(
            "register: array body",
            REGISTER,
            Anon,
            "[]",
            400,
            "JSON object",
        ),
        json_case(
            "register: null body",
            REGISTER,
            Anon,
            "null",
            400,
            "JSON object",
        ),
        json_case(
            "register: email is a number",
            REGISTER,
            Anon,
            "{\"email\": 5, \"password\": \"x\", \"name\": \"n\"}",
            400,
            "'email' must be a string",
        ),
        json_case(
            "register: email is null",
            REGISTER,
            Anon,
            "{\"email\": null, \"password\": \"x\", \"name\": \"n\"}",
            400,
            "'email' must be a string",
        ),
        json_case(
            "register: missing name",
            REGISTER,
            Anon,
            "{\"email\": \"b@example.com\", \"password\": \"long enough\"}",
            400,
            "Missing field: name",
        ),
        json_case(
            "register: NUL in email",
            REGISTER,
            Anon,
            "{\"email\": \"b\\u0000@example.com\", \"password\": \"long enough\", \"name\": \"B\"}",
            400,
            "email",
        ),
        json_case(
            "register: right-to-left mark in email",
            REGISTER,
            Anon,
            "{\"email\": \"b\\u202e@example.com\", \"password\": \"long enough\", \"name\": \"B\"}",
            400,
            "email",
        ),
        json_case(
            "register: SQL-like email",
            REGISTER,
            Anon,
            "{\"email\": \"b@example.com' OR '1'='1\", \
             \"password\": \"long enough\", \"name\": \"B\"}",
            400,
            "email",
        ),
        json_case(
            "register: control character in name",
            REGISTER,
            Anon,
            "{\"email\": \"b@example.com\", \"password\": \"long enough\", \"name\": \"B\\u0007\"}",
            400,
            "name",
        ),
        json_case(
            "register: password of 7 characters",
            REGISTER,
            Anon,
            "{\"email\": \"b@example.com\", \"password\": \"1234567\", \"name\": \"B\"}",
            400,
            "password",
        ),
        json_case(
            "register: email in another case",
            REGISTER,
            Anon,
            "{\"email\": \"ALICE@example.com\", \"password\": \"long enough\", \"name\": \"A\"}",
            409,
            "already exists",
        ),
        json_case(
            "register: deeply nested email",
            REGISTER,
            Anon,
            &format!("{{\"email\": {}}}", nested(5_000)),
            400,
            "'email' must be a string",
        ),
        json_case(
            "register: body over 64 KiB",
            REGISTER,
            Anon,
            &huge(),
            413,
            "64 KiB",
        ),
        Case {
            content_type: Some("text/plain"),
            ..json_case(
                "register: text/plain",
                REGISTER,
                Anon,
                "{}",
                415,
                "application/json",
            )
        },
        Case {
            content_type: None,
            ..json_case(
                "register: no content type",
                REGISTER,
                Anon,
                "{}",
                415,
                "application/json",
            )
        },
        json_case(
            "login: the fields as an array",
            LOGIN,
            Anon,
            "[\"alice@example.com\", \"correct horse battery\", null]",
            400,
            "JSON object",
        ),
        json_case(
            "login: truncated JSON",
            LOGIN,
            Anon,
            "{\"email\"",
            400,
            "not valid JSON",
        ),
        json_case(
            "login: password is a number",
            LOGIN,
            Anon,
            "{\"email\": \"alice@example.com\", \"password\": 12345678}",
            400,
            "'password' must be a string",
        ),
        json_case(
            "login: mfa-code is a number",
            LOGIN,
            Anon,
            &format!("{{\"email\": \"alice@example.com\", {ok_password}, \"mfa-code\": 123456}}"),
            400,
            "'mfa-code' must be a string",
        ),
        json_case(
            "login: mfa-code is an array",
            LOGIN,
            Anon,
            &format!(
                "{{\"email\": \"alice@example.com\", {ok_password}, \"mfa-code\": [\"123456\"]}}"
            ),
            400,
            "'mfa-code' must be a string",
        ),
        json_case(
            "login: NUL in email",
            LOGIN,
            Anon,
            &format!("{{\"email\": \"alice\\u0000@example.com\", {ok_password}}}"),
            400,
            "email",
        ),
        json_case(
            "login: missing password",
            LOGIN,
            Anon,
            "{\"email\": \"alice@example.com\"}",
            400,
            "Missing field: password",
        ),
        json_case(
            "login: password over 1024 characters",
            LOGIN,
            Anon,
            &format!(
                "{{\"email\": \"alice@example.com\", \"password\": \"{}\"}}",
                "p".repeat(1025)
            ),
            400,
            "password",
        ),
        json_case(
            "login: body over 64 KiB",
            LOGIN,
            Anon,
            &huge(),
            413,
            "64 KiB",
        ),
        Case {
            content_type: Some("application/x-www-form-urlencoded"),
            ..json_case(
                "login: form body",
                LOGIN,
                Anon,
                "email=a",
                415,
                "application/json",
            )
        },
        json_case(
            "enable: missing verificationCode",
            ENABLE,
            Valid,
            "{}",
            400,
            "Missing field: verificationCode",
        ),
        json_case(
            "enable: verificationCode is a number",
            ENABLE,
            Valid,
            "{\"verificationCode\": 123456}",
            400,
            "'verificationCode' must be a string",
        ),
        json_case(
            "enable: backupCodes is a string",
            ENABLE,
            Valid,
            "{\"verificationCode\": \"123456\", \"backupCodes\": \"ABCD\"}",
            400,
            "'backupCodes' must be an array",
        ),
        json_case(
            "enable: backupCodes holds numbers",
            ENABLE,
            Valid,
            "{\"verificationCode\": \"123456\", \"backupCodes\": [1, 2]}",
            400,
            "'backupCodes[0]' must be a string",
        ),
        json_case(
            "enable: secret is a number",
            ENABLE,
            Valid,
            "{\"verificationCode\": \"123456\", \"secret\": 5}",
            400,
            "'secret' must be a string",
        ),
        json_case(
            "enable: MFA already on",
            ENABLE,
            Valid,
            "{\"verificationCode\": \"123456\"}",
            409,
            "already enabled",
        ),
        json_case(
            "disable: missing mfa-code",
            DISABLE,
            Valid,
            "{}",
            400,
            "Missing field: mfa-code",
        ),
        json_case(
            "disable: mfa-code is null",
            DISABLE,
            Valid,
            "{\"mfa-code\": null}",
            400,
            "'mfa-code' must be a string",
        ),
        json_case(
            "disable: mfa-code is a number",
            DISABLE,
            Valid,
            "{\"mfa-code\": 123456}",
            400,
            "'mfa-code' must be a string",
        ),
        Case {
            content_type: Some("text/plain"),
            ..json_case(
                "disable: text/plain",
                DISABLE,
                Valid,
                "{}",
                415,
                "application/json",
            )
        },
        json_case(
            "disable: no token and a broken body",
            DISABLE,
            Anon,
            "{",
            401,
            "bearer token",
        ),
        json_case(
            "backup-codes: empty object",
            CODES,
            Valid,
            "{}",
            400,
            "Missing field: mfa-code",
        ),
        json_case(
            "backup-codes: array body",
            CODES,
            Valid,
            "[]",
            400,
            "JSON object",
        ),
        json_case(
            "backup-codes: body over 64 KiB",
            CODES,
            Valid,
            &huge(),
            413,
            "64 KiB",
        ),
        json_case(
            "setup: malformed token",
            SETUP,
            Raw("Bearer mfa1.x.y"),
            "",
            401,
            "bearer token",
        ),
        json_case(
            "setup: MFA already on",
            SETUP,
            Valid,
            "",
            409,
            "already enabled",
        ),
        json_case(
            "logout: no token",
            "/api/auth/logout",
            Anon,
            "",
            401,
            "bearer token",
        ),
        Case {
            method: "GET",
            ..json_case(
                "status: Basic scheme",
                STATUS,
                Raw("Basic YWxpY2U6cHc="),
                "",
                401,
                "bearer token",
            )
        },
        Case {
            method: "GET",
            ..json_case(
                "status: overlong token",
                STATUS,
                Raw(OVERLONG_TOKEN),
                "",
                401,
                "bearer token",
            )
        },
        Case {
            method: "POST",
            ..json_case("status: POST", STATUS, Valid, "", 405, "use GET")
        },
        Case {
            method: "DELETE",
            ..json_case("login: DELETE", LOGIN, Anon, "", 405, "use POST")
        },
        Case {
            method: "GET",
            ..json_case(
                "unknown route",
                "/api/auth/nothing-here",
                Anon,
                "",
                404,
                "No such endpoint",
            )
        },
    ];
    cases
}

fn request(case: &Case, token: &str) -> TestRequest {
    let mut req = match case.method {
        "GET" => TestRequest::get(),
        "DELETE" => TestRequest::delete(),
        _ => TestRequest::post(),
    }
    .uri(case.path)
    .set_payload(case.body.clone());
    if let Some(content_type) = case.content_type {
        req = req.insert_header(("content-type", content_type));
    }
    match case.auth {
        Auth::None => req,
        Auth::Valid => req.insert_header(("authorization", format!("Bearer {token}"))),
        Auth::Raw(value) => req.insert_header(("authorization", value)),
    }
}

#[actix_web::test]
async fn malformed_requests_get_exact_errors_and_change_nothing() {
    let app = app(state(0)).await;
    let (token, totp) = alice_with_mfa(&app).await;
    let table = cases();
    assert!(table.len() >= 40, "the table has {} cases", table.len());

    for case in &table {
        let (status, _, body) = send(&app, request(case, &token)).await;
        assert_eq!(status.as_u16(), case.status, "{}: {body}", case.name);
        let key = if case.path == LOGIN {
            "success"
        } else {
            "success?"
        };
        assert_eq!(body[key], Value::Bool(false), "{}: {body}", case.name);
        let error = body["error"].as_str().unwrap_or_default();
        let names_it = error.to_lowercase().contains(&case.error.to_lowercase());
        assert!(names_it, "{}: {error:?} lacks {:?}", case.name, case.error);
        assert!(
            !error.contains("line ") && !error.contains("column"),
            "{}: parser text leaked: {error}",
            case.name
        );
    }

    let bearer = ("authorization", format!("Bearer {token}"));
    let (status, _, body) = send(&app, TestRequest::get().uri(STATUS).insert_header(bearer)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            body["enabled"].clone(),
            body["backup-codes-remaining"].clone()
        ),
        (json!(true), json!(10))
    );
    let mut login = alice();
    login["mfa-code"] = json!(totp.code_at_step(totp.step_at(NOW) + 1));
    let (status, _, body) = send(&app, post_json(LOGIN, &login)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "no lock-out or password throttle was set off: {body}"
    );
}

#[actix_web::test]
async fn malformed_codes_are_refused_like_wrong_ones_and_counted() {
    let app = app(state(0)).await;
    let (_, totp) = alice_with_mfa(&app).await;
    let current = totp.code_at_step(totp.step_at(NOW) + 1);
    let full_width: String = current
        .chars()
        .map(|c| char::from_u32(c as u32 - 0x30 + 0xFF10).unwrap())
        .collect();
    let malformed = [
        format!("+{}", &current[1..]),
        format!("0{current}"),
        full_width,
        format!("-{}", &current[1..]),
        "' OR 1=1; --".to_owned(),
    ];

    for code in &malformed {
        let mut login = alice();
        login["mfa-code"] = json!(code);
        let (status, _, body) = send(&app, post_json(LOGIN, &login)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{code:?}");
        assert_eq!(
            body,
            json!({"success": false, "error": "Invalid MFA code"}),
            "{code:?}"
        );
    }

    let mut login = alice();
    login["mfa-code"] = json!(current);
    let (status, headers, body) = send(&app, post_json(LOGIN, &login)).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "five malformed codes locked the account: {body}"
    );
    assert_eq!(headers.get("retry-after").unwrap(), "30");
    assert_eq!(body["retry-after"], 30);
}
