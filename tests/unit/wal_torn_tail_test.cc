// A torn tail (the writer died or is still writing) is "not written yet" in
// the newest segment, corruption in a sealed one, and is repaired by the
// writer on restart without ever losing a complete entry.
#include <algorithm>
#include <memory>

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

// A power loss in the middle of the last record: everything from a 4 KiB page
// boundary inside it to the end of the file reads back as zeros.
struct PageLoss {
  const char* name;
  uint64_t record_start;
  size_t value_bytes;
  uint64_t zeros_from;  // a 4 KiB-aligned offset inside the record
  uint64_t grow_by;     // zero bytes past the record's end (its size reached disk first)
};

void PrintTo(const PageLoss& p, std::ostream* os) { *os << p.name; }

class WalPageLossTail : public ::testing::TestWithParam<PageLoss> {
 protected:
  void SetUp() override {
    const PageLoss& p = GetParam();
    wal_ =
        std::make_unique<testing::WalEndingInRecordAt>(dir_.path(), p.record_start, p.value_bytes);
    ASSERT_GT(p.zeros_from, wal_->last_start);
    ASSERT_LT(p.zeros_from, wal_->end);
    ASSERT_EQ(p.zeros_from % 4096, 0u);
    testing::zero_from(wal_->path, p.zeros_from, p.grow_by);
  }

  // Restarts the writer: it must cut the torn record off, then append 3 entries.
  std::vector<OwnedWalEntry> recover_and_append() {
    auto w = WalWriter::open(testing::writer_options(dir_.path()));
    EXPECT_TRUE(w.is_ok()) << w.status().to_string();
    if (!w.is_ok()) return {};
    const auto& info = (*w)->recovery_info();
    EXPECT_EQ(info.truncated_file, wal_->path);
    EXPECT_EQ(info.truncated_to, wal_->last_start);
    EXPECT_EQ(info.truncated_bytes, wal_->end + GetParam().grow_by - wal_->last_start);
    EXPECT_EQ(info.last_sequence, wal_->in.back().sequence - 1);
    EXPECT_EQ(testing::file_size(wal_->path), wal_->last_start);
    auto more = testing::append_entries(**w, 3);
    EXPECT_EQ(more[0].sequence, wal_->in.back().sequence);  // the torn entry's sequence is reused
    EXPECT_TRUE((*w)->close().is_ok());
    return more;
  }

  // Every entry before the torn one, then `more`.
  std::vector<OwnedWalEntry> before_tail_and(const std::vector<OwnedWalEntry>& more) const {
    auto all = wal_->before_last();
    all.insert(all.end(), more.begin(), more.end());
    return all;
  }

  TempDir dir_;
  std::unique_ptr<testing::WalEndingInRecordAt> wal_;
};

TEST_P(WalPageLossTail, ReaderStopsCleanlyThereAndGoesOnAfterTheWriterRecovers) {
  auto r = testing::read_wal(dir_.path());
  ASSERT_TRUE(r.error.is_ok()) << r.error.to_string();
  ASSERT_TRUE(r.end_of_log);
  ASSERT_TRUE(r.reports.empty()) << r.reports[0].to_string();
  ASSERT_EQ(r.entries, wal_->before_last());

  // A following reader waits at the torn record while the writer restarts.
  WalReaderOptions ro;
  ro.dir = dir_.path();
  auto reader = WalReader::open(ro);
  ASSERT_TRUE(reader.is_ok());
  WalEntry e;
  for (size_t i = 0; i + 1 < wal_->in.size(); ++i) {
    ASSERT_EQ(*(*reader)->next(e), WalReadStatus::kEntry);
  }
  ASSERT_EQ(*(*reader)->next(e), WalReadStatus::kEndOfLog);
  EXPECT_EQ((*reader)->current_offset(), wal_->last_start);
  auto more = recover_and_append();
  ASSERT_EQ(more.size(), 3u);
  for (const auto& want : more) {
    auto st = (*reader)->next(e);
    ASSERT_TRUE(st.is_ok()) << st.status().to_string();
    ASSERT_EQ(*st, WalReadStatus::kEntry);
    EXPECT_EQ(OwnedWalEntry::from(e), want);
  }
  EXPECT_EQ(*(*reader)->next(e), WalReadStatus::kEndOfLog);
}

TEST_P(WalPageLossTail, WriterCutsItAndAppendsAfterIt) {
  auto more = recover_and_append();
  ASSERT_EQ(more.size(), 3u);
  auto r = testing::read_wal(dir_.path());
  ASSERT_TRUE(r.error.is_ok()) << r.error.to_string();
  EXPECT_TRUE(r.reports.empty());
  EXPECT_EQ(r.entries, before_tail_and(more));
}

INSTANTIATE_TEST_SUITE_P(Cases, WalPageLossTail,
                         ::testing::Values(
                             // The header is intact, its data is zero from 4096 on, and the file
                             // size reached disk two pages further than the data.
                             PageLoss{"InsideTheData", 4000, 3000, 4096, 8192},
                             // The file ends at the record's end: only its last page is lost.
                             PageLoss{"InsideTheDataToTheRecordEnd", 4000, 3000, 4096, 0},
                             // The page boundary falls inside the 7-byte fragment header.
                             PageLoss{"InsideTheHeader", 4093, 3000, 4096, 100},
                             // A two-fragment record (FIRST in block 0, LAST in block 1): the
                             // FIRST is torn, the LAST is zeros entirely.
                             PageLoss{"InsideTheFirstFragment", 26000, 10000, 28672, 0},
                             // The FIRST is intact, the LAST is torn.
                             PageLoss{"InsideTheLastFragment", 30000, 10000, 36864, 5000}),
                         [](const ::testing::TestParamInfo<PageLoss>& i) {
                           return std::string(i.param.name);
                         });

TEST(WalTornTail, ZeroTailShorterThanAFragmentHeaderIsTornAndCut) {
  TempDir dir;
  auto in = testing::write_wal(dir.path(), 10);
  uint64_t size = testing::file_size(testing::seg(dir.path(), 1));
  testing::append_bytes(testing::seg(dir.path(), 1), std::string(3, '\0'));
  auto r = testing::read_wal(dir.path());
  ASSERT_TRUE(r.error.is_ok()) << r.error.to_string();
  EXPECT_TRUE(r.reports.empty());
  EXPECT_EQ(r.entries, in);
  auto w = WalWriter::open(testing::writer_options(dir.path()));
  ASSERT_TRUE(w.is_ok()) << w.status().to_string();
  EXPECT_EQ((*w)->recovery_info().truncated_to, size);
  EXPECT_EQ((*w)->recovery_info().truncated_bytes, 3u);
  EXPECT_EQ((*w)->next_sequence(), 11u);
}

// The daemon end to end: `run --once` on a WAL whose active segment ends in a
// power-loss tail exits 0 and delivers exactly what it delivers from the same
// WAL without the torn transaction; after the writer's recovery, the next
// run delivers the transaction written after it.
TEST(WalTornTail, RunOnceDeliversEverythingBeforeAPowerLossTail) {
  TempDir dir;
  auto gen = testing::run_cli({"wal", "generate", "--dir", dir.file("wal"), "--database", "mydb",
                               "--events", "300", "--tables", "users,orders", "--seed", "5",
                               "--start-time-ms", "1700000000000"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto config = [&](const std::string& name) {
    std::string path = dir.file(name + ".toml");
    testing::write_file(path, "[cdc]\nwal_path = \"" + dir.file("wal") +
                                  "\"\ndatabase = \"mydb\"\ncheckpoint_dir = \"" +
                                  dir.file("ckpt-" + name) +
                                  "\"\nenable_metrics = false\n\n[sink]\ntype = \"file\"\n"
                                  "[sink.file]\npath = \"" +
                                  dir.file(name + ".jsonl") + "\"\n");
    return path;
  };
  // The oracle: the intact WAL as generated.
  auto oracle = testing::run_cli({"run", "--once", "--config", config("oracle")});
  ASSERT_EQ(oracle.exit_code, 0) << oracle.err;
  std::vector<std::string> want = testing::read_lines(dir.file("oracle.jsonl"));
  ASSERT_GT(want.size(), 100u);

  // One more transaction, in a new (the active) segment, with a row spanning
  // two pages; the power loss zeroes it from the page boundary on.
  auto txn = [](WalWriter& w, const std::string& key) {
    OwnedWalEntry e;
    e.timestamp_ms = 1700000500000;
    e.transaction_id = 900000 + w.next_sequence();
    e.database = "mydb";
    e.kind = WalEntryKind::Begin;
    EXPECT_TRUE(w.append(e.view()).is_ok());
    e.kind = WalEntryKind::Insert;
    e.table = "users";
    e.key = key;
    e.value = std::string(6000, 'r');
    EXPECT_TRUE(w.append(e.view()).is_ok());
    e.kind = WalEntryKind::Commit;
    e.table.clear();
    e.key.clear();
    e.value.reset();
    EXPECT_TRUE(w.append(e.view()).is_ok());
  };
  uint64_t torn_first;
  {
    auto w = WalWriter::open(testing::writer_options(dir.file("wal")));
    ASSERT_TRUE(w.is_ok()) << w.status().to_string();
    torn_first = (*w)->next_sequence();
    txn(**w, "torn-row");
    ASSERT_TRUE((*w)->close().is_ok());
  }
  std::string active = testing::seg(dir.file("wal"), torn_first);
  ASSERT_GT(testing::file_size(active), 4096u + 64);
  testing::zero_from(active, 4096, 4096);

  auto run = testing::run_cli({"run", "--once", "--config", config("torn")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(testing::read_lines(dir.file("torn.jsonl")), want);

  // The writer restarts: it cuts the tail and writes the next transaction.
  {
    auto w = WalWriter::open(testing::writer_options(dir.file("wal")));
    ASSERT_TRUE(w.is_ok()) << w.status().to_string();
    EXPECT_EQ((*w)->recovery_info().truncated_file, active);
    EXPECT_EQ((*w)->next_sequence(), torn_first + 1);  // the BEGIN survived, the INSERT did not
    txn(**w, "after-recovery");
    ASSERT_TRUE((*w)->close().is_ok());
  }
  auto next = testing::run_cli({"run", "--once", "--config", config("torn")});
  ASSERT_EQ(next.exit_code, 0) << next.err;
  auto got = testing::read_lines(dir.file("torn.jsonl"));
  ASSERT_EQ(got.size(), want.size() + 1);
  EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin()));
  EXPECT_NE(got.back().find("\"key\":\"" + testing::base64("after-recovery") + "\""),
            std::string::npos)
      << got.back();
  EXPECT_EQ(got.back().find(testing::base64("torn-row")), std::string::npos);
}

}  // namespace
}  // namespace heliosdb::cdc
