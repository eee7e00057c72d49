#!/usr/bin/env bash
# PostgreSQL source (issue 17): heliosdb-cdc against pg_recvlogical on one
# PostgreSQL 15 server, in one run; and its snapshots (issue 18) against COPY.
#
#   bench/postgres_bench.sh [BUILD_DIR]
#
# Backlog: ROWS inserted rows (about ROW_BYTES bytes of column text each,
# TXN_ROWS rows per transaction) into table bench_rows, published by
# publication bench_pub, written before any drain starts. Every drain reads
# the backlog from its own logical slot, created before the inserts, so all
# of them see the same changes:
#   pg_recvlogical  pgoutput proto_version=1 to /dev/null, --endpos = the WAL
#                   position after the inserts: the physical limit (walsender
#                   decoding + the protocol, nothing done with the data)
#   cdc-file        heliosdb-cdc run --once, file sink (JSON lines) on local disk
#   cdc-kafka       heliosdb-cdc run --once, Kafka sink to the local broker
#                   (a fresh topic per run, deleted at exit)
# Each contender runs PAIRS times, the order reversed from one round to the
# next. Per run: wall time, events/s (ROWS / wall), CPU of the contender
# process (user+sys, /usr/bin/time), CPU of its server backends (the
# walsender and any other backend it opened, from the postmaster's
# cutime+cstime: the backends are the postmaster's children and are reaped
# by it), CPU of the broker (Kafka runs), peak RSS (time's %M = VmHWM), and
# CPU per event of each. The machine may be shared: CPU per event is the
# steadier figure.
#
# Snapshots (issue 18; contenders copy, snapfile, snapkafka, chunks): table
# bench_snap of SNAPSHOT_ROWS rows (the same columns as bench_rows, bigint
# primary key), publication bench_snap_pub, loaded (and VACUUM FREEZE'd)
# before any slot exists and kept across runs of the script while its rows
# and ROW_BYTES match. Per round:
#   copy       psql -c "COPY (SELECT * FROM bench_snap) TO STDOUT" > /dev/null:
#              the read limit
#   snapfile   heliosdb-cdc run with snapshot = "initial_only" (it reads the
#              table, delivers every row and exits 0 by itself), file sink on
#              local disk; the daemon creates a fresh slot (dropped after the
#              run) and a fresh checkpoint dir; snapshot_chunk_rows its default
#   snapkafka  the same to the Kafka sink (a fresh topic per run)
#   chunks     snapfile once per value of SNAPSHOT_CHUNKS as
#              snapshot_chunk_rows (contenders chunk-<N>)
# The same figures, rows/s = SNAPSHOT_ROWS / wall (the daemon's wall time
# includes its start: connecting, creating the slot); server backends =
# every backend the contender opened (the script waits until the postmaster
# has reaped them). Every daemon run must deliver exactly SNAPSHOT_ROWS
# events (the file's lines, the topic read back). Verdicts: snapfile >= 0.5x
# copy's rows/s, snapkafka >= 100,000 rows/s, peak RSS <= 64 MB.
#
# Live latency: a server-side paced writer (one psql CALL of a PL/pgSQL
# procedure committing every 1/(LAT_RATE/TXN_ROWS) s) for LAT_SECONDS while
# `heliosdb-cdc run` streams to Kafka; latency = commit timestamp -> Kafka
# delivery report, from the daemon's heliosdb_cdc_event_latency_seconds
# histogram (scraped after the first 10 % and at the end, diffed).
#
# Environment (defaults in brackets):
#   ROWS [400000]  TXN_ROWS [100]  ROW_BYTES [200]  PAIRS [3]  PARTITIONS [3]
#   LAT_RATE [20000] rows/s   LAT_SECONDS [20]   METRICS_PORT [19471]
#   CDC_SETTINGS []   extra [cdc] lines for the drains
#   PG_PORT [15461]   PG_HOME [<checkout>/.cache/postgres-bench]
#   KEEP_PG [0]       1: leave the PostgreSQL server running at the end
#   SKIP_LATENCY [0]  1: backlog drains only
#   CONTENDERS ["recv file kafka copy snapfile snapkafka"]  also: recvfile
#                     (pg_recvlogical -f a file on local disk: what writing its
#                     own output costs it), fileshm (heliosdb-cdc, file sink on
#                     /dev/shm), chunks (snapshot_chunk_rows choices)
#   SNAPSHOT_ROWS [1000000]   SNAPSHOT_CHUNKS ["1000 5000 10000 50000"]
#   PERF [0]          1: perf record -g the first cdc-file run (perf.data in WORK, kept)
# Kafka: scripts/services/kafka.sh on 127.0.0.1:19092, started if needed and
# then stopped at the end; the whole run holds /tmp/heliosdb-services.lock.
# Nothing is written to docs: copy the summary by hand.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
BIN="$BUILD/heliosdb-cdc"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
export PG_PORT="${PG_PORT:-15461}"
export PG_HOME="${PG_HOME:-$ROOT/.cache/postgres-bench}"
PGSH="$ROOT/scripts/services/postgres.sh"
KAFKA="$ROOT/scripts/services/kafka.sh"
KAFKA_PORT="${KAFKA_PORT:-19092}"
BROKERS="127.0.0.1:$KAFKA_PORT"
ROWS="${ROWS:-400000}"
TXN_ROWS="${TXN_ROWS:-100}"
ROW_BYTES="${ROW_BYTES:-200}"
PAIRS="${PAIRS:-3}"
PARTITIONS="${PARTITIONS:-3}"
LAT_RATE="${LAT_RATE:-20000}"
LAT_SECONDS="${LAT_SECONDS:-20}"
METRICS_PORT="${METRICS_PORT:-19471}"
SNAPSHOT_ROWS="${SNAPSHOT_ROWS:-1000000}"
read -r -a CHUNKS <<<"${SNAPSHOT_CHUNKS:-1000 5000 10000 50000}"
read -r -a asked <<<"${CONTENDERS:-recv file kafka copy snapfile snapkafka}"
CONTENDERS=()
for c in "${asked[@]}"; do
  case "$c" in
    recv | recvfile | file | fileshm | kafka | copy | snapfile | snapkafka) CONTENDERS+=("$c") ;;
    chunks) for n in "${CHUNKS[@]}"; do CONTENDERS+=("chunk-$n"); done ;;
    *) echo "unknown contender $c" >&2; exit 2 ;;
  esac
done
is_snapshot() { [[ "$1" == copy || "$1" == snap* || "$1" == chunk-* ]]; }
STREAMING=() SNAPSHOTS=()
for c in "${CONTENDERS[@]}"; do
  if is_snapshot "$c"; then SNAPSHOTS+=("$c"); else STREAMING+=("$c"); fi
done
DB=heliosdb_test
export PGPASSWORD="heliosdb-repl-secret"  # the test role's (public) password, for libpq
DSN="host=127.0.0.1 port=$PG_PORT dbname=$DB user=heliosdb_repl"

[[ -x "$BIN" ]] || { echo "build heliosdb-cdc first: $BIN not found" >&2; exit 2; }
[[ -x "$PG_BIN/pg_recvlogical" ]] || { echo "$PG_BIN/pg_recvlogical not found" >&2; exit 2; }
command -v kcat >/dev/null || { echo "kcat not found (scripts/install-deps.sh)" >&2; exit 2; }
((ROWS % TXN_ROWS == 0)) || { echo "ROWS must be a multiple of TXN_ROWS" >&2; exit 2; }
# The server has max_replication_slots = 20 (scripts/services/postgres.sh);
# a snapshot run's slot lives for that run only.
((${#STREAMING[@]} * PAIRS + 2 <= 20)) || { echo "streaming contenders x PAIRS + 2 must be <= 20 slots" >&2; exit 2; }

# One Kafka user at a time on this machine; the broker must not inherit fd 9.
exec 9>/tmp/heliosdb-services.lock
echo "== waiting for /tmp/heliosdb-services.lock" >&2
flock 9

mkdir -p "$ROOT/.cache"
WORK="$(mktemp -d "$ROOT/.cache/pg-bench.XXXXXX")"  # local disk (the file sink's output)
ID="$(date +%s)-$$"
DAEMON= WRITER= KAFKA_STARTED=0
cleanup() {
  [[ -n "$DAEMON" ]] && kill "$DAEMON" 2>/dev/null || true
  [[ -n "$WRITER" ]] && kill "$WRITER" 2>/dev/null || true
  "$KAFKA" delete-topic "bench-pg-.*-$ID" >/dev/null 2>&1 || true
  if [[ "$KAFKA_STARTED" == 1 ]]; then "$KAFKA" stop 9>&- >/dev/null 2>&1 || true; fi
  psql_su -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
              WHERE slot_name LIKE 'bench\_%' AND NOT active" >/dev/null 2>&1 || true
  if [[ "${KEEP_PG:-0}" != 1 ]]; then "$PGSH" stop 9>&- >&2 || true; fi
  if [[ "${PERF:-0}" == 1 ]]; then echo "perf data kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

psql_su() { "$PGSH" psql -d "$DB" -qtA -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
# user+sys clock ticks of a process: "self" (utime+stime) or "children"
# (cutime+cstime: its reaped children).
ticks() {
  local s what="$2"
  s="$(<"/proc/$1/stat")"
  s="${s##*) }"
  # shellcheck disable=SC2086
  set -- $s
  if [[ "$what" == children ]]; then echo $((${14} + ${15})); else echo $((${12} + ${13})); fi
}
TCK="$(getconf CLK_TCK)"

echo "== PostgreSQL on 127.0.0.1:$PG_PORT ($PG_HOME)" >&2
"$PGSH" start 9>&- >&2
PM="$(head -n 1 "$PG_HOME/data/postmaster.pid")"
if ! "$KAFKA" status >/dev/null 2>&1; then KAFKA_STARTED=1; fi
"$KAFKA" start 9>&- >&2
BROKER="$(ss -Hltnp "sport = :$KAFKA_PORT" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)"
[[ -n "$BROKER" ]] || { echo "no process listens on $BROKERS" >&2; exit 1; }

# Walsenders of this server that are still alive (their pids).
walsenders() {
  local p
  for p in $(pgrep -P "$PM" || true); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q '^postgres: walsender' && echo "$p"
  done
  return 0
}

echo "== table, publication and $((${#STREAMING[@]} * PAIRS)) slots" >&2
psql_su -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
            WHERE slot_name LIKE 'bench\_%' AND NOT active" >/dev/null
PAD=$((ROW_BYTES > 90 ? ROW_BYTES - 70 : 20))  # the payload column's length
psql_su >/dev/null <<EOF
DROP PUBLICATION IF EXISTS bench_pub;
DROP TABLE IF EXISTS bench_rows;
CREATE TABLE bench_rows (
  id bigint PRIMARY KEY,
  account integer NOT NULL,
  name text NOT NULL,
  amount numeric(12, 2) NOT NULL,
  created_at timestamptz NOT NULL,
  payload text NOT NULL
) WITH (autovacuum_enabled = false);
ALTER TABLE bench_rows OWNER TO heliosdb_repl;
CREATE PUBLICATION bench_pub FOR TABLE bench_rows;
ALTER PUBLICATION bench_pub OWNER TO heliosdb_repl;
-- n_txn transactions of per_txn rows, ids from start_id; one COMMIT each.
CREATE OR REPLACE PROCEDURE bench_fill(n_txn int, per_txn int, plen int, start_id bigint)
LANGUAGE plpgsql AS \$\$
BEGIN
  FOR i IN 0 .. n_txn - 1 LOOP
    INSERT INTO bench_rows
      SELECT g, g % 100000, 'customer_' || g, (g % 1000000) / 100.0, now(),
             rpad(md5(g::text), plen, md5((g + 1)::text))
      FROM generate_series(start_id + i::bigint * per_txn, start_id + (i + 1)::bigint * per_txn - 1) g;
    COMMIT;
  END LOOP;
END \$\$;
-- The same, paced: transaction i commits no earlier than t0 + i / txn_per_s.
CREATE OR REPLACE PROCEDURE bench_paced(txn_per_s int, seconds int, per_txn int, plen int,
                                        start_id bigint)
LANGUAGE plpgsql AS \$\$
DECLARE
  t0 timestamptz := clock_timestamp();
  n int := txn_per_s * seconds;
  late int := 0;
  d float8;
BEGIN
  FOR i IN 0 .. n - 1 LOOP
    d := extract(epoch FROM t0 + make_interval(secs => i::float8 / txn_per_s) - clock_timestamp());
    IF d > 0 THEN PERFORM pg_sleep(d); ELSE late := late + 1; END IF;
    INSERT INTO bench_rows
      SELECT g, g % 100000, 'customer_' || g, (g % 1000000) / 100.0, now(),
             rpad(md5(g::text), plen, md5((g + 1)::text))
      FROM generate_series(start_id + i::bigint * per_txn, start_id + (i + 1)::bigint * per_txn - 1) g;
    COMMIT;
  END LOOP;
  RAISE NOTICE 'bench_paced: % rows % s % late', n * per_txn,
    round(extract(epoch FROM clock_timestamp() - t0)::numeric, 3), late;
END \$\$;
EOF
row_info() {  # table: "<column text bytes>|<tuple bytes>", averages
  psql_su -c "SELECT round(avg(length(id::text) + length(account::text) + length(name)
    + length(amount::text) + length(created_at::text) + length(payload))), round(avg(pg_column_size(t.*)))
    FROM $1 t"
}
# The snapshot table before any slot exists: no slot decodes its inserts.
# Loading it takes a while, so it stays for the next run while it matches.
if ((${#SNAPSHOTS[@]})); then
  SNAP_TAG="rows=$SNAPSHOT_ROWS pad=$PAD"
  if [[ "$(psql_su -c "SELECT obj_description(to_regclass('public.bench_snap'), 'pg_class')")" == "$SNAP_TAG" ]]; then
    echo "== bench_snap: $SNAPSHOT_ROWS rows kept from an earlier run" >&2
  else
    echo "== loading bench_snap: $SNAPSHOT_ROWS rows" >&2
    t0=$(now)
    psql_su >/dev/null <<EOF
DROP PUBLICATION IF EXISTS bench_snap_pub;
DROP TABLE IF EXISTS bench_snap;
CREATE TABLE bench_snap (
  id bigint PRIMARY KEY,
  account integer NOT NULL,
  name text NOT NULL,
  amount numeric(12, 2) NOT NULL,
  created_at timestamptz NOT NULL,
  payload text NOT NULL
) WITH (autovacuum_enabled = false);
ALTER TABLE bench_snap OWNER TO heliosdb_repl;
INSERT INTO bench_snap
  SELECT g, g % 100000, 'customer_' || g, (g % 1000000) / 100.0, now(),
         rpad(md5(g::text), $PAD, md5((g + 1)::text))
  FROM generate_series(1, $SNAPSHOT_ROWS) g;
-- Hint bits set and pages all-visible now, not by the first contender's read.
VACUUM (FREEZE, ANALYZE) bench_snap;
CREATE PUBLICATION bench_snap_pub FOR TABLE bench_snap;
ALTER PUBLICATION bench_snap_pub OWNER TO heliosdb_repl;
COMMENT ON TABLE bench_snap IS '$SNAP_TAG';
CHECKPOINT;
EOF
    t1=$(now)
    echo "loaded in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s" >&2
  fi
  SNAP_INFO="$(row_info bench_snap)"
  echo "snapshot table: $SNAPSHOT_ROWS rows; row text ${SNAP_INFO%|*} bytes, tuple ${SNAP_INFO#*|} bytes," \
    "$(psql_su -c "SELECT pg_size_pretty(pg_table_size('bench_snap'))") on disk"
fi

for ((p = 1; p <= PAIRS; p++)); do
  for c in "${STREAMING[@]}"; do
    psql_su -c "SELECT pg_create_logical_replication_slot('bench_${c}_$p', 'pgoutput')" >/dev/null
  done
done

if ((${#STREAMING[@]})); then
  echo "== inserting $ROWS rows, $TXN_ROWS per transaction" >&2
  t0=$(now)
  psql_su -c "CALL bench_fill($((ROWS / TXN_ROWS)), $TXN_ROWS, $PAD, 1)" >/dev/null
  t1=$(now)
  psql_su -c "CHECKPOINT" >/dev/null
  END_LSN="$(psql_su -c "SELECT pg_current_wal_lsn()")"
  ROW_INFO="$(row_info bench_rows)"
  WAL_BYTES="$(psql_su -c "SELECT pg_wal_lsn_diff('$END_LSN', min(confirmed_flush_lsn))
    FROM pg_replication_slots WHERE slot_name LIKE 'bench\_%'")"
  echo "inserted $ROWS rows in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s; end LSN $END_LSN;" \
    "row text ${ROW_INFO%|*} bytes, tuple ${ROW_INFO#*|} bytes; WAL to decode $((WAL_BYTES / 1048576)) MiB"
fi

write_config() {  # file slot ckpt sink-lines
  cat >"$1" <<EOF
[source]
type = "postgres"

[source.postgres]
dsn = "$DSN"
slot = "$2"
publication = "bench_pub"
create_slot = false
create_publication = false
tables = ["public.bench_rows"]
snapshot = "never"

[cdc]
checkpoint_dir = "$3"
enable_metrics = false
${CDC_SETTINGS:-}

$4
EOF
}

# A snapshot run: the daemon creates its slot, reads bench_snap and exits.
write_snap_config() {  # file slot ckpt chunk-rows sink-lines
  cat >"$1" <<EOF
[source]
type = "postgres"

[source.postgres]
dsn = "$DSN"
slot = "$2"
publication = "bench_snap_pub"
create_slot = true
create_publication = false
tables = ["public.bench_snap"]
snapshot = "initial_only"
${4:+snapshot_chunk_rows = $4}

[cdc]
checkpoint_dir = "$3"
enable_metrics = false
${CDC_SETTINGS:-}

$5
EOF
}
file_sink() { printf '[sink]\ntype = "file"\n\n[sink.file]\npath = "%s"\nformat = "json"' "$1"; }
kafka_sink() { printf '[sink]\ntype = "kafka"\n\n[sink.kafka]\nbrokers = "%s"\ntopic = "%s"' "$BROKERS" "$1"; }
# Children of the postmaster: its own background processes and every backend.
pm_children() { pgrep -c -P "$PM" || true; }

RESULTS="$WORK/results"
: >"$RESULTS"
run_one() {  # contender pair
  local c="$1" p="$2" slot="bench_$1_$2" cmd topic="" out="$WORK/events-$1-$2.jsonl" expect="$ROWS"
  [[ "$c" == fileshm ]] && out="/dev/shm/pg-bench-$ID-$p.jsonl"
  if is_snapshot "$c"; then
    expect="$SNAPSHOT_ROWS"
    slot="bench_snap_${c//-/_}_$p"
  fi
  [[ "$c" == recvfile ]] && out="$WORK/recv-$p.bin"
  case "$c" in
    recv | recvfile)
      [[ "$c" == recv ]] && out=/dev/null
      cmd=("$PG_BIN/pg_recvlogical" -d "$DSN" -S "$slot" -o proto_version=1
           -o publication_names=bench_pub --start --endpos "$END_LSN" -f "$out") ;;
    file | fileshm)
      write_config "$WORK/$c-$p.toml" "$slot" "$WORK/ckpt-$c-$p" \
        "$(printf '[sink]\ntype = "file"\n\n[sink.file]\npath = "%s"\nformat = "json"' "$out")"
      cmd=("$BIN" run --once --config "$WORK/$c-$p.toml") ;;
    kafka)
      topic="bench-pg-$p-$ID"
      write_config "$WORK/$c-$p.toml" "$slot" "$WORK/ckpt-$c-$p" \
        "$(printf '[sink]\ntype = "kafka"\n\n[sink.kafka]\nbrokers = "%s"\ntopic = "%s"' "$BROKERS" "$topic")"
      cmd=("$BIN" run --once --config "$WORK/$c-$p.toml") ;;
    copy)
      out=/dev/null
      cmd=("$PG_BIN/psql" -X -q "$DSN" -c "COPY (SELECT * FROM bench_snap) TO STDOUT") ;;
    snapfile | chunk-*)
      local chunk=""
      [[ "$c" == chunk-* ]] && chunk="${c#chunk-}"
      write_snap_config "$WORK/$c-$p.toml" "$slot" "$WORK/ckpt-$c-$p" "$chunk" "$(file_sink "$out")"
      cmd=("$BIN" run --config "$WORK/$c-$p.toml") ;;
    snapkafka)
      topic="bench-pg-snap-$p-$ID"
      write_snap_config "$WORK/$c-$p.toml" "$slot" "$WORK/ckpt-$c-$p" "" "$(kafka_sink "$topic")"
      cmd=("$BIN" run --config "$WORK/$c-$p.toml") ;;
  esac
  sync
  sleep 1
  local children0
  children0=$(pm_children)
  local pm0 br0 pm1 br1 t0 t1 prefix=()
  if [[ "${PERF:-0}" == 1 && "$c" == file && "$p" == 1 ]]; then
    prefix=(perf record -g -o "$WORK/perf-file.data" --)
  fi
  echo "== round $p: $c" >&2
  pm0=$(ticks "$PM" children)
  br0=$(ticks "$BROKER" self)
  t0=$(now)
  if [[ "$c" == copy ]]; then
    /usr/bin/time -f "%U %S %M" -o "$WORK/time-$c-$p" "${cmd[@]}" >/dev/null \
      2>"$WORK/log-$c-$p" || { cat "$WORK/log-$c-$p" >&2; exit 1; }
  else
    /usr/bin/time -f "%U %S %M" -o "$WORK/time-$c-$p" "${prefix[@]}" "${cmd[@]}" \
      2>"$WORK/log-$c-$p" || { cat "$WORK/log-$c-$p" >&2; exit 1; }
  fi
  t1=$(now)
  br1=$(ticks "$BROKER" self)
  # The walsender and the other backends exit after their client; the
  # postmaster reaps them (and then counts their CPU in cutime/cstime).
  local deadline=$((SECONDS + 30))
  while [[ -n "$(walsenders)" ]] || (($(pm_children) > children0)); do
    ((SECONDS < deadline)) || { echo "a backend is still alive 30 s after $c" >&2; exit 1; }
    sleep 0.05
  done
  sleep 0.2
  pm1=$(ticks "$PM" children)
  if is_snapshot "$c" && [[ "$c" != copy ]]; then
    psql_su -c "SELECT pg_drop_replication_slot('$slot')" >/dev/null
  fi
  local n="$expect" bytes=0
  if [[ "$c" == file* || "$c" == recvfile || "$c" == snapfile || "$c" == chunk-* ]]; then
    bytes=$(stat -c %s "$out")
    [[ "$c" == recvfile ]] || n=$(wc -l <"$out")
    rm -f "$out"
  fi
  echo "$c $p $t0 $t1 $(tail -n 1 "$WORK/time-$c-$p") $(((pm1 - pm0))) $(((br1 - br0))) $n $bytes $expect $topic" \
    >>"$RESULTS"
}

# The topics first: a new topic's leader needs a moment to settle.
for ((p = 1; p <= PAIRS; p++)); do
  for c in "${CONTENDERS[@]}"; do
    case "$c" in
      kafka) "$KAFKA" create-topic "bench-pg-$p-$ID" "$PARTITIONS" retention.ms=3600000 >&2 ;;
      snapkafka) "$KAFKA" create-topic "bench-pg-snap-$p-$ID" "$PARTITIONS" retention.ms=3600000 >&2 ;;
    esac
  done
done
reversed=()
for ((i = ${#CONTENDERS[@]} - 1; i >= 0; i--)); do reversed+=("${CONTENDERS[$i]}"); done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((p = 1; p <= PAIRS; p++)); do
  if ((p % 2)); then order=("${CONTENDERS[@]}"); else order=("${reversed[@]}"); fi
  for c in "${order[@]}"; do run_one "$c" "$p"; done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Messages in each Kafka topic (after the timed runs).
: >"$WORK/counts"
while read -r c p _ _ _ _ _ _ _ _ _ _ topic; do
  [[ -n "$topic" ]] || continue
  echo "$c-$p $(kcat -b "$BROKERS" -C -t "$topic" -e -q -f 'x\n' | wc -l)" >>"$WORK/counts"
done <"$RESULTS"

python3 - "$RESULTS" "$WORK/counts" "$TCK" <<'PY'
import statistics, sys
tck = int(sys.argv[3])
counts = dict(l.split() for l in open(sys.argv[2]))
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    c, p, rows = f[0], int(f[1]), int(f[11])
    wall = float(f[3]) - float(f[2])
    runs.setdefault(c, []).append(dict(
        pair=p, rows=rows, wall=wall, rate=rows / wall, cpu=float(f[4]) + float(f[5]),
        rss=int(f[6]) / 1024, server=int(f[7]) / tck, broker=int(f[8]) / tck,
        n=int(counts.get(f"{c}-{p}", 0)) if len(f) > 12 else int(f[9]), bytes=int(f[10])))
names = {"recv": "pg_recvlogical", "recvfile": "pg_recvlogical file", "file": "heliosdb-cdc file",
         "fileshm": "heliosdb-cdc shm", "kafka": "heliosdb-cdc kafka", "copy": "COPY to stdout",
         "snapfile": "snapshot file", "snapkafka": "snapshot kafka"}
chunks = sorted((c for c in runs if c.startswith("chunk-")), key=lambda c: int(c[6:]))
for c in chunks:
    names[c] = f"snapshot file {c[6:]}"
order = [c for c in names if c in runs]
streaming = [c for c in order if c in ("recv", "recvfile", "file", "fileshm", "kafka")]
snapshots = [c for c in order if c not in streaming]
unit = lambda c: "ev" if c in streaming else "row"
for group in (streaming, snapshots):
    if not group:
        continue
    rows = runs[group[0]][0]["rows"]
    print(f"\nper run ({rows} {unit(group[0])}s each; CPU in s, us/{unit(group[0])} = CPU / {rows}):")
    for c in group:
        for r in sorted(runs[c], key=lambda r: r["pair"]):
            u = unit(c)
            extra = (f", broker {r['broker']:.2f} s ({r['broker'] / rows * 1e6:.2f} us/{u})"
                     if c in ("kafka", "snapkafka") else "")
            if r["bytes"]:
                extra += f", output {r['bytes'] / rows:.0f} B/{u}"
            print(f"  {names[c]:<19} round {r['pair']}: {r['wall']:6.2f} s {r['rate']:>9,.0f} {u}/s; "
                  f"process {r['cpu']:.2f} s ({r['cpu'] / rows * 1e6:.2f} us/{u}), "
                  f"server backends {r['server']:.2f} s ({r['server'] / rows * 1e6:.2f} us/{u}){extra}; "
                  f"peak RSS {r['rss']:.1f} MB; delivered "
                  f"{r['n'] if c not in ('recv', 'recvfile', 'copy') else '-'}")
def mm(c, k):
    v = [r[k] for r in runs[c]]
    return min(v), statistics.median(v), max(v)
print("\nsummary (min / median / max over rounds; per event or row):")
hdr = f"{'contender':<19} | {'wall s':>17} | {'events or rows/s':>26} | {'process us/ev':>17} | {'backends us/ev':>17} | {'broker us/ev':>17} | {'peak RSS MB':>17}"
print(hdr); print("-" * len(hdr))
fmt = lambda t, f="{:.2f}": " / ".join(f.format(x) for x in t)
for c in order:
    rows = runs[c][0]["rows"]
    us = lambda k: tuple(x / rows * 1e6 for x in mm(c, k))
    print(f"{names[c]:<19} | {fmt(mm(c, 'wall')):>17} | {fmt(mm(c, 'rate'), '{:,.0f}'):>26} | "
          f"{fmt(us('cpu')):>17} | {fmt(us('server')):>17} | "
          f"{fmt(us('broker')) if c in ('kafka', 'snapkafka') else '-':>17} | {fmt(mm(c, 'rss'), '{:.1f}'):>17}")
med = lambda c, k="rate": statistics.median(r[k] for r in runs[c])
def ratio(a, b, target=None, what="events/s"):
    if a not in runs or b not in runs:
        return
    per_round = sorted(x["rate"] / y["rate"] for x in runs[a] for y in runs[b] if x["pair"] == y["pair"])
    cpu = med(b, "cpu") + med(b, "server")
    verdict = f"; target >= {target}: {'met' if med(a) / med(b) >= target else 'MISSED'}" if target else ""
    print(f"{names[a]} / {names[b]} {what}: {med(a) / med(b):.3f} (medians; per round min "
          f"{per_round[0]:.3f}, median {statistics.median(per_round):.3f}){verdict}; CPU (process + "
          f"server backends) per event {(med(a, 'cpu') + med(a, 'server')) / cpu:.2f}x")
print()
ratio("file", "recv", 0.9)
ratio("fileshm", "recv")
ratio("file", "recvfile")
if "kafka" in runs:
    kafka = med("kafka")
    print(f"kafka events/s (median): {kafka:,.0f}  target >= 100,000: {'met' if kafka >= 100000 else 'MISSED'}")
daemons = [c for c in streaming if not c.startswith("recv")]
if daemons:
    rss = max(r["rss"] for c in daemons for r in runs[c])
    print(f"peak RSS (max of the daemon runs): {rss:.1f} MB  target <= 50 MB: {'met' if rss <= 50 else 'MISSED'}")
ratio("snapfile", "copy", 0.5, "rows/s")
ratio("snapkafka", "copy", None, "rows/s")
for c in chunks:
    ratio(c, "copy", None, "rows/s")
if "snapkafka" in runs:
    kafka = med("snapkafka")
    print(f"snapshot kafka rows/s (median): {kafka:,.0f}  target >= 100,000: "
          f"{'met' if kafka >= 100000 else 'MISSED'}")
snapd = [c for c in snapshots if c != "copy"]
# The target is the daemon's defaults; chunk-<N> runs show what the chunk size costs.
if "snapfile" in runs or "snapkafka" in runs:
    for c in ("snapfile", "snapkafka"):
        if c in runs:
            print(f"peak RSS {names[c]} (max of the runs): {max(r['rss'] for r in runs[c]):.1f} MB")
    rss = max(r["rss"] for c in ("snapfile", "snapkafka") if c in runs for r in runs[c])
    print(f"peak RSS (max of the snapshot runs, default chunk size): {rss:.1f} MB  target <= 64 MB: "
          f"{'met' if rss <= 64 else 'MISSED'}")
if chunks:
    best = max(chunks, key=med)
    print("snapshot_chunk_rows, file sink, median rows/s: "
          + ", ".join(f"{c[6:]}: {med(c):,.0f} ({med(c, 'rss'):.1f} MB)" for c in chunks)
          + f"; best {best[6:]}")
checked = daemons + snapd
bad = [f"{names[c]} round {r['pair']}: {r['n']} of {r['rows']}" for c in checked for r in runs[c]
       if r["n"] != r["rows"]]
if checked:
    print("delivered counts: " + ("all as expected" if not bad else "WRONG: " + "; ".join(bad)))
PY

if [[ "${SKIP_LATENCY:-0}" == 1 ]]; then exit 0; fi

# Live latency.
TXN_PER_S=$((LAT_RATE / TXN_ROWS))
echo "== latency: $TXN_PER_S transactions/s of $TXN_ROWS rows for $LAT_SECONDS s" >&2
T_LAT="bench-pg-lat-$ID"
"$KAFKA" create-topic "$T_LAT" "$PARTITIONS" retention.ms=3600000 \
  message.timestamp.type=LogAppendTime >&2
write_config "$WORK/lat.toml" bench_lat "$WORK/ckpt-lat" \
  "$(printf '[sink]\ntype = "kafka"\n\n[sink.kafka]\nbrokers = "%s"\ntopic = "%s"\n\n[metrics]\nlisten = "127.0.0.1:%s"' \
     "$BROKERS" "$T_LAT" "$METRICS_PORT")"
sed -i 's/^enable_metrics = false$/enable_metrics = true/' "$WORK/lat.toml"
psql_su -c "SELECT pg_create_logical_replication_slot('bench_lat', 'pgoutput')" >/dev/null
scrape() {  # file: the event latency histogram as cumulative "le count" lines, and the count
  python3 - "$METRICS_PORT" >"$1" <<'PY'
import re, sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
for m in re.finditer(r'^heliosdb_cdc_event_latency_seconds_bucket\{[^}]*le="([^"]+)"\} (\S+)$',
                     body, re.M):
    print(m.group(1), m.group(2))
PY
}
"$BIN" run --config "$WORK/lat.toml" 2>"$WORK/lat.log" 9>&- &
DAEMON=$!
deadline=$((SECONDS + 30))
until [[ "$(psql_su -c "SELECT active FROM pg_replication_slots WHERE slot_name = 'bench_lat'")" == t ]] \
    && scrape "$WORK/hist-0" 2>/dev/null; do
  kill -0 "$DAEMON" 2>/dev/null || { cat "$WORK/lat.log" >&2; exit 1; }
  ((SECONDS < deadline)) || { echo "the daemon is not streaming after 30 s" >&2; exit 1; }
  sleep 0.2
done
psql_su -c "CALL bench_paced($TXN_PER_S, $LAT_SECONDS, $TXN_ROWS, $PAD, 100000000)" \
  2>"$WORK/writer.log" >/dev/null 9>&- &
WRITER=$!
sleep "$(python3 -c "print($LAT_SECONDS / 10)")"
scrape "$WORK/hist-warm"
d0=$(ticks "$DAEMON" self)
tw0=$(now)
wait "$WRITER"
WRITER=
sleep 2
scrape "$WORK/hist-end"
d1=$(ticks "$DAEMON" self)
tw1=$(now)
kill -TERM "$DAEMON"
wait "$DAEMON" || { cat "$WORK/lat.log" >&2; exit 1; }
DAEMON=
kcat -b "$BROKERS" -C -t "$T_LAT" -e -q -f '%T\t%s\n' >"$WORK/lat.txt"
python3 - "$WORK/hist-warm" "$WORK/hist-end" "$WORK/writer.log" "$LAT_RATE" "$((d1 - d0))" \
  "$TCK" "$tw0" "$tw1" <<'PY'
import re, sys
read = lambda path: {float(k): float(v) for k, v in (l.split() for l in open(path))}
warm, end = read(sys.argv[1]), read(sys.argv[2])
cum = [(le, end[le] - warm.get(le, 0.0)) for le in sorted(end)]
total = cum[-1][1]
def bound(p):  # the smallest bucket bound below which at least p of the events are
    le = next(le for le, c in cum if c >= p * total)
    return f"<= {le * 1000:g} ms" if le != float("inf") else "> last bound"
w = re.search(r"bench_paced: (\d+) rows (\S+) s (\d+) late", open(sys.argv[3]).read())
rows, secs, late = int(w.group(1)), float(w.group(2)), int(w.group(3))
cpu = int(sys.argv[5]) / int(sys.argv[6])
print(f"\nwriter: {rows} rows in {secs:.2f} s = {rows / secs:,.0f} rows/s (asked {int(sys.argv[4]):,}; "
      f"{late} transactions started late)")
print(f"latency (commit -> Kafka delivery report, the daemon's histogram, {total:.0f} events after the "
      f"first 10 %): p50 {bound(0.5)}, p99 {bound(0.99)}, p99.9 {bound(0.999)}")
print("  buckets: " + ", ".join(f"<= {le * 1000:g} ms: {c / total * 100:.2f} %" for le, c in cum
                                 if le != float("inf") and c < total)
      + (", ..." if total else ""))
print(f"daemon CPU while streaming: {cpu:.2f} s over {float(sys.argv[8]) - float(sys.argv[7]):.1f} s"
      f" = {cpu / total * 1e6 if total else 0:.2f} us/event")
PY
python3 - "$WORK/lat.txt" <<'PY'
import json, sys
lat = []
with open(sys.argv[1]) as f:
    for line in f:
        broker_ts, value = line.rstrip("\n").split("\t", 1)
        event = json.loads(value)
        lat.append((event["sequence"], int(broker_ts) - event["timestamp"]))
# Without the first 10 % in commit order (the consumer prints partition after partition).
lat.sort()
lat = sorted(l for _, l in lat[len(lat) // 10:])
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"latency (commit -> broker append time, ms, {len(lat)} events after the first 10 %): "
      f"p50 {q(0.5)}  p99 {q(0.99)}  p99.9 {q(0.999)}  max {lat[-1]}")
PY
