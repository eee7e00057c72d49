#!/usr/bin/env python3
"""Prints a summary of a JSON-lines file written by the file sink."""
import base64
import collections
import json
import sys


def main() -> None:
    path = sys.argv[1]
    elapsed = float(sys.argv[3]) - float(sys.argv[2]) if len(sys.argv) > 3 else 0.0
    by_op = collections.Counter()
    by_table = collections.Counter()
    txns = set()
    samples = []
    total = 0
    with open(path, "rb") as f:
        for line in f:
            event = json.loads(line)
            total += 1
            by_op[event["operation"]] += 1
            by_table[event["table"]] += 1
            txns.add(event["transaction_id"])
            if len(samples) < 3:
                samples.append(event)
    print(f"events delivered: {total} in {len(txns)} committed transactions")
    if elapsed > 0:
        print(f"wall time (including start-up): {elapsed:.2f} s, {total / elapsed:,.0f} events/s")
    print("by operation: " + ", ".join(f"{k} {v}" for k, v in sorted(by_op.items())))
    print("by table:     " + ", ".join(f"{k} {v}" for k, v in sorted(by_table.items())))
    print("sample events (value decoded from base64 for reading):")
    for event in samples:
        shown = dict(event)
        if shown.get("value"):
            shown["value"] = base64.b64decode(shown["value"]).decode("utf-8", "replace")[:60] + "..."
        if shown.get("old_value"):
            shown["old_value"] = base64.b64decode(shown["old_value"]).decode("utf-8", "replace")[:60] + "..."
        print("  " + json.dumps(shown))


if __name__ == "__main__":
    main()
