//! The HTTP JSON API of the MFA service, on actix-web.
//!
//! This crate owns the routes, the request and response shapes (with the
//! exact JSON names of the original API), bearer-token extraction, the
//! mapping of every error to a status (in [`error`]), the per-address rate
//! limit and the OpenAPI document. It holds no business rule: every handler
//! parses, calls one use case of `mfa-ports` on the blocking pool, and
//! shapes the answer. It never answers with a stack trace, a database or
//! parser message, a file path, or a secret it was not asked for.
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

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, Route, web};

pub use api::MfaApi;
pub use error::ApiError;
pub use state::AppState;

fn method_not_allowed(allow: &'static str) -> Route {
    web::to(move || async move {
        let body = serde_json::json!({ "success?": false, "error": format!("Method not allowed; use {allow}") });
        HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, allow))
            .json(body)
    })
}

/// Registers every route, the JSON 404 and the JSON 405s.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let post = |path: &'static str, route: Route| {
        web::resource(path)
            .wrap(from_fn(middleware::catch_panics))
            .route(route)
            .default_service(method_not_allowed("POST"))
    };
    let get = |path: &'static str, route: Route| {
        web::resource(path)
            .wrap(from_fn(middleware::catch_panics))
            .route(route)
            .default_service(method_not_allowed("GET"))
    };
    cfg.service(post(
        "/api/auth/register",
        web::post().to(handlers::register),
    ))
    .service(post("/api/auth/login", web::post().to(handlers::login)))
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
