# Realm: built with cargo-leptos (server binary + hydrated WASM bundle + Tailwind CSS), run on a slim Debian.

FROM rust:1-bookworm AS builder
# Tailwind v4 and binaryen come from npm and need a current Node.js; Debian bookworm's is too old.
COPY --from=node:22-bookworm-slim /usr/local/bin/node /usr/local/bin/node
COPY --from=node:22-bookworm-slim /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && rustup target add wasm32-unknown-unknown \
 && cargo install cargo-leptos --version 0.3.10 --locked
WORKDIR /app
# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
COPY Cargo.toml Cargo.lock ./
RUN cargo install wasm-bindgen-cli --version "=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
COPY style ./style
COPY public ./public
RUN cargo leptos build --release --split --precompress

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /app realm
WORKDIR /app
COPY --from=builder /app/target/release/realm /app/realm
# The hashed names of the built files, read from beside the binary.
COPY --from=builder /app/target/release/hash.txt /app/hash.txt
COPY --from=builder /app/target/site /app/site
# What cargo-leptos would otherwise pass from [package.metadata.leptos].
ENV LEPTOS_OUTPUT_NAME=realm \
    LEPTOS_SITE_ROOT=site \
    LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    LEPTOS_RELOAD_PORT=3001 \
    LEPTOS_HASH_FILES=true \
    RUST_LOG=info
USER realm
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:3000/healthz || exit 1
CMD ["/app/realm"]
