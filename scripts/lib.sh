# Shared by scripts/dev.sh and scripts/test.sh: each step installs or starts what is missing and skips what is there.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="$REPO_ROOT/.services"
CARGO_LEPTOS_VERSION="0.3.10"

export PATH="$HOME/.cargo/bin:$PATH"
export REALM_MONGODB_URI="${REALM_MONGODB_URI:-mongodb://127.0.0.1:27017}"
export REALM_AMQP_URL="${REALM_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=""
apt_install() {
  if [ -z "$APT_UPDATED" ]; then
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@"
}

# The version of the wasm-bindgen crate the app is built with; the CLI must match it exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$REPO_ROOT/Cargo.lock"
}

ensure_rust_toolchain() {
  step "Rust toolchain: wasm32 target, cargo-leptos $CARGO_LEPTOS_VERSION, wasm-bindgen-cli"
  command -v cargo >/dev/null || fail "cargo is not installed (https://rustup.rs)"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
    echo "installing cargo-leptos $CARGO_LEPTOS_VERSION (slow: 20-45 minutes on 2 cores)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
  fi
  local wanted
  wanted="$(wasm_bindgen_version)"
  [ -n "$wanted" ] || fail "no wasm-bindgen entry in Cargo.lock"
  # cargo-leptos uses whatever wasm-bindgen is on PATH without checking its version, so check it here.
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wanted" ]; then
    echo "installing wasm-bindgen-cli $wanted"
    # Not --locked: a dependency version locked by that release is not available from the registry.
    cargo install wasm-bindgen-cli --version "=$wanted" --force
  fi
}

# npm ci when node_modules is missing or older than the lock file.
npm_install_in() {
  local dir="$1"
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}

ensure_node_packages() {
  step "npm packages: Tailwind CSS and wasm-opt (binaryen) for the build"
  command -v npm >/dev/null || apt_install nodejs npm
  npm_install_in "$REPO_ROOT"
}

ensure_test_packages() {
  step "npm packages: Playwright; Debian's Chromium"
  npm_install_in "$REPO_ROOT/end2end"
  [ -x /usr/bin/chromium ] || apt_install chromium
}

# host and port of a URI such as mongodb://user:pw@host:port/db or amqp://host:port/vhost
uri_host() { local rest="${1#*://}"; rest="${rest%%[/?]*}"; rest="${rest##*@}"; echo "${rest%%:*}"; }
uri_port() {
  local rest="${1#*://}"; rest="${rest%%[/?]*}"; rest="${rest##*@}"
  if [[ "$rest" == *:* ]]; then echo "${rest##*:}"; else echo "$2"; fi
}
is_local_host() { [[ "$1" == "127.0.0.1" || "$1" == "localhost" || "$1" == "::1" ]]; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_for_port() {
  local host="$1" port="$2" what="$3" tries="${4:-120}"
  for _ in $(seq "$tries"); do
    port_open "$host" "$port" && return 0
    sleep 0.5
  done
  fail "$what did not start listening on $host:$port"
}

ensure_rabbitmq() {
  local host port
  host="$(uri_host "$REALM_AMQP_URL")"; port="$(uri_port "$REALM_AMQP_URL" 5672)"
  step "RabbitMQ at $host:$port"
  if port_open "$host" "$port"; then echo "already running"; return; fi
  is_local_host "$host" || fail "RabbitMQ at $host:$port does not answer, and it is not on this machine to start"
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  as_root rabbitmq-server -detached
  wait_for_port "$host" "$port" "RabbitMQ" 240
  as_root rabbitmqctl await_startup >/dev/null
  echo "started"
}

# The MongoDB-compatible daemon for this machine, printed as its path: SecantusDB's Rust build when it is on PATH,
# otherwise its Python build, installed into .services/venv when missing.
mongodb_daemon() {
  if command -v secantusd-rs >/dev/null; then
    command -v secantusd-rs
    return
  fi
  if [ ! -x "$SERVICES_DIR/venv/bin/secantusd-py" ]; then
    echo "installing SecantusDB (a MongoDB-compatible server) into $SERVICES_DIR/venv" >&2
    python3 -m venv "$SERVICES_DIR/venv" >&2
    "$SERVICES_DIR/venv/bin/pip" install --quiet --pre secantusdb >&2
  fi
  echo "$SERVICES_DIR/venv/bin/secantusd-py"
}

# A local MongoDB-compatible server (SecantusDB) when nothing answers at the configured URI.
ensure_mongodb() {
  local host port
  host="$(uri_host "$REALM_MONGODB_URI")"; port="$(uri_port "$REALM_MONGODB_URI" 27017)"
  step "MongoDB at $host:$port"
  if port_open "$host" "$port"; then echo "already running"; return; fi
  is_local_host "$host" || fail "MongoDB at $host:$port does not answer, and it is not on this machine to start"
  local daemon
  daemon="$(mongodb_daemon)"
  # One data folder per build and port: the two builds need not read each other's files.
  local data="$SERVICES_DIR/mongo-data-$(basename "$daemon")-$port"
  mkdir -p "$data"
  nohup "$daemon" --host "$host" --port "$port" --storage-path "$data" >"$SERVICES_DIR/mongodb-$port.log" 2>&1 &
  wait_for_port "$host" "$port" "SecantusDB" 120
  echo "started $(basename "$daemon") (log: $SERVICES_DIR/mongodb-$port.log)"
}

# MailDev, the local mail catcher campaigns are sent to in development and tests: SMTP on $REALM_MAIL_CATCHER_SMTP_PORT,
# its web inbox and REST API on $REALM_MAIL_CATCHER_WEB_PORT. Installed with the other npm tools; started unless running.
ensure_mail_catcher() {
  local smtp_port="${REALM_MAIL_CATCHER_SMTP_PORT:-1025}" web_port="${REALM_MAIL_CATCHER_WEB_PORT:-1080}"
  step "Mail catcher (MailDev) at 127.0.0.1:$smtp_port, inbox http://127.0.0.1:$web_port"
  if port_open 127.0.0.1 "$smtp_port" && port_open 127.0.0.1 "$web_port"; then echo "already running"; return; fi
  mkdir -p "$SERVICES_DIR"
  nohup "$REPO_ROOT/node_modules/.bin/maildev" --ip 127.0.0.1 --smtp "$smtp_port" --web "$web_port" \
    >"$SERVICES_DIR/maildev.log" 2>&1 &
  wait_for_port 127.0.0.1 "$smtp_port" "MailDev SMTP" 60
  wait_for_port 127.0.0.1 "$web_port" "MailDev inbox" 60
  echo "started (log: $SERVICES_DIR/maildev.log)"
}
