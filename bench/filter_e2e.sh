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
#             all the filter work, the same events as `none` (each line 24
#             bytes longer: the added metadata)
#   keepall5_nometa  the same rules without the transform: exactly the bytes
#             of `none`, so the difference is the rule evaluation alone
# Throughput = WAL changes read per second of wall time and per CPU second
# (user+sys of the heliosdb-cdc process), medians of the runs.
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

python3 - "$BIN" "$WORK" "$CHANGES" "$REPS" <<'PY'
import os, resource, shutil, statistics, subprocess, sys, time
binary, work, changes, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
configs = ["none", "filter5", "keepall5", "keepall5_nometa"]
runs = {c: [] for c in configs}
for rep in range(reps):
    for cfg in configs:  # alternate, so load changes hit every configuration alike
        shutil.rmtree(f"{work}/ckpt", ignore_errors=True)
        if os.path.exists(f"{work}/out.jsonl"):
            os.remove(f"{work}/out.jsonl")
        os.sync()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        subprocess.run([binary, "run", "--once", "--config", f"{work}/{cfg}.toml"], check=True,
                       stderr=subprocess.DEVNULL)
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        with open(f"{work}/out.jsonl", "rb") as f:
            lines = sum(1 for _ in f)
        runs[cfg].append((wall, cpu, lines))
base_wall = statistics.median(r[0] for r in runs["none"])
base_cpu = statistics.median(r[1] for r in runs["none"])
print(f"{'config':16} {'runs':>4} {'wall s':>7} {'changes/s':>10} {'vs none':>8} "
      f"{'CPU s':>6} {'changes/CPU-s':>13} {'vs none':>8} {'delivered':>9}")
for cfg in configs:
    wall = statistics.median(r[0] for r in runs[cfg])
    cpu = statistics.median(r[1] for r in runs[cfg])
    print(f"{cfg:16} {len(runs[cfg]):>4} {wall:>7.3f} {changes/wall:>10.0f} {base_wall/wall:>8.1%} "
          f"{cpu:>6.3f} {changes/cpu:>13.0f} {base_cpu/cpu:>8.1%} {runs[cfg][0][2]:>9}")
print("(medians; throughput = WAL changes read per second; CPU = user+sys of the process)")
PY
