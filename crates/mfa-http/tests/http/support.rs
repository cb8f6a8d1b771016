//! An app over the fakes and small request helpers.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::middleware::from_fn;
use actix_web::{App, test, web};
use mfa_core::{Totp, TotpConfig, TotpSecret, UnixTime};
use mfa_http::ratelimit::RateLimiter;
use mfa_http::{AppState, MfaApi};
use mfa_ports::Settings;
use serde_json::{Value, json};

pub const NOW: UnixTime = UnixTime(1_700_000_010);

pub fn state(rate_limit: u32) -> web::Data<AppState> {
    let service = mfa_ports::testing::service(1, NOW, Settings::default());
    let api: Arc<dyn MfaApi> = Arc::new(service);
    web::Data::new(AppState {
        api,
        limiter: Arc::new(RateLimiter::new(rate_limit)),
        trusted_proxies: Arc::from([]),
    })
}

pub async fn app(
    state: web::Data<AppState>,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(
        App::new()
            .app_data(state)
            .wrap(from_fn(mfa_http::middleware::observe))
            .service(
                web::resource("/boom")
                    .wrap(from_fn(mfa_http::middleware::catch_panics))
                    .route(web::get().to(|| async { panic!("deliberate") as &'static str })),
            )
            .configure(mfa_http::routes),
    )
    .await
}

pub async fn send<S, B>(app: &S, req: test::TestRequest) -> (StatusCode, HeaderMap, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let req = req
        .peer_addr("127.0.0.1:4000".parse().unwrap())
        .to_request();
    let response = test::call_service(app, req).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

pub fn post_json(path: &str, body: &Value) -> test::TestRequest {
    test::TestRequest::post().uri(path).set_json(body)
}

pub fn alice() -> Value {
    json!({"email": "alice@example.com", "password": "correct horse battery", "name": "Alice"})
}

pub async fn login_token<S, B>(app: &S) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, _, _) = send(app, post_json("/api/auth/register", &alice())).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, body) = send(app, post_json("/api/auth/login", &alice())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// Registers Alice, enables MFA, and returns her token and TOTP generator.
pub async fn alice_with_mfa<S, B>(app: &S) -> (String, Totp)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let token = login_token(app).await;
    let setup = test::TestRequest::post()
        .uri("/api/auth/mfa/setup")
        .insert_header(("authorization", format!("Bearer {token}")));
    let (status, _, body) = send(app, setup).await;
    assert_eq!(status, StatusCode::OK);
    let secret = TotpSecret::parse_base32(body["secret"].as_str().unwrap()).unwrap();
    let totp = Totp::new(&secret, TotpConfig::default());
    let enable = post_json(
        "/api/auth/mfa/enable",
        &json!({"verificationCode": totp.generate(NOW)}),
    )
    .insert_header(("authorization", format!("Bearer {token}")));
    let (status, _, _) = send(app, enable).await;
    assert_eq!(status, StatusCode::OK);
    (token, totp)
}
