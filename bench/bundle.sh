#!/usr/bin/env bash
# First-visit and second-visit weight and time to interactive in Chromium, on an emulated 10 Mbit/s connection with
# 40 ms latency: builds the site as production does (split, precompressed, hashed names), starts it on a fresh
# database, then runs bench/bundle.mjs (BENCH_RUNS visits per page, default 5) and prints its Markdown table,
# followed by what each page's first visit needs as read from the build (bench/pieces.mjs) and the size of every file a
# browser can be sent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node_packages
ensure_test_packages
cargo leptos build --release --split --precompress >/dev/null 2>&1
BENCH_PREBUILT=1 start_release_realm
node bench/bundle.mjs
echo
node bench/pieces.mjs
echo
printf '| file | raw bytes | brotli bytes | gzip bytes |\n|---|---:|---:|---:|\n'
for file in target/site/pkg/*; do
  case "$file" in *.br | *.gz) continue ;; esac
  printf '| %s | %d | %s | %s |\n' "$(basename "$file")" "$(stat -c %s "$file")" \
    "$(stat -c %s "$file.br" 2>/dev/null || echo -)" "$(stat -c %s "$file.gz" 2>/dev/null || echo -)"
done
