// The HeliosDB write-ahead log, format version 1 (see docs/wal-format.md).
//
// A WAL is a directory of segment files, each named by the sequence number of
// its first entry. HeliosDB appends entries with WalWriter; the CDC daemon
// tails them with WalReader. Entries are framed in 32 KiB blocks of CRC32C-
// protected fragments, so a torn write is recognised and never misread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

enum class WalEntryKind : uint8_t {
  Begin = 1,
  Insert = 2,
  Update = 3,
  Delete = 4,
  Truncate = 5,
  Commit = 6,
  Abort = 7,
};

// "BEGIN", "INSERT", ... ; "UNKNOWN" for other values.
std::string_view wal_entry_kind_name(WalEntryKind kind);
std::optional<WalEntryKind> parse_wal_entry_kind(std::string_view name);

// One logical WAL entry. The views point into memory owned by whoever
// produced the entry (the WalReader's buffer until its next call, or the
// caller's own strings when appending).
struct WalEntry {
  uint64_t sequence = 0;     // strictly increasing across the whole WAL
  int64_t timestamp_ms = 0;  // ms since the Unix epoch
  uint64_t transaction_id = 0;
  WalEntryKind kind = WalEntryKind::Insert;
  std::string_view database;
  std::string_view table;
  std::string_view key;
  std::optional<std::string_view> value;
  std::optional<std::string_view> old_value;
};

// An entry that owns its bytes (for tests, buffering and the generator).
struct OwnedWalEntry {
  uint64_t sequence = 0;
  int64_t timestamp_ms = 0;
  uint64_t transaction_id = 0;
  WalEntryKind kind = WalEntryKind::Insert;
  std::string database;
  std::string table;
  std::string key;
  std::optional<std::string> value;
  std::optional<std::string> old_value;

  static OwnedWalEntry from(const WalEntry& e);
  WalEntry view() const;
  bool operator==(const OwnedWalEntry&) const = default;
};

enum class WalSyncPolicy {
  kEveryEntry,  // fsync after every append: nothing acknowledged is ever lost
  kInterval,    // fsync at most every `sync_interval` (group commit)
  kNever,       // leave it to the OS page cache
};

struct WalWriterOptions {
  std::string dir;                               // created if missing
  uint64_t segment_bytes = 64ull * 1024 * 1024;  // rotate when a segment reaches this size
  WalSyncPolicy sync_policy = WalSyncPolicy::kInterval;
  std::chrono::milliseconds sync_interval{100};
  // Keep appended entries in memory until flush_writes() (or sync(), close(),
  // a segment rotation, or 1 MiB held) and write them with one write() call,
  // like a database's WAL buffer. Readers see held entries only once written.
  // With WalSyncPolicy::kEveryEntry each such write is fsync'ed. Off by
  // default: every append() is written at once.
  bool defer_writes = false;
  // Sequence of the first entry when the directory holds no WAL yet.
  uint64_t first_sequence = 1;
};

// What WalWriter::open found and repaired in an existing directory.
struct WalRecoveryInfo {
  bool existing_wal = false;               // the directory already held segments
  uint64_t last_sequence = 0;              // last valid entry found (0 if none)
  std::string truncated_file;              // segment whose torn tail was cut off ("" if none)
  uint64_t truncated_to = 0;               // its new size in bytes
  uint64_t truncated_bytes = 0;            // bytes removed from it
  std::vector<std::string> removed_files;  // newest segments removed: torn header, no entries
};

// Appends entries to a WAL directory. Not thread-safe: one writer per
// directory (an advisory lock on the directory enforces it across processes).
//
// Opening a directory that already holds a WAL continues after its last valid
// entry: a torn tail left by a crash is truncated away (and the truncation
// fsync'ed) before anything new is written, and the writer then starts a new
// segment, so a reader never sees new bytes glued to a torn record.
class WalWriter {
 public:
  // Errors: kInvalidArgument (bad options), kFailedPrecondition (another
  // writer holds the directory lock), kCorruption (damage in the newest
  // segment that is not a torn tail: it is never truncated away), kIo.
  static Result<std::unique_ptr<WalWriter>> open(const WalWriterOptions& options);
  ~WalWriter();
  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;

  // Appends `entry`; its `sequence` field is ignored and replaced by the next
  // sequence, which is returned.
  Result<uint64_t> append(const WalEntry& entry);
  // Forces everything appended so far to stable storage.
  Status sync();
  // With `defer_writes`: writes the entries held so far to the file (no
  // fsync). Without it: nothing to do.
  Status flush_writes();
  // Syncs (per policy) and closes the active segment.
  Status close();

  // Sequence the next append will get.
  uint64_t next_sequence() const;
  // The directory's identity (see read_wal_identity), created by open() if
  // the directory had none.
  const std::string& identity() const;
  // What open() found and repaired.
  const WalRecoveryInfo& recovery_info() const;

 private:
  struct Impl;
  explicit WalWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Where a reader found damaged bytes, and why.
struct WalCorruption {
  std::string file;     // full path of the segment
  uint64_t offset = 0;  // byte offset within the segment file
  uint64_t bytes = 0;   // bytes that had to be dropped (0 if unknown)
  std::string reason;   // e.g. "checksum mismatch", "sequence gap: expected 42, found 44"

  // "<file> at byte <offset>: <reason>"
  std::string to_string() const;
};

enum class WalCorruptionPolicy {
  kStop,  // default: next() returns a kCorruption error naming file and offset
  kSkip,  // report to the callback, skip the damaged bytes and go on
};

struct WalReaderOptions {
  std::string dir;
  // First sequence to return. 0 means "the oldest entry present". Opening
  // finds the segment from the file names and scans only that segment.
  uint64_t start_sequence = 0;
  WalCorruptionPolicy corruption_policy = WalCorruptionPolicy::kStop;
  // Called for every corruption found (under both policies).
  std::function<void(const WalCorruption&)> on_corruption;
};

enum class WalReadStatus {
  kEntry,     // `entry` holds the next entry
  kEndOfLog,  // nothing more for now: the writer has not written it yet
              // (or the newest segment ends in a torn tail). Call again later.
};

// Reads a WAL directory in sequence order, following it while it grows.
// Never returns a partial entry. Not thread-safe.
class WalReader {
 public:
  static Result<std::unique_ptr<WalReader>> open(const WalReaderOptions& options);
  ~WalReader();
  WalReader(const WalReader&) = delete;
  WalReader& operator=(const WalReader&) = delete;

  // Reads the next entry into `entry`. The views in `entry` stay valid until
  // the next call to next() or until the reader is destroyed.
  //
  // Errors: kCorruption (bad checksum, bad framing, undecodable entry, unless a torn tail
  // at the end of the active segment, e.g. power-loss zeros: docs 6.2), kNotFound (a segment
  // is missing: sequence gap between files, or start_sequence no longer in the
  // WAL), kFailedPrecondition (a segment of an unsupported format version),
  // kIo. The message names the file and byte offset. Under kStop the same
  // error is returned again by the next call; under kSkip corruption is only
  // reported to on_corruption and reading goes on.
  Result<WalReadStatus> next(WalEntry& entry);

  // Blocks until the WAL may have grown (new bytes or a new segment) or
  // `timeout` passes. Uses inotify where available, else sleeps.
  void wait_for_data(std::chrono::milliseconds timeout);

  // Sequence of the last entry returned (0 before the first).
  uint64_t last_sequence() const;
  // Segment file currently being read and the offset after the last entry.
  std::string current_file() const;
  uint64_t current_offset() const;

 private:
  struct Impl;
  explicit WalReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Summary of the segments in a WAL directory, from file names and headers only.
struct WalSegmentInfo {
  std::string path;
  uint64_t first_sequence = 0;
  uint64_t size_bytes = 0;
};
Result<std::vector<WalSegmentInfo>> list_wal_segments(const std::string& dir);

// The identity of a WAL directory: 32 lowercase hex digits of random bits in
// <dir>/IDENTITY, written once, when a WalWriter first opens the directory
// (docs/wal-format.md, 1.1). A checkpoint records it, so a checkpoint is never
// applied to another WAL put at the same path. nullopt when the directory (or
// the file) does not exist: a WAL written by a version before identities, and
// not opened by a writer since. kCorruption naming the file if it is damaged.
Result<std::optional<std::string>> read_wal_identity(const std::string& dir);

}  // namespace heliosdb::cdc
