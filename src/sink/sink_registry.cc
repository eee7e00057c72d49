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

}  // namespace heliosdb::cdc
