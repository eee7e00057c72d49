// Durable checkpoints: one small text file per pipeline (named after its
// database), format v2 (docs/checkpoint-format.md has the byte layout):
//
//   heliosdb-cdc checkpoint v2
//   pipeline=mydb
//   source=heliosdb-wal
//   source_id=4f1c0e3a9b7d42c6a1e5f0d2c3b4a596
//   position=restart 1201 commit 1250 event 1250
//   updated_at_ms=1764081600000
//   crc32=........
//
// The source fields are a SourcePosition: chosen and encoded by the source,
// kept here as they are. Values are %-escaped (bytes outside printable
// ASCII, and '%', as %XX). The crc32 line is zlib's CRC-32 (hex) of every
// byte before it. Format v1 files (the WAL triple, no identity) still load,
// as a "heliosdb-wal" position with no source_id; save() always writes v2.
// Writes are atomic: temp file, fsync, rename over the old file, fsync the
// directory; a failed write removes its temp file.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "heliosdb/cdc/status.h"
#include "pipeline/pipeline_lock.h"
#include "source/position.h"

namespace heliosdb::cdc {

inline constexpr int kCheckpointFormatVersion = 2;

struct Checkpoint {
  int format_version = kCheckpointFormatVersion;  // of the file read
  std::string pipeline;                           // the database it delivers
  SourcePosition source;
  int64_t updated_at_ms = 0;
};

// Where a pipeline keeps its checkpoint: the one durable record of how far
// delivery got. The processor saves only positions the AckTracker released
// (every event before them acknowledged), from its checkpoint-writer thread,
// one save at a time; load(), prepare() and lock() come before the run.
// The file store is the one implementation today; a Kafka-topic store is
// planned (EventProcessor::with_checkpoint_store injects one).
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;

  // The stored checkpoint, nullopt if none exists yet. A damaged one is a
  // kCorruption error naming where it is kept.
  virtual Result<std::optional<Checkpoint>> load() const = 0;
  // Durably replaces the stored checkpoint: once it returns OK, a crash
  // resumes at `position` or later.
  virtual Status save(const SourcePosition& position) = 0;
  // Proves a checkpoint can be saved (writing `probe`, the position the run
  // starts from, somewhere harmless), so a store that cannot take one stops
  // the pipeline before it delivers anything.
  virtual Status prepare(const SourcePosition& probe) const = 0;
  // Takes this pipeline's exclusive lock, held until the returned object is
  // destroyed: a second daemon on the same checkpoint fails here.
  virtual Result<std::unique_ptr<PipelineLock>> lock() const = 0;
  // Where the checkpoint is kept, for messages ("/var/lib/cdc/mydb.checkpoint").
  virtual const std::string& path() const = 0;
};

// The checkpoint as a file in a directory (the format above).
class FileCheckpointStore final : public CheckpointStore {
 public:
  // `dir` is created on first save if missing.
  FileCheckpointStore(std::string dir, std::string pipeline);

  // A damaged file is a kCorruption error naming the file.
  Result<std::optional<Checkpoint>> load() const override;
  Status save(const SourcePosition& position) override;
  // Creates the directory if missing and writes `probe` to the temp file,
  // fsyncs and removes it: a full, read-only or bad checkpoint_dir fails
  // with the directory and the errno in the error.
  Status prepare(const SourcePosition& probe) const override;
  // Creates the directory if missing and takes "<dir>/<pipeline>.lock".
  Result<std::unique_ptr<PipelineLock>> lock() const override;

  const std::string& path() const override { return path_; }
  const std::string& lock_path() const { return lock_path_; }

 private:
  std::string dir_;
  std::string pipeline_;
  std::string path_;
  std::string lock_path_;
};

// Text form of a checkpoint (what save() writes: always the newest format).
std::string format_checkpoint(const Checkpoint& checkpoint);
// Parses the text form of any format version; `source` names the file in
// errors.
Result<Checkpoint> parse_checkpoint(const std::string& text, const std::string& source);

}  // namespace heliosdb::cdc
