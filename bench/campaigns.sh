#!/usr/bin/env bash
# Campaign delivery benchmark: starts a release Realm on a fresh database with a simulated vendor that answers at
# once, sends a campaign to BENCH_AUDIENCE generated customers (default 100,000), and prints a Markdown table.
set -euo pipefail
export REALM_VENDOR_LATENCY_MS=0
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_release_realm
cargo bench --bench campaigns --no-default-features --features ssr 2>/dev/null
