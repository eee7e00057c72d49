// Serialization of CdcEvents to bytes: JSON (the seed's JSON schema) and Avro
// (the seed's Avro schema, Confluent wire format when a schema registry is
// configured).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "heliosdb/cdc/event.h"
#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

enum class SerializationFormat { Json, Avro };

// "json" / "avro".
std::string_view format_name(SerializationFormat format);
// Accepts "json" and "avro" in any case.
std::optional<SerializationFormat> parse_format(std::string_view name);

// Turns events into message bytes. One instance is used by one thread.
class EventSerializer {
 public:
  virtual ~EventSerializer() = default;
  virtual SerializationFormat format() const = 0;
  // Appends the encoding of `event` to `out`. `topic` is the destination
  // (Kafka topic or Kinesis stream) and selects the schema-registry subject
  // for Avro; it is ignored by JSON.
  virtual Status serialize(const CdcEvent& event, std::string_view topic, std::string& out) = 0;
  // Gets ready to serialize for `topic` before the first event, so that a
  // problem shows at start rather than with the first change: Avro registers
  // the schema for the topic's subject (with the registry client's retries)
  // and returns its error. Sinks with a fixed topic call it from open().
  // Default (JSON): nothing to do.
  virtual Status prepare(std::string_view topic) { return Status::ok(); }
};

// The seed's JSON form of one event, compact, without a trailing newline:
// {"event_id":"evt_mydb_42","timestamp":1234567890000,"sequence":42,
//  "operation":"INSERT","database":"mydb","table":"users","key":"<base64>",
//  "value":"<base64>","old_value":null,"transaction_id":"txn_789",
//  "metadata":{"source":"heliosdb"}}
void append_event_json(const CdcEvent& event, std::string& out);
std::string event_to_json(const CdcEvent& event);

// A JSON serializer (stateless).
std::unique_ptr<EventSerializer> make_json_serializer();

}  // namespace heliosdb::cdc
