// The wall clock in milliseconds since the Unix epoch: event timestamps,
// checkpoint times, Kafka CreateTime and latency metrics all use it.
#pragma once

#include <chrono>
#include <cstdint>

namespace heliosdb::cdc {

inline int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace heliosdb::cdc
