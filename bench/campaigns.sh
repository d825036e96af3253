#!/usr/bin/env bash
# Campaign delivery benchmark: starts a release Realm on a fresh database with a simulated vendor that answers at
# once, sends a campaign to BENCH_AUDIENCE generated customers (default 100,000), and prints a Markdown table.
# BENCH_TRANSPORT=smtp sends the campaign's email through SMTP to the local mail catcher (MailDev) instead.
set -euo pipefail
export REALM_VENDOR_LATENCY_MS=0
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ "${BENCH_TRANSPORT:-simulated}" = smtp ]; then
  ensure_mail_catcher
  export REALM_EMAIL_TRANSPORT=smtp REALM_SMTP_URL="smtp://127.0.0.1:${REALM_MAIL_CATCHER_SMTP_PORT:-1025}"
else
  export REALM_EMAIL_TRANSPORT=simulated
fi
start_release_realm
cargo bench --bench campaigns --no-default-features --features ssr 2>/dev/null
