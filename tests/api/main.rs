//! Black-box tests of the built `mfa-server`: each test starts the binary
//! on a free port with a fresh SQLite file and drives it over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod backup_codes;
mod cli;
mod crash;
mod docs;
mod edges;
mod guide_flow;
mod health;
mod helpers;
mod instances;
mod keys;
mod mfa_disable;
mod mfa_enable;
mod postgres;
mod races;
mod restart;
mod secrets;
mod sessions;
