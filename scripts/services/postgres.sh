#!/usr/bin/env bash
# A real PostgreSQL 15 server (Debian's postgresql-15) on 127.0.0.1 for the
# PostgreSQL source's tests and benchmarks. No Docker: the binaries under
# /usr/lib/postgresql/15/bin, run as the `postgres` OS user.
#
#   scripts/services/postgres.sh start     initdb if needed, start, wait until
#                                          ready, ensure the test roles and
#                                          database exist
#   scripts/services/postgres.sh stop      stop the server (pg_ctl -m fast)
#   scripts/services/postgres.sh kill      crash it (pg_ctl -m immediate: no
#                                          shutdown checkpoint, crash recovery
#                                          at the next start)
#   scripts/services/postgres.sh restart   stop (fast) + start ("PostgreSQL
#                                          restarted mid-stream" tests)
#   scripts/services/postgres.sh acquire   `start`, and count one more user (ctest
#                                          fixtures: several build dirs may run
#                                          suites against the one server)
#   scripts/services/postgres.sh release   count one user less; `stop` at zero,
#                                          unless the server was already running
#                                          (started by hand, e.g. for a benchmark)
#                                          when the first user acquired it
#   scripts/services/postgres.sh status    exit 0 if running and answering
#   scripts/services/postgres.sh reset     stop and delete the data directory
#   scripts/services/postgres.sh psql [ARGS...]
#                                          psql as the superuser `postgres`
#                                          over the Unix socket (no password),
#                                          database `postgres` unless ARGS say
#
# Every command is idempotent: `start` on a running server returns at once
# (and re-checks the roles), `stop` on a stopped one does nothing.
#
# Server: 127.0.0.1:${PG_PORT:-15432} only, wal_level ${PG_WAL_LEVEL:-logical}.
# TCP connections (normal and replication) use scram-sha-256 for every role,
# the superuser included; only the Unix socket trusts `postgres`. Roles:
#   heliosdb_repl    LOGIN REPLICATION, password "heliosdb-repl-secret",
#                    owner of database heliosdb_test (so it may CREATE
#                    PUBLICATION on its tables)
#   heliosdb_norepl  LOGIN, no REPLICATION, password "heliosdb-norepl-secret"
#                    (the "no REPLICATION privilege" tests)
#   postgres         superuser, password "heliosdb-postgres-secret" over TCP
#
# A second, throwaway server (the "wal_level is not logical" test) is the same
# script with its own home and port:
#   PG_HOME=/tmp/pg-replica PG_PORT=15433 PG_WAL_LEVEL=replica postgres.sh start
#   PG_HOME=/tmp/pg-replica PG_PORT=15433 postgres.sh reset
#
# Files: data in $PG_HOME/data (owned by postgres, mode 0700), the socket in
# $PG_HOME/run, the server's log in $PG_HOME/logs/postgresql.log (printed
# when `start` fails). PG_HOME defaults to .cache/postgres in the checkout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_HOME="${PG_HOME:-$ROOT/.cache/postgres}"
PG_PORT="${PG_PORT:-15432}"
PG_WAL_LEVEL="${PG_WAL_LEVEL:-logical}"
START_TIMEOUT_S="${PG_START_TIMEOUT_S:-60}"
PG_OS_USER=postgres

DATA="$PG_HOME/data"
LOGS="$PG_HOME/logs"
LOG="$LOGS/postgresql.log"
SOCK="$PG_HOME/run"
# sun_path holds 108 bytes: a deep checkout gets its socket under /tmp.
if ((${#SOCK} + ${#PG_PORT} + 10 > 100)); then SOCK="/tmp/heliosdb-cdc-postgres-$PG_PORT"; fi

# Test credentials (as public as kafka.sh's SASL password). Never echoed.
REPL_PASSWORD="heliosdb-repl-secret"
NOREPL_PASSWORD="heliosdb-norepl-secret"
SUPERUSER_PASSWORD="heliosdb-postgres-secret"

log() { echo "postgres.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Runs a server-side binary as the postgres OS user (from /, a directory it
# can always enter). 9>&-: the server must not inherit the lease lock.
as_pg() {
  if [[ "$(id -un)" == "$PG_OS_USER" ]]; then
    (cd / && "$@") 9>&-
  else
    (cd / && runuser -u "$PG_OS_USER" -- "$@") 9>&-
  fi
}

check_installed() {
  [[ -x "$PG_BIN/postgres" && -x "$PG_BIN/pg_ctl" && -x "$PG_BIN/initdb" ]] \
    || die "PostgreSQL 15 is not installed ($PG_BIN/postgres missing); run scripts/install-deps.sh (installs postgresql-15)"
  command -v psql >/dev/null || [[ -x "$PG_BIN/psql" ]] \
    || die "psql not found; run scripts/install-deps.sh (installs postgresql-client-15)"
  id -u "$PG_OS_USER" >/dev/null 2>&1 \
    || die "OS user '$PG_OS_USER' missing (the postgresql-15 package creates it)"
  if [[ "$(id -un)" != "$PG_OS_USER" && "$(id -u)" != 0 ]]; then
    die "run as root (or as $PG_OS_USER): the server runs as the $PG_OS_USER OS user"
  fi
}

psql_bin() { if [[ -x "$PG_BIN/psql" ]]; then echo "$PG_BIN/psql"; else command -v psql; fi; }

# psql as the superuser over the socket (trust). -X: no ~/.psqlrc.
su_psql() {
  env -u PGSERVICE -u PGPASSWORD -u PGPASSFILE -u PGOPTIONS PGHOST="$SOCK" PGPORT="$PG_PORT" \
    PGUSER=postgres PGDATABASE=postgres "$(psql_bin)" -X "$@"
}

# The postmaster's pid if it runs on our data dir; a stale postmaster.pid
# (crash, reboot, recycled pid) does not count.
postmaster_pid() {
  [[ -f "$DATA/postmaster.pid" ]] || return 1
  local pid
  pid="$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-D $DATA" || return 1
  echo "$pid"
}

answering() {
  "$PG_BIN/pg_isready" -q -h "$SOCK" -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The postgres OS user must be able to enter every directory above its own:
# a checkout under /root (mode 0700) would stop it. The directories that
# deny it get o+x (enter, not list); each one is named in the output.
make_reachable() {
  local dir="$1" path="" part
  as_pg test -x "$dir" 2>/dev/null && return 0
  IFS='/' read -r -a parts <<<"${dir#/}"
  for part in "${parts[@]}"; do
    path="$path/$part"
    if ! as_pg test -x "$path" 2>/dev/null; then
      chmod o+x "$path"
      log "chmod o+x $path (so the $PG_OS_USER user can reach $dir)"
    fi
  done
}

init_data() {
  mkdir -p "$PG_HOME"
  make_reachable "$PG_HOME"
  mkdir -p "$LOGS" "$SOCK"
  chown "$PG_OS_USER:" "$LOGS" "$SOCK"
  chmod 0755 "$SOCK"
  if [[ -f "$DATA/PG_VERSION" ]]; then return 0; fi
  # A data dir without PG_VERSION is an interrupted initdb: start over.
  rm -rf "$DATA"
  mkdir -p "$DATA"
  chown "$PG_OS_USER:" "$DATA"
  chmod 0700 "$DATA"
  log "initdb in $DATA"
  as_pg "$PG_BIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
    >"$LOGS/initdb.log" 2>&1 || { cat "$LOGS/initdb.log" >&2; die "initdb failed (log: $LOGS/initdb.log)"; }
  # Our settings live in heliosdb.conf, rewritten at each start (port and
  # wal_level may change between runs); postgresql.conf includes it last.
  echo "include_if_exists = 'heliosdb.conf'" >>"$DATA/postgresql.conf"
}

write_config() {
  as_pg tee "$DATA/heliosdb.conf" >/dev/null <<EOF
# Written by scripts/services/postgres.sh at each start; edits are lost.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$SOCK'
wal_level = $PG_WAL_LEVEL
max_replication_slots = 20
max_wal_senders = 20
wal_sender_timeout = 60s
synchronous_commit = on
shared_buffers = 128MB
password_encryption = scram-sha-256
log_line_prefix = '%m [%p] %q%u@%d '
log_connections = on
EOF
  # Unix socket: the superuser without a password (this script, psql); every
  # other local role by password. TCP (127.0.0.1 only): scram-sha-256 for
  # every role, normal and replication connections, the superuser included.
  as_pg tee "$DATA/pg_hba.conf" >/dev/null <<EOF
# Written by scripts/services/postgres.sh at each start; edits are lost.
# TYPE  DATABASE          USER      ADDRESS        METHOD
local   all,replication   postgres                 trust
local   all,replication   all                      scram-sha-256
host    all,replication   all       127.0.0.1/32   scram-sha-256
EOF
}

# Idempotent: the roles get their attributes and passwords at every start.
# log_min_error_statement = panic: a failing statement is not written to the
# server log, so its password never lands there.
ensure_roles() {
  su_psql -q -v ON_ERROR_STOP=1 >/dev/null <<EOF || die "could not create the test roles (log: $LOG)"
SET log_min_error_statement = panic;
SET log_statement = 'none';
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'heliosdb_repl') THEN
    CREATE ROLE heliosdb_repl;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'heliosdb_norepl') THEN
    CREATE ROLE heliosdb_norepl;
  END IF;
END
\$\$;
SET password_encryption = 'scram-sha-256';
ALTER ROLE heliosdb_repl LOGIN REPLICATION NOSUPERUSER PASSWORD '$REPL_PASSWORD';
ALTER ROLE heliosdb_norepl LOGIN NOREPLICATION NOSUPERUSER PASSWORD '$NOREPL_PASSWORD';
ALTER ROLE postgres PASSWORD '$SUPERUSER_PASSWORD';
EOF
  local have
  have="$(su_psql -tA -c "SELECT 1 FROM pg_database WHERE datname = 'heliosdb_test'")" \
    || die "could not query pg_database (log: $LOG)"
  if [[ "$have" != 1 ]]; then
    # CREATE DATABASE cannot run inside a multi-statement string.
    su_psql -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE heliosdb_test OWNER heliosdb_repl" \
      || die "could not create database heliosdb_test (log: $LOG)"
  fi
  su_psql -q -v ON_ERROR_STOP=1 -c "ALTER DATABASE heliosdb_test OWNER TO heliosdb_repl" \
    || die "could not give heliosdb_test to heliosdb_repl (log: $LOG)"
}

print_log_tail() {
  tail -n 40 "$LOG" >&2 2>/dev/null || true
}

start() {
  check_installed
  local pid
  if pid="$(postmaster_pid)"; then
    local deadline=$((SECONDS + START_TIMEOUT_S))
    until answering; do
      ((SECONDS < deadline)) || die "server (pid $pid) not answering after ${START_TIMEOUT_S}s; log: $LOG"
      sleep 0.3
    done
    ensure_roles
    log "already running (pid $pid) on 127.0.0.1:$PG_PORT, wal_level $(current_wal_level); log: $LOG"
    return 0
  fi
  if port_busy "$PG_PORT"; then
    die "port 127.0.0.1:$PG_PORT is in use by another process (not the server of $DATA); free it or set PG_PORT (and PG_HOME)"
  fi
  init_data
  # Left by a crash (or a reboot): postgres refuses to start if the pid in
  # postmaster.pid is alive, even when it is someone else's process now.
  if [[ -f "$DATA/postmaster.pid" ]]; then
    log "removing stale $DATA/postmaster.pid (no server runs on it)"
    rm -f "$DATA/postmaster.pid"
  fi
  rm -f "$SOCK/.s.PGSQL.$PG_PORT" "$SOCK/.s.PGSQL.$PG_PORT.lock"
  write_config
  log "starting PostgreSQL 15 on 127.0.0.1:$PG_PORT (wal_level $PG_WAL_LEVEL, data $DATA)"
  if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t "$START_TIMEOUT_S" start >/dev/null 2>&1; then
    print_log_tail
    die "PostgreSQL did not start; log: $LOG"
  fi
  pid="$(postmaster_pid)" || { print_log_tail; die "PostgreSQL exited during start-up; log: $LOG"; }
  ensure_roles
  log "ready on 127.0.0.1:$PG_PORT (pid $pid, socket $SOCK); log: $LOG"
}

current_wal_level() { su_psql -tA -c "SHOW wal_level" 2>/dev/null || echo "?"; }

# mode: fast (stop) or immediate (kill: a crash as far as the data is concerned).
stop() {
  local mode="${1:-fast}" pid
  if ! pid="$(postmaster_pid)"; then
    log "not running"
    return 0
  fi
  if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m "$mode" -w -t 60 stop >/dev/null 2>&1; then
    log "pg_ctl stop -m $mode did not finish in 60s; sending SIGKILL to the postmaster (pid $pid)"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # pg_ctl returns once postmaster.pid is gone; wait for the process itself,
  # and for its children (they exit before it), so nothing is left behind.
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null || pgrep -P "$pid" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "postmaster pid $pid still there 30s after stop"
    sleep 0.1
  done
  log "stopped (-m $mode, pid $pid)"
}

# ctest fixtures share the server: scripts/services/leases.sh counts its users.
LEASE_DIR="$PG_HOME"
LEASE_NOUN="server"
lease_running() { postmaster_pid >/dev/null; }
lease_start() { start; }
lease_stop() { stop fast; }
# shellcheck source=leases.sh
source "$(dirname "${BASH_SOURCE[0]}")/leases.sh"

case "${1:-}" in
  acquire) lease_acquire ;;
  release) lease_release ;;
  start) start ;;
  stop) stop fast ;;
  kill) stop immediate ;;
  restart) stop fast; start ;;
  status)
    if postmaster_pid >/dev/null && answering; then echo "running"; else echo "stopped"; exit 1; fi ;;
  reset) stop fast; rm -rf "$DATA"; log "data deleted ($DATA)" ;;
  psql)
    shift
    check_installed
    postmaster_pid >/dev/null || die "not running; start it first (scripts/services/postgres.sh start)"
    su_psql "$@" ;;
  *)
    sed -n '2,50p' "$0" | sed 's/^# \{0,1\}//'
    exit 2 ;;
esac
