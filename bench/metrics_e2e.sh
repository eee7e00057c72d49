#!/usr/bin/env bash
# Throughput with metrics on vs off, end to end: `heliosdb-cdc run --once`
# over one generated WAL to the file sink, alternating metrics off and on
# (the order flips every pair), many pairs in one run. Each run's rate is the
# daemon's own (its final "stopped: ... in S s (R events/s)" line: reading,
# delivery and the final checkpoint, without process start-up and exit).
#
#   bench/metrics_e2e.sh [BUILD_DIR] [EVENTS] [PAIRS]
#
# Prints every pair's on/off ratio and the medians. Output goes to tmpfs
# (/dev/shm) so the disk's varying speed stays out of the comparison.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
EVENTS="${2:-1000000}"
PAIRS="${3:-15}"
BIN="$BUILD/heliosdb-cdc"
[[ -x "$BIN" ]] || { echo "build heliosdb-cdc first: $BIN not found" >&2; exit 2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/metrics-e2e.XXXXXX")"
OUT="/dev/shm/heliosdb-cdc-metrics-e2e-$$.jsonl"
trap 'rm -rf "$WORK" "$OUT"' EXIT

"$BIN" wal generate --dir "$WORK/wal" --database bench --events "$EVENTS" \
  --tables users,orders,payments,inventory --txn-size 5 --abort-ratio 0.1 --value-bytes 200 \
  --sync never --seed 7 >&2

write_config() {  # file metrics(true|false)
  cat >"$1" <<CFG
[cdc]
wal_path = "$WORK/wal"
database = "bench"
checkpoint_dir = "$WORK/ckpt"
enable_metrics = $2

[metrics]
listen = "127.0.0.1:0"

[sink]
type = "file"

[sink.file]
path = "$OUT"
CFG
}
write_config "$WORK/off.toml" false
write_config "$WORK/on.toml" true

run() {  # config -> events/s
  rm -rf "$WORK/ckpt" "$OUT"
  "$BIN" run --config "$1" --once 2>&1 | sed -n 's/.*stopped: .* (\([0-9]*\) events\/s).*/\1/p'
}

run "$WORK/off.toml" >/dev/null  # warm the page cache
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
ratios=()
offs=()
ons=()
for ((i = 0; i < PAIRS; i++)); do
  if ((i % 2 == 0)); then
    off=$(run "$WORK/off.toml")
    on=$(run "$WORK/on.toml")
  else
    on=$(run "$WORK/on.toml")
    off=$(run "$WORK/off.toml")
  fi
  offs+=("$off")
  ons+=("$on")
  ratios+=("$(python3 -c "print(f'{$on / $off:.4f}')")")
  echo "pair $((i + 1)): off $off events/s, on $on events/s, on/off ${ratios[-1]}"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "${ratios[*]}" "${offs[*]}" "${ons[*]}" <<'PY'
import statistics, sys
ratios = [float(x) for x in sys.argv[1].split()]
offs = [float(x) for x in sys.argv[2].split()]
ons = [float(x) for x in sys.argv[3].split()]
print(f"median of {len(ratios)} pair ratios (on/off): {statistics.median(ratios):.3f} "
      f"(min {min(ratios):.3f}, max {max(ratios):.3f}); median rates: off "
      f"{statistics.median(offs):,.0f} events/s, on {statistics.median(ons):,.0f} events/s "
      f"(ratio of medians {statistics.median(ons) / statistics.median(offs):.3f})")
PY
