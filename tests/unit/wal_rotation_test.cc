// Rotation by size, opening at a sequence among thousands of segments, and
// missing segments (sequence gaps, retention) reported with both sequences.
#include <chrono>

#include <gtest/gtest.h>

#include "testing/test_util.h"
#include "wal_test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

TEST(WalRotation, RotatesBySizeAfterAWholeEntryAndNamesSegmentsByFirstSequence) {
  TempDir dir;
  auto in = testing::write_wal(dir.path(), 300, 5000, 100);
  auto segs = list_wal_segments(dir.path());
  ASSERT_TRUE(segs.is_ok());
  ASSERT_GT(segs->size(), 5u);
  uint64_t expect_first = 1;
  for (size_t i = 0; i < segs->size(); ++i) {
    const auto& s = (*segs)[i];
    EXPECT_EQ(s.first_sequence, expect_first);
    EXPECT_EQ(s.path, testing::seg(dir.path(), s.first_sequence));
    if (i + 1 < segs->size()) {
      EXPECT_GE(s.size_bytes, 5000u);         // rotated only once full...
      EXPECT_LT(s.size_bytes, 5000u + 400u);  // ...right after the entry that filled it
      // Every sealed segment ends at a record boundary: it reads to the end cleanly.
      auto r = testing::read_wal(dir.path(), s.first_sequence, WalCorruptionPolicy::kStop);
      ASSERT_TRUE(r.error.is_ok());
      expect_first = (*segs)[i + 1].first_sequence;
    }
  }
  auto r = testing::read_wal(dir.path());
  ASSERT_TRUE(r.error.is_ok()) << r.error.to_string();
  EXPECT_EQ(r.entries, in);
}

TEST(WalRotation, WriterRestartStartsANewSegmentContinuingTheSequence) {
  TempDir dir;
  auto a = testing::write_wal(dir.path(), 10);
  auto b = testing::write_wal(dir.path(), 5);
  EXPECT_EQ(b.front().sequence, 11u);
  auto segs = list_wal_segments(dir.path());
  ASSERT_EQ(segs->size(), 2u);
  EXPECT_EQ((*segs)[1].first_sequence, 11u);
  auto r = testing::read_wal(dir.path());
  ASSERT_EQ(r.entries.size(), 15u);
  EXPECT_EQ(r.entries[10], b[0]);
}

TEST(WalRotation, OpenAtSequenceAmongThousandsOfSegmentsTouchesOnlyOneSegment) {
  TempDir dir;
  {
    auto w = WalWriter::open(testing::writer_options(dir.path(), 1));  // one entry per segment
    ASSERT_TRUE(w.is_ok());
    for (int i = 0; i < 3000; ++i) {
      OwnedWalEntry e = testing::make_entry(i + 1, 10);
      ASSERT_TRUE((*w)->append(e.view()).is_ok());
    }
  }
  // Wreck every segment except the one holding 1777: a reader that opened
  // any other would fail.
  for (uint64_t s = 1; s <= 3000; ++s) {
    if (s != 1777) testing::flip_byte(testing::seg(dir.path(), s), 0);  // bad magic
  }
  auto t0 = std::chrono::steady_clock::now();
  auto r = testing::read_wal(dir.path(), 1777, WalCorruptionPolicy::kStop, 1);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  ASSERT_TRUE(r.error.is_ok()) << r.error.to_string();
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0], testing::make_entry(1777, 10));
  EXPECT_LT(ms, 1000) << "open at a sequence must not scan all segments";
}

TEST(WalRotation, MissingMiddleSegmentIsASequenceGapNamingBothSides) {
  TempDir dir;
  testing::write_wal(dir.path(), 100, 2000, 100);
  auto segs = *list_wal_segments(dir.path());
  ASSERT_GT(segs.size(), 4u);
  const auto& gone = segs[2];
  ASSERT_EQ(::unlink(gone.path.c_str()), 0);
  uint64_t ends_at = gone.first_sequence - 1;
  uint64_t next = segs[3].first_sequence;
  auto r = testing::read_wal(dir.path());
  ASSERT_FALSE(r.error.is_ok());
  EXPECT_EQ(r.error.code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.entries.size(), ends_at);
  std::string want = "sequence gap: " + segs[1].path + " ends at sequence " +
                     std::to_string(ends_at) + " but the next segment " + segs[3].path +
                     " starts at sequence " + std::to_string(next) + " (missing segment?)";
  EXPECT_NE(r.error.message().find(want), std::string::npos) << r.error.message();
  // kSkip: reported, and reading goes on after the gap.
  auto s = testing::read_wal(dir.path(), 0, WalCorruptionPolicy::kSkip);
  ASSERT_TRUE(s.error.is_ok()) << s.error.to_string();
  EXPECT_EQ(s.entries.size(), 100u - (next - gone.first_sequence));
  ASSERT_EQ(s.reports.size(), 1u);
  EXPECT_NE(s.reports[0].reason.find("sequence gap"), std::string::npos);
}

TEST(WalRotation, StartOlderThanTheOldestSegmentIsNotFoundNamingBothSequences) {
  TempDir dir;
  testing::write_wal(dir.path(), 100, 2000, 100);
  auto segs = *list_wal_segments(dir.path());
  ASSERT_EQ(::unlink(segs[0].path.c_str()), 0);  // retention removed the oldest
  ASSERT_EQ(::unlink(segs[1].path.c_str()), 0);
  auto r = testing::read_wal(dir.path(), 3);
  ASSERT_FALSE(r.error.is_ok());
  EXPECT_EQ(r.error.code(), ErrorCode::kNotFound);
  EXPECT_NE(r.error.message().find("sequence 3 is no longer in the WAL " + dir.path() +
                                   ": the oldest segment " + segs[2].path + " starts at sequence " +
                                   std::to_string(segs[2].first_sequence)),
            std::string::npos)
      << r.error.message();
  // start 0 = "the oldest present": fine.
  auto all = testing::read_wal(dir.path(), 0);
  ASSERT_TRUE(all.error.is_ok());
  EXPECT_EQ(all.entries.front().sequence, segs[2].first_sequence);
}

TEST(WalRotation, MissingDirectoryIsNotFound) {
  auto r = testing::read_wal("/nonexistent/heliosdb-wal");
  EXPECT_EQ(r.error.code(), ErrorCode::kNotFound);
  EXPECT_NE(r.error.message().find("/nonexistent/heliosdb-wal"), std::string::npos);
}

}  // namespace
}  // namespace heliosdb::cdc
