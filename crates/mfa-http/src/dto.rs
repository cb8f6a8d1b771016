//! Request and response bodies, declared once for serde and for the OpenAPI
//! document. Field names follow the original API exactly, including its
//! `?` suffixes and its mix of kebab-case and camelCase.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// These bodies carry passwords, codes, secrets, tokens and emails, so their
/// `Debug` prints only the type's name.
macro_rules! name_only_debug {
    ($($ty:ident),* $(,)?) => {$(
        impl core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($ty), "(..)"))
            }
        }
    )*};
}

name_only_debug!(
    RegisterBody,
    LoginBody,
    EnableBody,
    CodeBody,
    UserView,
    RegisterResponse,
    MfaRequiredResponse,
    LoginResponse,
    SuccessResponse,
    SetupResponse,
    StatusResponse,
    BackupCodesResponse,
    HealthResponse,
    ErrorResponse,
);

/// `POST /api/auth/register`.
#[derive(Deserialize, ToSchema)]
pub struct RegisterBody {
    /// The email address; compared case-insensitively.
    #[schema(example = "user@example.com")]
    pub email: String,
    /// 8 to 1024 characters.
    pub password: String,
    /// 1 to 200 characters.
    #[schema(example = "Ada Lovelace")]
    pub name: String,
}

/// `POST /api/auth/login`.
#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    /// The email address.
    pub email: String,
    /// The password.
    pub password: String,
    /// A TOTP code or an unused backup code, once the first answer asked for one.
    #[serde(rename = "mfa-code", default)]
    #[schema(rename = "mfa-code", example = "123456")]
    pub mfa_code: Option<String>,
}

/// `POST /api/auth/mfa/enable`.
#[derive(Deserialize, ToSchema)]
pub struct EnableBody {
    /// The code the authenticator shows for the pending secret.
    #[serde(rename = "verificationCode", alias = "verification-code")]
    #[schema(rename = "verificationCode")]
    pub verification_code: String,
    /// Optional echo of the pending secret; must match it.
    #[serde(default)]
    pub secret: Option<String>,
    /// Optional echo of the pending backup codes; must match them.
    #[serde(rename = "backupCodes", alias = "backup-codes", default)]
    #[schema(rename = "backupCodes")]
    pub backup_codes: Option<Vec<String>>,
}

/// `POST /api/auth/mfa/disable` and `POST /api/auth/mfa/backup-codes`.
#[derive(Deserialize, ToSchema)]
pub struct CodeBody {
    /// A current TOTP code or an unused backup code.
    #[serde(rename = "mfa-code")]
    #[schema(rename = "mfa-code")]
    pub mfa_code: String,
}

/// A user as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    /// The user's id (UUID).
    pub id: String,
    /// The email as registered.
    pub email: String,
    /// The display name.
    pub name: String,
}

/// Registration succeeded.
#[derive(Serialize, ToSchema)]
pub struct RegisterResponse {
    /// Always true.
    #[serde(rename = "success?")]
    #[schema(rename = "success?")]
    pub success: bool,
    /// The new account.
    pub user: UserView,
}

/// The password was right and a second factor is needed.
#[derive(Serialize, ToSchema)]
pub struct MfaRequiredResponse {
    /// Always true.
    #[serde(rename = "requires-mfa?")]
    #[schema(rename = "requires-mfa?")]
    pub requires_mfa: bool,
    /// "MFA code required".
    pub message: String,
}

/// Every factor passed; a session is open.
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Always true.
    pub success: bool,
    /// The session's id.
    #[serde(rename = "session-id")]
    #[schema(rename = "session-id")]
    pub session_id: String,
    /// The bearer token for `Authorization: Bearer …`.
    pub token: String,
    /// When the session and the token expire (RFC 3339).
    #[serde(rename = "expires-at")]
    #[schema(rename = "expires-at")]
    pub expires_at: String,
    /// Who logged in.
    pub user: UserView,
    /// Unused backup codes left, when the login used one.
    #[serde(
        rename = "backup-codes-remaining",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(rename = "backup-codes-remaining")]
    pub backup_codes_remaining: Option<usize>,
}

/// A bare success.
#[derive(Serialize, ToSchema)]
pub struct SuccessResponse {
    /// Always true.
    #[serde(rename = "success?")]
    #[schema(rename = "success?")]
    pub success: bool,
}

/// A new pending setup. Holds the secret and the codes, shown this once.
#[derive(Serialize, ToSchema)]
pub struct SetupResponse {
    /// Always true.
    #[serde(rename = "success?")]
    #[schema(rename = "success?")]
    pub success: bool,
    /// The base32 secret, for manual entry.
    pub secret: String,
    /// A `data:image/svg+xml;base64,…` QR code of `otpauth-uri`, rendered by this server.
    #[serde(rename = "qr-code-url")]
    #[schema(rename = "qr-code-url")]
    pub qr_code_url: String,
    /// The Key Uri Format URI.
    #[serde(rename = "otpauth-uri")]
    #[schema(rename = "otpauth-uri")]
    pub otpauth_uri: String,
    /// Ten single-use codes, `XXXX-XXXX-XXXX`.
    #[serde(rename = "backup-codes")]
    #[schema(rename = "backup-codes")]
    pub backup_codes: Vec<String>,
    /// The issuer shown in the app.
    pub issuer: String,
    /// The account shown in the app.
    #[serde(rename = "account-name")]
    #[schema(rename = "account-name")]
    pub account_name: String,
}

/// MFA status.
#[derive(Serialize, ToSchema)]
pub struct StatusResponse {
    /// Whether MFA is on.
    pub enabled: bool,
    /// Since when (RFC 3339), or null.
    #[serde(rename = "enabled-at")]
    #[schema(rename = "enabled-at")]
    pub enabled_at: Option<String>,
    /// Unused backup codes.
    #[serde(rename = "backup-codes-remaining")]
    #[schema(rename = "backup-codes-remaining")]
    pub backup_codes_remaining: usize,
}

/// A new set of backup codes.
#[derive(Serialize, ToSchema)]
pub struct BackupCodesResponse {
    /// Always true.
    #[serde(rename = "success?")]
    #[schema(rename = "success?")]
    pub success: bool,
    /// Ten single-use codes; every earlier code stopped working.
    #[serde(rename = "backup-codes")]
    #[schema(rename = "backup-codes")]
    pub backup_codes: Vec<String>,
}

/// Health.
#[derive(Serialize, ToSchema)]
pub struct HealthResponse {
    /// "ok" or "unavailable".
    pub status: String,
}

/// An error (`"success"` without `?` on the login endpoint).
#[derive(Serialize, ToSchema)]
pub struct ErrorResponse {
    /// Always false.
    #[serde(rename = "success?")]
    #[schema(rename = "success?")]
    pub success: bool,
    /// A sentence a person can act on.
    pub error: String,
    /// Seconds to wait, on 429 answers.
    #[serde(rename = "retry-after", skip_serializing_if = "Option::is_none")]
    #[schema(rename = "retry-after")]
    pub retry_after: Option<u64>,
}
