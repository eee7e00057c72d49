// Builds runs of CdcEvents for sink and pipeline tests. The common skeleton
// (sequence, database, table rotation, event id, timestamp, key per i % keys)
// is here; each test shapes the rest (values, operations, odd keys) through
// `shape`, so its assertions keep seeing the events they were written for.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "heliosdb/cdc/event.h"

namespace heliosdb::cdc::testing {

struct EventSpec {
  size_t count = 1;
  uint64_t first_seq = 1;
  std::string database = "db";
  std::vector<std::string> tables = {"t"};  // event i goes to tables[i % size]
  size_t keys = 17;                         // event i has key key_prefix + (i % keys)
  std::string key_prefix = "key-";
  int64_t first_timestamp = 0;  // event i at first_timestamp + i; 0: leave unset
  std::function<void(size_t i, CdcEvent& e)> shape;  // per-test details, after the skeleton
};

inline std::vector<CdcEvent> make_events(const EventSpec& spec) {
  std::vector<CdcEvent> out(spec.count);
  for (size_t i = 0; i < spec.count; ++i) {
    CdcEvent& e = out[i];
    e.sequence = spec.first_seq + i;
    e.database = spec.database;
    e.table = spec.tables[i % spec.tables.size()];
    e.event_id = make_event_id(e.database, e.sequence);
    if (spec.first_timestamp != 0) e.timestamp = spec.first_timestamp + static_cast<int64_t>(i);
    e.key = spec.key_prefix + std::to_string(i % spec.keys);
    if (spec.shape) spec.shape(i, e);
  }
  return out;
}

// A PostgreSQL snapshot row: READ, no transaction_id, metadata.snapshot
// `mark` ("true", or "last" on a table's last row).
inline CdcEvent snapshot_read_event(const std::string& mark = "true") {
  CdcEvent e;
  e.event_id = "evt_x_snap_1_abc";
  e.timestamp = 1700000000000;
  e.sequence = 7;
  e.operation = OperationType::Read;
  e.database = "x";
  e.table = "public.users";
  e.key = R"({"id":1})";
  e.value = std::string(R"({"id":1,"name":"ann"})");
  e.metadata = {{"snapshot", mark}};
  return e;
}

}  // namespace heliosdb::cdc::testing
