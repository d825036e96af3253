#!/usr/bin/env bash
# Ingestion benchmark: starts a release Realm on a fresh database and queue prefix, posts BENCH_ORDERS orders
# (default 200,000) in requests of 1,000 and prints a Markdown row for BENCHMARKS.md.
# Start a MongoDB-compatible server first (for meaningful numbers the Rust build, secantusd-rs) and RabbitMQ;
# scripts/lib.sh starts both when they are not running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$REPO_ROOT"
ensure_rabbitmq
ensure_mongodb

cargo leptos build --release >/dev/null
export REALM_MONGODB_DB="realm_bench_$(date +%s)"
export REALM_AMQP_QUEUE_PREFIX="bench$(date +%s)."
export LEPTOS_OUTPUT_NAME=realm LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_SITE_ADDR=127.0.0.1:3200
export RUST_LOG="${RUST_LOG:-warn}"
target/release/realm &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 100); do curl -fs http://127.0.0.1:3200/readyz >/dev/null && break; sleep 0.2; done
curl -fs http://127.0.0.1:3200/readyz >/dev/null || fail "Realm did not become ready"
BENCH_BASE_URL=http://127.0.0.1:3200 cargo bench --bench ingest --no-default-features --features ssr 2>/dev/null
