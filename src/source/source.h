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
#include <string_view>

#include "heliosdb/cdc/status.h"
#include "heliosdb/cdc/wal.h"
#include "source/position.h"

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

// A source's side of checkpoints: its type tag, the identity of the log it
// reads, and how its positions are encoded (docs/checkpoint-format.md). The
// checkpoint store keeps the three as opaque strings; only the source reads
// them back, and refuses a checkpoint of another source or another log.
class SourcePositionCodec {
 public:
  virtual ~SourcePositionCodec() = default;

  // "heliosdb-wal".
  virtual std::string_view source_type() const = 0;
  // The identity of the log this source reads; "" if it has none.
  virtual const std::string& source_id() const = 0;
  // For messages: "the WAL in /var/lib/heliosdb/wal".
  virtual std::string description() const = 0;
  virtual std::string encode(const DeliveryPosition& position) const = 0;
  // kCorruption saying why (the caller names the file) if `bytes` are not
  // an encoding of this source.
  virtual Result<DeliveryPosition> decode(std::string_view bytes) const = 0;

  SourcePosition to_checkpoint(const DeliveryPosition& position) const {
    return {std::string(source_type()), source_id(), encode(position)};
  }
  // Where to resume from `stored`, read from `checkpoint_file`. A checkpoint
  // of another source type, or recorded for another identity, is
  // kFailedPrecondition naming both and the file: applying it would skip or
  // repeat changes. One that recorded no identity (format v1, or a log that
  // had none then) is accepted: the next checkpoint records this one.
  Result<DeliveryPosition> resume_position(const SourcePosition& stored,
                                           const std::string& checkpoint_file) const;
};

// The HeliosDB WAL source's type tag and position encoding:
// "restart R commit C event E" in decimal (see docs/checkpoint-format.md).
inline constexpr std::string_view kWalSourceType = "heliosdb-wal";
std::string encode_wal_position(const DeliveryPosition& position);
Result<DeliveryPosition> decode_wal_position(std::string_view bytes);

// The codec for the WAL in `dir`, with the directory's identity (none if it
// has no identity file yet; see read_wal_identity).
Result<std::unique_ptr<SourcePositionCodec>> open_wal_position_codec(const std::string& dir);

// A source reading a HeliosDB WAL directory from `start_sequence` (0: the
// oldest entry present).
Result<std::unique_ptr<ChangeSource>> open_wal_source(const std::string& dir,
                                                      uint64_t start_sequence);

// The source to resume delivery at `resume` (read from `checkpoint_file`,
// named in errors): reads from its restart point, and answers whether the
// WAL in `dir` still holds what resuming needs. kFailedPrecondition if it
// does not (the WAL was reset, replaced or trimmed past the checkpoint),
// before it opens or on the first reads, so nothing is skipped silently.
Result<std::unique_ptr<ChangeSource>> open_wal_source_for_resume(
    const std::string& dir, const DeliveryPosition& resume, const std::string& checkpoint_file);

}  // namespace heliosdb::cdc
