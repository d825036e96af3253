#!/usr/bin/env bash
# Sets up everything Realm needs on this machine and runs it with live reload on http://127.0.0.1:3000.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

ensure_rust_toolchain
ensure_node_packages
ensure_rabbitmq
ensure_mongodb

step "cargo leptos watch (http://${LEPTOS_SITE_ADDR:-127.0.0.1:3000})"
exec cargo leptos watch
