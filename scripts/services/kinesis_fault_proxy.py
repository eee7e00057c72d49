#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of kinesis-mock. TEST DOUBLE ONLY.

kinesis-mock neither throttles nor fails records, so the tests that need
ProvisionedThroughputExceededException partial failures, whole-call throttling
and 5xx answers send through this proxy (127.0.0.1:14569 by default), which
forwards every call to kinesis-mock's plain port and, on demand:

  * fails chosen entries of a PutRecords call the way Kinesis does: the
    entries are NOT forwarded (so they are not written) and the answer carries
    ErrorCode/ErrorMessage at their index, FailedRecordCount counts them;
  * answers whole PutRecords calls with HTTP 400
    ProvisionedThroughputExceededException (throttling) or HTTP 500
    InternalFailure / 503 ServiceUnavailable.

Control (JSON over HTTP on the same port, paths starting with /__):
  POST /__fault  {"fail_every": N,      fail every Nth entry (1-based count over all
                                        PutRecords entries seen while enabled), 0: off
                  "fail_calls": K,      partial failures on the next K PutRecords calls
                                        (-1: no limit)
                  "fail_key": "k",      always fail entries with this partition key
                  "fail_code": "...",   per-entry ErrorCode (default
                                        ProvisionedThroughputExceededException)
                  "throttle_calls": K,  answer the next K PutRecords calls with 400
                                        ProvisionedThroughputExceededException
                  "error_5xx_calls": K, answer the next K PutRecords calls with 500
                  "describe_error": "ResourceNotFoundException" | "" }
                 (fields absent keep their value)
  POST /__reset  all faults off, counters zero
  GET|POST /__stats  {"put_calls":..,"entries":..,"entries_failed":..,"calls_throttled":..,
                  "calls_5xx":..,"entries_forwarded":..}

Usage: kinesis_fault_proxy.py --port 14569 --upstream 127.0.0.1:14568
"""
import argparse
import http.client
import http.server
import json
import socketserver
import threading

LOCK = threading.Lock()
DEFAULTS = {
    "fail_every": 0,
    "fail_calls": 0,
    "fail_key": "",
    "fail_code": "ProvisionedThroughputExceededException",
    "throttle_calls": 0,
    "error_5xx_calls": 0,
    "describe_error": "",
}
FAULTS = dict(DEFAULTS)
STATS = {}
COUNTER = {"entries_seen": 0}


def reset_stats():
    STATS.clear()
    STATS.update(put_calls=0, entries=0, entries_failed=0, calls_throttled=0, calls_5xx=0,
                 entries_forwarded=0)
    COUNTER["entries_seen"] = 0


reset_stats()
UPSTREAM = ("127.0.0.1", 14568)
LOCAL = threading.local()


def upstream_call(headers, body):
    for attempt in range(2):
        conn = getattr(LOCAL, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(UPSTREAM[0], UPSTREAM[1], timeout=60)
            LOCAL.conn = conn
        try:
            conn.request("POST", "/", body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.getheader("Content-Type", "application/x-amz-json-1.1"), data
        except (http.client.HTTPException, OSError):
            LOCAL.conn = None
            conn.close()
            if attempt == 1:
                raise
    raise RuntimeError("unreachable")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def reply(self, status, body, ctype="application/x-amz-json-1.1"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/__stats":
            with LOCK:
                self.reply(200, dict(STATS), "application/json")
        else:
            self.reply(404, {"message": "unknown path"}, "application/json")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path == "/__stats":
            with LOCK:
                return self.reply(200, dict(STATS), "application/json")
        if self.path == "/__reset":
            with LOCK:
                FAULTS.clear()
                FAULTS.update(DEFAULTS)
                reset_stats()
            return self.reply(200, {"ok": True}, "application/json")
        if self.path == "/__fault":
            cfg = json.loads(body or b"{}")
            with LOCK:
                for k, v in cfg.items():
                    if k not in DEFAULTS:
                        return self.reply(400, {"message": "unknown fault " + k}, "application/json")
                    FAULTS[k] = v
            return self.reply(200, {"ok": True}, "application/json")
        target = self.headers.get("X-Amz-Target", "")
        fwd_headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "content-length", "connection")}
        if target.endswith(".DescribeStreamSummary"):
            with LOCK:
                err = FAULTS["describe_error"]
            if err:
                return self.reply(400, {"__type": err, "message": "injected by the fault proxy"})
        if target.endswith(".PutRecords"):
            return self.put_records(fwd_headers, body)
        status, ctype, data = upstream_call(fwd_headers, body)
        self.reply(status, data, ctype)

    def put_records(self, headers, body):
        req = json.loads(body)
        records = req.get("Records", [])
        with LOCK:
            STATS["put_calls"] += 1
            STATS["entries"] += len(records)
            if FAULTS["throttle_calls"] != 0:
                if FAULTS["throttle_calls"] > 0:
                    FAULTS["throttle_calls"] -= 1
                STATS["calls_throttled"] += 1
                return self.reply(400, {"__type": "ProvisionedThroughputExceededException",
                                        "message": "Rate exceeded for stream (injected)"})
            if FAULTS["error_5xx_calls"] != 0:
                if FAULTS["error_5xx_calls"] > 0:
                    FAULTS["error_5xx_calls"] -= 1
                STATS["calls_5xx"] += 1
                return self.reply(500, {"__type": "InternalFailure",
                                        "message": "injected server error"})
            fail = [False] * len(records)
            partial_on = FAULTS["fail_calls"] != 0
            for i, r in enumerate(records):
                if FAULTS["fail_key"] and r.get("PartitionKey") == FAULTS["fail_key"]:
                    fail[i] = True
                elif partial_on and FAULTS["fail_every"] > 0:
                    COUNTER["entries_seen"] += 1
                    if COUNTER["entries_seen"] % FAULTS["fail_every"] == 0:
                        fail[i] = True
            if partial_on and FAULTS["fail_calls"] > 0:
                FAULTS["fail_calls"] -= 1
            code = FAULTS["fail_code"]
        keep = [r for r, f in zip(records, fail) if not f]
        results = []
        if keep:
            fwd = dict(req)
            fwd["Records"] = keep
            status, ctype, data = upstream_call(headers, json.dumps(fwd).encode())
            if status != 200:
                return self.reply(status, data, ctype)
            upstream_results = json.loads(data)["Records"]
        else:
            upstream_results = []
        it = iter(upstream_results)
        failed = 0
        for f in fail:
            if f:
                failed += 1
                results.append({"ErrorCode": code,
                                "ErrorMessage": "Rate exceeded for shard (injected by the fault proxy)"})
            else:
                r = next(it)
                if "ErrorCode" in r:
                    failed += 1
                results.append(r)
        with LOCK:
            STATS["entries_failed"] += sum(fail)
            STATS["entries_forwarded"] += len(keep)
        self.reply(200, {"FailedRecordCount": failed, "Records": results})


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global UPSTREAM
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=14569)
    p.add_argument("--upstream", default="127.0.0.1:14568")
    a = p.parse_args()
    host, port = a.upstream.rsplit(":", 1)
    UPSTREAM = (host, int(port))
    Server(("127.0.0.1", a.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
