#include "serde/serializer_factory.h"

#include "common/redact.h"
#include "serde/avro_serializer.h"
#include "serde/schema_registry_client.h"
#include "serde/schema_registry_options.h"

namespace heliosdb::cdc {

SchemaRegistrySettings parse_schema_registry_section(config::ConfigSection& s) {
  // Keys, defaults, limits and secrets from schema_registry_options.cc.
  const options::Table& t = schema_registry_option_table();
  SchemaRegistrySettings r;
  r.url = s.get_string(t.at("url"));
  r.username = s.get_string(t.at("username"));
  r.password = s.get_string(t.at("password"));
  r.ca_file = s.get_string(t.at("ca_file"));
  r.subject_strategy = s.get_string(t.at("subject_strategy"));
  r.max_retries = static_cast<int>(s.get_int(t.at("max_retries")));
  r.retry_backoff_ms = s.get_int(t.at("retry_backoff_ms"));
  r.retry_backoff_max_ms = s.get_int(t.at("retry_backoff_max_ms"));
  r.connect_timeout_ms = s.get_int(t.at("connect_timeout_ms"));
  r.request_timeout_ms = s.get_int(t.at("request_timeout_ms"));
  r.from_config_file = true;
  s.report(schema_registry_problems(r));
  s.finish();
  return r;
}

Result<std::unique_ptr<SchemaRegistryClient>> make_schema_registry_client(
    const SchemaRegistrySettings& r) {
  SchemaRegistryOptions o;
  o.url = r.url;
  o.username = r.username;
  o.password = r.password;
  o.ca_file = r.ca_file;
  o.max_retries = r.max_retries;
  o.retry_backoff = std::chrono::milliseconds(r.retry_backoff_ms);
  o.retry_backoff_max = std::chrono::milliseconds(r.retry_backoff_max_ms);
  o.connect_timeout = std::chrono::milliseconds(r.connect_timeout_ms);
  o.request_timeout = std::chrono::milliseconds(r.request_timeout_ms);
  return SchemaRegistryClient::create(std::move(o));
}

Status validate_serde_settings(SerializationFormat format, const SerdeSettings& settings) {
  if (format == SerializationFormat::Json) return Status::ok();
  const SchemaRegistrySettings& r = settings.registry;
  if (r.url.empty()) {
    // Name what the user wrote: a key of the file, or the library's call.
    const std::string where = r.from_config_file
                                  ? "set url in [schema_registry]"
                                  : "set with " + schema_registry_option_table().at("url").call +
                                        " (in the config file: url in [schema_registry])";
    return Status(ErrorCode::kConfig,
                  "format = \"avro\" writes the Confluent wire format, which needs a schema "
                  "registry: " +
                      where);
  }
  if (!parse_subject_strategy(r.subject_strategy)) {
    return Status(ErrorCode::kConfig, "schema_registry.subject_strategy: \"" + r.subject_strategy +
                                          "\" is not one of: topic_name, record_name, "
                                          "topic_record_name");
  }
  return Status::ok();
}

Result<std::unique_ptr<EventSerializer>> make_serializer(SerializationFormat format,
                                                         const SerdeSettings& settings) {
  if (format == SerializationFormat::Json) return make_json_serializer();
  HELIOSDB_RETURN_IF_ERROR(validate_serde_settings(format, settings));
  const SchemaRegistrySettings& r = settings.registry;
  auto client = make_schema_registry_client(r);
  if (!client) return client.status().with_context("[schema_registry]");
  std::shared_ptr<SchemaIdProvider> ids(std::move(client).value());
  return std::unique_ptr<EventSerializer>(
      new AvroSerializer(std::move(ids), *parse_subject_strategy(r.subject_strategy)));
}

}  // namespace heliosdb::cdc
