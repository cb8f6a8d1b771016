//! Request extractors: the JSON body, the bearer token and the client's
//! address. Each turns bad input into the API's JSON error, never into the
//! framework's or the parser's text.

use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use mfa_ports::Authenticated;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body, parsed with errors that name the field at fault.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = is_json(req);
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Content-Type must be application/json",
                ));
            }
            if declared_len.is_some_and(|len| len > MAX_BODY_BYTES) {
                return Err(too_large());
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|_| ApiError::bad_request("The request body could not be read"))?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(JsonBody)
        })
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "The request body is larger than 64 KiB",
    )
}

fn is_json(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(mime)) => {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        }
        _ => false,
    }
}

/// Parses a body into `T`, turning serde's messages into sentences that
/// name the field and never echo the input.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // serde's derived structs also accept an array of the fields in order;
    // a request body must be an object, so anything else is refused first.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => ApiError::bad_request("The request body must be a JSON object"),
                Err(_) => ApiError::bad_request("The request body is not valid JSON"),
            },
        );
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        describe(&path, e.inner())
    })?;
    deserializer
        .end()
        .map_err(|_| ApiError::bad_request("The request body is not valid JSON"))?;
    Ok(value)
}

fn describe(path: &str, error: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::bad_request("The request body is not valid JSON")
        }
        Category::Data => {
            let text = error.to_string();
            if let Some(field) = text
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
            {
                let field = if path == "." {
                    field.to_owned()
                } else {
                    format!("{path}.{field}")
                };
                return ApiError::bad_request(format!("Missing field: {field}"));
            }
            if path == "." {
                return ApiError::bad_request("The request body must be a JSON object");
            }
            let expected = if text.contains("expected a string") {
                "must be a string"
            } else if text.contains("expected a sequence") {
                "must be an array of strings"
            } else {
                "has an invalid value"
            };
            ApiError::bad_request(format!("Field '{path}' {expected}"))
        }
    }
}

/// The caller of an endpoint that needs `Authorization: Bearer <token>`.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Authenticated);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let (Some(token), Some(state)) = (token, state) else {
                return Err(ApiError::unauthorized());
            };
            let api = state.api.clone();
            let caller = web::block(move || api.authenticate(&token)).await??;
            Ok(Caller(caller))
        })
    }
}

/// The token of an `Authorization: Bearer …` header, if well formed.
pub(crate) fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 512)
        .then(|| token.to_owned())
}

/// The client's address: the peer's, or, when the peer is a trusted proxy,
/// the nearest untrusted address in `X-Forwarded-For`.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok());
    let hops: Vec<IpAddr> = forwarded
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    Some(
        hops.into_iter()
            .rev()
            .find(|ip| !trusted_proxies.contains(ip))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        #[serde(rename = "mfa-code", default)]
        mfa_code: Option<String>,
        #[serde(rename = "backupCodes", default)]
        codes: Option<Vec<String>>,
    }

    fn message(body: &str) -> String {
        parse_json::<Body>(body.as_bytes())
            .unwrap_err()
            .message()
            .to_owned()
    }

    #[test]
    fn errors_name_the_field_and_never_echo_input() {
        assert_eq!(message("{"), "The request body is not valid JSON");
        assert_eq!(
            message("{\"email\": \"a\"} trailing"),
            "The request body is not valid JSON"
        );
        assert_eq!(message("{}"), "Missing field: email");
        assert_eq!(message("[]"), "The request body must be a JSON object");
        assert_eq!(message("null"), "The request body must be a JSON object");
        assert_eq!(
            message("[\"a@example.com\", null]"),
            "The request body must be a JSON object"
        );
        assert_eq!(
            message("  \"text\""),
            "The request body must be a JSON object"
        );
        assert_eq!(message("[\"unclosed"), "The request body is not valid JSON");
        assert_eq!(message("{\"email\": 5}"), "Field 'email' must be a string");
        assert_eq!(
            message("{\"email\": null}"),
            "Field 'email' must be a string"
        );
        assert_eq!(
            message("{\"email\": \"a\", \"mfa-code\": 123456}"),
            "Field 'mfa-code' must be a string"
        );
        assert_eq!(
            message("{\"email\": \"a\", \"backupCodes\": \"x\"}"),
            "Field 'backupCodes' must be an array of strings"
        );
        assert_eq!(
            message("{\"email\": \"a\", \"backupCodes\": [1]}"),
            "Field 'backupCodes[0]' must be a string"
        );
        let secret = message("{\"email\": {\"secret-value\": 1}}");
        assert!(!secret.contains("secret-value"), "{secret}");
    }

    #[test]
    fn deep_nesting_neither_overflows_nor_passes_as_a_field() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let in_field = format!("{{\"email\": {}}}", nested(20_000));
        assert_eq!(message(&in_field), "Field 'email' must be a string");
        let ignored = format!("{{\"email\": \"a\", \"x\": {}}}", nested(20_000));
        let body: Body = parse_json(ignored.as_bytes()).unwrap();
        assert_eq!(body.email, "a");
    }

    #[test]
    fn the_client_address_comes_from_forwarded_for_only_behind_a_trusted_proxy() {
        use actix_web::test::TestRequest;
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let request = |peer: &str, forwarded: Option<&str>| {
            let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
            if let Some(value) = forwarded {
                req = req.insert_header(("x-forwarded-for", value));
            }
            req.to_http_request()
        };
        let direct = request("192.0.2.7:5000", Some("203.0.113.9"));
        assert_eq!(
            client_ip(&direct, &[proxy]),
            Some("192.0.2.7".parse().unwrap()),
            "an untrusted peer is the client"
        );
        let proxied = request("10.0.0.2:5000", Some("198.51.100.1, 203.0.113.9"));
        assert_eq!(
            client_ip(&proxied, &[proxy]),
            Some("203.0.113.9".parse().unwrap()),
            "the hop nearest the proxy"
        );
        let chained = request("10.0.0.2:5000", Some("203.0.113.9, 10.0.0.2"));
        assert_eq!(
            client_ip(&chained, &[proxy]),
            Some("203.0.113.9".parse().unwrap()),
            "trusted hops are skipped"
        );
        let spoofed = request("10.0.0.2:5000", Some("not-an-address"));
        assert_eq!(
            client_ip(&spoofed, &[proxy]),
            Some(proxy),
            "garbage falls back to the peer"
        );
        assert_eq!(
            client_ip(&proxied, &[]),
            Some(proxy),
            "no trusted proxies, no forwarded header"
        );
    }

    #[test]
    fn optional_fields_accept_null_and_absence() {
        let body: Body = parse_json(br#"{"email": "a", "mfa-code": null}"#).unwrap();
        assert!(body.mfa_code.is_none());
    }
}
