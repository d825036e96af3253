#!/usr/bin/env bash
# Segment preview benchmark: starts a release Realm on a fresh database, fills it with generated customers
# (BENCH_CUSTOMER_SIZES, default 100,000 then 1,000,000) and prints a Markdown table for BENCHMARKS.md: preview
# latency through the server function beside the raw count_documents of the same filter.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_release_realm
cargo bench --bench segments --no-default-features --features ssr 2>/dev/null
