// The HeliosDB WAL source: reads a WAL directory, assembles its interleaved
// transactions (txn_assembler.h) and hands committed ones to the pipeline
// through the source seam (source.h). Only this module knows the WAL.
//
// WalEntryReader is the entry-level reader underneath: entries (BEGIN,
// changes, COMMIT/ABORT) in log order, with sequence numbers that are
// strictly increasing; a reader can be reopened at any sequence the WAL
// still holds (the assembler does, to stream a large transaction at its
// commit).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "heliosdb/cdc/status.h"
#include "heliosdb/cdc/wal.h"
#include "source/position.h"
#include "source/source.h"
#include "source/wal_position.h"
#include "source/wal_source_factory.h"

namespace heliosdb::cdc {

class WalEntryReader {
 public:
  virtual ~WalEntryReader() = default;

  // The next entry in log order. Views in `entry` stay valid until the next
  // call. kEndOfLog: nothing more for now (call wait_for_data, then again).
  virtual Result<WalReadStatus> next(WalEntry& entry) = 0;
  // Blocks until more entries may be available or `timeout` passes.
  virtual void wait_for_data(std::chrono::milliseconds timeout) = 0;
  // Sequence of the last entry returned (0 before the first).
  virtual uint64_t last_position() const = 0;
  // A second, independent reader of the same WAL starting at `position`.
  virtual Result<std::unique_ptr<WalEntryReader>> open_at(uint64_t position) const = 0;
  // For messages: "WAL /var/lib/heliosdb/wal".
  virtual std::string description() const = 0;
};

// The codec for the WAL in `dir`, with the directory's identity (none if it
// has no identity file yet; see read_wal_identity).
Result<std::unique_ptr<SourcePositionCodec>> open_wal_position_codec(const std::string& dir);

// A reader of the HeliosDB WAL directory `dir` from `start_sequence` (0:
// the oldest entry present).
Result<std::unique_ptr<WalEntryReader>> open_wal_entry_reader(const std::string& dir,
                                                              uint64_t start_sequence);

// The reader to resume delivery at `resume` (read from `checkpoint_file`,
// named in errors): reads from its restart point, and answers whether the
// WAL in `dir` still holds what resuming needs. kFailedPrecondition if it
// does not (the WAL was reset, replaced or trimmed past the checkpoint),
// before it opens or on the first reads, so nothing is skipped silently.
Result<std::unique_ptr<WalEntryReader>> open_wal_entry_reader_for_resume(
    const std::string& dir, const DeliveryPosition& resume, const std::string& checkpoint_file);

}  // namespace heliosdb::cdc
