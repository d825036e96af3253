#!/usr/bin/env bash
# First paint of the five main pages at a million customers and a million orders: builds the data set once into a
# database kept between runs (BENCH_DATABASE, default realm_bench_pages; rebuilt when more than a day old), then
# starts a release Realm on it and prints a Markdown table of each page's server time, p50 and p95.
# Meant for the SecantusDB Rust build: REALM_MONGODB_URI=mongodb://127.0.0.1:27018 bench/pages.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fill_page_data
start_release_realm
BENCH_PHASE=measure cargo bench --bench pages --no-default-features --features ssr 2>/dev/null
