#include "serde/serializer_factory.h"

#include <unistd.h>

#include "common/redact.h"
#include "serde/avro_serializer.h"
#include "serde/schema_registry_client.h"

namespace heliosdb::cdc {

SchemaRegistrySettings parse_schema_registry_section(config::ConfigSection& s) {
  SchemaRegistrySettings r;
  r.url = s.get_string("url", "");
  if (!r.url.empty()) {
    std::string_view u = r.url;
    if (!(u.starts_with("http://") || u.starts_with("https://")) || u.size() <= 8) {
      s.error("url", "\"" + redact_url(r.url) + "\" is not an http:// or https:// URL");
    }
  }
  r.username = s.get_string("username", "");
  r.password = s.get_string("password", "", config::Secret::kYes);
  if (!r.username.empty() && r.password.empty()) {
    s.error("username", "is set but password is not (HTTP basic auth needs both)");
  } else if (r.username.empty() && !r.password.empty()) {
    s.error("password", "is set but username is not (HTTP basic auth needs both)");
  }
  r.ca_file = s.get_string("ca_file", "");
  if (!r.ca_file.empty() && ::access(r.ca_file.c_str(), R_OK) != 0) {
    s.error("ca_file", "cannot read " + r.ca_file);
  }
  r.subject_strategy = s.get_string("subject_strategy", "topic_name", config::Secret::kNo,
                                    {"topic_name", "record_name", "topic_record_name"});
  r.max_retries = static_cast<int>(s.get_int("max_retries", 8, 0, 1000));
  r.retry_backoff_ms = s.get_int("retry_backoff_ms", 250, 1, 600000);
  r.retry_backoff_max_ms = s.get_int("retry_backoff_max_ms", 5000, 1, 3600000);
  if (r.retry_backoff_max_ms < r.retry_backoff_ms) {
    s.error("retry_backoff_max_ms", "must be at least retry_backoff_ms");
  }
  r.connect_timeout_ms = s.get_int("connect_timeout_ms", 5000, 1, 600000);
  r.request_timeout_ms = s.get_int("request_timeout_ms", 10000, 1, 600000);
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
    return Status(ErrorCode::kConfig,
                  "format = \"avro\" writes the Confluent wire format, which needs a schema "
                  "registry: set url in [schema_registry]");
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
