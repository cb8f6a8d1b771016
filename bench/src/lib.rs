//! Tools that measure the MFA service: `loadgen` drives a release server
//! and its reference on loopback and prints the figures of the performance
//! targets; `reference_server` is the minimal handler target 2 compares
//! with; `benches/usecases.rs` times the use cases on the SQLite adapter.
//!
//! Every load is bounded in time and sent only to 127.0.0.1.
