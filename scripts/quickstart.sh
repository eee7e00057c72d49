#!/usr/bin/env bash
# The quickstart: build, generate a sample HeliosDB WAL (several tables, some
# aborted transactions, a second database), stream it through the pipeline to
# the file sink, and show what happened.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh

CLI=build/heliosdb-cdc
WORK=${QUICKSTART_DIR:-out/quickstart}
rm -rf "$WORK"
mkdir -p "$WORK"

echo
echo "== 1. Generating a sample WAL in $WORK/wal"
"$CLI" wal generate --dir "$WORK/wal" --database shop --events 200000 \
  --tables users,orders,payments,inventory --txn-size 5 --abort-ratio 0.1 \
  --value-bytes 200 --segment-bytes 16777216 --seed 42
# Another database in the same WAL: its changes must not reach our sink.
"$CLI" wal generate --dir "$WORK/wal" --database analytics --events 20000 \
  --tables pageviews --txn-size 10 --abort-ratio 0 --seed 7

cat > "$WORK/cdc.toml" <<TOML
[cdc]
wal_path = "$WORK/wal"
database = "shop"
checkpoint_dir = "$WORK/checkpoints"
enable_metrics = false

[sink]
type = "file"

[sink.file]
path = "$WORK/cdc-events.jsonl"
TOML

echo
echo "== 2. Streaming committed changes of database 'shop' to $WORK/cdc-events.jsonl"
start=$(date +%s.%N)
"$CLI" run --config "$WORK/cdc.toml" --once 2> "$WORK/run.log"
end=$(date +%s.%N)
cat "$WORK/run.log"

echo
echo "== 3. What happened"
python3 scripts/summarize_events.py "$WORK/cdc-events.jsonl" "$start" "$end"
aborted=$(grep -o "[0-9]* aborted changes dropped" "$WORK/run.log" | grep -o "^[0-9]*" || echo 0)
echo "changes of aborted transactions dropped: $aborted (and the 'analytics' database's changes were ignored)"
echo "checkpoint ($WORK/checkpoints/shop.checkpoint):"
sed 's/^/  /' "$WORK/checkpoints/shop.checkpoint"
echo
echo "A second run resends nothing (it resumes from the checkpoint):"
"$CLI" run --config "$WORK/cdc.toml" --once 2>&1 | grep -E "resuming|stopped" | sed 's/^/  /'
echo
echo "Output file: $WORK/cdc-events.jsonl"
echo "Try: $CLI wal dump --dir $WORK/wal --limit 5 ; $CLI config check $WORK/cdc.toml"
