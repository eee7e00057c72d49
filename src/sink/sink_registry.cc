#include "sink/sink_registry.h"

namespace heliosdb::cdc {

// Each sink module defines its SinkType next to its implementation.
SinkType file_sink_type();
SinkType stdout_sink_type();
SinkType kafka_sink_type();
SinkType kinesis_sink_type();

const std::vector<SinkType>& sink_types() {
  static const std::vector<SinkType> types = {
      kafka_sink_type(),
      kinesis_sink_type(),
      file_sink_type(),
      stdout_sink_type(),
  };
  return types;
}

const options::Table& sink_option_table() {
  static const options::Table table = [] {
    options::Table t;
    t.section = "sink";
    std::vector<std::string> names;
    std::vector<std::string> docs;
    for (const auto& type : sink_types()) {
      names.emplace_back(type.name);
      docs.emplace_back(type.description);
    }
    options::Option type = options::enum_option(
        "type", names.front(), names, "",
        "Where events go; its options live in `[sink.<type>]`. Sections of other sink types may "
        "be present; they are validated but not used.");
    type.allowed_docs = std::move(docs);
    t.options.push_back(std::move(type));
    return t;
  }();
  return table;
}

}  // namespace heliosdb::cdc
