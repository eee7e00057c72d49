// The Kafka sink's encoder: a CdcEvent becomes a message value (the
// serializer's bytes, in a reused buffer), a key (the event key; none when
// empty) and five headers (operation, database, table, sequence, event_id).
// Inline: it runs once per event on the produce path.
#pragma once

#include <charconv>
#include <memory>
#include <string>
#include <string_view>

#include <librdkafka/rdkafka.h>

#include "heliosdb/cdc/event.h"
#include "heliosdb/cdc/serialization.h"

namespace heliosdb::cdc::kafka {

// The decimal text of an event's sequence, without allocating.
struct SequenceText {
  explicit SequenceText(uint64_t sequence) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, sequence);
    len = static_cast<size_t>(end - buf);
  }
  std::string_view view() const { return {buf, len}; }
  char buf[24];
  size_t len = 0;
};

class KafkaEncoder {
 public:
  void init(std::shared_ptr<EventSerializer> serializer, bool headers) {
    serializer_ = std::move(serializer);
    headers_ = headers;
  }
  EventSerializer& serializer() { return *serializer_; }

  // Serializes `event` for `topic` into value(); the buffer is reused (no
  // allocation per event once warmed up).
  Status encode_value(const CdcEvent& event, std::string_view topic) {
    value_.clear();
    Status st = serializer_->serialize(event, topic, value_);
    if (!st.is_ok()) return st.with_context("kafka: serializing " + event.event_id);
    return st;
  }
  const std::string& value() const { return value_; }

  // The headers, in one list sized for exactly five entries (librdkafka owns
  // it once produced); nullptr when headers are off.
  rd_kafka_headers_t* headers(const CdcEvent& ev, std::string_view sequence) const {
    if (!headers_) return nullptr;
    std::string_view op = operation_name(ev.operation);
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(5);
    rd_kafka_header_add(hdrs, "operation", 9, op.data(), static_cast<ssize_t>(op.size()));
    rd_kafka_header_add(hdrs, "database", 8, ev.database.data(),
                        static_cast<ssize_t>(ev.database.size()));
    rd_kafka_header_add(hdrs, "table", 5, ev.table.data(), static_cast<ssize_t>(ev.table.size()));
    rd_kafka_header_add(hdrs, "sequence", 8, sequence.data(),
                        static_cast<ssize_t>(sequence.size()));
    rd_kafka_header_add(hdrs, "event_id", 8, ev.event_id.data(),
                        static_cast<ssize_t>(ev.event_id.size()));
    return hdrs;
  }

 private:
  std::shared_ptr<EventSerializer> serializer_;
  bool headers_ = true;
  std::string value_;
};

}  // namespace heliosdb::cdc::kafka
