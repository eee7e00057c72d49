// Chooses the serializer for a sink's `format` option.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "heliosdb/cdc/serialization.h"
#include "options/config_section.h"
#include "serde/schema_registry_client.h"

namespace heliosdb::cdc {

// [schema_registry] of the config file (used by Avro with Kafka and Kinesis).
struct SchemaRegistrySettings {
  // The registry client's defaults (one place for them).
  static const SchemaRegistryOptions& client_defaults() {
    static const SchemaRegistryOptions defaults;
    return defaults;
  }
  std::string url;  // empty: no registry configured
  std::string username;
  std::string password;  // secret
  std::string ca_file;
  std::string subject_strategy = "topic_name";  // topic_name | record_name | topic_record_name
  // Registration retries when the registry is unreachable or answers
  // 408/429/5xx: waits retry_backoff_ms, doubling up to retry_backoff_max_ms,
  // at most max_retries times; then a clear error (docs/avro.md). The
  // defaults are the registry client's own (SchemaRegistryOptions).
  int max_retries = client_defaults().max_retries;
  int64_t retry_backoff_ms = client_defaults().retry_backoff.count();
  int64_t retry_backoff_max_ms = client_defaults().retry_backoff_max.count();
  int64_t connect_timeout_ms = client_defaults().connect_timeout.count();
  int64_t request_timeout_ms = client_defaults().request_timeout.count();
  // Read from [schema_registry] (parse_schema_registry_section): errors name
  // its keys. Otherwise (the library) they name the builder calls.
  bool from_config_file = false;
};

struct SerdeSettings {
  SchemaRegistrySettings registry;
};

// Reads [schema_registry] and finishes the section (unknown keys are errors);
// absent section -> empty url.
SchemaRegistrySettings parse_schema_registry_section(config::ConfigSection& section);

// Makes the serializer for `format`. Avro needs settings.registry.url for the
// Confluent wire format (Kafka, Kinesis); the file sink writes Avro container
// files through its own writer instead.
Result<std::unique_ptr<EventSerializer>> make_serializer(SerializationFormat format,
                                                         const SerdeSettings& settings);

// Checks, without I/O, that `format` can be made with `settings` (Avro needs
// a registry url and a known subject strategy). Sinks call it while parsing
// their section so `config check` reports the problem:
//   if (Status st = validate_serde_settings(o.format, settings.serde); !st.is_ok())
//     s.error("format", st.message());
Status validate_serde_settings(SerializationFormat format, const SerdeSettings& settings);

class SchemaRegistryClient;
// A registry client for these settings (no network I/O until first use).
Result<std::unique_ptr<SchemaRegistryClient>> make_schema_registry_client(
    const SchemaRegistrySettings& settings);

}  // namespace heliosdb::cdc
