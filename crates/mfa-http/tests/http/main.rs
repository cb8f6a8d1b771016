//! The HTTP layer over the in-memory fakes: shapes, statuses, the order of
//! checks and malformed input, without a database or a process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_input;
mod docs;
mod shapes;
mod support;
