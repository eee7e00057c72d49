// The source seam: where committed changes come from, in commit order.
//
// A source delivers committed transactions, one after another in commit
// order, as source-neutral records: a begin, its changes, a commit. How it
// gets them is its own business: the HeliosDB WAL source reads an
// interleaved log and assembles transactions (dropping aborted ones,
// re-reading a large one at its commit); a PostgreSQL source would receive
// them already committed and pass them through. The processor only sees
// this header: it includes nothing of the WAL.
//
// Positions: each record carries the source's position (DeliveryPosition's
// three numbers, whose meaning the source chooses: the WAL's sequences
// today, a PostgreSQL LSN later), and the source encodes them for the
// checkpoint (SourcePositionCodec). The processor compares positions only
// through DeliveryPosition::covers, so any source whose positions grow in
// commit order plugs in.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/event.h"
#include "heliosdb/cdc/status.h"
#include "source/position.h"

namespace heliosdb::cdc {

class SourceHealthBoard;  // heliosdb/cdc/processor.h

// One committed transaction, as its changes are handed out.
struct CommitInfo {
  uint64_t transaction_id = 0;
  // The commit's position: transactions come in increasing commit_sequence.
  uint64_t commit_sequence = 0;
  // Where a reader must restart to see this transaction's changes again.
  uint64_t restart_during = 0;
  // Where a reader must restart once this transaction is fully delivered.
  uint64_t restart_after = 0;
  uint64_t change_count = 0;
  int64_t commit_time_ms = 0;  // ms since the Unix epoch, as the source recorded the commit
  std::string_view database;
  // Where the transaction came from, when the source knows (PostgreSQL's
  // replication origin): the events' metadata "origin". Empty: none.
  std::string_view origin;
  // Not a transaction: the source moved its position on without one (a
  // PostgreSQL keepalive's WAL end while nothing else is pending), so an
  // idle or fully filtered database still moves the checkpoint on. Comes as
  // on_commit alone; not counted as a committed transaction.
  bool position_only = false;
};

// One change of a committed transaction. Views stay valid until the handler
// returns.
struct CommittedChange {
  uint64_t transaction_id = 0;
  // The change's position inside its transaction (increasing; the WAL: its
  // sequence number). With the commit's, it is the event's DeliveryPosition.
  uint64_t sequence = 0;
  // The event's `sequence` field (and its event_id) when it is not
  // `sequence`: a PostgreSQL change's position is its ordinal in the
  // transaction, its event sequence is derived from the commit LSN too
  // (docs/postgres.md). 0: `sequence`.
  uint64_t event_sequence = 0;
  int64_t timestamp_ms = 0;  // when the change was made, ms since the Unix epoch
  OperationType kind = OperationType::Insert;
  std::string_view table;
  std::string_view key;
  std::optional<std::string_view> value;
  std::optional<std::string_view> old_value;
  // The event's event_id when it is not derived from event_sequence: a
  // snapshot row (READ) has one derived from its table and key, so reading
  // the same chunk again after a crash gives the same ids
  // (docs/postgres.md). Empty: derived as always.
  std::string_view event_id;
  // A snapshot row's metadata "snapshot": "true", or "last" on the last row
  // of a table. None: the metadata has no "snapshot".
  enum class SnapshotMark : uint8_t { kNone, kRow, kLast };
  SnapshotMark snapshot = SnapshotMark::kNone;
};

// Receives committed transactions: on_begin, then each change, then
// on_commit. A transaction without changes (all of them delivered before,
// or none of the configured database) may come as on_commit alone. An error
// from the handler ends the read with that error; kCancelled ends it as a
// stop.
class TransactionHandler {
 public:
  virtual ~TransactionHandler() = default;
  virtual Status on_begin(const CommitInfo& info) { return Status::ok(); }
  virtual Status on_change(const CommitInfo& info, const CommittedChange& change) = 0;
  virtual Status on_commit(const CommitInfo& info) = 0;
};

// What the source has read, for the pipeline's statistics.
struct SourceProgress {
  uint64_t last_position = 0;  // the last position read (the WAL: its last sequence)
  uint64_t aborted_transactions = 0;
  uint64_t aborted_changes = 0;  // changes dropped because their transaction aborted
  uint64_t reconnects = 0;       // connections to the source's server made again after a loss
  // A snapshot in progress (the PostgreSQL source's initial or requested
  // snapshots): one entry per table of the current snapshot, in order.
  struct SnapshotTable {
    std::string table;            // "public.users"
    uint64_t rows = 0;            // READ events handed on for it so far
    int64_t estimated_rows = -1;  // pg_class.reltuples when it started; -1: unknown
    bool done = false;
  };
  bool snapshot_running = false;
  std::vector<SnapshotTable> snapshot_tables;
};

enum class SourceReadStatus {
  kMore,      // read its share of entries; call read() again
  kCaughtUp,  // nothing more for now: call wait_for_data(), then read() again
  // Nothing more for now, but what existed when the source opened is not
  // all read yet (a PostgreSQL server still decoding up to its WAL position
  // at start): like kCaughtUp, except that `run --once` goes on waiting.
  kWaiting,
};

class ChangeSource {
 public:
  virtual ~ChangeSource() = default;

  // Reads on, handing committed transactions to `handler` in commit order,
  // and returns after at most about `max_entries` of its own entries (so a
  // caller can look at a stop request between calls), or when caught up.
  // After a resume, the first transactions may be ones the resume position
  // covers, in whole or in part (a source re-reads from its restart point):
  // the caller skips what DeliveryPosition::covers.
  virtual Result<SourceReadStatus> read(TransactionHandler& handler, size_t max_entries) = 0;
  // Blocks until more may be available or `timeout` passes.
  virtual void wait_for_data(std::chrono::milliseconds timeout) = 0;
  virtual SourceProgress progress() const = 0;
  // Called when read() was caught up: the source may log what an operator
  // should know about what it has read so far (the WAL source: that no
  // entry matched the configured database), at most once a minute, or now
  // when `end_of_run`.
  virtual void log_health(bool end_of_run) {}
  // For messages: "WAL /var/lib/heliosdb/wal".
  virtual std::string description() const = 0;
  // `position` is durable in the checkpoint: a source whose server keeps
  // changes until told (a PostgreSQL slot) may now release what it covers.
  // Called from the checkpoint writer's thread while the source is open.
  virtual void on_checkpointed(const DeliveryPosition& position) {}
  // Called once, before the first read(): where the source publishes its
  // health from its own threads, and how it stops the pipeline from there
  // (`fail`: the run ends with that error, after a final checkpoint). Both
  // outlive the source.
  virtual void attach(SourceHealthBoard* board, std::function<void(Status)> fail) {}
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

// A kind of source, configured: what the processor asks before it reads.
class SourceFactory {
 public:
  virtual ~SourceFactory() = default;

  // The source's checkpoint codec, with the identity of what it reads now
  // (the WAL source warns here when its WAL has none).
  virtual Result<std::unique_ptr<SourcePositionCodec>> open_position_codec() = 0;
  // A source delivering every change `resume` does not cover (read from
  // `checkpoint_file`, named in errors; a default position: from the oldest
  // change held), and perhaps some it covers (see read()). The
  // source answers whether it can resume there: kFailedPrecondition with
  // the reason if it cannot (the log was reset, replaced or trimmed past
  // the checkpoint), now or on the first reads, so nothing is skipped
  // silently.
  virtual Result<std::unique_ptr<ChangeSource>> open(const DeliveryPosition& resume,
                                                     const std::string& checkpoint_file) = 0;
  // Where a run without a checkpoint starts, for the log: "the oldest WAL entry".
  virtual std::string start_description() const = 0;
};

}  // namespace heliosdb::cdc
