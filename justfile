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

# Fuzz each parser for SECONDS seconds, one at a time (cargo-fuzz on stable rustc).
fuzz SECONDS="60":
    #!/usr/bin/env bash
    set -uo pipefail
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
        exit 1
    fi
    cd fuzz
    # The sanitizer flags are nightly-only; RUSTC_BOOTSTRAP lets stable rustc
    # take them. Cargo caches rustc's refusal of a run made without it, so the
    # cache goes first.
    export RUSTC_BOOTSTRAP=1
    rm -f target/.rustc_info.json
    failed=()
    for target in $(cargo fuzz list); do
        cargo fuzz run "$target" -- -max_total_time={{SECONDS}} -jobs=1 -workers=1 \
            || failed+=("$target")
    done
    if (( ${#failed[@]} )); then
        echo "failures in: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
        exit 1
    fi
