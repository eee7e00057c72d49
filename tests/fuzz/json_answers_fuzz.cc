// libFuzzer target for the JSON reader (common/json_reader.h) and the parsers
// of the network answers built on it: the schema registry's REST answers and
// Kinesis' DescribeStreamSummary, PutRecords, GetRecords and error answers.
// The input is the answer's body, as it would come off the wire.
//
// Invariants checked: no crash or sanitizer report; a failed parse is a
// Status with a message; every string the reader returns survives a round trip
// through the project's JSON writer (common/json_text.h); PutRecords returns
// exactly one result per entry, and an entry without an error code has a
// sequence number.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/json_reader.h"
#include "common/json_text.h"
#include "serde/schema_registry_json.h"
#include "sink/kinesis_client.h"

using namespace heliosdb::cdc;

namespace {

void check_string_round_trip(const std::string& s) {
  std::string quoted;
  append_json_quoted(quoted, s);
  auto again = parse_json(quoted);
  if (!again.is_ok() || !again->is_string() || again->string() != s) __builtin_trap();
}

// Visits every value; returns how many were visited (bounded by the input).
size_t walk(const JsonValue& v) {
  size_t n = 1;
  switch (v.type()) {
    case JsonValue::Type::kString:
      check_string_round_trip(v.string());
      break;
    case JsonValue::Type::kNumber:
      (void)v.integer();
      break;
    case JsonValue::Type::kArray:
      for (const auto& item : v.array()) n += walk(item);
      break;
    case JsonValue::Type::kObject:
      for (const auto& [key, member] : v.object()) {
        check_string_round_trip(key);
        if (v.get(key) == nullptr) __builtin_trap();
        (void)v.get_string(key);
        (void)v.get_integer(key);
        n += walk(member);
      }
      break;
    default:
      break;
  }
  return n;
}

void check_status(const Status& st) {
  if (st.is_ok() || st.message().empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);

  size_t records = 1;
  auto parsed = parse_json(body);
  if (parsed.is_ok()) {
    if (walk(*parsed) > size) __builtin_trap();  // every value takes at least one byte
    if (const JsonValue* r = parsed->get("Records"); r && r->is_array()) {
      records = r->array().size();
    }
  } else {
    check_status(parsed.status());
  }

  (void)schema_registry::parse_registry_answer(body);

  for (long http_status : {400L, 403L, 500L}) {
    check_status(kinesis::classify_error("PutRecords", http_status, body));
  }

  if (auto summary = kinesis::parse_stream_summary_answer(body); !summary.is_ok()) {
    check_status(summary.status());
  }

  for (size_t entries : {records, records + 1}) {
    auto put = kinesis::parse_put_records_answer(body, entries);
    if (!put.is_ok()) {
      check_status(put.status());
      continue;
    }
    if (put->size() != entries) __builtin_trap();
    for (const auto& r : *put) {
      if (r.ok != r.error_code.empty()) __builtin_trap();
      if (r.ok && r.sequence_number.empty()) __builtin_trap();
    }
  }

  if (auto got = kinesis::parse_get_records_answer(body); !got.is_ok()) {
    check_status(got.status());
  }
  return 0;
}
