#!/usr/bin/env bash
# The live audience estimate at a million customers: on the data set of bench/pages.sh (built first if missing or a
# day old), starts a release Realm and prints a Markdown table of each rule's estimate, its stated margin, its
# error against the exact count and the server function's time, p50 and p95.
# Meant for the SecantusDB Rust build: REALM_MONGODB_URI=mongodb://127.0.0.1:27018 bench/estimate.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export BENCH_DATABASE="${BENCH_DATABASE:-realm_bench_pages}"
ensure_mongodb
export_leptos_env
REALM_MONGODB_DB="$BENCH_DATABASE" BENCH_PHASE=fill cargo bench --bench pages --no-default-features --features ssr
start_release_realm
cargo bench --bench estimate --no-default-features --features ssr 2>/dev/null
