//! One log line per request with a request id, and panics turned into 500s.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_web::ResponseError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use futures_util::FutureExt;
use mfa_ports::ports::Randomness;

use crate::error::{ApiError, GENERIC_FAILURE};

/// The response header carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn request_id() -> String {
    let mut bytes = [0u8; 8];
    mfa_ports::adapters::OsRandom.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Logs method, route, status, latency and request id, and never the body,
/// the query string, the `Authorization` header or an email. The route is
/// the matched pattern, so no user-supplied path text reaches the log.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id();
    let method = req.method().clone();

    let result = next.call(req).await;
    let (status, route) = match &result {
        Ok(response) => (response.status(), response.request().match_pattern()),
        Err(error) => (error.as_response_error().status_code(), None),
    };
    let route = route.unwrap_or_else(|| "(unmatched)".to_owned());
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "mfa::http",
        latency_ms,
        http.method = %method,
        http.route = %route,
        http.status = status.as_u16(),
        request.id = %id,
        "request"
    );

    let mut response = result?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// Turns a panic in a handler into a 500 with the generic error, so the
/// client gets an answer and the worker keeps serving. Wraps each resource,
/// after routing, because only a routed request may be cloned.
pub async fn catch_panics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request = req.request().clone();
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(result) => result.map(ServiceResponse::map_into_boxed_body),
        Err(_) => {
            tracing::error!("a request handler panicked");
            let error = ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, GENERIC_FAILURE);
            Ok(ServiceResponse::new(request, error.error_response()))
        }
    }
}
