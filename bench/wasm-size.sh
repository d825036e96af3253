#!/usr/bin/env bash
# Builds the release bundle and prints the sizes of what a browser downloads on a first visit, raw and gzipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo leptos build --release >/dev/null 2>&1
printf '| file | raw bytes | gzip -9 bytes |\n|---|---:|---:|\n'
for file in target/site/pkg/realm.wasm target/site/pkg/realm.js target/site/pkg/realm.css; do
  printf '| %s | %d | %d |\n' "$(basename "$file")" "$(stat -c %s "$file")" "$(gzip -9 -c "$file" | wc -c)"
done
