// Avro in the Confluent wire format, for Kafka and Kinesis:
//
//   byte 0     magic 0
//   bytes 1-4  schema id, big-endian, as assigned by the schema registry
//   bytes 5-   the event's Avro binary encoding (avro_encoder.h)
//
// The schema is registered once per subject (the registry client caches the
// id; this serializer also remembers the ids of the topics it has seen), so
// the hot path does no I/O. The subject follows the strategy:
//   topic_name         "<topic>-value"            (Confluent's default)
//   record_name        "heliosdb.cdc.CdcEvent"
//   topic_record_name  "<topic>-heliosdb.cdc.CdcEvent"
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "heliosdb/cdc/serialization.h"
#include "serde/schema_registry_client.h"

namespace heliosdb::cdc {

enum class SubjectStrategy { kTopicName, kRecordName, kTopicRecordName };

// "topic_name" | "record_name" | "topic_record_name" (Confluent's class
// names TopicNameStrategy, RecordNameStrategy, TopicRecordNameStrategy are
// accepted too).
std::optional<SubjectStrategy> parse_subject_strategy(std::string_view name);
// The registry subject for `topic` under `strategy`.
std::string subject_for(SubjectStrategy strategy, std::string_view topic);

// Appends the 5-byte Confluent header (magic 0, big-endian id).
void append_confluent_header(std::string& out, int32_t schema_id);

class AvroSerializer final : public EventSerializer {
 public:
  AvroSerializer(std::shared_ptr<SchemaIdProvider> ids, SubjectStrategy strategy);

  SerializationFormat format() const override { return SerializationFormat::Avro; }
  // The first event for a subject registers the schema (with the registry
  // client's retries); its errors are returned as they are (kUnavailable
  // when the registry cannot be reached, kFailedPrecondition on 409, ...).
  Status serialize(const CdcEvent& event, std::string_view topic, std::string& out) override;

  // Registers the schema for `topic`'s subject now (sinks call it from
  // open() for a fixed topic so a registry problem shows up at start).
  Status prepare(std::string_view topic) override;
  // The schema id for `topic`, registering on first use.
  Result<int32_t> schema_id_for(std::string_view topic);

 private:
  std::shared_ptr<SchemaIdProvider> ids_;
  SubjectStrategy strategy_;
  std::string last_topic_;
  int32_t last_id_ = -1;
  std::unordered_map<std::string, int32_t> topic_ids_;
};

}  // namespace heliosdb::cdc
