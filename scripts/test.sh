#!/usr/bin/env bash
# Sets up everything the tests need on this machine, then runs every test: Rust unit and integration tests
# against real MongoDB-compatible and RabbitMQ servers, and the Playwright suite in Chromium.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

ensure_rust_toolchain
ensure_node_packages
ensure_test_packages
ensure_rabbitmq
ensure_mongodb
ensure_mail_catcher

export REALM_TEST_MONGODB_URI="$REALM_MONGODB_URI"
export REALM_TEST_SMTP_URL="smtp://127.0.0.1:${REALM_MAIL_CATCHER_SMTP_PORT:-1025}"
export REALM_TEST_MAILDEV_URL="http://127.0.0.1:${REALM_MAIL_CATCHER_WEB_PORT:-1080}"
export REALM_TEST_AMQP_URL="$REALM_AMQP_URL"
# The outage test starts and stops a database server of its own.
export REALM_TEST_MONGOD="${REALM_TEST_MONGOD:-$(mongodb_daemon)}"

step "Rust unit and integration tests"
cargo test --release --no-default-features --features ssr

step "Browser tests (cargo leptos end-to-end --release)"
# The app under test gets a database and queues of its own, so a run starts from nothing and leaves any
# locally running Realm alone.
export REALM_MONGODB_DB="realm_e2e_$(date +%s)"
export REALM_AMQP_QUEUE_PREFIX="e2e."
# Campaign email goes to the catcher, whose inbox the browser tests read.
export REALM_SMTP_URL="$REALM_TEST_SMTP_URL"
export REALM_MAILDEV_URL="$REALM_TEST_MAILDEV_URL"
# Amounts in euros, so the tests see the currency setting at work (the default is US dollars).
export REALM_CURRENCY=EUR
# Built as production builds it: WASM split by feature, files precompressed and named by their hash.
cargo leptos end-to-end --release --split --precompress
