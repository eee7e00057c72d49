// The sink types the daemon knows, by the name used in [sink] type = "...".
//
// Each sink module contributes one SinkType: a function that reads its own
// config section ([sink.<name>]) and returns a creator. Parsing and creating
// are separate so `config check` validates without connecting anywhere.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/sink.h"
#include "options/config_section.h"
#include "options/option_table.h"
#include "serde/serializer_factory.h"

namespace heliosdb::cdc {

// What every sink may need besides its own section.
struct SinkSettings {
  std::string database;  // [cdc] database
  SerdeSettings serde;   // [schema_registry]
};

using SinkCreator = std::function<Result<std::unique_ptr<EventSink>>()>;

struct SinkType {
  std::string_view name;  // "kafka", "kinesis", "file", "stdout"
  // One line, shown by `config options sink`, `--help` and the [sink] table
  // of docs/configuration.md.
  std::string_view description;
  // Reads `section` ([sink.<name>]); records errors in its report. The
  // returned creator is only called if the whole config is valid.
  std::function<SinkCreator(config::ConfigSection& section, const SinkSettings& settings)> parse;
};

// All sink types, in the order shown to users.
const std::vector<SinkType>& sink_types();

// [sink]'s options: `type`, one of sink_types() (each value documented by
// its description).
const options::Table& sink_option_table();

}  // namespace heliosdb::cdc
