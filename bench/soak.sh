#!/usr/bin/env bash
# Soak test: a live WAL writer at a steady rate, the daemon to Kafka, and
# faults on a schedule, sampled every second and drawn as a picture.
#
#   bench/soak.sh [BUILD_DIR]              # 30 minutes (not in CI)
#   SOAK_PROFILE=short bench/soak.sh       # the 2-minute variant CI runs
#
# Environment (defaults in brackets):
#   SOAK_PROFILE [full]   full: one fault every 2 min from 1.5 min on, the
#                         kinds in turn (daemon kill -9; broker kill -9 and
#                         restart; broker SIGSTOP for 30 s; the path to the
#                         broker stalled for 30 s); short: 120 s with one
#                         fault of each kind (stalls of 10 s)
#   SOAK_SECONDS [1800 full, 120 short]   seconds of live writing
#   SOAK_RATE [2000]      changes per second written to the WAL
#   SOAK_OUT [bench/results/soak-<profile>]   where the results go
#   SOAK_KAFKA_PORT [19192]  the soak's own broker (and +1 controller, +2
#                         SASL); the stall proxy listens on +3 and is what the
#                         broker advertises, so every client goes through it
#   SOAK_METRICS_PORT [19564]
#
# The soak runs its own broker (own data directory and ports, the jars of
# scripts/services/kafka.sh shared), so it never disturbs the test suite's.
#
# Results in SOAK_OUT: samples.csv (per second: RSS, end-to-end lag, the
# daemon's lag gauge, events/s and duplicates/s reaching a consumer),
# faults.csv, summary.txt, soak.png, and the daemon's, writer's and
# consumer's logs. Exit 1 when a committed change is missing, the RSS rises
# above twice its first-minute median, the lag is not back under 5 s within
# 60 s of a fault's end, or the daemon exits other than by our kill -9 or
# ends a final SIGTERM with other than 0 (bench/soak.py has the details).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
BIN="$BUILD/heliosdb-cdc"
PROFILE="${SOAK_PROFILE:-full}"
case "$PROFILE" in
  full) SECONDS_DEFAULT=1800 ;;
  short) SECONDS_DEFAULT=120 ;;
  *) echo "SOAK_PROFILE must be full or short, not '$PROFILE'" >&2; exit 2 ;;
esac
DURATION="${SOAK_SECONDS:-$SECONDS_DEFAULT}"
RATE="${SOAK_RATE:-2000}"
OUT="${SOAK_OUT:-$ROOT/bench/results/soak-$PROFILE}"
PORT="${SOAK_KAFKA_PORT:-19192}"
METRICS_PORT="${SOAK_METRICS_PORT:-19564}"
KAFKA_SH="$ROOT/scripts/services/kafka.sh"

[[ -x "$BIN" ]] || { echo "soak.sh: build heliosdb-cdc first: $BIN not found" >&2; exit 2; }
for tool in kcat python3 gnuplot java; do
  command -v "$tool" >/dev/null || { echo "soak.sh: $tool not found (scripts/install-deps.sh)" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/heliosdb-soak.XXXXXX")"
rm -rf "$OUT"
mkdir -p "$OUT"

# The soak's broker: its own home, data and ports, the suite's jars.
"$KAFKA_SH" install >&2
export KAFKA_HOME="$WORK/kafka"
export KAFKA_PORT="$PORT" KAFKA_CONTROLLER_PORT=$((PORT + 1)) KAFKA_SASL_PORT=$((PORT + 2))
export KAFKA_ADVERTISED_PORT=$((PORT + 3))
export KAFKA_HEAP="-Xms256m -Xmx512m"
mkdir -p "$KAFKA_HOME"
ln -s "$ROOT/.cache/kafka/libs" "$KAFKA_HOME/libs"

PROXY=
cleanup() {
  [[ -n "$PROXY" ]] && kill "$PROXY" 2>/dev/null || true
  if [[ -f "$KAFKA_HOME/broker.pid" ]]; then
    kill -CONT "$(cat "$KAFKA_HOME/broker.pid")" 2>/dev/null || true
  fi
  "$KAFKA_SH" kill >/dev/null 2>&1 || true
  [[ -f "$KAFKA_HOME/logs/server.log" ]] && cp "$KAFKA_HOME/logs/server.log" "$OUT/broker.log"
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 "$ROOT/bench/stall_proxy.py" "$KAFKA_ADVERTISED_PORT" "$KAFKA_PORT" >"$OUT/proxy.log" 2>&1 &
PROXY=$!
"$KAFKA_SH" start >&2
TOPIC="soak-$(date +%s)"
"$KAFKA_SH" create-topic "$TOPIC" 3 >/dev/null

status=0
python3 "$ROOT/bench/soak.py" --bin "$BIN" --work "$WORK" --out "$OUT" \
  --brokers "127.0.0.1:$KAFKA_ADVERTISED_PORT" --topic "$TOPIC" \
  --kafka-script "$KAFKA_SH" --broker-pidfile "$KAFKA_HOME/broker.pid" --proxy-pid "$PROXY" \
  --metrics-port "$METRICS_PORT" --duration "$DURATION" --rate "$RATE" --profile "$PROFILE" \
  || status=$?

# The picture: four panels over time, the faults shaded and named.
if [[ -s "$OUT/samples.csv" ]]; then
  xmax="$(awk -F, 'END { print int($1) + 1 }' "$OUT/samples.csv")"
  objects="$(awk -F, 'NR > 1 { n++; printf "set object %d rect from %s, graph 0 to %s, graph 1 fc rgb \"#f4c7c3\" fs solid 0.6 noborder behind\n", n, $2, ($3 - $2 < 3 ? $2 + 3 : $3);
                               printf "set label %d \"%s\" at %s, graph 0.92 font \",7\" rotate by 90 right\n", n, $1, $2 }' "$OUT/faults.csv")"
  gnuplot <<EOF
set terminal pngcairo size 1400,1100 font ",10" noenhanced
set output "$OUT/soak.png"
set datafile separator ","
set key top right
set grid
set xrange [0:$xmax]
set lmargin 12
set xlabel "seconds since start"
$objects
set multiplot layout 4,1 title "heliosdb-cdc soak: $DURATION s at $RATE changes/s, faults shaded"
set ylabel "RSS (MB)"
plot "$OUT/samples.csv" using 1:2 with lines lw 1.5 title "daemon RSS"
set ylabel "lag (s)"
plot "$OUT/samples.csv" using 1:3 with lines lw 1.5 title "end-to-end lag", \
     "" using 1:4 with lines lw 1 title "daemon lag gauge", 5 with lines dt 2 lc rgb "red" title "5 s"
set ylabel "events/s"
plot "$OUT/samples.csv" using 1:5 with lines lw 1 title "distinct events/s at the consumer"
set ylabel "duplicates/s"
plot "$OUT/samples.csv" using 1:6 with impulses lw 2 title "redelivered events/s"
unset multiplot
EOF
  echo "soak.sh: picture in $OUT/soak.png, samples in $OUT/samples.csv, summary in $OUT/summary.txt" >&2
fi
exit "$status"
