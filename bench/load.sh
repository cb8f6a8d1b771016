#!/usr/bin/env bash
# Builds the release server and the load tools, then drives every endpoint
# mix on loopback for a bounded time and prints the figures with the
# reference measured in the same run.  Usage: bench/load.sh [SECONDS] [USERS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p mfa-server -p mfa-bench --bins
exec target/release/loadgen target/release/mfa-server target/release/reference_server "${1:-8}" "${2:-500}"
