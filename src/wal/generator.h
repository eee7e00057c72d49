// A synthetic HeliosDB workload written into a WAL directory: what
// `heliosdb-cdc wal generate` runs, and what tests and benchmarks use to get a
// realistic WAL.
//
// The workload: transactions (BEGIN, changes, then COMMIT or ABORT) of
// inserts, updates carrying the previous row image as old_value, deletes
// carrying the deleted row as old_value (and, if asked, truncates), over
// tables whose rows are small JSON objects. Keys repeat: updates and deletes
// hit rows inserted earlier. The same options (and the same starting
// sequence) always produce the same entries; only timestamps come from the
// clock unless `start_time_ms` is set.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "heliosdb/cdc/status.h"
#include "heliosdb/cdc/wal.h"

namespace heliosdb::cdc::wal {

struct GeneratorOptions {
  std::string dir;  // WAL directory (created, or appended to)
  std::string database = "mydb";
  uint64_t events = 1000;  // change entries (INSERT/UPDATE/DELETE/TRUNCATE) to write
  std::vector<std::string> tables = {"users", "orders", "products"};
  uint32_t txn_size = 4;        // mean changes per transaction (1..2*txn_size-1)
  double abort_ratio = 0.1;     // share of transactions that end in ABORT
  double truncate_ratio = 0.0;  // share of changes that are TRUNCATE
  uint32_t value_bytes = 200;   // target size of a row value (JSON, padded)
  uint64_t seed = 1;
  double rate = 0;          // change entries per second; 0 = as fast as possible
  bool follow = false;      // keep appending after `events` until `stop` is set
  uint32_t interleave = 1;  // transactions open at the same time (1 = serial)
  uint64_t segment_bytes = 64ull * 1024 * 1024;
  WalSyncPolicy sync_policy = WalSyncPolicy::kInterval;
  std::optional<int64_t> start_time_ms;  // fixed clock: entry i gets start_time_ms + i
};

struct GeneratorSummary {
  uint64_t entries = 0;  // all entries written (BEGIN/COMMIT/ABORT included)
  uint64_t changes = 0;  // change entries written
  uint64_t txns_committed = 0;
  uint64_t txns_aborted = 0;
  uint64_t first_sequence = 0;  // 0 if nothing was written
  uint64_t last_sequence = 0;
  WalRecoveryInfo recovery;  // what opening the directory repaired
};

// Writes the workload. Stops after `events` changes (all transactions closed),
// or with `follow` when `*stop` becomes true. `on_entry` (optional) sees every
// appended entry with its sequence filled in, e.g. for tests.
Result<GeneratorSummary> generate_wal(const GeneratorOptions& options,
                                      const std::atomic<bool>* stop = nullptr,
                                      const std::function<void(const WalEntry&)>& on_entry = {});

// Validates options without writing anything ("" if fine, else the problem).
std::string validate_generator_options(const GeneratorOptions& options);

}  // namespace heliosdb::cdc::wal
