#include "sink/kafka_options.h"

#include <limits>

#include "sink/kafka_config.h"
#include "sink/kafka_topic.h"

namespace heliosdb::cdc::kafka {
namespace {

options::Table make_kafka_table() {
  const KafkaOptions d;
  options::Table t;
  t.section = "sink.kafka";
  auto& v = t.options;
  v.push_back(options::string_option("brokers", d.brokers, "KafkaOptions::brokers",
                                     "Bootstrap brokers, `host:port[,host:port...]`."));
  v.push_back(options::string_option(
      "topic", d.topic, "KafkaOptions::topic",
      R"(Topic name, or a template with `{database}` and `{table}`, e.g. `"cdc.{database}.{table}"`. Names must be 1–249 characters of `A-Za-z0-9._-`.)"));
  v.push_back(options::enum_option(
      "format", std::string(format_name(d.format)), {"json", "avro"}, "KafkaOptions::format",
      "Serialization: `avro` needs `[schema_registry] url` (see [avro.md](avro.md))."));
  v.push_back(options::enum_option("compression", d.compression,
                                   {"none", "gzip", "snappy", "lz4", "zstd"},
                                   "KafkaOptions::compression", "Compression codec of batches."));
  v.push_back(options::int_option("batch_size", d.batch_size, 1,
                                  std::numeric_limits<int32_t>::max(), "KafkaOptions::batch_size",
                                  "Largest message batch in bytes (librdkafka `batch.size`)."));
  v.push_back(options::bool_option(
      "enable_idempotence", d.enable_idempotence, "KafkaOptions::enable_idempotence",
      "Idempotent producer: librdkafka's retries never duplicate or reorder within a partition "
      "(needs `acks=all`, which it implies)."));
  v.push_back(options::bool_option(
      "headers", d.headers, "KafkaOptions::headers",
      "Add the headers `operation`, `database`, `table`, `sequence`, `event_id` to every "
      "message."));
  options::Option too_large = options::enum_option(
      "on_message_too_large",
      d.on_message_too_large == MessageTooLargePolicy::kSkip ? "skip" : "stop", {"stop", "skip"},
      "KafkaOptions::on_message_too_large", "A message larger than Kafka accepts:");
  too_large.allowed_docs = {
      "the daemon exits 1 naming the event; nothing after it is checkpointed",
      "log a warning with event id, sequence and size, and go on; that change is not in Kafka"};
  v.push_back(std::move(too_large));
  v.push_back(options::int_option(
      "startup_timeout_ms", d.startup_timeout.count(), 1, 600000, "KafkaOptions::startup_timeout",
      "How long start-up waits for the brokers' metadata before failing with `cannot reach "
      "Kafka brokers ...`."));
  v.push_back(options::bool_option(
      "check_topic", d.check_topic, "KafkaOptions::check_topic",
      "Check at start-up that a fixed `topic` exists (templated topics: on first use) and fail "
      "clearly if not."));
  v.push_back(options::table_option(
      "properties", "KafkaOptions::properties",
      "Any librdkafka producer property, passed through (see below); sensitive ones are "
      "redacted."));
  return t;
}

}  // namespace

const options::Table& kafka_option_table() {
  static const options::Table table = make_kafka_table();
  return table;
}

std::string named_property_problem(std::string_view property, Path path) {
  auto named = named_option_for(property);
  if (!named) return "";
  if (*named == "(internal)") return "is set by the Kafka sink itself and cannot be changed";
  if (path == Path::kConfigFile) {
    return "is set by the option '" + std::string(*named) + "' of [" +
           kafka_option_table().section + "]; use that instead";
  }
  return "is set by " + kafka_option_table().at(*named).call + "; use that instead";
}

options::Problems option_problems(const KafkaOptions& o) {
  options::Problems p(kafka_option_table());
  p.not_empty("brokers", o.brokers);
  if (auto topic = TopicTemplate::parse(o.topic); !topic) {
    p.add("topic", topic.status().message());
  }
  p.one_of("compression", o.compression);
  p.limit("batch_size", o.batch_size);
  p.limit("startup_timeout_ms", o.startup_timeout.count());
  for (const auto& [key, value] : o.properties) {
    if (std::string why = named_property_problem(key, Path::kLibrary); !why.empty()) {
      p.add("properties", "'" + key + "' " + why);
    }
  }
  return p;
}

}  // namespace heliosdb::cdc::kafka
