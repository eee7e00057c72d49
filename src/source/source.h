// ChangeSource: where raw changes come from, with a position.
//
// The pipeline reads entries (BEGIN, changes, COMMIT/ABORT) in log order
// from a ChangeSource and never touches the WAL directly, so other sources
// (a PostgreSQL logical-replication source is planned) plug in without
// changing the processor. Positions are the source's sequence numbers:
// strictly increasing, and a source can be reopened at any position it
// still holds.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "heliosdb/cdc/status.h"
#include "heliosdb/cdc/wal.h"

namespace heliosdb::cdc {

class ChangeSource {
 public:
  virtual ~ChangeSource() = default;

  // The next entry in log order. Views in `entry` stay valid until the next
  // call. kEndOfLog: nothing more for now (call wait_for_data, then again).
  virtual Result<WalReadStatus> next(WalEntry& entry) = 0;
  // Blocks until more entries may be available or `timeout` passes.
  virtual void wait_for_data(std::chrono::milliseconds timeout) = 0;
  // Position of the last entry returned (0 before the first).
  virtual uint64_t last_position() const = 0;
  // A second, independent reader of the same source starting at `position`
  // (used to stream a large transaction again at its commit).
  virtual Result<std::unique_ptr<ChangeSource>> open_at(uint64_t position) const = 0;
  // For messages: "WAL /var/lib/heliosdb/wal".
  virtual std::string description() const = 0;
};

// A source reading a HeliosDB WAL directory from `start_sequence` (0: the
// oldest entry present).
Result<std::unique_ptr<ChangeSource>> open_wal_source(const std::string& dir,
                                                      uint64_t start_sequence);

}  // namespace heliosdb::cdc
