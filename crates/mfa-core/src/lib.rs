//! The rules of TOTP two-factor login and backup codes, as pure functions.
//!
//! This crate owns every decision of the MFA service (is this code valid
//! for this step, is this backup code unused, how long is the lock-out after
//! seven failures, what does the state look like after enabling) and nothing
//! else. It never reads a clock, never draws its own randomness, never does
//! I/O: the caller passes the time as a [`UnixTime`], random bytes as a
//! [`rand_core::CryptoRng`], and the current state; decisions and new state
//! come back as values.
//!
//! Types that hold a secret (TOTP keys, backup codes, tokens, passwords,
//! server keys) print only their name in `Debug` and implement neither
//! `Display` nor `Serialize`.
//!
//! # Example
//!
//! Linking the crate directly: make a secret, show it to an authenticator
//! app, then verify the code it displays.
//!
//! ```
//! use mfa_core::{otpauth_uri, Totp, TotpConfig, TotpSecret, UnixTime};
//!
//! // Any `rand_core::CryptoRng` works; here, the operating system's.
//! let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
//! let secret = TotpSecret::generate(&mut rng);
//! let config = TotpConfig::default(); // SHA-1, 6 digits, 30 s, ±1 step
//!
//! let uri = otpauth_uri("Example", "alice@example.com", &secret, &config)?;
//! assert!(uri.starts_with("otpauth://totp/Example:alice%40example.com?secret="));
//!
//! let totp = Totp::new(&secret, config);
//! let now = UnixTime(1_700_000_000);
//! let shown_by_the_app = totp.generate(now);
//!
//! // The first use passes and returns the step to remember...
//! let step = totp.verify(&shown_by_the_app, now, None)?;
//! // ...and the same code is refused from then on.
//! assert!(totp.verify(&shown_by_the_app, now, Some(step)).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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
