#!/usr/bin/env bash
# Segments on behaviour: builds the data set once into a database kept between runs (BENCH_DATABASE, default
# realm_bench_behaviour: 100,000 customers, 1,000,000 orders with line items over a year, 10 campaigns of 10,000
# messages), then starts a release Realm on it and prints a Markdown table of the exact count and the estimate of
# rules mixing order, product and engagement conditions, p50 and p95.
# Meant for the SecantusDB Rust build: REALM_MONGODB_URI=mongodb://127.0.0.1:27018 bench/behaviour.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export BENCH_DATABASE="${BENCH_DATABASE:-realm_bench_behaviour}"
ensure_mongodb
export_leptos_env
REALM_MONGODB_DB="$BENCH_DATABASE" BENCH_PHASE=fill cargo bench --bench behaviour --no-default-features --features ssr
start_release_realm
BENCH_PHASE=measure cargo bench --bench behaviour --no-default-features --features ssr 2>/dev/null
