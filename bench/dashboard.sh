#!/usr/bin/env bash
# Dashboard benchmark: starts a release Realm on a fresh database, stores BENCH_CUSTOMERS customers (default
# 100,000) and BENCH_ORDERS orders (default 1,000,000) over the last year, campaigns with their messages and
# segments, then prints a Markdown table for BENCHMARKS.md: the dashboard server function's p50/p95.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_release_realm
cargo bench --bench dashboard --no-default-features --features ssr 2>/dev/null
