#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod backup;
pub mod domain;
pub mod keys;
pub mod otpauth;
pub mod secret;
pub mod state;
pub mod throttle;
pub mod time;
pub mod token;
pub mod totp;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use backup::{BackupCode, BackupCodeHash, BackupCodeKey, BackupCodeSet, StoredBackupCode};
pub use domain::{DisplayName, Email, FieldError, Password};
pub use keys::{Keyring, KeyringError, SealingKey, ServerKey};
pub use otpauth::{UriError, otpauth_uri};
pub use secret::{SecretError, TotpSecret};
pub use state::{
    EnableError, EnableRequest, EnabledMfa, FactorError, MfaError, MfaPolicy, MfaState, NewSetup,
    PendingSetup, RiskSignals, VerifiedFactor,
};
pub use throttle::{AttemptDecision, Failures, ThrottlePolicy};
pub use time::UnixTime;
pub use token::{BearerToken, SessionClaims, TokenError, TokenKey};
pub use totp::{Algorithm, Digits, OtpInput, Totp, TotpConfig, TotpError};
