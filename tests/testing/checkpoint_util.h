// Test helpers for checkpoints of the HeliosDB WAL source: what a pipeline
// on `wal_dir` would save and load, in WAL positions.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "pipeline/checkpoint_store.h"
#include "source/wal_source.h"

namespace heliosdb::cdc::testing {

// Saves `position` as a pipeline reading `wal_dir` would (with its identity).
inline Status save_wal_checkpoint(const std::string& checkpoint_dir, const std::string& database,
                                  const std::string& wal_dir, const DeliveryPosition& position) {
  auto codec = open_wal_position_codec(wal_dir);
  if (!codec) return codec.status();
  return FileCheckpointStore(checkpoint_dir, database).save((*codec)->to_checkpoint(position));
}

// The WAL position in the checkpoint; nullopt if there is none. Fails the
// test if the file is not a WAL checkpoint.
inline std::optional<DeliveryPosition> load_wal_checkpoint(const std::string& checkpoint_dir,
                                                           const std::string& database) {
  auto loaded = FileCheckpointStore(checkpoint_dir, database).load();
  EXPECT_TRUE(loaded) << loaded.status().to_string();
  if (!loaded || !loaded->has_value()) return std::nullopt;
  EXPECT_EQ((*loaded)->source.source_type, kWalSourceType);
  auto position = decode_wal_position((*loaded)->source.position);
  EXPECT_TRUE(position) << position.status().to_string();
  if (!position) return std::nullopt;
  return *position;
}

}  // namespace heliosdb::cdc::testing
