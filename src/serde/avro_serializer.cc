#include "serde/avro_serializer.h"

#include "serde/avro_encoder.h"
#include "serde/avro_schema.h"

namespace heliosdb::cdc {

std::optional<SubjectStrategy> parse_subject_strategy(std::string_view name) {
  if (name == "topic_name" || name == "TopicNameStrategy") return SubjectStrategy::kTopicName;
  if (name == "record_name" || name == "RecordNameStrategy") return SubjectStrategy::kRecordName;
  if (name == "topic_record_name" || name == "TopicRecordNameStrategy") {
    return SubjectStrategy::kTopicRecordName;
  }
  return std::nullopt;
}

std::string subject_for(SubjectStrategy strategy, std::string_view topic) {
  switch (strategy) {
    case SubjectStrategy::kTopicName:
      return std::string(topic) + "-value";
    case SubjectStrategy::kRecordName:
      return std::string(avro::kCdcEventFullName);
    case SubjectStrategy::kTopicRecordName:
      return std::string(topic) + "-" + std::string(avro::kCdcEventFullName);
  }
  return std::string(topic) + "-value";
}

void append_confluent_header(std::string& out, int32_t schema_id) {
  const uint32_t id = static_cast<uint32_t>(schema_id);
  const char header[5] = {0, static_cast<char>(id >> 24), static_cast<char>(id >> 16),
                          static_cast<char>(id >> 8), static_cast<char>(id)};
  out.append(header, sizeof header);
}

AvroSerializer::AvroSerializer(std::shared_ptr<SchemaIdProvider> ids, SubjectStrategy strategy)
    : ids_(std::move(ids)), strategy_(strategy) {}

Result<int32_t> AvroSerializer::schema_id_for(std::string_view topic) {
  if (last_id_ >= 0 && topic == last_topic_) return last_id_;
  std::string key(topic);
  auto it = topic_ids_.find(key);
  int32_t id;
  if (it != topic_ids_.end()) {
    id = it->second;
  } else {
    auto registered = ids_->schema_id(subject_for(strategy_, topic), avro::cdc_event_schema_json());
    if (!registered) return registered.status();
    id = *registered;
    topic_ids_.emplace(key, id);
  }
  last_topic_ = std::move(key);
  last_id_ = id;
  return id;
}

Status AvroSerializer::prepare(std::string_view topic) {
  auto id = schema_id_for(topic);
  return id.is_ok() ? Status::ok() : id.status();
}

Status AvroSerializer::serialize(const CdcEvent& event, std::string_view topic, std::string& out) {
  int32_t id = last_id_;
  if (id < 0 || topic != last_topic_) {
    auto found = schema_id_for(topic);
    if (!found) return found.status();
    id = *found;
  }
  const size_t old_size = out.size();
  out.resize(old_size + 5 + avro::max_encoded_size(event));
  char* p = out.data() + old_size;
  const uint32_t uid = static_cast<uint32_t>(id);
  p[0] = 0;
  p[1] = static_cast<char>(uid >> 24);
  p[2] = static_cast<char>(uid >> 16);
  p[3] = static_cast<char>(uid >> 8);
  p[4] = static_cast<char>(uid);
  char* end = avro::encode_event(event, p + 5);
  out.resize(static_cast<size_t>(end - out.data()));
  return Status::ok();
}

}  // namespace heliosdb::cdc
