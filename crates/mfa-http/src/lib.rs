#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod dto;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod middleware;
pub mod openapi;
pub mod qr;
pub mod ratelimit;
pub mod state;

use actix_web::ResponseError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::from_fn;
use actix_web::{Route, web};

pub use api::MfaApi;
pub use error::ApiError;
use error::SuccessKey;
pub use state::AppState;

fn method_not_allowed(allow: &'static str, key: SuccessKey) -> Route {
    web::to(move || async move {
        let error = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Method not allowed; use {allow}"),
        );
        let mut response = error.with_key(key).error_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        response
    })
}

/// Registers every route, the JSON 404 and the JSON 405s.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let resource = |path: &'static str, route: Route, allow: &'static str, key: SuccessKey| {
        web::resource(path)
            .wrap(from_fn(middleware::catch_panics))
            .route(route)
            .default_service(method_not_allowed(allow, key))
    };
    let post = |path, handler: Route| resource(path, handler, "POST", SuccessKey::Question);
    let get = |path, handler: Route| resource(path, handler, "GET", SuccessKey::Question);

    cfg.service(post(
        "/api/auth/register",
        web::post().to(handlers::register),
    ))
    .service(resource(
        "/api/auth/login",
        web::post().to(handlers::login),
        "POST",
        SuccessKey::Plain,
    ))
    .service(post("/api/auth/logout", web::post().to(handlers::logout)))
    .service(post("/api/auth/mfa/setup", web::post().to(handlers::setup)))
    .service(post(
        "/api/auth/mfa/enable",
        web::post().to(handlers::enable),
    ))
    .service(post(
        "/api/auth/mfa/disable",
        web::post().to(handlers::disable),
    ))
    .service(get("/api/auth/mfa/status", web::get().to(handlers::status)))
    .service(post(
        "/api/auth/mfa/backup-codes",
        web::post().to(handlers::backup_codes),
    ))
    .service(get("/health", web::get().to(handlers::health)))
    .service(get("/api/openapi.json", web::get().to(handlers::openapi)))
    .default_service(web::to(handlers::not_found));
}
