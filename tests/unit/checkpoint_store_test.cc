#include <gtest/gtest.h>

#include <filesystem>

#include "pipeline/checkpoint_store.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

TEST(CheckpointStore, MissingFileMeansNoCheckpoint) {
  TempDir dir;
  CheckpointStore store(dir.path() + "/ckpt", "mydb");
  auto loaded = store.load();
  ASSERT_TRUE(loaded) << loaded.status().to_string();
  EXPECT_FALSE(loaded->has_value());
}

TEST(CheckpointStore, SaveThenLoadRoundTripsAndCreatesTheDirectory) {
  TempDir dir;
  CheckpointStore store(dir.path() + "/nested/ckpt", "mydb");
  DeliveryPosition pos{101, 250, 240};
  ASSERT_TRUE(store.save(pos).is_ok());
  auto loaded = store.load();
  ASSERT_TRUE(loaded && loaded->has_value());
  EXPECT_EQ((*loaded)->position, pos);
  EXPECT_EQ((*loaded)->database, "mydb");
  EXPECT_FALSE(std::filesystem::exists(store.path() + ".tmp"));
}

TEST(CheckpointStore, FileIsReadableTextWithChecksum) {
  Checkpoint c{"mydb", {1201, 1250, 1250}, 1764081600000};
  std::string text = format_checkpoint(c);
  EXPECT_EQ(text.rfind("heliosdb-cdc checkpoint v1\ndatabase=mydb\nrestart_sequence=1201\n"
                       "commit_sequence=1250\nevent_sequence=1250\nupdated_at_ms=1764081600000\n"
                       "crc32=",
                       0),
            0u);
  auto parsed = parse_checkpoint(text, "x");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->position, c.position);
}

TEST(CheckpointStore, FlippedDigitIsDetectedAndNamesTheFile) {
  TempDir dir;
  CheckpointStore store(dir.path(), "mydb");
  ASSERT_TRUE(store.save({5, 10, 10}).is_ok());
  std::string text = testing::read_file(store.path());
  text[text.find("commit_sequence=10") + 16] = '9';
  testing::write_file(store.path(), text);
  auto loaded = store.load();
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(loaded.status().message().find(store.path()), std::string::npos);
  EXPECT_NE(loaded.status().message().find("checksum mismatch"), std::string::npos);
}

TEST(CheckpointStore, TruncatedFileIsCorruption) {
  TempDir dir;
  CheckpointStore store(dir.path(), "mydb");
  ASSERT_TRUE(store.save({5, 10, 10}).is_ok());
  std::string text = testing::read_file(store.path());
  testing::write_file(store.path(), text.substr(0, text.size() / 2));
  auto loaded = store.load();
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.status().code(), ErrorCode::kCorruption);
}

TEST(CheckpointStore, DatabaseNamesAreSafeFileNames) {
  TempDir dir;
  CheckpointStore store(dir.path(), "../evil/db");
  EXPECT_EQ(std::filesystem::path(store.path()).parent_path(), dir.path());
  ASSERT_TRUE(store.save({1, 2, 2}).is_ok());
  EXPECT_TRUE(std::filesystem::exists(store.path()));
}

TEST(DeliveryPosition, CoversByCommitThenEventSequence) {
  DeliveryPosition p{0, 100, 90};
  EXPECT_TRUE(p.covers(50, 60));    // earlier transaction
  EXPECT_TRUE(p.covers(100, 90));   // the event itself
  EXPECT_FALSE(p.covers(100, 95));  // later event of the same transaction
  EXPECT_FALSE(p.covers(120, 10));  // a later transaction, even with an older change
}

}  // namespace
}  // namespace heliosdb::cdc
