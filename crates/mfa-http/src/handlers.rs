//! One function per endpoint: authenticate, parse the body, run the use
//! case on the blocking pool, shape the answer. No business rule lives here.
//!
//! The bearer token is checked before the body is read, so that the order
//! of checks is always 401, then 400, then what the use case decides.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use mfa_core::{DisplayName, Email, Password, UnixTime};
use mfa_ports::{Authenticated, EnableInput, LoginOutcome, LoginRequest, RequestContext, User};

use crate::api::MfaApi;
use crate::dto::{
    BackupCodesResponse, CodeBody, EnableBody, ErrorResponse, HealthResponse, LoginBody,
    LoginResponse, MfaRequiredResponse, RegisterBody, RegisterResponse, SetupResponse,
    StatusResponse, SuccessResponse, UserView,
};
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, bearer_token, client_ip};
use crate::qr;
use crate::state::AppState;

async fn body<T: serde::de::DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<T, ApiError> {
    Ok(JsonBody::<T>::from_request(req, &mut payload.into_inner())
        .await?
        .0)
}

/// Authenticates the bearer token and runs `work` as that caller, in one
/// trip to the blocking pool. For endpoints without a body, where no other
/// check comes between the token and the use case.
async fn as_caller<T: Send + 'static>(
    state: &AppState,
    req: &HttpRequest,
    work: impl FnOnce(&dyn MfaApi, Authenticated) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let token = bearer_token(req).ok_or_else(ApiError::unauthorized)?;
    let api = state.api.clone();
    web::block(move || {
        let caller = api.authenticate(&token)?;
        work(api.as_ref(), caller)
    })
    .await?
}

fn context(state: &AppState, req: &HttpRequest) -> RequestContext {
    RequestContext {
        client: client_ip(req, &state.trusted_proxies).map(|ip| ip.to_string()),
    }
}

fn rate_limit(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    let Some(ip) = client_ip(req, &state.trusted_proxies) else {
        return Ok(());
    };
    state.limiter.check(ip, Instant::now()).map_err(|secs| {
        tracing::warn!(
            target: "mfa::security",
            event = "rate_limited",
            client.addr = %ip,
            "per-address limit reached"
        );
        ApiError::too_many(secs, "Too many requests from this address; try again later")
    })
}

fn user_view(user: &User) -> UserView {
    UserView {
        id: user.id.0.to_string(),
        email: user.email.clone(),
        name: user.name.clone(),
    }
}

/// A time as RFC 3339 in UTC, as every answer of the API writes it.
pub fn rfc3339(at: UnixTime) -> String {
    let seconds = i64::try_from(at.0).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "9999-12-31T23:59:59Z".to_owned())
}

fn ok() -> HttpResponse {
    HttpResponse::Ok().json(SuccessResponse { success: true })
}

/// Create an account.
#[utoipa::path(post, path = "/api/auth/register", tag = "accounts", request_body = RegisterBody,
    responses(
        (status = 201, description = "Account created", body = RegisterResponse),
        (status = 400, description = "Malformed body or invalid field", body = ErrorResponse),
        (status = 409, description = "Email already registered", body = ErrorResponse),
        (status = 413, description = "Body over 64 KiB", body = ErrorResponse),
        (status = 415, description = "Body is not JSON", body = ErrorResponse),
        (status = 429, description = "Too many requests from this address", body = ErrorResponse),
    ))]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    rate_limit(&state, &req)?;
    let input: RegisterBody = body(&req, payload).await?;
    let email = Email::parse(&input.email)?;
    let password = Password::parse(&input.password)?;
    let name = DisplayName::parse(&input.name)?;

    let (api, ctx) = (state.api.clone(), context(&state, &req));
    let user = web::block(move || api.register(&email, &password, &name, &ctx)).await??;
    Ok(HttpResponse::Created().json(RegisterResponse {
        success: true,
        user: user_view(&user),
    }))
}

/// Log in with a password, then with a TOTP or backup code when MFA is on.
#[utoipa::path(post, path = "/api/auth/login", tag = "accounts", request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in, or a second factor is required",
            body = LoginResponse),
        (status = 400, description = "Malformed body or invalid field", body = ErrorResponse),
        (status = 401, description = "Invalid email or password, or invalid MFA code",
            body = ErrorResponse),
        (status = 413, description = "Body over 64 KiB", body = ErrorResponse),
        (status = 415, description = "Body is not JSON", body = ErrorResponse),
        (status = 429, description = "Locked out after failures, or too many requests",
            body = ErrorResponse),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    login_inner(state, req, payload)
        .await
        .map_err(ApiError::for_login)
}

async fn login_inner(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    rate_limit(&state, &req)?;
    let input: LoginBody = body(&req, payload).await?;
    let email = Email::parse(&input.email)?;
    let password = Password::parse(&input.password)?;
    let code = input.mfa_code.filter(|c| !c.trim().is_empty());

    let (api, ctx) = (state.api.clone(), context(&state, &req));
    let outcome = web::block(move || {
        let request = LoginRequest {
            email: &email,
            password: &password,
            mfa_code: code.as_deref(),
        };
        api.login(&request, &ctx)
    })
    .await??;

    Ok(match outcome {
        LoginOutcome::MfaRequired => HttpResponse::Ok().json(MfaRequiredResponse {
            requires_mfa: true,
            message: "MFA code required".to_owned(),
        }),
        LoginOutcome::LoggedIn(session) => HttpResponse::Ok().json(LoginResponse {
            success: true,
            session_id: session.session_id.0.to_string(),
            token: session.token.expose().to_owned(),
            expires_at: rfc3339(session.expires_at),
            user: user_view(&session.user),
            backup_codes_remaining: session.backup_codes_remaining,
        }),
    })
}

/// End the caller's session.
#[utoipa::path(post, path = "/api/auth/logout", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 200, description = "Session ended", body = SuccessResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorResponse),
    ))]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = context(&state, &req);
    as_caller(&state, &req, move |api, caller| {
        Ok(api.logout(&caller, &ctx)?)
    })
    .await?;
    Ok(ok())
}

/// Start MFA setup: a new secret, its QR code and ten backup codes, held
/// server-side for 10 minutes.
#[utoipa::path(post, path = "/api/auth/mfa/setup", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 200, description = "Pending setup created", body = SetupResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorResponse),
        (status = 409, description = "MFA already enabled", body = ErrorResponse),
    ))]
pub async fn setup(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let ctx = context(&state, &req);
    // The QR code is rendered in the same blocking trip, off the event loop.
    let (outcome, qr_code_url) = as_caller(&state, &req, move |api, caller| {
        let outcome = api.setup_mfa(&caller, &ctx)?;
        let qr = qr::svg_data_uri(&outcome.otpauth_uri).map_err(|e| ApiError::internal(&e))?;
        Ok((outcome, qr))
    })
    .await?;
    Ok(HttpResponse::Ok().json(SetupResponse {
        success: true,
        secret: outcome.secret.as_str().to_owned(),
        qr_code_url,
        otpauth_uri: outcome.otpauth_uri.as_str().to_owned(),
        backup_codes: outcome
            .backup_codes
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        issuer: outcome.issuer,
        account_name: outcome.account_name,
    }))
}

/// Confirm the pending setup with a code from the authenticator.
#[utoipa::path(post, path = "/api/auth/mfa/enable", tag = "mfa",
    request_body = EnableBody, security(("bearer" = [])),
    responses(
        (status = 200, description = "MFA enabled", body = SuccessResponse),
        (status = 400,
            description = "Invalid verification code, mismatching secret or codes, malformed body",
            body = ErrorResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorResponse),
        (status = 409, description = "MFA already enabled, or no pending setup",
            body = ErrorResponse),
        (status = 413, description = "Body over 64 KiB", body = ErrorResponse),
        (status = 415, description = "Body is not JSON", body = ErrorResponse),
    ))]
pub async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let input: EnableBody = body(&req, payload).await?;
    let (api, ctx) = (state.api.clone(), context(&state, &req));
    web::block(move || {
        let enable = EnableInput {
            verification_code: &input.verification_code,
            secret: input.secret.as_deref(),
            backup_codes: input.backup_codes.as_deref(),
        };
        api.enable_mfa(&caller.0, &enable, &ctx)
    })
    .await??;
    Ok(ok())
}

/// Turn MFA off; needs a current TOTP code or an unused backup code.
#[utoipa::path(post, path = "/api/auth/mfa/disable", tag = "mfa",
    request_body = CodeBody, security(("bearer" = [])),
    responses(
        (status = 200, description = "MFA disabled; every other session revoked",
            body = SuccessResponse),
        (status = 400, description = "Missing mfa-code or malformed body", body = ErrorResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorResponse),
        (status = 403, description = "Invalid MFA code (counted as a failure)",
            body = ErrorResponse),
        (status = 409, description = "MFA is not enabled", body = ErrorResponse),
        (status = 413, description = "Body over 64 KiB", body = ErrorResponse),
        (status = 415, description = "Body is not JSON", body = ErrorResponse),
        (status = 429, description = "Locked out after failures", body = ErrorResponse),
    ))]
pub async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let input: CodeBody = body(&req, payload).await?;
    let (api, ctx) = (state.api.clone(), context(&state, &req));
    web::block(move || api.disable_mfa(&caller.0, &input.mfa_code, &ctx)).await??;
    Ok(ok())
}

/// Whether MFA is on and how many backup codes are left.
#[utoipa::path(get, path = "/api/auth/mfa/status", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 200, description = "MFA status", body = StatusResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorResponse),
    ))]
pub async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let status = as_caller(&state, &req, |api, caller| Ok(api.mfa_status(&caller)?)).await?;
    Ok(HttpResponse::Ok().json(StatusResponse {
        enabled: status.enabled,
        enabled_at: status.enabled_at.map(rfc3339),
        backup_codes_remaining: status.backup_codes_remaining,
    }))
}

/// Replace every backup code with ten new ones; needs a second factor.
#[utoipa::path(post, path = "/api/auth/mfa/backup-codes", tag = "mfa",
    request_body = CodeBody, security(("bearer" = [])),
    responses(
        (status = 200, description = "New codes; the old ones stopped working",
            body = BackupCodesResponse),
        (status = 400, description = "Missing mfa-code or malformed body", body = ErrorResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorResponse),
        (status = 403, description = "Invalid MFA code (counted as a failure)",
            body = ErrorResponse),
        (status = 409, description = "MFA is not enabled", body = ErrorResponse),
        (status = 413, description = "Body over 64 KiB", body = ErrorResponse),
        (status = 415, description = "Body is not JSON", body = ErrorResponse),
        (status = 429, description = "Locked out after failures", body = ErrorResponse),
    ))]
pub async fn backup_codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let input: CodeBody = body(&req, payload).await?;
    let (api, ctx) = (state.api.clone(), context(&state, &req));
    let codes =
        web::block(move || api.regenerate_backup_codes(&caller.0, &input.mfa_code, &ctx)).await??;
    Ok(HttpResponse::Ok().json(BackupCodesResponse {
        success: true,
        backup_codes: codes.iter().map(|c| c.as_str().to_owned()).collect(),
    }))
}

/// 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = HealthResponse),
        (status = 503, description = "The database does not answer", body = HealthResponse),
    ))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let api = state.api.clone();
    match web::block(move || api.healthy()).await {
        Ok(true) => HttpResponse::Ok().json(HealthResponse {
            status: "ok".to_owned(),
        }),
        _ => HttpResponse::ServiceUnavailable().json(HealthResponse {
            status: "unavailable".to_owned(),
        }),
    }
}

/// The OpenAPI 3 document of this API.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document",
        content_type = "application/json")))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::openapi::document())
}

/// JSON 404 for unknown routes.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(StatusCode::NOT_FOUND, "No such endpoint"))
}
