#!/usr/bin/env bash
# Customer import through POST /api/customers, 10,000 customers per request: into an empty database, then into one
# holding 1,000,000 customers (BENCH_DATABASE, default realm_bench_import, kept in .services/ between runs; the
# imported customers are removed again after each run), then what each customer index costs a raw insert_many.
# Prints Markdown rows for BENCHMARKS.md. Meant for the SecantusDB Rust build:
#   REALM_MONGODB_URI=mongodb://127.0.0.1:27018 bench/import.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_mongodb
export_leptos_env
bench() { cargo bench --bench import --no-default-features --features ssr 2>/dev/null; }

echo "| database | customers imported | per request | took | customers/s | request p50 | p95 |"
echo "|---|---:|---:|---:|---:|---:|---:|"
start_release_realm
bench | sed 's/^| /| empty | /'
kill "$REALM_PID"; wait "$REALM_PID" 2>/dev/null || true

kept="${BENCH_DATABASE:-realm_bench_import}"
REALM_MONGODB_DB="$kept" BENCH_PHASE=fill bench >/dev/null
BENCH_DATABASE="$kept" start_release_realm
bench | sed 's/^| /| 1,000,000 customers | /'
kill "$REALM_PID"; wait "$REALM_PID" 2>/dev/null || true
echo
REALM_MONGODB_DB="$kept" BENCH_PHASE=indexes bench
