# Lease counting for services shared by ctest fixtures (sourced by kafka.sh
# and postgres.sh). Several build dirs may run suites against the one
# service: `acquire` starts it if needed and counts one more user,
# `release` counts one less and stops it at zero, unless it was already
# running (started by hand, e.g. for a benchmark) when the first user came.
#
# The sourcing script sets, before calling lease_acquire / lease_release:
#   LEASE_DIR       where the counter and its lock live (the service's home)
#   LEASE_NOUN      "broker", "server": for the log lines
#   lease_running   a function: exit 0 if the service runs now
#   lease_start     a function: start it (idempotent)
#   lease_stop      a function: stop it
# and a `log` function.

lease_lock() {
  mkdir -p "$LEASE_DIR"
  exec 9>"$LEASE_DIR/leases.lock"
  flock 9
}

lease_acquire() {
  lease_lock
  local n
  n="$(cat "$LEASE_DIR/leases" 2>/dev/null || echo 0)"
  if ((n == 0)); then
    # Whoever started it stops it, not the last test suite.
    if lease_running; then
      touch "$LEASE_DIR/leases.started-elsewhere"
    else
      rm -f "$LEASE_DIR/leases.started-elsewhere"
    fi
  fi
  lease_start
  echo $((n + 1)) >"$LEASE_DIR/leases"
  log "users of the $LEASE_NOUN: $((n + 1))"
}

lease_release() {
  lease_lock
  local n
  n="$(cat "$LEASE_DIR/leases" 2>/dev/null || echo 0)"
  n=$((n > 0 ? n - 1 : 0))
  echo "$n" >"$LEASE_DIR/leases"
  if ((n == 0)) && [[ -e "$LEASE_DIR/leases.started-elsewhere" ]]; then
    rm -f "$LEASE_DIR/leases.started-elsewhere"
    log "no suite uses the $LEASE_NOUN now; it was running before they started, so it keeps running"
  elif ((n == 0)); then
    lease_stop
  else
    log "still used by $n other suite(s); leaving it running"
  fi
}
