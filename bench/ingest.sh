#!/usr/bin/env bash
# Ingestion benchmark: starts a release Realm on a fresh database and queue prefix, posts BENCH_ORDERS orders
# (default 200,000) in requests of 1,000 and prints a Markdown row for BENCHMARKS.md.
# Start a MongoDB-compatible server first (for meaningful numbers the Rust build, secantusd-rs) and RabbitMQ;
# scripts/lib.sh starts both when they are not running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_release_realm
cargo bench --bench ingest --no-default-features --features ssr 2>/dev/null
