//! The OpenAPI 3 document, generated from the handlers' annotations and the
//! request and response types.

use std::sync::OnceLock;

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto;
use crate::handlers;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "MFA service",
        description = "TOTP two-factor login and backup codes over a JSON API."
    ),
    paths(
        handlers::register,
        handlers::login,
        handlers::logout,
        handlers::setup,
        handlers::enable,
        handlers::disable,
        handlers::status,
        handlers::backup_codes,
        handlers::health,
        handlers::openapi,
    ),
    components(schemas(
        dto::RegisterBody, dto::LoginBody, dto::EnableBody, dto::CodeBody, dto::UserView,
        dto::RegisterResponse, dto::MfaRequiredResponse, dto::LoginResponse, dto::SuccessResponse,
        dto::SetupResponse, dto::StatusResponse, dto::BackupCodesResponse, dto::HealthResponse,
        dto::ErrorResponse,
    )),
    modifiers(&BearerScheme),
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document as JSON, built once.
pub fn document() -> String {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            ApiDoc::openapi()
                .to_json()
                .unwrap_or_else(|_| "{}".to_owned())
        })
        .clone()
}
