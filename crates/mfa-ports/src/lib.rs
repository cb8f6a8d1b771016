//! The ports of the MFA service and its use cases.
//!
//! A port is a trait for something the use cases need from the world:
//! storage ([`ports::UserStore`], [`ports::SessionStore`], …), the time
//! ([`ports::Clock`]), randomness, password hashing and secret sealing. A
//! use case is a method of [`Service`], generic over those traits: it loads
//! state through a port, asks `mfa-core` for the decision, and persists the
//! result through a port. Use cases return typed outcomes; none knows about
//! HTTP.
//!
//! The use cases are synchronous and may block (Argon2, database calls):
//! an async caller runs them on a blocking thread pool.
//!
//! [`adapters`] holds the adapters without storage (system clock, OS
//! randomness, Argon2id, XChaCha20-Poly1305); `testing` (behind the
//! `testing` feature) holds in-memory fakes of every port.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod adapters;
pub mod model;
pub mod ports;
pub mod service;
pub mod usecases;

#[cfg(feature = "testing")]
pub mod testing;

pub use model::*;
pub use service::{InternalError, Keys, Ports, RequestContext, Service, Settings};
pub use usecases::account::{
    AuthError, Authenticated, IssuedSession, LoginError, LoginOutcome, LoginRequest, RegisterError,
};
pub use usecases::mfa::{
    EnableFailure, EnableInput, MfaStatus, OperatorError, ProofError, ResealReport, SetupError,
    SetupOutcome,
};
