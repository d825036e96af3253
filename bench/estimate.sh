#!/usr/bin/env bash
# The live audience estimate at a million customers: on the data set of bench/pages.sh (built first if missing or a
# day old), starts a release Realm and prints a Markdown table of each rule's estimate, its stated margin, its
# error against the exact count and the server function's time, p50 and p95.
# Meant for the SecantusDB Rust build: REALM_MONGODB_URI=mongodb://127.0.0.1:27018 bench/estimate.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fill_page_data
start_release_realm
cargo bench --bench estimate --no-default-features --features ssr 2>/dev/null
