//! The use cases: each loads state through a port, asks the core, and
//! persists the result through a port. None knows about HTTP.

pub mod account;
pub mod mfa;
