// Chooses the serializer for a sink's `format` option.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "config/config_section.h"
#include "heliosdb/cdc/serialization.h"

namespace heliosdb::cdc {

// [schema_registry] of the config file (used by Avro with Kafka and Kinesis).
struct SchemaRegistrySettings {
  std::string url;  // empty: no registry configured
  std::string username;
  std::string password;  // secret
  std::string ca_file;
  std::string subject_strategy = "topic_name";  // topic_name | record_name | topic_record_name
};

struct SerdeSettings {
  SchemaRegistrySettings registry;
};

// Reads [schema_registry]; absent section -> empty url.
SchemaRegistrySettings parse_schema_registry_section(config::ConfigSection& section);

// Makes the serializer for `format`. Avro needs settings.registry.url for the
// Confluent wire format (Kafka, Kinesis); the file sink writes Avro container
// files through its own writer instead.
Result<std::unique_ptr<EventSerializer>> make_serializer(SerializationFormat format,
                                                         const SerdeSettings& settings);

}  // namespace heliosdb::cdc
