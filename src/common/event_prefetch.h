// Prefetching a CdcEvent that another thread wrote (or will overwrite) on
// another core. With sinks that take batches on the sink thread (file,
// Kinesis), a batch slot the reader fills was last read there, so its lines
// are misses for the reader; asking for the next slot's lines while filling
// one overlaps them (~3 % CPU when the Kafka sink still worked this way,
// docs/performance.md; Kafka batches no longer cross threads). Hints only:
// nothing is read or written.
#pragma once

#include <string>

#include "heliosdb/cdc/event.h"

namespace heliosdb::cdc {

enum class PrefetchFor { kRead = 0, kWrite = 1 };

// The event's own cache lines (its fields and short inline strings).
template <PrefetchFor intent>
inline void prefetch_event_fields(const CdcEvent& event) {
  const char* p = reinterpret_cast<const char*>(&event);
  for (size_t off = 0; off < sizeof(CdcEvent); off += 64) {
    __builtin_prefetch(p + off, static_cast<int>(intent));
  }
}

// The heap buffers its strings point to (reads the fields: prefetch those
// first, an iteration earlier).
template <PrefetchFor intent>
inline void prefetch_event_buffers(const CdcEvent& event) {
  constexpr int rw = static_cast<int>(intent);
  __builtin_prefetch(event.event_id.data(), rw);
  __builtin_prefetch(event.key.data(), rw);
  for (const auto* v : {&event.value, &event.old_value}) {
    if (!*v) continue;
    const char* d = (*v)->data();
    for (size_t off = 0; off < (*v)->size(); off += 64) __builtin_prefetch(d + off, rw);
  }
}

}  // namespace heliosdb::cdc
