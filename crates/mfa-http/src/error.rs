//! Every error the API answers with, and the one place where use-case
//! errors become HTTP statuses.
//!
//! An error body is `{"success?": false, "error": "<sentence>"}`; the login
//! endpoint writes `"success"` without the question mark, as the original
//! API did. Internal failures are logged here, once, and answered with a
//! generic sentence: no SQL, no parser text, no paths.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use mfa_core::FieldError;
use mfa_ports::{
    AuthError, EnableFailure, InternalError, LoginError, ProofError, RegisterError, SetupError,
};
use serde_json::json;

/// Which success key the error body uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuccessKey {
    /// `"success?"`, as most endpoints answer.
    Question,
    /// `"success"`, as the login endpoint answers.
    Plain,
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
    key: SuccessKey,
}

pub(crate) const GENERIC_FAILURE: &str =
    "The server could not complete the request; try again later";

impl ApiError {
    /// An error with this status and sentence.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
            key: SuccessKey::Question,
        }
    }

    /// 400 with a sentence.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401 for a missing or bad bearer token.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "A valid bearer token is required")
    }

    /// 409 with a sentence.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 429 with the wait in whole seconds.
    pub fn too_many(retry_after_secs: u64, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, message)
        }
    }

    /// 500 after logging the cause once.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, GENERIC_FAILURE)
    }

    /// The same error with the login endpoint's body shape.
    #[must_use]
    pub fn for_login(self) -> Self {
        self.with_key(SuccessKey::Plain)
    }

    /// The same error with this success key.
    #[must_use]
    pub fn with_key(self, key: SuccessKey) -> Self {
        Self { key, ..self }
    }

    /// The sentence shown to the client.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let key = match self.key {
            SuccessKey::Question => "success?",
            SuccessKey::Plain => "success",
        };
        let mut body = json!({ key: false, "error": self.message });
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            body["retry-after"] = json!(secs);
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED && self.key == SuccessKey::Question {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        response.json(body)
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::bad_request(capitalise(&e.to_string()))
    }
}

fn capitalise(sentence: &str) -> String {
    let mut chars = sentence.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

impl From<InternalError> for ApiError {
    fn from(e: InternalError) -> Self {
        Self::internal(&e)
    }
}

impl From<RegisterError> for ApiError {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::EmailTaken => {
                Self::conflict("An account with this email already exists")
            }
            RegisterError::Internal(e) => e.into(),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        let error = match e {
            LoginError::InvalidCredentials => {
                Self::new(StatusCode::UNAUTHORIZED, "Invalid email or password")
            }
            LoginError::InvalidMfaCode => Self::new(StatusCode::UNAUTHORIZED, "Invalid MFA code"),
            LoginError::LockedOut { retry_after_secs } => Self::too_many(
                retry_after_secs,
                "Too many failed attempts; try again later",
            ),
            LoginError::Internal(e) => e.into(),
        };
        error.for_login()
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthorized => Self::unauthorized(),
            AuthError::Internal(e) => e.into(),
        }
    }
}

impl From<SetupError> for ApiError {
    fn from(e: SetupError) -> Self {
        match e {
            SetupError::AlreadyEnabled => {
                Self::conflict("MFA is already enabled; disable it before setting it up again")
            }
            SetupError::Internal(e) => e.into(),
        }
    }
}

impl From<EnableFailure> for ApiError {
    fn from(e: EnableFailure) -> Self {
        match e {
            EnableFailure::AlreadyEnabled => Self::conflict("MFA is already enabled"),
            EnableFailure::NoPendingSetup => Self::conflict(
                "No MFA setup is pending, or it expired; start one with POST /api/auth/mfa/setup",
            ),
            EnableFailure::SecretMismatch => {
                Self::bad_request("The secret does not match the pending MFA setup")
            }
            EnableFailure::BackupCodesMismatch => {
                Self::bad_request("The backup codes do not match the pending MFA setup")
            }
            EnableFailure::InvalidCode => Self::bad_request("Invalid verification code"),
            EnableFailure::Internal(e) => e.into(),
        }
    }
}

impl From<ProofError> for ApiError {
    fn from(e: ProofError) -> Self {
        match e {
            ProofError::NotEnabled => Self::conflict("MFA is not enabled"),
            ProofError::LockedOut { retry_after_secs } => Self::too_many(
                retry_after_secs,
                "Too many failed attempts; try again later",
            ),
            ProofError::InvalidCode => Self::new(StatusCode::FORBIDDEN, "Invalid MFA code"),
            ProofError::Internal(e) => e.into(),
        }
    }
}

/// A blocking task that panicked or was cancelled.
impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(&e)
    }
}
