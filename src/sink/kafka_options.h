// [sink.kafka]: the Kafka sink's options (KafkaOptions, heliosdb/cdc/kafka.h),
// declared once. The TOML reader (kafka_sink_type()), KafkaConnector::create
// (through validate_options), `config options sink.kafka` and the table of
// docs/configuration.md all read this table; defaults come from a
// default-constructed KafkaOptions.
#pragma once

#include <string>
#include <string_view>

#include "heliosdb/cdc/kafka.h"
#include "options/option_table.h"

namespace heliosdb::cdc::kafka {

const options::Table& kafka_option_table();

// Why passthrough `property` may not be set, or "" if it may. The config
// file's wording names the key ("is set by the option 'compression' of
// [sink.kafka]; use that instead"), the library's the field
// ("is set by KafkaOptions::compression; use that instead").
enum class Path { kConfigFile, kLibrary };
std::string named_property_problem(std::string_view property, Path path);

// Every rule the named options of `o` break (not the passthrough
// properties, which librdkafka checks), in table order.
options::Problems option_problems(const KafkaOptions& o);

}  // namespace heliosdb::cdc::kafka
