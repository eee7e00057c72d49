#!/usr/bin/env bash
# WAL -> Kafka end to end, against a baseline measured in the same run on the
# same broker: kcat producing the very same pre-serialized messages (same
# keys, same JSON values, same compression, idempotence and batch size).
#
#   bench/kafka_bench.sh [BUILD_DIR]
#
# Environment (defaults in brackets):
#   EVENTS [1000000]      change entries in the generated WAL (no aborts)
#   VALUE_BYTES [100]     row value size
#   PARTITIONS [3]        partitions of each benchmark topic
#   LAT_RATE [50000]      events/s for the latency run
#   LAT_SECONDS [20]      length of the latency run
#   ROUNDS [1]            throughput sets (with and without headers) to run; the
#                         order of the three contenders rotates from round to round
#   CDC_SETTINGS []       extra [cdc] lines for the throughput runs, e.g.
#                         $'batch_size = 1000\nbuffer_size = 100000'
#   LAT_SYNC [0]          1: flush the page cache (sync) before the latency run
#   METRICS_PORT [19464]  the latency run's metrics endpoint on 127.0.0.1
#   BASELINE_BIN []       another heliosdb-cdc binary (an older build): instead
#                         of the kcat and latency runs, runs it and BIN
#                         alternately, baseline first, PAIRS times on the same
#                         WAL (each run to a fresh topic, daemon defaults plus
#                         CDC_SETTINGS) and prints each pair and the medians
#   PAIRS [5]             pairs for BASELINE_BIN
#
# Prints:
#   throughput: events/s of `heliosdb-cdc run --once` (WAL read, transaction
#               assembly, JSON, produce, every delivery report, checkpoints)
#               and of kcat (twice: see run_set), and the ratios;
#   latency:    at LAT_RATE events/s from a live `wal generate --rate`:
#               WAL append -> delivery report from the daemon's own
#               heliosdb_cdc_event_latency_seconds histogram (bucket bounds
#               5, 10, 25, 50 ms ...), and WAL append (the entry's timestamp)
#               -> broker append time (topic with
#               message.timestamp.type=LogAppendTime), which comes before the
#               delivery report, in ms: p50/p99/p99.9/max.
# Uses scripts/services/kafka.sh (127.0.0.1:19092); starts it if needed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
BIN="$BUILD/heliosdb-cdc"
KAFKA="$ROOT/scripts/services/kafka.sh"
BROKERS="127.0.0.1:${KAFKA_PORT:-19092}"
EVENTS="${EVENTS:-1000000}"
VALUE_BYTES="${VALUE_BYTES:-100}"
PARTITIONS="${PARTITIONS:-3}"
LAT_RATE="${LAT_RATE:-50000}"
LAT_SECONDS="${LAT_SECONDS:-20}"
METRICS_PORT="${METRICS_PORT:-19464}"

[[ -x "$BIN" ]] || { echo "build heliosdb-cdc first: $BIN not found" >&2; exit 2; }
command -v kcat >/dev/null || { echo "kcat not found (scripts/install-deps.sh)" >&2; exit 2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/kafka-bench.XXXXXX")"
DAEMON= GEN=
ID="$(date +%s)-$$"
# Each run writes ~0.5 GB per topic into the broker: delete this run's topics
# at exit (not in between: the broker removes the files in the background,
# which would disturb the next measurement).
trap 'kill $DAEMON $GEN 2>/dev/null || true; rm -rf "$WORK";
      "$KAFKA" delete-topic "bench-.*-$ID" >/dev/null 2>&1 || true' EXIT

"$KAFKA" start >&2
now() { date +%s.%N; }

echo "== generating $EVENTS changes ($VALUE_BYTES-byte values) in $WORK/wal" >&2
"$BIN" wal generate --dir "$WORK/wal" --database bench --events "$EVENTS" \
  --tables users,orders,payments --txn-size 4 --abort-ratio 0 --value-bytes "$VALUE_BYTES" \
  --segment-bytes 67108864 --seed 1 >&2

T_LAT="bench-lat-$ID"
"$KAFKA" create-topic "$T_LAT" "$PARTITIONS" retention.ms=3600000 \
  message.timestamp.type=LogAppendTime >&2

write_config() {  # file wal ckpt topic extra-cdc
  cat >"$1" <<EOF
[cdc]
wal_path = "$2"
database = "bench"
checkpoint_dir = "$3"
enable_metrics = false
$5

[sink]
type = "kafka"

[sink.kafka]
brokers = "$BROKERS"
topic = "$4"
EOF
}

# Old against new: the same WAL, the binaries alternating.
if [[ -n "${BASELINE_BIN:-}" ]]; then
  [[ -x "$BASELINE_BIN" ]] || { echo "BASELINE_BIN $BASELINE_BIN is not executable" >&2; exit 2; }
  : >"$WORK/pairs"
  for ((pair = 1; pair <= ${PAIRS:-5}; pair++)); do
    for side in old new; do
      bin="$BIN"
      [[ "$side" == old ]] && bin="$BASELINE_BIN"
      topic="bench-$side-$pair-$ID"
      "$KAFKA" create-topic "$topic" "$PARTITIONS" retention.ms=3600000 >&2
      write_config "$WORK/$side-$pair.toml" "$WORK/wal" "$WORK/ckpt-$side-$pair" "$topic" \
        "${CDC_SETTINGS:-}"
      echo "== pair $pair: $side ($bin)" >&2
      t0=$(now)
      /usr/bin/time -f "%U %S" -o "$WORK/cpu" "$bin" run --config "$WORK/$side-$pair.toml" \
        --once 2>"$WORK/$side-$pair.log" || { cat "$WORK/$side-$pair.log" >&2; exit 1; }
      t1=$(now)
      echo "$pair $side $t0 $t1 $(cat "$WORK/cpu")" >>"$WORK/pairs"
    done
  done
  python3 - "$WORK/pairs" "$EVENTS" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    pair, side, t0, t1, user, system = line.split()
    runs.setdefault(side, []).append((float(t1) - float(t0), float(user) + float(system)))
events = int(sys.argv[2])
for i, (old, new) in enumerate(zip(runs["old"], runs["new"]), 1):
    print(f"pair {i}: wall {old[0]:.2f} s -> {new[0]:.2f} s ({new[0] / old[0]:.2f}x), "
          f"cpu {old[1]:.2f} s -> {new[1]:.2f} s ({new[1] / old[1]:.2f}x)")
for what, k in (("wall", 0), ("cpu", 1)):
    o = statistics.median(r[k] for r in runs["old"])
    n = statistics.median(r[k] for r in runs["new"])
    print(f"median {what}: old {o:.2f} s ({events / o:,.0f} events/s), "
          f"new {n:.2f} s ({events / n:,.0f} events/s), new/old {n / o:.3f}")
PY
  exit 0
fi

# The exact message values and keys, from the same serializer via the file sink.
echo "== pre-serializing the messages for kcat" >&2
cat >"$WORK/file.toml" <<EOF
[cdc]
wal_path = "$WORK/wal"
database = "bench"
checkpoint_dir = "$WORK/ckpt-file"
enable_metrics = false
batch_size = 1000
[sink]
type = "file"
[sink.file]
path = "$WORK/events.jsonl"
EOF
"$BIN" run --config "$WORK/file.toml" --once 2>/dev/null
python3 - "$WORK/events.jsonl" "$WORK/kcat.txt" <<'EOF'
import base64, json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        key = base64.b64decode(json.loads(line)["key"]).decode()
        assert "\t" not in key and "\n" not in key
        out.write(key + "\t" + line)
EOF
N=$(wc -l <"$WORK/kcat.txt")

# One throughput set, each run to its own fresh topic, wall time and CPU time
# (user+sys) of the process; the machine may be shared, so CPU seconds per
# event is the steadier figure:
#   heliosdb-cdc  WAL -> Kafka with the daemon's defaults ([cdc] batch_size
#                 100, buffer_size 10000, checkpoint_interval 1000) unless
#                 CDC_SETTINGS adds [cdc] lines;
#   kcat          file -> Kafka, the same messages and every librdkafka
#                 property the daemon sets (compression, idempotence, batch
#                 size, linger, queue bytes, partitioner): the target's
#                 baseline;
#   kcat bounded  the same plus queue.buffering.max.messages=10000, i.e. no
#                 more messages in flight than the daemon's buffer_size
#                 allows it (librdkafka's default is 100,000; a short queue
#                 keeps the messages in the CPU caches and makes both
#                 faster).
run_set() {  # label headers(true|false) order(0|1|2)
  local label="$1" headers="$2" order="$3" tc="bench-cdc-$1-$ID" tk="bench-kcat-$1-$ID"
  local tb="bench-kcatb-$1-$ID"
  for t in "$tc" "$tk" "$tb"; do
    "$KAFKA" create-topic "$t" "$PARTITIONS" retention.ms=3600000 >&2
  done
  write_config "$WORK/cdc-$label.toml" "$WORK/wal" "$WORK/ckpt-$label" "$tc" \
    "${CDC_SETTINGS:-}"
  echo "headers = $headers" >>"$WORK/cdc-$label.toml"
  # kcat: the same keys and values; with headers, five headers of the same
  # names and sizes (kcat can only repeat one value per header).
  local hdr=()
  if [[ "$headers" == true ]]; then
    hdr=(-H operation=UPDATE -H database=bench -H table=payments -H sequence=1234567
         -H event_id=evt_bench_1234567)
  fi
  local kcat_args=(-P -b "$BROKERS" -K $'\t' "${hdr[@]}" -z snappy
    -X enable.idempotence=true -X batch.size=1048576 -X linger.ms=5
    -X queue.buffering.max.kbytes=262144 -X partitioner=murmur2_random)
  local t0 t1 t2 t3 t4 t5
  run_cdc() {
    echo "== [$label] heliosdb-cdc: WAL -> Kafka ($N events)" >&2
    t0=$(now)
    /usr/bin/time -f "%U %S" -o "$WORK/cpu-cdc-$label" \
      "$BIN" run --config "$WORK/cdc-$label.toml" --once 2>"$WORK/cdc-$label.log" \
      || { cat "$WORK/cdc-$label.log" >&2; exit 1; }
    t1=$(now)
  }
  run_kcat() {
    echo "== [$label] kcat: the same $N pre-serialized messages" >&2
    t2=$(now)
    /usr/bin/time -f "%U %S" -o "$WORK/cpu-kcat-$label" \
      kcat "${kcat_args[@]}" -t "$tk" -l "$WORK/kcat.txt"
    t3=$(now)
  }
  run_kcatb() {
    echo "== [$label] kcat bounded: the same, at most 10000 messages queued" >&2
    t4=$(now)
    /usr/bin/time -f "%U %S" -o "$WORK/cpu-kcatb-$label" \
      kcat "${kcat_args[@]}" -X queue.buffering.max.messages=10000 -t "$tb" -l "$WORK/kcat.txt"
    t5=$(now)
  }
  # Each run starts from the same state: the previous runs' dirty pages
  # written back (sync) and the new topics' leaders settled. The order
  # rotates from set to set, so that no contender always runs first (right
  # after the topics were created and the previous set was read back).
  local runs=(run_cdc run_kcat run_kcatb) i
  for ((i = 0; i < 3; i++)); do
    sync
    sleep 1
    "${runs[$(((i + order) % 3))]}"
  done
  local c_cdc c_kcat c_kcatb
  c_cdc=$(kcat -b "$BROKERS" -C -t "$tc" -e -q -f 'x\n' | wc -l)
  c_kcat=$(kcat -b "$BROKERS" -C -t "$tk" -e -q -f 'x\n' | wc -l)
  c_kcatb=$(kcat -b "$BROKERS" -C -t "$tb" -e -q -f 'x\n' | wc -l)
  python3 - "$label" "$N" "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$c_cdc" "$c_kcat" "$c_kcatb" \
    "$(cat "$WORK/cpu-cdc-$label")" "$(cat "$WORK/cpu-kcat-$label")" \
    "$(cat "$WORK/cpu-kcatb-$label")" <<'PY'
import sys
label, n = sys.argv[1], int(sys.argv[2])
t = list(map(float, sys.argv[3:9]))
counts = list(map(int, sys.argv[9:12]))
cpu = [sum(map(float, a.split())) for a in sys.argv[12:15]]
wall = [t[1] - t[0], t[3] - t[2], t[5] - t[4]]
rate = [n / w for w in wall]
names = ["heliosdb-cdc", "kcat", "kcat bounded"]
print(f"[{label}] throughput: " + ", ".join(
    f"{nm} {r:,.0f} events/s ({w:.2f} s wall, {c:.2f} s CPU = {c / n * 1e6:.2f} us/event)"
    for nm, r, w, c in zip(names, rate, wall, cpu)))
print(f"[{label}] ratio: {rate[0] / rate[1]:.2f}x kcat, {rate[0] / rate[2]:.2f}x kcat bounded "
      f"(wall); CPU efficiency {cpu[1] / cpu[0]:.2f}x, {cpu[2] / cpu[0]:.2f}x")
print(f"[{label}] messages in topics: " +
      ", ".join(f"{nm} {c}" for nm, c in zip(names, counts)) + f" (expected {n})")
PY
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= ${ROUNDS:-1}; round++)); do
  run_set "headers-$round" true $(((round - 1) % 3))
  run_set "noheaders-$round" false $(((round - 1) % 3))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== latency at $LAT_RATE events/s for $LAT_SECONDS s" >&2
# The phases above leave ~2 GB of dirty page cache (WAL, JSON lines, topic
# logs) that the kernel writes back during the latency run, unless LAT_SYNC=1
# flushes it first. Before checkpoints moved to their own thread, the
# daemon's checkpoint fsyncs waited behind that writeback and stalled
# producing (p99 28-77 ms instead of ~8); the default measures with the
# writeback going on, as a busy production host would.
if [[ "${LAT_SYNC:-0}" == 1 ]]; then sync; fi
# Metrics on (the production default): the daemon's own
# heliosdb_cdc_event_latency_seconds histogram is WAL timestamp -> delivery
# report (acknowledgement), the figure the target is about.
write_config "$WORK/lat.toml" "$WORK/wal-lat" "$WORK/ckpt-lat" "$T_LAT" \
  "batch_size = 100
poll_interval_ms = 1"
sed -i 's/^enable_metrics = false$/enable_metrics = true/' "$WORK/lat.toml"
printf '\n[metrics]\nlisten = "127.0.0.1:%s"\n' "$METRICS_PORT" >>"$WORK/lat.toml"
scrape() {  # file: the event latency histogram as cumulative "le count" lines
  python3 - "$METRICS_PORT" >"$1" <<'PY'
import re, sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
for m in re.finditer(r'^heliosdb_cdc_event_latency_seconds_bucket\{[^}]*le="([^"]+)"\} (\S+)$',
                     body, re.M):
    print(m.group(1), m.group(2))
PY
}
mkdir -p "$WORK/wal-lat"
"$BIN" wal generate --dir "$WORK/wal-lat" --database bench --events 1 --tables users \
  --txn-size 1 --abort-ratio 0 >/dev/null 2>&1
"$BIN" run --config "$WORK/lat.toml" 2>"$WORK/lat.log" &
DAEMON=$!
sleep 1
# The generator paces in 1 ms ticks: each entry is stamped as it is appended,
# and each tick's entries reach the file with one write() (src/wal/generator.cc).
"$BIN" wal generate --dir "$WORK/wal-lat" --database bench --events $((LAT_RATE * LAT_SECONDS)) \
  --rate "$LAT_RATE" --tables users,orders,payments --txn-size 1 --abort-ratio 0 \
  --value-bytes "$VALUE_BYTES" --seed 2 >/dev/null 2>&1 &
GEN=$!
# The histogram after the warm-up (the first 10 %) is subtracted at the end.
sleep "$(python3 -c "print($LAT_SECONDS / 10)")"
scrape "$WORK/hist-warm"
wait "$GEN"
GEN=
sleep 2
scrape "$WORK/hist-end"
kill -TERM "$DAEMON"
wait "$DAEMON" || { cat "$WORK/lat.log" >&2; exit 1; }
DAEMON=
kcat -b "$BROKERS" -C -t "$T_LAT" -e -q -f '%T\t%s\n' >"$WORK/lat.txt"
python3 - "$WORK/hist-warm" "$WORK/hist-end" "$LAT_RATE" <<'EOF'
import sys
read = lambda path: {float(k): float(v) for k, v in (l.split() for l in open(path))}
warm, end = read(sys.argv[1]), read(sys.argv[2])
cum = [(le, end[le] - warm.get(le, 0.0)) for le in sorted(end)]
total = cum[-1][1]
def bound(p):  # the smallest bucket bound below which at least p of the events are
    le = next(le for le, c in cum if c >= p * total)
    return f"<= {le * 1000:g} ms" if le != float("inf") else "> 60 s"
within = dict(cum).get(0.025, 0.0) / total
print(f"latency at {sys.argv[3]} events/s (WAL append -> delivery report, the daemon's "
      f"histogram, {total:.0f} events after warm-up): p50 {bound(0.5)}, p99 {bound(0.99)}, "
      f"p99.9 {bound(0.999)}; {within * 100:.2f} % within 25 ms")
EOF
python3 - "$WORK/lat.txt" "$LAT_RATE" <<'EOF'
import json, sys
lat = []
with open(sys.argv[1]) as f:
    for line in f:
        broker_ts, value = line.rstrip("\n").split("\t", 1)
        event = json.loads(value)
        lat.append((event["sequence"], int(broker_ts) - event["timestamp"]))
# Drop the first 10 % in WAL order (connection and JIT warm-up). The consumer
# reads partition after partition, so the order it prints is not time order.
lat.sort()
lat = sorted(l for _, l in lat[len(lat) // 10:])
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"latency at {sys.argv[2]} events/s (WAL append -> broker append, ms, {len(lat)} events): "
      f"p50 {q(0.5)}  p99 {q(0.99)}  p99.9 {q(0.999)}  max {lat[-1]}")
EOF
