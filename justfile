# The recipes a contributor reaches for. `just` lists them.

# List the recipes.
default:
    @just --list

# Format every crate.
fmt:
    cargo fmt --all

# Lint every crate and target, warnings as errors.
lint:
    cargo clippy --workspace --all-targets -- -D warnings

# Run every test on SQLite (PostgreSQL tests are skipped without TEST_DATABASE_URL).
test:
    cargo test --workspace

# Run every test, PostgreSQL included, as CI does.
test-pg:
    bash .ci/run

# Run the criterion benchmarks (core TOTP verification, use cases on SQLite).
bench:
    cargo bench --workspace

# Start the server on ./mfa.db, creating ./mfa.key if missing.
run *ARGS:
    cargo run -p mfa-server -- {{ARGS}}

# Drive the release server with a bounded load on loopback and print the figures.
load:
    bash bench/load.sh
