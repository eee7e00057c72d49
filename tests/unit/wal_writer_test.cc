// WalWriter: directory lock, reopening, torn segment headers, options, sync.
#include <gtest/gtest.h>

#include "testing/test_util.h"
#include "wal_test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

TEST(WalWriter, SecondWriterOnTheSameDirectoryIsRefused) {
  TempDir dir;
  auto w1 = WalWriter::open(testing::writer_options(dir.path()));
  ASSERT_TRUE(w1.is_ok());
  auto w2 = WalWriter::open(testing::writer_options(dir.path()));
  ASSERT_FALSE(w2.is_ok());
  EXPECT_EQ(w2.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(w2.status().message().find("in use by another writer"), std::string::npos);
  // Also from another process (the CLI).
  auto res = testing::run_cli({"wal", "generate", "--dir", dir.path(), "--events", "1"});
  EXPECT_EQ(res.exit_code, 1);
  EXPECT_NE(res.err.find("in use by another writer"), std::string::npos) << res.err;
  ASSERT_TRUE((*w1)->close().is_ok());
  EXPECT_TRUE(WalWriter::open(testing::writer_options(dir.path())).is_ok());
}

TEST(WalWriter, FirstSequenceOptionAppliesToAnEmptyDirectoryOnly) {
  TempDir dir;
  auto o = testing::writer_options(dir.path());
  o.first_sequence = 1000;
  {
    auto w = WalWriter::open(o);
    ASSERT_TRUE(w.is_ok());
    EXPECT_EQ(*(*w)->append(testing::make_entry(0).view()), 1000u);
    EXPECT_FALSE((*w)->recovery_info().existing_wal);
  }
  o.first_sequence = 5;
  auto w = WalWriter::open(o);
  ASSERT_TRUE(w.is_ok());
  EXPECT_TRUE((*w)->recovery_info().existing_wal);
  EXPECT_EQ((*w)->next_sequence(), 1001u);
}

TEST(WalWriter, InvalidOptionsAreRejected) {
  TempDir dir;
  auto o = testing::writer_options(dir.path());
  o.segment_bytes = 0;
  EXPECT_EQ(WalWriter::open(o).status().code(), ErrorCode::kInvalidArgument);
  o = testing::writer_options(dir.path());
  o.first_sequence = 0;
  EXPECT_EQ(WalWriter::open(o).status().code(), ErrorCode::kInvalidArgument);
  o = testing::writer_options("");
  EXPECT_EQ(WalWriter::open(o).status().code(), ErrorCode::kInvalidArgument);
}

TEST(WalWriter, SegmentWithTornHeaderIsRemovedOnOpen) {
  TempDir dir;
  testing::write_wal(dir.path(), 10);
  // A crash while creating segment 11 left a short, zero-filled file.
  testing::write_file(testing::seg(dir.path(), 11), std::string(20, '\0'));
  auto r = testing::read_wal(dir.path());  // the reader waits at the incomplete header
  EXPECT_TRUE(r.error.is_ok()) << r.error.to_string();
  EXPECT_EQ(r.entries.size(), 10u);
  auto w = WalWriter::open(testing::writer_options(dir.path()));
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  ASSERT_EQ((*w)->recovery_info().removed_files.size(), 1u);
  EXPECT_EQ((*w)->recovery_info().removed_files[0], testing::seg(dir.path(), 11));
  EXPECT_EQ((*w)->next_sequence(), 11u);
  testing::append_entries(**w, 3);
  ASSERT_TRUE((*w)->close().is_ok());
  auto again = testing::read_wal(dir.path());
  ASSERT_TRUE(again.error.is_ok()) << again.error.to_string();
  EXPECT_EQ(again.entries.size(), 13u);
}

TEST(WalWriter, HeaderOnlySegmentIsReusedNotDuplicated) {
  TempDir dir;
  testing::write_wal(dir.path(), 4);
  {
    auto w = WalWriter::open(testing::writer_options(dir.path(), 1));
    ASSERT_TRUE(w.is_ok());
  }
  // Make an empty segment 5 as a writer that died right after creating it would.
  char hdr[wal::kSegmentHeaderSize];
  wal::encode_segment_header(5, 0, hdr);
  testing::write_file(testing::seg(dir.path(), 5), std::string(hdr, sizeof hdr));
  auto w = WalWriter::open(testing::writer_options(dir.path()));
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  EXPECT_EQ((*w)->next_sequence(), 5u);
  testing::append_entries(**w, 2);
  ASSERT_TRUE((*w)->close().is_ok());
  EXPECT_EQ(list_wal_segments(dir.path())->size(), 2u);
  EXPECT_EQ(testing::read_wal(dir.path()).entries.size(), 6u);
}

TEST(WalWriter, EverySyncPolicyWritesReadableEntries) {
  for (auto policy :
       {WalSyncPolicy::kEveryEntry, WalSyncPolicy::kInterval, WalSyncPolicy::kNever}) {
    TempDir dir;
    auto o = testing::writer_options(dir.path(), 3000);
    o.sync_policy = policy;
    o.sync_interval = std::chrono::milliseconds(5);
    auto w = WalWriter::open(o);
    ASSERT_TRUE(w.is_ok());
    auto in = testing::append_entries(**w, 50);
    EXPECT_TRUE((*w)->sync().is_ok());
    ASSERT_TRUE((*w)->close().is_ok());
    EXPECT_EQ((*w)->append(in[0].view()).status().code(), ErrorCode::kFailedPrecondition);
    EXPECT_EQ(testing::read_wal(dir.path()).entries, in);
  }
}

TEST(WalWriter, DeferredWritesAppearAtFlushSyncRotationAndClose) {
  TempDir dir;
  auto o = testing::writer_options(dir.path(), 3000);  // rotates every few entries
  o.defer_writes = true;
  auto w = WalWriter::open(o);
  ASSERT_TRUE(w.is_ok());
  auto first = testing::append_entries(**w, 2);
  // Held in memory: a reader sees nothing yet.
  EXPECT_TRUE(testing::read_wal(dir.path()).entries.empty());
  ASSERT_TRUE((*w)->flush_writes().is_ok());
  EXPECT_EQ(testing::read_wal(dir.path()).entries, first);
  // Across rotations every entry lands, in order, in well-formed segments.
  auto more = testing::append_entries(**w, 60);
  ASSERT_TRUE((*w)->sync().is_ok());
  auto all = first;
  all.insert(all.end(), more.begin(), more.end());
  EXPECT_EQ(testing::read_wal(dir.path()).entries, all);
  auto last = testing::append_entries(**w, 3);
  ASSERT_TRUE((*w)->close().is_ok());
  all.insert(all.end(), last.begin(), last.end());
  EXPECT_EQ(testing::read_wal(dir.path()).entries, all);
  // Reopened: continues after the last entry written.
  auto again = WalWriter::open(o);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ((*again)->next_sequence(), all.size() + 1);
}

TEST(WalWriter, LeftoverTemporarySegmentIsCleanedUp) {
  TempDir dir;
  testing::write_wal(dir.path(), 3);
  testing::write_file(testing::seg(dir.path(), 4) + ".tmp", "half");
  auto w = WalWriter::open(testing::writer_options(dir.path()));
  ASSERT_TRUE(w.is_ok());
  EXPECT_EQ(testing::file_size(testing::seg(dir.path(), 4) + ".tmp"), 0u);
  EXPECT_NE(::access((testing::seg(dir.path(), 4) + ".tmp").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace heliosdb::cdc
