#!/usr/bin/env bash
# kinesis-mock (npm package kinesis-local) on 127.0.0.1 for tests and
# benchmarks, plus the fault-injecting test proxy in front of it.
#
#   scripts/services/kinesis.sh install   npm install kinesis-local into the cache (once)
#   scripts/services/kinesis.sh start     install if needed, start mock + proxy, wait until
#                                         the initial streams are ACTIVE
#   scripts/services/kinesis.sh stop      stop both (SIGTERM, then SIGKILL)
#   scripts/services/kinesis.sh status    exit 0 if both are running and answering
#
# Idempotent: `start` on a running service returns at once, `stop` on a
# stopped one does nothing. Ports (fixed for the test suite):
#   kinesis-mock HTTPS  127.0.0.1:${KINESIS_TLS_PORT:-14567} (self-signed certificate)
#   kinesis-mock HTTP   127.0.0.1:${KINESIS_PLAIN_PORT:-14568}
#   fault proxy HTTP    127.0.0.1:${KINESIS_PROXY_PORT:-14569} -> the HTTP port
# Streams created at start (name:shards): $KINESIS_STREAMS.
# kinesis-mock keeps data in memory only: a restart starts empty.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KINESIS_LOCAL_VERSION="${KINESIS_LOCAL_VERSION:-0.6.2}"
HOME_DIR="${KINESIS_HOME:-$ROOT/.cache/kinesis}"
TLS_PORT="${KINESIS_TLS_PORT:-14567}"
PLAIN_PORT="${KINESIS_PLAIN_PORT:-14568}"
PROXY_PORT="${KINESIS_PROXY_PORT:-14569}"
STREAMS="${KINESIS_STREAMS:-heliosdb-test-1:1,heliosdb-test-4:4,heliosdb-cdc:4}"
START_TIMEOUT_S="${KINESIS_START_TIMEOUT_S:-60}"

PKG="$HOME_DIR/node_modules/kinesis-local"
LOGS="$HOME_DIR/logs"
MOCK_PID="$HOME_DIR/mock.pid"
PROXY_PID="$HOME_DIR/proxy.pid"
PROXY_SCRIPT="$ROOT/scripts/services/kinesis_fault_proxy.py"

log() { echo "kinesis.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

install_pkg() {
  if [[ -f "$PKG/main.js" && -f "$PKG/server.json" ]] &&
     grep -Eq "\"version\" *: *\"$KINESIS_LOCAL_VERSION\"" "$PKG/package.json" 2>/dev/null; then
    return 0
  fi
  command -v npm >/dev/null || die "npm not found; run scripts/install-deps.sh"
  mkdir -p "$HOME_DIR"
  [[ -f "$HOME_DIR/package.json" ]] ||
    echo '{"name":"heliosdb-kinesis-test-service","private":true}' >"$HOME_DIR/package.json"
  log "installing kinesis-local@$KINESIS_LOCAL_VERSION with npm (first run only)"
  (cd "$HOME_DIR" && npm install --no-audit --no-fund --loglevel=error \
      "kinesis-local@$KINESIS_LOCAL_VERSION" >"$HOME_DIR/npm.log" 2>&1) ||
    { tail -n 20 "$HOME_DIR/npm.log" >&2; die "npm install kinesis-local failed (log: $HOME_DIR/npm.log)"; }
  [[ -f "$PKG/main.js" ]] || die "kinesis-local installed without main.js"
}

pid_of() {  # pidfile, cmdline pattern
  [[ -f "$1" ]] || return 1
  local pid
  pid="$(cat "$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  grep -q "$2" "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Calls the mock (plain port) with a dummy signature (it does not check it).
api() {  # port operation json
  curl -sS -m 5 -X POST "http://127.0.0.1:$1/" \
    -H 'Content-Type: application/x-amz-json-1.1' \
    -H "X-Amz-Target: Kinesis_20131202.$2" \
    -H "X-Amz-Date: $(date -u +%Y%m%dT%H%M%SZ)" \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20200101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0' \
    -d "$3" 2>/dev/null
}

streams_active() {
  local entry name
  IFS=',' read -ra entries <<<"$STREAMS"
  for entry in "${entries[@]}"; do
    name="${entry%%:*}"
    api "$PLAIN_PORT" DescribeStreamSummary "{\"StreamName\":\"$name\"}" | grep -q '"ACTIVE"' || return 1
  done
}

proxy_answering() { curl -sf -m 2 "http://127.0.0.1:$PROXY_PORT/__stats" >/dev/null 2>&1; }

start_mock() {
  if pid="$(pid_of "$MOCK_PID" kinesis-local)"; then return 0; fi
  for p in "$TLS_PORT" "$PLAIN_PORT"; do
    port_busy "$p" && die "port 127.0.0.1:$p is in use by another process (not our kinesis-mock)"
  done
  mkdir -p "$LOGS"
  log "starting kinesis-mock on 127.0.0.1 (TLS $TLS_PORT, plain $PLAIN_PORT), streams $STREAMS"
  cd "$HOME_DIR"
  # setsid: the service outlives this script and is not hit by the caller's signals.
  KINESIS_MOCK_TLS_PORT="$TLS_PORT" KINESIS_MOCK_PLAIN_PORT="$PLAIN_PORT" \
    KINESIS_MOCK_CERT_PATH="$PKG/server.json" INITIALIZE_STREAMS="$STREAMS" \
    CREATE_STREAM_DURATION=100ms LOG_LEVEL=WARN SHOULD_PERSIST_DATA=false \
    setsid node "$PKG/main.js" kinesis-local >"$LOGS/mock.log" 2>&1 </dev/null &
  echo $! >"$MOCK_PID"
  cd - >/dev/null
}

start_proxy() {
  if pid="$(pid_of "$PROXY_PID" kinesis_fault_proxy)"; then return 0; fi
  port_busy "$PROXY_PORT" && die "port 127.0.0.1:$PROXY_PORT is in use by another process (not our fault proxy)"
  mkdir -p "$LOGS"
  setsid python3 "$PROXY_SCRIPT" --port "$PROXY_PORT" --upstream "127.0.0.1:$PLAIN_PORT" \
    >"$LOGS/proxy.log" 2>&1 </dev/null &
  echo $! >"$PROXY_PID"
}

start() {
  install_pkg
  command -v node >/dev/null || die "node not found; run scripts/install-deps.sh"
  command -v curl >/dev/null || die "curl not found; run scripts/install-deps.sh"
  start_mock
  start_proxy
  local deadline=$((SECONDS + START_TIMEOUT_S))
  while ((SECONDS < deadline)); do
    # kill -0 only: right after the fork the child's command line is still ours.
    kill -0 "$(cat "$MOCK_PID")" 2>/dev/null ||
      { tail -n 30 "$LOGS/mock.log" >&2; die "kinesis-mock exited during start-up; log: $LOGS/mock.log"; }
    kill -0 "$(cat "$PROXY_PID")" 2>/dev/null ||
      { tail -n 30 "$LOGS/proxy.log" >&2; die "fault proxy exited during start-up; log: $LOGS/proxy.log"; }
    if streams_active && proxy_answering; then
      log "ready: https://127.0.0.1:$TLS_PORT http://127.0.0.1:$PLAIN_PORT proxy http://127.0.0.1:$PROXY_PORT; logs in $LOGS"
      return 0
    fi
    sleep 0.3
  done
  tail -n 30 "$LOGS/mock.log" >&2 || true
  die "kinesis-mock not ready after ${START_TIMEOUT_S}s; log: $LOGS/mock.log"
}

stop_one() {  # pidfile pattern name
  local pid
  if pid="$(pid_of "$1" "$2")"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    log "stopped $3 (pid $pid)"
  fi
  rm -f "$1"
}

stop() {
  stop_one "$PROXY_PID" kinesis_fault_proxy "fault proxy"
  stop_one "$MOCK_PID" kinesis-local "kinesis-mock"
}

status() {
  pid_of "$MOCK_PID" kinesis-local >/dev/null && pid_of "$PROXY_PID" kinesis_fault_proxy >/dev/null &&
    streams_active && proxy_answering
}

case "${1:-}" in
  install) install_pkg ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
