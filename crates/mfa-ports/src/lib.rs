#![doc = include_str!("../README.md")]
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
