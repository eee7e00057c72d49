#!/usr/bin/env bash
# End-to-end throughput of `heliosdb-cdc run --once` (file sink) on one
# generated WAL, without a filter and with the 5-rule/one-regex filter of
# bench/filter_bench.cc, in the same run, alternating the configurations.
#
#   bench/filter_e2e.sh BUILD_DIR [CHANGES] [REPETITIONS]
#
# Configurations:
#   none      no [filter], no [[transforms]]
#   filter5   include users | orders | (database mydb and table_pattern user_.*),
#             exclude DELETE, exclude key_prefix "tmp:", + add_metadata
#             (drops the other tables and the deletes)
#   keepall5  5 rules with one regex that keep every event, + add_metadata:
#             all the filter work, the same events as `none` (each line ~35
#             bytes longer: the added metadata)
#   keepall5_nometa  the same rules without the transform: exactly the bytes
#             of `none`, so the difference is the rule evaluation alone
# Throughput = WAL changes read per second of wall time (median of the runs).
set -euo pipefail
BUILD_DIR=${1:?usage: $0 BUILD_DIR [CHANGES] [REPETITIONS]}
CHANGES=${2:-200000}
REPS=${3:-5}
BIN="$BUILD_DIR/heliosdb-cdc"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$BIN" wal generate --dir "$WORK/wal" --database mydb --events "$CHANGES" \
  --tables users,orders,user_profiles,user_sessions,logs,audit_trail,inventory,payments \
  --seed 5 --start-time-ms 1700000000000 >"$WORK/generate.txt"
cat "$WORK/generate.txt"

common() {
  cat <<TOML
[cdc]
wal_path = "$WORK/wal"
database = "mydb"
checkpoint_dir = "$WORK/ckpt"
enable_metrics = false
[sink]
type = "file"
[sink.file]
path = "$WORK/out.jsonl"
TOML
}

common >"$WORK/none.toml"
{ common; cat <<'TOML'
[[filter.rules]]
action = "include"
table = "users"
[[filter.rules]]
action = "include"
table = "orders"
[[filter.rules]]
action = "include"
database = "mydb"
table_pattern = "user_.*"
[[filter.rules]]
action = "exclude"
operations = ["DELETE"]
[[filter.rules]]
action = "exclude"
key_prefix = "tmp:"
[[transforms]]
type = "add_metadata"
key = "source"
value = "heliosdb-prod"
TOML
} >"$WORK/filter5.toml"
{ common; cat <<'TOML'
[[filter.rules]]
action = "include"
tables = ["users", "orders", "logs", "audit_trail", "inventory", "payments"]
[[filter.rules]]
action = "include"
table_pattern = "user_.*"
[[filter.rules]]
action = "include"
database = "mydb"
operations = ["TRUNCATE"]
[[filter.rules]]
action = "exclude"
key_prefix = "tmp:"
[[filter.rules]]
action = "exclude"
database = "otherdb"
[[transforms]]
type = "add_metadata"
key = "source"
value = "heliosdb-prod"
TOML
} >"$WORK/keepall5.toml"
sed '/^\[\[transforms\]\]/,$d' "$WORK/keepall5.toml" >"$WORK/keepall5_nometa.toml"

: >"$WORK/times.txt"
for rep in $(seq 1 "$REPS"); do
  for cfg in none filter5 keepall5 keepall5_nometa; do
    rm -rf "$WORK/ckpt" "$WORK/out.jsonl"
    sync
    start=$(date +%s%N)
    "$BIN" run --once --config "$WORK/$cfg.toml" 2>"$WORK/log.txt"
    end=$(date +%s%N)
    lines=$(wc -l <"$WORK/out.jsonl")
    echo "$cfg $rep $(( (end - start) / 1000 )) $lines" >>"$WORK/times.txt"
  done
done

python3 - "$WORK/times.txt" "$CHANGES" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    cfg, rep, us, lines = line.split()
    runs.setdefault(cfg, []).append((int(us), int(lines)))
changes = int(sys.argv[2])
base = statistics.median(us for us, _ in runs["none"])
print(f"{'config':16} {'runs':>4} {'median s':>9} {'min s':>7} {'changes/s':>10} "
      f"{'delivered':>10} {'vs none':>8}")
for cfg in ("none", "filter5", "keepall5", "keepall5_nometa"):
    times = [us for us, _ in runs[cfg]]
    med = statistics.median(times)
    print(f"{cfg:16} {len(times):>4} {med/1e6:>9.3f} {min(times)/1e6:>7.3f} "
          f"{changes/(med/1e6):>10.0f} {runs[cfg][0][1]:>10} {base/med:>8.1%}")
PY
