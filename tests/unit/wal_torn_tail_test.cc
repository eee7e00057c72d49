// A torn tail (the writer died or is still writing) is "not written yet" in
// the newest segment, corruption in a sealed one, and is repaired by the
// writer on restart without ever losing a complete entry.
#include <gtest/gtest.h>

#include "testing/test_util.h"
#include "wal_test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

// Writes entries so that the last one straddles the first block boundary
// (two fragments), returning the entries.
std::vector<OwnedWalEntry> write_straddling(const std::string& dir) {
  auto w = WalWriter::open(testing::writer_options(dir));
  EXPECT_TRUE(w.is_ok());
  std::vector<OwnedWalEntry> in;
  while (testing::file_size(testing::seg(dir, 1)) < 30000) {
    in.push_back(testing::append_entries(**w, 1, 500)[0]);
  }
  OwnedWalEntry last = testing::make_entry((*w)->next_sequence(), 3000);
  last.kind = WalEntryKind::Insert;
  last.value = std::string(3000, 'v');
  last.old_value.reset();
  EXPECT_TRUE((*w)->append(last.view()).is_ok());
  in.push_back(last);
  EXPECT_TRUE((*w)->close().is_ok());
  return in;
}

TEST(WalTornTail, CutAtEveryByteOfTheLastEntryReadsAsEndOfLogAndIsRepaired) {
  TempDir src;
  auto in = write_straddling(src.path());
  auto offs = testing::record_offsets(in);
  uint64_t last_start = offs[offs.size() - 2], end = offs.back();
  ASSERT_LT(last_start, wal::kBlockSize);
  ASSERT_GT(end, wal::kBlockSize);  // really spans two blocks
  ASSERT_EQ(testing::file_size(testing::seg(src.path(), 1)), end);
  std::string full = testing::read_file(testing::seg(src.path(), 1));
  std::vector<OwnedWalEntry> expect_prefix(in.begin(), in.end() - 1);
  TempDir scratch;
  testing::write_file(testing::seg(scratch.path(), 1), full);
  // Descending, so each cut is a one-byte ftruncate of the same file (cheap).
  for (uint64_t cut = end - 1; cut >= last_start; --cut) {
    // Most cuts only need the reader: reuse one directory (file deletion is slow on some disks).
    bool restart = cut == last_start || cut == last_start + 3 || cut == wal::kBlockSize ||
                   cut == wal::kBlockSize + 9 || cut == end - 1;
    std::unique_ptr<TempDir> own;
    if (restart) own = std::make_unique<TempDir>();
    const TempDir& dir = restart ? *own : scratch;
    if (restart) {
      testing::write_file(testing::seg(dir.path(), 1), full.substr(0, cut));
    } else {
      testing::truncate_file(testing::seg(dir.path(), 1), cut);
    }
    auto r = testing::read_wal(dir.path());
    ASSERT_TRUE(r.error.is_ok()) << "cut " << cut << ": " << r.error.to_string();
    ASSERT_TRUE(r.end_of_log);
    ASSERT_TRUE(r.reports.empty()) << "cut " << cut << ": " << r.reports[0].to_string();
    ASSERT_EQ(r.entries, expect_prefix) << "cut " << cut;
    // Restarting the writer cuts the torn bytes and continues the sequence in a new segment.
    if (restart) {
      auto w = WalWriter::open(testing::writer_options(dir.path()));
      ASSERT_TRUE(w.is_ok()) << w.status().to_string();
      const auto& info = (*w)->recovery_info();
      EXPECT_EQ((*w)->next_sequence(), in.back().sequence);
      EXPECT_EQ(info.last_sequence, in.back().sequence - 1);
      if (cut > last_start) {
        EXPECT_EQ(info.truncated_file, testing::seg(dir.path(), 1));
        EXPECT_EQ(info.truncated_to, last_start);
        EXPECT_EQ(info.truncated_bytes, cut - last_start);
      }
      auto more = testing::append_entries(**w, 2);
      ASSERT_TRUE((*w)->close().is_ok());
      EXPECT_EQ(testing::file_size(testing::seg(dir.path(), 1)), last_start);
      EXPECT_GT(testing::file_size(testing::seg(dir.path(), in.back().sequence)), 0u);
      auto again = testing::read_wal(dir.path());
      ASSERT_TRUE(again.error.is_ok()) << again.error.to_string();
      ASSERT_EQ(again.entries.size(), expect_prefix.size() + 2);
      EXPECT_EQ(again.entries.back(), more.back());
    }
  }
}

TEST(WalTornTail, LiveReaderWaitsAtTornTailThenContinuesAfterWriterRestart) {
  TempDir dir;
  auto in = write_straddling(dir.path());
  auto offs = testing::record_offsets(in);
  testing::truncate_file(testing::seg(dir.path(), 1), offs[offs.size() - 2] + 10);
  WalReaderOptions ro;
  ro.dir = dir.path();
  auto reader = WalReader::open(ro);
  ASSERT_TRUE(reader.is_ok());
  WalEntry e;
  size_t n = 0;
  for (;;) {
    auto st = (*reader)->next(e);
    ASSERT_TRUE(st.is_ok()) << st.status().to_string();
    if (*st == WalReadStatus::kEndOfLog) break;
    ++n;
  }
  EXPECT_EQ(n, in.size() - 1);
  EXPECT_EQ((*reader)->current_offset(), offs[offs.size() - 2]);
  // Still waiting, same position.
  EXPECT_EQ(*(*reader)->next(e), WalReadStatus::kEndOfLog);
  auto w = WalWriter::open(testing::writer_options(dir.path()));
  ASSERT_TRUE(w.is_ok());
  auto more = testing::append_entries(**w, 3);
  auto st = (*reader)->next(e);
  ASSERT_TRUE(st.is_ok()) << st.status().to_string();
  ASSERT_EQ(*st, WalReadStatus::kEntry);
  EXPECT_EQ(OwnedWalEntry::from(e), more[0]);
  EXPECT_EQ((*reader)->current_file(), testing::seg(dir.path(), more[0].sequence));
}

TEST(WalTornTail, TornTailInASealedSegmentIsCorruption) {
  TempDir dir2;
  auto in = testing::write_wal(dir2.path(), 10);
  auto offs = testing::record_offsets(in);
  {
    auto w = WalWriter::open(testing::writer_options(dir2.path()));
    ASSERT_TRUE(w.is_ok());
    testing::append_entries(**w, 2);  // segment 11 now exists: segment 1 is sealed
  }
  testing::truncate_file(testing::seg(dir2.path(), 1), offs.back() - 3);
  auto r = testing::read_wal(dir2.path());
  ASSERT_FALSE(r.error.is_ok());
  EXPECT_EQ(r.error.code(), ErrorCode::kCorruption);
  EXPECT_EQ(r.entries.size(), 9u);
  EXPECT_NE(
      r.error.message().find(testing::seg(dir2.path(), 1) + " at byte " + std::to_string(offs[9]) +
                             ": incomplete record at the end of a sealed segment"),
      std::string::npos)
      << r.error.message();
  ASSERT_EQ(r.reports.size(), 1u);
  // Under kSkip the reader reports it and goes on to the next segment.
  auto s = testing::read_wal(dir2.path(), 0, WalCorruptionPolicy::kSkip);
  EXPECT_TRUE(s.error.is_ok());
  EXPECT_EQ(s.entries.size(), 11u);  // 9 + 2; the gap (entry 10) is reported, not hidden
  EXPECT_GE(s.reports.size(), 2u);
}

TEST(WalTornTail, ZeroFilledTailIsTornNotCorrupt) {
  TempDir dir;
  auto in = testing::write_wal(dir.path(), 10);
  testing::append_bytes(testing::seg(dir.path(), 1), std::string(5000, '\0'));
  auto r = testing::read_wal(dir.path());
  ASSERT_TRUE(r.error.is_ok()) << r.error.to_string();
  EXPECT_EQ(r.entries, in);
  auto w = WalWriter::open(testing::writer_options(dir.path()));
  ASSERT_TRUE(w.is_ok());
  EXPECT_EQ((*w)->recovery_info().truncated_bytes, 5000u);
  EXPECT_EQ((*w)->next_sequence(), 11u);
}

TEST(WalTornTail, GarbageTailAtEndOfFileIsReportedByReaderAndCutByWriter) {
  TempDir dir;
  auto in = testing::write_wal(dir.path(), 10);
  auto offs = testing::record_offsets(in);
  testing::flip_byte(testing::seg(dir.path(), 1), offs.back() - 2);  // last record's payload
  auto r = testing::read_wal(dir.path());
  ASSERT_EQ(r.error.code(), ErrorCode::kCorruption);
  EXPECT_NE(r.error.message().find("at byte " + std::to_string(offs[9]) + ": checksum mismatch"),
            std::string::npos)
      << r.error.message();
  // The writer treats a bad record that runs to the end of the file as a torn write.
  auto w = WalWriter::open(testing::writer_options(dir.path()));
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  EXPECT_EQ((*w)->next_sequence(), 10u);
  EXPECT_EQ((*w)->recovery_info().truncated_to, offs[9]);
}

}  // namespace
}  // namespace heliosdb::cdc
