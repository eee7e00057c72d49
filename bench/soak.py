#!/usr/bin/env python3
"""Soak test: a live WAL writer, the daemon to Kafka, faults on a schedule.

Run through bench/soak.sh, which starts the soak's own broker and proxy; see
its header for the whole picture. This script:

  * keeps `heliosdb-cdc wal generate --follow` appending at --rate changes/s;
  * supervises `heliosdb-cdc run` like a service manager would (restarted 1 s
    after it dies, whatever killed it; exits other than our kill -9 are
    reported);
  * consumes the topic with kcat from the start, counting each change
    (by its WAL sequence) and every repeat;
  * injects the faults of the schedule (daemon kill -9, broker kill -9 and
    restart, broker SIGSTOP, a stalled path to the broker);
  * samples, every second: the daemon's RSS, the end-to-end lag, events/s
    and duplicates/s reaching the consumer, the daemon's own lag gauge;
  * at the end stops the writer, waits for the consumer to have every
    committed change, stops the daemon with SIGTERM, and checks.

End-to-end lag: the time since the newest WAL timestamp the consumer has
seen (while the writer writes, the WAL's head is "now"; after it stopped, its
stop time). It needs no daemon, so it is measured across a daemon kill too.

It fails (exit 1) when a committed change never reaches the topic, when the
RSS rises above twice its first-minute median, when the end-to-end lag is not
back under 5 s within 60 s of a fault's end, or when the daemon exits on its
own or a final SIGTERM does not end it with 0.
"""
import argparse
import collections
import csv
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

RECOVERY_LAG_S = 5.0
RECOVERY_WINDOW_S = 60.0
RSS_FACTOR = 2.0

# (offset s, kind, length s) of the 2-minute variant run in CI.
SHORT_SCHEDULE = [(20, "daemon_kill", 0), (35, "broker_stop", 10), (60, "sink_stall", 10),
                  (85, "broker_kill", 0)]
FULL_KINDS = ["daemon_kill", "broker_kill", "broker_stop", "sink_stall"]


def schedule(duration, profile):
    if profile == "short":
        return [f for f in SHORT_SCHEDULE if f[0] + f[2] + RECOVERY_WINDOW_S <= duration + 60]
    # One fault every 2 minutes from 1.5 min on, the kinds in turn; stalls
    # last 30 s. The last fault ends at least a recovery window before the end.
    faults, t, i = [], 90, 0
    while t + 30 + RECOVERY_WINDOW_S <= duration:
        kind = FULL_KINDS[i % len(FULL_KINDS)]
        faults.append((t, kind, 30 if kind in ("broker_stop", "sink_stall") else 0))
        t += 120
        i += 1
    return faults


def log(msg):
    print(f"soak: {msg}", flush=True)


class Consumer:
    """kcat from the beginning of the topic; counts changes by WAL sequence.

    A message is identified by its partition and offset, so reading one again
    (kcat restarted) is not a redelivery; the same WAL sequence at another
    offset is one.
    """

    LINE = re.compile(rb'^(\d+) (\d+) \{"event_id":"[^"]*","timestamp":(\d+),"sequence":(\d+),')

    def __init__(self, brokers, topic, log_path):
        self.brokers, self.topic = brokers, topic
        self.log = open(log_path, "ab")
        self.lock = threading.Lock()
        self.seen = bytearray(1 << 20)  # times each sequence arrived (capped at 255)
        self.next_offset = collections.defaultdict(int)  # partition -> next unread offset
        self.unique = 0
        self.total = 0
        self.max_ts_ms = 0
        self.unparsed = 0
        self.restarts = 0
        self.stopping = False
        self.proc = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            # -E: go on through "all brokers down" (a broker restart) instead
            # of exiting; if kcat ends anyway, it is started again.
            self.proc = subprocess.Popen(
                ["kcat", "-C", "-E", "-b", self.brokers, "-t", self.topic, "-o", "beginning",
                 "-u", "-q", "-f", "%p %o %s\n"],
                stdout=subprocess.PIPE, stderr=self.log)
            for line in self.proc.stdout:
                self._count(line)
            self.proc.wait()
            if not self.stopping:
                self.restarts += 1
                log(f"the consumer (kcat) exited with {self.proc.returncode}; starting it again")
                time.sleep(1)

    def _count(self, line):
        m = self.LINE.match(line)
        if not m:
            self.unparsed += 1
            return
        part, offset = int(m.group(1)), int(m.group(2))
        ts, seq = int(m.group(3)), int(m.group(4))
        with self.lock:
            if offset < self.next_offset[part]:
                return  # read before kcat restarted
            self.next_offset[part] = offset + 1
            if seq >= len(self.seen):
                self.seen.extend(bytearray(max(seq + 1 - len(self.seen), len(self.seen))))
            n = self.seen[seq]
            if n == 0:
                self.unique += 1
            if n < 255:
                self.seen[seq] = n + 1
            self.total += 1
            if ts > self.max_ts_ms:
                self.max_ts_ms = ts

    def snapshot(self):
        with self.lock:
            return self.unique, self.total, self.max_ts_ms

    def has(self, seq):
        with self.lock:
            return seq < len(self.seen) and self.seen[seq] > 0

    def stop(self):
        self.stopping = True
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Daemon:
    """Runs `heliosdb-cdc run`, restarting it 1 s after it dies."""

    def __init__(self, binary, config, log_path):
        self.binary, self.config = binary, config
        self.log = open(log_path, "ab")
        self.proc = None
        self.expected_kill = False
        self.unexpected_exits = []  # (t, exit code)
        self.restarts = 0
        self.stopping = False
        self.lock = threading.Lock()
        self._start()
        self.thread = threading.Thread(target=self._supervise, daemon=True)
        self.thread.start()

    def _start(self):
        self.proc = subprocess.Popen([self.binary, "run", "--config", self.config],
                                     stdout=subprocess.DEVNULL, stderr=self.log)

    def _supervise(self):
        while True:
            proc = self.proc
            code = proc.wait()
            with self.lock:
                if self.stopping:
                    return
                if not self.expected_kill:
                    self.unexpected_exits.append((time.time(), code))
                    log(f"daemon exited on its own with {code}; restarting it")
                self.expected_kill = False
            time.sleep(1.0)
            with self.lock:
                if self.stopping:
                    return
                self._start()
                self.restarts += 1

    def kill9(self):
        with self.lock:
            self.expected_kill = True
            self.proc.send_signal(signal.SIGKILL)

    def pid(self):
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def running_since_restart(self, restarts_before):
        return self.restarts > restarts_before and self.pid() is not None

    def terminate(self, timeout):
        with self.lock:
            self.stopping = True
            proc = self.proc
        if proc.poll() is not None:
            return proc.returncode
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def daemon_lag(metrics_port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=0.5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("heliosdb_cdc_lag_seconds"):
                    return float(line.split()[-1])
    except Exception:  # the daemon is down or busy: no sample
        pass
    return None


def committed_changes(binary, wal_dir):
    """WAL sequences of the changes of committed transactions, with the newest timestamp."""
    proc = subprocess.Popen([binary, "wal", "dump", "--dir", wal_dir, "--format", "text"],
                            stdout=subprocess.PIPE)
    open_txns = collections.defaultdict(list)
    committed = []
    for line in proc.stdout:
        # "#<seq> <time> txn <id> <KIND> ..."
        parts = line.split(b" ", 5)
        if len(parts) < 5 or parts[2] != b"txn":
            continue
        seq, txn, kind = int(parts[0][1:]), parts[3], parts[4]
        if kind == b"BEGIN":
            open_txns[txn] = []
        elif kind == b"COMMIT":
            committed.extend(open_txns.pop(txn, []))
        elif kind in (b"ABORT", b"ROLLBACK"):
            open_txns.pop(txn, None)
        else:
            open_txns[txn].append(seq)
    if proc.wait() != 0:
        raise RuntimeError("wal dump failed")
    return committed


class Faults:
    def __init__(self, args, daemon):
        self.args, self.daemon = args, daemon
        self.env = dict(os.environ)

    def kafka(self, *cmd):
        subprocess.run([self.args.kafka_script, *cmd], check=True, env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def broker_pid(self):
        with open(self.args.broker_pidfile) as f:
            return int(f.read().strip())

    def run(self, kind, length):
        """Injects one fault; returns when it is over (the fault's end)."""
        if kind == "daemon_kill":
            before = self.daemon.restarts
            self.daemon.kill9()
            while not self.daemon.running_since_restart(before):
                time.sleep(0.05)
        elif kind == "broker_kill":
            self.kafka("kill")
            self.kafka("start")
        elif kind == "broker_stop":
            pid = self.broker_pid()
            os.kill(pid, signal.SIGSTOP)
            time.sleep(length)
            os.kill(pid, signal.SIGCONT)
        elif kind == "sink_stall":
            os.kill(self.args.proxy_pid, signal.SIGUSR1)
            time.sleep(length)
            os.kill(self.args.proxy_pid, signal.SIGUSR2)
        else:
            raise ValueError(kind)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True, help="directory for the WAL, checkpoints, logs")
    ap.add_argument("--out", required=True, help="directory for samples.csv, faults.csv, summary")
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--kafka-script", required=True)
    ap.add_argument("--broker-pidfile", required=True)
    ap.add_argument("--proxy-pid", type=int, required=True)
    ap.add_argument("--metrics-port", type=int, default=19564)
    ap.add_argument("--duration", type=int, default=1800, help="seconds of live writing")
    ap.add_argument("--rate", type=int, default=2000, help="changes per second")
    ap.add_argument("--profile", choices=["full", "short"], default="full")
    ap.add_argument("--drain-timeout", type=int, default=180)
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    wal_dir = os.path.join(args.work, "wal")
    config = os.path.join(args.work, "soak.toml")
    with open(config, "w") as f:
        f.write(f"""[cdc]
wal_path = "{wal_dir}"
database = "soak"
checkpoint_dir = "{os.path.join(args.work, 'checkpoints')}"

[metrics]
listen = "127.0.0.1:{args.metrics_port}"

[sink]
type = "kafka"

[sink.kafka]
brokers = "{args.brokers}"
topic = "{args.topic}"
""")
    plan = schedule(args.duration, args.profile)
    log(f"{args.duration} s at {args.rate} changes/s, {len(plan)} faults: "
        + ", ".join(f"{k}@{t}s" for t, k, _ in plan))

    writer = subprocess.Popen(
        [args.bin, "wal", "generate", "--dir", wal_dir, "--database", "soak", "--follow",
         "--rate", str(args.rate), "--sync", "interval", "--value-bytes", "64",
         "--abort-ratio", "0.05"],
        stdout=open(os.path.join(args.out, "writer.log"), "wb"), stderr=subprocess.STDOUT)
    time.sleep(0.5)  # the writer creates the WAL directory
    daemon = Daemon(args.bin, config, os.path.join(args.out, "daemon.log"))
    consumer = Consumer(args.brokers, args.topic, os.path.join(args.out, "kcat.log"))
    faults = Faults(args, daemon)

    t0 = time.time()
    fault_log = []  # (kind, start s, end s)
    state = {"writer_stopped_at": None, "done": False}
    samples = []

    def sampler():
        last_unique = last_total = 0
        next_t = t0 + 1
        while not state["done"]:
            time.sleep(max(0, next_t - time.time()))
            next_t += 1
            now = time.time()
            unique, total, max_ts = consumer.snapshot()
            head = state["writer_stopped_at"] or now
            lag = max(0.0, head - max_ts / 1000.0) if max_ts else None
            pid = daemon.pid()
            samples.append({
                "t": round(now - t0, 3),
                "rss_mb": rss_mb(pid) if pid else None,
                "lag_s": lag,
                "daemon_lag_s": daemon_lag(args.metrics_port) if pid else None,
                "events_per_s": unique - last_unique,
                "duplicates_per_s": (total - unique) - (last_total - last_unique),
            })
            last_unique, last_total = unique, total

    sampling = threading.Thread(target=sampler, daemon=True)
    sampling.start()

    for offset, kind, length in plan:
        time.sleep(max(0, t0 + offset - time.time()))
        start = time.time() - t0
        log(f"t={start:.0f}s fault {kind}" + (f" for {length} s" if length else ""))
        faults.run(kind, length)
        end = time.time() - t0
        fault_log.append((kind, start, end))
        log(f"t={end:.0f}s fault {kind} over")
    time.sleep(max(0, t0 + args.duration - time.time()))

    writer.send_signal(signal.SIGTERM)
    writer.wait(timeout=30)
    state["writer_stopped_at"] = time.time()
    log(f"t={time.time() - t0:.0f}s writer stopped; reading the WAL's committed changes")
    expected = committed_changes(args.bin, wal_dir)
    deadline = time.time() + args.drain_timeout
    missing = expected
    while time.time() < deadline:
        missing = [s for s in missing if not consumer.has(s)]
        if not missing:
            break
        time.sleep(1)
    drained_at = time.time() - t0
    time.sleep(2)  # a last sample with everything in
    state["done"] = True
    sampling.join()
    final_code = daemon.terminate(timeout=60)
    consumer.stop()

    # Write the samples and faults.
    with open(os.path.join(args.out, "samples.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(samples[0].keys()))
        w.writeheader()
        for s in samples:
            w.writerow({k: ("" if v is None else (f"{v:.3f}" if isinstance(v, float) else v))
                        for k, v in s.items()})
    with open(os.path.join(args.out, "faults.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kind", "start_s", "end_s"])
        for kind, start, end in fault_log:
            w.writerow([kind, f"{start:.3f}", f"{end:.3f}"])

    # Checks.
    failures = []
    unique, total, _ = consumer.snapshot()
    if missing:
        failures.append(f"{len(missing)} committed changes never reached the topic "
                        f"(first: {missing[:10]})")
    baseline_window = min(60.0, args.duration / 4)
    first = [s["rss_mb"] for s in samples if s["rss_mb"] is not None and s["t"] <= baseline_window]
    rss_peak = max((s["rss_mb"] for s in samples if s["rss_mb"] is not None), default=0)
    rss_base = statistics.median(first) if first else 0
    if rss_base and rss_peak > RSS_FACTOR * rss_base:
        failures.append(f"RSS peaked at {rss_peak:.1f} MB, above {RSS_FACTOR:g}x its "
                        f"first-{baseline_window:.0f}-s median {rss_base:.1f} MB")
    recoveries = []
    for i, (kind, start, end) in enumerate(fault_log):
        window_end = end + RECOVERY_WINDOW_S
        if i + 1 < len(fault_log):
            window_end = min(window_end, fault_log[i + 1][1])
        back = next((s["t"] for s in samples
                     if end <= s["t"] <= end + RECOVERY_WINDOW_S and s["lag_s"] is not None
                     and s["lag_s"] < RECOVERY_LAG_S), None)
        peak = max((s["lag_s"] for s in samples
                    if start <= s["t"] <= window_end and s["lag_s"] is not None),
                   default=0.0)
        recoveries.append((kind, start, end, back, peak))
        if back is None:
            failures.append(f"lag not under {RECOVERY_LAG_S:g} s within {RECOVERY_WINDOW_S:g} s "
                            f"of the end of {kind} at {end:.0f} s")
    for t, code in daemon.unexpected_exits:
        failures.append(f"the daemon exited on its own with {code} at {t - t0:.0f} s")
    if final_code != 0:
        failures.append(f"the final SIGTERM ended the daemon with {final_code}, not 0")

    steady = [s["lag_s"] for s in samples if s["lag_s"] is not None
              and not any(st <= s["t"] <= en + RECOVERY_WINDOW_S for _, st, en in fault_log)
              and s["t"] <= args.duration]
    lines = [
        f"duration: {args.duration} s of writing at {args.rate} changes/s; drained at "
        f"{drained_at:.0f} s",
        f"committed changes: {len(expected)}; delivered: {unique} distinct, {total} in all, "
        f"{total - unique} duplicates ({100.0 * (total - unique) / max(1, total):.3f} %), "
        f"{consumer.unparsed} unreadable; "
        f"missing: {len(missing)}",
        f"RSS: first-{baseline_window:.0f}-s median {rss_base:.1f} MB, peak {rss_peak:.1f} MB "
        f"({rss_peak / rss_base if rss_base else 0:.2f}x)",
        "end-to-end lag outside faults: median "
        f"{statistics.median(steady) if steady else 0:.3f} s, max {max(steady, default=0):.3f} s",
        f"daemon restarts: {daemon.restarts} (unexpected exits: {len(daemon.unexpected_exits)}); "
        f"final SIGTERM exit code: {final_code}; consumer restarts: {consumer.restarts}",
        "faults (kind, start s, end s, lag back under 5 s at s, peak lag s):",
    ]
    for kind, start, end, back, peak in recoveries:
        after = f"{back:.0f} (+{back - end:.0f} s)" if back is not None else "never"
        lines.append(f"  {kind:12} {start:7.0f} {end:7.0f}  {after:>14}  {peak:7.1f}")
    lines.append("result: " + ("PASS" if not failures else "FAIL"))
    lines.extend(f"  - {f}" for f in failures)
    summary = "\n".join(lines)
    with open(os.path.join(args.out, "summary.txt"), "w") as f:
        f.write(summary + "\n")
    print(summary, flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
