#!/usr/bin/env bash
# Sets up everything Realm needs on this machine and runs it with live reload on http://127.0.0.1:3000.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

ensure_rust_toolchain
ensure_node_packages
ensure_rabbitmq
ensure_mongodb
ensure_mail_catcher
# Campaign email lands in the catcher's inbox unless another SMTP server is configured.
export REALM_SMTP_URL="${REALM_SMTP_URL:-smtp://127.0.0.1:${REALM_MAIL_CATCHER_SMTP_PORT:-1025}}"

step "Sent campaign email: http://127.0.0.1:${REALM_MAIL_CATCHER_WEB_PORT:-1080}"
step "cargo leptos watch --split (http://${LEPTOS_SITE_ADDR:-127.0.0.1:3000})"
exec cargo leptos watch --split
