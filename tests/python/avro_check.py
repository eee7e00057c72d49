#!/usr/bin/python3
"""Independent check of HeliosDB CDC's Avro output with Apache Avro's Python
implementation (Debian python3-avro).

The schema below is copied from the product README (the seed), not from the
C++ code, so the C++ encoder is checked against the promise, not against
itself. Every decoded record is printed in a plain text form that the C++
tests build from their CdcEvents (tests/unit/avro_check_util.h):

    record
    event_id=<hex of UTF-8>
    timestamp=<decimal>
    sequence=<decimal>
    operation=<hex>
    database=<hex>
    table=<hex>
    key=<hex>
    value=null | <hex>
    old_value=null | <hex>
    transaction_id=null | <hex>
    metadata=<count>
     <hex key>=<hex value>     (sorted by key)

Usage:
  avro_check.py schema FILE      FILE holds a schema's JSON: print "schema ok"
                                 if it is the seed's CdcEvent schema
  avro_check.py datums FILE      FILE holds back-to-back Avro datums
  avro_check.py framed FILE      FILE holds messages, each preceded by a 4-byte
                                 big-endian length: Confluent wire format
                                 (magic 0, 4-byte id); prints "schema_id=N"
                                 before each record
  avro_check.py container FILE   an Avro object container file, read with
                                 avro.datafile.DataFileReader; prints
                                 "codec=..." and "schema_matches_seed=..." first
Exit status 0 on success; decoding errors raise (non-zero exit, traceback).
"""
import io
import json
import struct
import sys

import avro.datafile
import avro.io
import avro.schema

SEED_SCHEMA = json.loads("""
{ "type": "record", "name": "CdcEvent", "namespace": "heliosdb.cdc", "fields": [
  {"name": "event_id", "type": "string"},
  {"name": "timestamp", "type": "long"},
  {"name": "sequence", "type": "long"},
  {"name": "operation", "type": "string"},
  {"name": "database", "type": "string"},
  {"name": "table", "type": "string"},
  {"name": "key", "type": "bytes"},
  {"name": "value", "type": ["null", "bytes"]},
  {"name": "old_value", "type": ["null", "bytes"]},
  {"name": "transaction_id", "type": ["null", "string"]},
  {"name": "metadata", "type": {"type": "map", "values": "string"}}
]}
""")
SCHEMA = avro.schema.parse(json.dumps(SEED_SCHEMA))


def hexs(value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    return value.hex()


def opt(value):
    return "null" if value is None else hexs(value)


def render(rec):
    lines = [
        "record",
        "event_id=" + hexs(rec["event_id"]),
        "timestamp=%d" % rec["timestamp"],
        "sequence=%d" % rec["sequence"],
        "operation=" + hexs(rec["operation"]),
        "database=" + hexs(rec["database"]),
        "table=" + hexs(rec["table"]),
        "key=" + hexs(rec["key"]),
        "value=" + opt(rec["value"]),
        "old_value=" + opt(rec["old_value"]),
        "transaction_id=" + opt(rec["transaction_id"]),
        "metadata=%d" % len(rec["metadata"]),
    ]
    for k in sorted(rec["metadata"], key=lambda s: s.encode("utf-8")):
        lines.append(" %s=%s" % (hexs(k), hexs(rec["metadata"][k])))
    return "\n".join(lines)


def decode_datum(data):
    buf = io.BytesIO(data)
    rec = avro.io.DatumReader(SCHEMA, SCHEMA).read(avro.io.BinaryDecoder(buf))
    return rec, buf.tell()


def main():
    mode, path = sys.argv[1], sys.argv[2]
    data = open(path, "rb").read()
    out = []
    if mode == "schema":
        ours = avro.schema.parse(data.decode("utf-8"))
        if ours != SCHEMA or ours.to_json() != SCHEMA.to_json():
            sys.exit("schema differs from the seed's:\n%s" % data.decode("utf-8"))
        out.append("schema ok")
    elif mode == "datums":
        buf = io.BytesIO(data)
        reader = avro.io.DatumReader(SCHEMA, SCHEMA)
        decoder = avro.io.BinaryDecoder(buf)
        while buf.tell() < len(data):
            out.append(render(reader.read(decoder)))
        if buf.tell() != len(data):
            sys.exit("decoder read past the end: %d of %d bytes" % (buf.tell(), len(data)))
    elif mode == "framed":
        pos = 0
        while pos < len(data):
            (size,) = struct.unpack(">I", data[pos:pos + 4])
            msg = data[pos + 4:pos + 4 + size]
            pos += 4 + size
            if len(msg) < 5 or msg[0] != 0:
                sys.exit("message does not start with magic byte 0: %r" % msg[:5])
            (schema_id,) = struct.unpack(">i", msg[1:5])
            rec, used = decode_datum(msg[5:])
            if used != len(msg) - 5:
                sys.exit("message has %d bytes after the record" % (len(msg) - 5 - used))
            out.append("schema_id=%d" % schema_id)
            out.append(render(rec))
    elif mode == "container":
        with open(path, "rb") as f:
            reader = avro.datafile.DataFileReader(f, avro.io.DatumReader(None, SCHEMA))
            codec = reader.get_meta("avro.codec")
            out.append("codec=" + (codec.decode() if codec else "null"))
            writer_schema = avro.schema.parse(reader.get_meta("avro.schema").decode("utf-8"))
            out.append("schema_matches_seed=%d" % (writer_schema == SCHEMA))
            for rec in reader:
                out.append(render(rec))
            reader.close()
    else:
        sys.exit("unknown mode " + mode)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
