// Durable checkpoints: one small text file per database.
//
//   heliosdb-cdc checkpoint v1
//   database=mydb
//   restart_sequence=1201
//   commit_sequence=1250
//   event_sequence=1250
//   updated_at_ms=1764081600000
//   crc32=1c291ca3
//
// The crc32 line is zlib's CRC-32 (hex) of every byte before it. Writes are
// atomic: temp file, fsync, rename over the old file, fsync the directory.
#pragma once

#include <optional>
#include <string>

#include "heliosdb/cdc/status.h"
#include "pipeline/position.h"

namespace heliosdb::cdc {

struct Checkpoint {
  std::string database;
  DeliveryPosition position;
  int64_t updated_at_ms = 0;
};

class CheckpointStore {
 public:
  // `dir` is created on first save if missing.
  CheckpointStore(std::string dir, std::string database);

  // The stored checkpoint, nullopt if none exists yet. A damaged file is a
  // kCorruption error naming the file.
  Result<std::optional<Checkpoint>> load() const;
  Status save(const DeliveryPosition& position);
  // Creates the directory if missing and checks that it is writable, so a
  // bad checkpoint_dir stops the pipeline before it delivers anything.
  Status prepare() const;

  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string database_;
  std::string path_;
};

// Text form of a checkpoint (what save() writes).
std::string format_checkpoint(const Checkpoint& checkpoint);
// Parses the text form; `source` names the file in errors.
Result<Checkpoint> parse_checkpoint(const std::string& text, const std::string& source);

}  // namespace heliosdb::cdc
