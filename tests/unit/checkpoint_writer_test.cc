// CheckpointWriter: background checkpoints that coalesce, report only what
// is durable, and surface a write failure.
#include "pipeline/checkpoint_writer.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "source/wal_source.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

DeliveryPosition at(uint64_t commit) { return {commit, commit, commit}; }

// The WAL position the store holds (what the writer encoded through `codec`).
DeliveryPosition stored(const CheckpointStore& store) {
  auto loaded = store.load();
  EXPECT_TRUE(loaded && loaded->has_value());
  if (!loaded || !loaded->has_value()) return {};
  auto p = decode_wal_position((*loaded)->source.position);
  EXPECT_TRUE(p);
  return p ? *p : DeliveryPosition{};
}

// A WAL codec for a directory with no WAL (no identity).
std::unique_ptr<SourcePositionCodec> codec_for(const TempDir& dir) {
  auto codec = open_wal_position_codec(dir.file("wal"));
  EXPECT_TRUE(codec);
  return std::move(*codec);
}

TEST(CheckpointWriter, FlushMakesTheNewestRequestDurable) {
  TempDir dir;
  FileCheckpointStore store(dir.path() + "/ckpt", "mydb");
  PipelineStats stats;
  auto codec = codec_for(dir);
  CheckpointWriter writer(&store, codec.get(), &stats);
  for (uint64_t c = 1; c <= 500; ++c) writer.request(at(c));
  ASSERT_TRUE(writer.flush().is_ok());
  EXPECT_EQ(stored(store), at(500));
  EXPECT_EQ(stats.checkpoint_sequence.load(), 500u);
  // Requests made while a write runs are coalesced (how many depends on
  // the disk), and the last one is always written.
  EXPECT_GE(stats.checkpoints_written.load(), 1u);
  EXPECT_LE(stats.checkpoints_written.load(), 500u);
}

TEST(CheckpointWriter, AWriteFailureIsReportedAndNothingIsCountedAsWritten) {
  TempDir dir;
  testing::write_file(dir.file("not-a-dir"), "x");  // the checkpoint dir is a file
  FileCheckpointStore store(dir.file("not-a-dir"), "mydb");
  PipelineStats stats;
  auto codec = codec_for(dir);
  CheckpointWriter writer(&store, codec.get(), &stats);
  writer.request(at(7));
  Status st = writer.flush();
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.to_string().find("not-a-dir"), std::string::npos) << st.to_string();
  EXPECT_FALSE(writer.error().is_ok());
  EXPECT_EQ(stats.checkpoint_sequence.load(), 0u);
  EXPECT_EQ(stats.checkpoints_written.load(), 0u);
}

TEST(CheckpointWriter, WritesStartAtLeastTheSpacingApartButFlushDoesNotWait) {
  TempDir dir;
  FileCheckpointStore store(dir.path() + "/ckpt", "mydb");
  PipelineStats stats;
  auto codec = codec_for(dir);
  CheckpointWriter writer(&store, codec.get(), &stats, std::chrono::hours(1));
  writer.request(at(1));
  ASSERT_TRUE(writer.flush().is_ok());  // the first write does not wait
  EXPECT_EQ(stats.checkpoints_written.load(), 1u);
  writer.request(at(2));
  writer.request(at(3));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(stats.checkpoints_written.load(), 1u) << "written before the spacing passed";
  EXPECT_EQ(stored(store), at(1));
  ASSERT_TRUE(writer.flush().is_ok());  // does not wait an hour
  EXPECT_EQ(stats.checkpoints_written.load(), 2u) << "2 and 3 coalesce into one write";
  EXPECT_EQ(stored(store), at(3));
}

TEST(CheckpointWriter, DestructionWritesWhatWasRequestedWithoutWaitingForTheSpacing) {
  TempDir dir;
  FileCheckpointStore store(dir.path() + "/ckpt", "mydb");
  {
    auto codec = codec_for(dir);
    CheckpointWriter writer(&store, codec.get(), nullptr, std::chrono::hours(1));
    writer.request(at(41));
    ASSERT_TRUE(writer.flush().is_ok());
    writer.request(at(42));
  }
  EXPECT_EQ(stored(store), at(42));
}

TEST(CheckpointWriter, DestructionWritesWhatWasRequested) {
  TempDir dir;
  FileCheckpointStore store(dir.path() + "/ckpt", "mydb");
  {
    auto codec = codec_for(dir);
    CheckpointWriter writer(&store, codec.get(), nullptr);
    writer.request(at(42));
  }
  EXPECT_EQ(stored(store), at(42));
}

}  // namespace
}  // namespace heliosdb::cdc
