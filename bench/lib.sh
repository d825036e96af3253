# Shared by the benchmark scripts: starts a release build of Realm on a fresh database and queue prefix, on port
# 3200, and stops it when the script exits.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$REPO_ROOT"

# Leptos reads these when the crate compiles as well as when it runs, so every `cargo build` and `cargo bench` of a
# benchmark must see the same ones, or each recompiles the crate for the other.
export_leptos_env() {
  export LEPTOS_OUTPUT_NAME=realm LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_SITE_ADDR=127.0.0.1:3200
  # Only cargo-leptos' build writes hash.txt, which the server then needs to name the files.
  if [ -n "${BENCH_PREBUILT:-}" ]; then export LEPTOS_HASH_FILES=true; else export LEPTOS_HASH_FILES=false; fi
}

start_release_realm() {
  ensure_rabbitmq
  ensure_mongodb
  export_leptos_env
  # The benchmarks speak HTTP to the API and the server functions; they need the server build, not the site's,
  # except the bundle benchmark, which built both with cargo-leptos (and its hashed file names) already.
  if [ -z "${BENCH_PREBUILT:-}" ]; then
    cargo build --release --no-default-features --features ssr >/dev/null
  fi
  # A fresh database per run, unless the benchmark keeps its data set between runs (BENCH_DATABASE).
  export REALM_MONGODB_DB="${BENCH_DATABASE:-realm_bench_$(date +%s)}"
  export REALM_AMQP_QUEUE_PREFIX="bench$(date +%s)."
  export RUST_LOG="${RUST_LOG:-warn}"
  # Campaign email goes to the simulator unless a benchmark asks for SMTP: nothing is mailed by accident.
  export REALM_EMAIL_TRANSPORT="${REALM_EMAIL_TRANSPORT:-simulated}"
  target/release/realm &
  REALM_PID=$!
  trap 'kill $REALM_PID 2>/dev/null || true; wait $REALM_PID 2>/dev/null || true' EXIT
  for _ in $(seq 100); do curl -fs http://127.0.0.1:3200/readyz >/dev/null && break; sleep 0.2; done
  curl -fs http://127.0.0.1:3200/readyz >/dev/null || fail "Realm did not become ready"
  export BENCH_BASE_URL=http://127.0.0.1:3200
  # For the benchmarks that report CPU time: the app, and the database server when it runs on this machine.
  export BENCH_APP_PID=$REALM_PID
  BENCH_DB_PID="$(pgrep -f "secantusd.* --port $(uri_port "$REALM_MONGODB_URI" 27017)" | head -n 1 || true)"
  export BENCH_DB_PID
  BENCH_BROKER_PID="$(pgrep -f "beam.smp.* -s rabbit boot" | head -n 1 || true)"
  export BENCH_BROKER_PID
}

# The data set of bench/pages.sh and bench/estimate.sh (1,000,000 customers created in the last 30 days, 1,000,000
# orders) in BENCH_DATABASE (default realm_bench_pages), built when missing or a day old. It goes in before the app
# starts, as the app's hourly counts of new customers expect customers to arrive as time passes.
fill_page_data() {
  export BENCH_DATABASE="${BENCH_DATABASE:-realm_bench_pages}"
  ensure_mongodb
  export_leptos_env
  REALM_MONGODB_DB="$BENCH_DATABASE" BENCH_PHASE=fill cargo bench --bench pages --no-default-features --features ssr
}
