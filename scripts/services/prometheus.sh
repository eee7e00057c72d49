#!/usr/bin/env bash
# A real Prometheus server (Debian package `prometheus`) on 127.0.0.1 that
# scrapes heliosdb-cdc's metrics endpoint, for tests and for trying the
# Grafana dashboard locally. Storage lives in a temporary directory that
# `stop` deletes.
#
#   scripts/services/prometheus.sh start    start, wait until ready (idempotent)
#   scripts/services/prometheus.sh stop     stop it and delete its storage
#   scripts/services/prometheus.sh status   exit 0 if running and ready
#   scripts/services/prometheus.sh query 'PROMQL'   print the API's JSON answer
#
# Environment (defaults are the test suite's fixed ports):
#   PROMETHEUS_PORT      web/API port                   (19090)
#   PROMETHEUS_TARGETS   comma-separated host:port list  (127.0.0.1:19464)
#   PROMETHEUS_SCRAPE_INTERVAL                           (1s)
#   PROMETHEUS_STATE     pid file, config and log dir   (/tmp/heliosdb-cdc-prometheus-$PORT)
# The scrape job is named "heliosdb_cdc"; it scrapes /metrics.
set -euo pipefail

PORT="${PROMETHEUS_PORT:-19090}"
TARGETS="${PROMETHEUS_TARGETS:-127.0.0.1:19464}"
INTERVAL="${PROMETHEUS_SCRAPE_INTERVAL:-1s}"
STATE="${PROMETHEUS_STATE:-${TMPDIR:-/tmp}/heliosdb-cdc-prometheus-$PORT}"
START_TIMEOUT_S="${PROMETHEUS_START_TIMEOUT_S:-30}"
PIDFILE="$STATE/prometheus.pid"
CONFIG="$STATE/prometheus.yml"
LOG="$STATE/prometheus.log"
BIN="${PROMETHEUS_BIN:-$(command -v prometheus || echo /usr/bin/prometheus)}"

log() { echo "prometheus.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

server_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled pid: it must be our prometheus with our config.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--config.file=$CONFIG" || return 1
  echo "$pid"
}

ready() { curl -fsS -o /dev/null "http://127.0.0.1:$PORT/-/ready" 2>/dev/null; }

port_taken() {
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

write_config() {
  local targets="" t
  IFS=',' read -ra list <<<"$TARGETS"
  for t in "${list[@]}"; do targets+="\"$t\", "; done
  cat >"$CONFIG" <<EOF
global:
  scrape_interval: $INTERVAL
  scrape_timeout: $INTERVAL
  evaluation_interval: $INTERVAL
scrape_configs:
  - job_name: heliosdb_cdc
    metrics_path: /metrics
    static_configs:
      - targets: [${targets%, }]
EOF
}

start() {
  [[ -x "$BIN" ]] || die "prometheus not found at $BIN; run scripts/install-deps.sh (Debian package prometheus)"
  command -v curl >/dev/null || die "curl not found; run scripts/install-deps.sh"
  local pid
  if pid="$(server_pid)"; then
    if ready; then
      log "already running (pid $pid) on 127.0.0.1:$PORT"
      return 0
    fi
  fi
  if port_taken; then
    die "127.0.0.1:$PORT is already in use by another process; stop it or set PROMETHEUS_PORT"
  fi
  mkdir -p "$STATE"
  rm -rf "$STATE/data"
  write_config
  "$BIN" --config.file="$CONFIG" --storage.tsdb.path="$STATE/data" \
    --web.listen-address="127.0.0.1:$PORT" --storage.tsdb.retention.time=1h \
    --log.level=warn >"$LOG" 2>&1 &
  pid=$!
  echo "$pid" >"$PIDFILE"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$LOG" >&2 || true
      die "prometheus exited during start-up (log above: $LOG)"
    fi
    if ready; then
      log "ready on 127.0.0.1:$PORT (pid $pid), scraping $TARGETS every $INTERVAL; log: $LOG"
      return 0
    fi
    sleep 0.2
  done
  tail -n 20 "$LOG" >&2 || true
  kill "$pid" 2>/dev/null || true
  die "prometheus not ready on 127.0.0.1:$PORT after ${START_TIMEOUT_S}s (log: $LOG)"
}

stop() {
  local pid
  if pid="$(server_pid)"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    log "stopped (pid $pid)"
  fi
  rm -rf "$STATE"
}

status() {
  local pid
  pid="$(server_pid)" && ready || { log "not running"; return 1; }
  log "running (pid $pid) on 127.0.0.1:$PORT"
}

query() {
  curl -fsS --get "http://127.0.0.1:$PORT/api/v1/query" --data-urlencode "query=$1"
  echo
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  query) [[ $# -ge 2 ]] || die "usage: $0 query 'PROMQL'"; query "$2" ;;
  *) echo "usage: $0 start|stop|status|query 'PROMQL'" >&2; exit 2 ;;
esac
