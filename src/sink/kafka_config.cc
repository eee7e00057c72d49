#include "sink/kafka_config.h"

#include <algorithm>

#include "common/redact.h"
#include "serde/serializer_factory.h"
#include "sink/kafka_options.h"
#include "sink/kafka_topic.h"
#include "sink/sink_registry.h"

namespace heliosdb::cdc::kafka {

namespace {

// librdkafka properties that a named [sink.kafka] option already sets.
constexpr std::pair<std::string_view, std::string_view> kNamedProperties[] = {
    {"bootstrap.servers", "brokers"},
    {"metadata.broker.list", "brokers"},
    {"compression.codec", "compression"},
    {"compression.type", "compression"},
    {"batch.size", "batch_size"},
    {"enable.idempotence", "enable_idempotence"},
    {"dr_cb", "(internal)"},
    {"dr_msg_cb", "(internal)"},
    {"error_cb", "(internal)"},
    {"opaque", "(internal)"},
};

Status set(rd_kafka_conf_t* conf, std::string_view key, const std::string& value,
           std::string_view option_name) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, std::string(key).c_str(), value.c_str(), errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK) {
    return invalid_argument(std::string(option_name) + ": " + printable_error(key, value, errstr));
  }
  return Status::ok();
}

}  // namespace

std::string printable_error(std::string_view property, std::string_view value,
                            std::string_view error) {
  std::string out = redact_urls_in(error);
  return is_sensitive_setting(property) ? scrub(out, value) : out;
}

std::optional<std::string_view> named_option_for(std::string_view property) {
  for (const auto& [prop, name] : kNamedProperties) {
    if (prop == property) return name;
  }
  return std::nullopt;
}

Status validate_options(const KafkaOptions& o) {
  // The rules of kafka_options.cc, worded for the library (the builder field).
  return options::library_error(option_problems(o));
}

std::optional<std::string> property_or_default(const KafkaOptions& o, std::string_view property) {
  auto it = o.properties.find(std::string(property));
  if (it != o.properties.end()) return it->second;
  for (const auto& [key, value] : kDefaultProperties) {
    if (key == property) return std::string(value);
  }
  return std::nullopt;
}

Result<ConfPtr> build_producer_conf(const KafkaOptions& o) {
  HELIOSDB_RETURN_IF_ERROR(validate_options(o));
  ConfPtr conf(rd_kafka_conf_new());
  for (const auto& [key, value] : kDefaultProperties) {
    if (o.properties.count(std::string(key))) continue;
    HELIOSDB_RETURN_IF_ERROR(set(conf.get(), key, std::string(value), key));
  }
  HELIOSDB_RETURN_IF_ERROR(set(conf.get(), "bootstrap.servers", o.brokers, "brokers"));
  HELIOSDB_RETURN_IF_ERROR(set(conf.get(), "compression.codec", o.compression, "compression"));
  HELIOSDB_RETURN_IF_ERROR(
      set(conf.get(), "batch.size", std::to_string(o.batch_size), "batch_size"));
  HELIOSDB_RETURN_IF_ERROR(set(conf.get(), "enable.idempotence",
                               o.enable_idempotence ? "true" : "false", "enable_idempotence"));
  for (const auto& [key, value] : o.properties) {
    HELIOSDB_RETURN_IF_ERROR(set(conf.get(), key, value, "properties." + key));
  }
  return conf;
}

}  // namespace heliosdb::cdc::kafka

namespace heliosdb::cdc {

SinkType kafka_sink_type() {
  return {"kafka", "Apache Kafka topics via librdkafka; acknowledged by delivery reports",
          [](config::ConfigSection& s, const SinkSettings& settings) -> SinkCreator {
            // Keys, defaults and limits from the table KafkaConnector::create
            // checks too (kafka_options.cc).
            const options::Table& t = kafka::kafka_option_table();
            KafkaOptions o;
            o.brokers = s.get_string(t.at("brokers"));
            o.topic = s.get_string(t.at("topic"));
            o.format = parse_format(s.get_string(t.at("format"))).value_or(o.format);
            // Avro needs [schema_registry] url: say so in `config check`, not at run time.
            if (Status st = validate_serde_settings(o.format, settings.serde); !st.is_ok()) {
              s.error("format", st.message());
            }
            o.compression = s.get_string(t.at("compression"));
            o.batch_size = s.get_int(t.at("batch_size"));
            o.enable_idempotence = s.get_bool(t.at("enable_idempotence"));
            o.headers = s.get_bool(t.at("headers"));
            o.on_message_too_large = s.get_string(t.at("on_message_too_large")) == "skip"
                                         ? MessageTooLargePolicy::kSkip
                                         : MessageTooLargePolicy::kStop;
            o.startup_timeout = std::chrono::milliseconds(s.get_int(t.at("startup_timeout_ms")));
            o.check_topic = s.get_bool(t.at("check_topic"));
            o.properties = s.get_string_map("properties");
            // The library's rules on the named options, at their lines (the
            // properties are checked one by one below, with their own lines).
            options::Problems problems = kafka::option_problems(o);
            for (const auto& p : problems.list()) {
              if (p.option != "properties") s.error(p.option, p.message);
            }

            // Check every passthrough property against librdkafka now, so
            // `config check` reports a misspelt property with its line.
            const toml::table* props = nullptr;
            if (const toml::node* n = s.raw("properties")) props = n->as_table();
            kafka::ConfPtr probe(rd_kafka_conf_new());
            for (const auto& [key, value] : o.properties) {
              const toml::node* node = props ? props->get(key) : nullptr;
              std::string full = s.full_key("properties") + "." + key;
              // A duplicate of a named option: the library's rule (kafka_options.cc).
              std::string message = kafka::named_property_problem(key, kafka::Path::kConfigFile);
              if (message.empty()) {
                char errstr[512];
                if (rd_kafka_conf_set(probe.get(), key.c_str(), value.c_str(), errstr,
                                      sizeof errstr) != RD_KAFKA_CONF_OK) {
                  message = "librdkafka rejects it: " + kafka::printable_error(key, value, errstr);
                }
              }
              if (message.empty()) continue;
              if (node) {
                s.error_at(*node, full, message);
              } else {
                s.error("properties", key + " " + message);
              }
            }

            SerdeSettings serde = settings.serde;
            return [o, serde]() mutable -> Result<std::unique_ptr<EventSink>> {
              if (!o.serializer) {
                auto ser = make_serializer(o.format, serde);
                if (!ser) return ser.status().with_context("sink.kafka.format");
                o.serializer = std::shared_ptr<EventSerializer>(std::move(ser).value());
              }
              auto k = KafkaConnector::create(std::move(o));
              if (!k) return k.status();
              return std::unique_ptr<EventSink>(std::move(k).value());
            };
          }};
}

}  // namespace heliosdb::cdc
