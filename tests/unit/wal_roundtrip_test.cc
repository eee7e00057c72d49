// Entries written by WalWriter come back from WalReader exactly: every kind,
// empty and absent fields, large values, records spanning blocks and segments.
#include <gtest/gtest.h>

#include "testing/test_util.h"
#include "wal_test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

TEST(WalRoundTrip, EveryKindAndEmptyVersusAbsentFields) {
  TempDir dir;
  std::vector<OwnedWalEntry> in;
  for (uint8_t k = 1; k <= 7; ++k) {
    OwnedWalEntry e;
    e.kind = static_cast<WalEntryKind>(k);
    e.timestamp_ms = -5 + k;  // negative timestamps survive too
    e.transaction_id = UINT64_MAX - k;
    e.database = k % 2 ? "" : "db";
    e.table = "t";
    e.key = std::string("\0k\xff", 3);
    if (k % 3 == 0) e.value = "";  // present but empty
    if (k % 3 == 1) e.value = "v";
    if (k % 2 == 0) e.old_value = "";  // present but empty
    in.push_back(e);
  }
  {
    auto w = WalWriter::open(testing::writer_options(dir.path()));
    ASSERT_TRUE(w.is_ok()) << w.status().to_string();
    for (auto& e : in) {
      auto seq = (*w)->append(e.view());
      ASSERT_TRUE(seq.is_ok());
      e.sequence = *seq;
    }
  }
  auto r = testing::read_wal(dir.path());
  ASSERT_TRUE(r.error.is_ok()) << r.error.to_string();
  EXPECT_TRUE(r.end_of_log);
  EXPECT_EQ(r.entries, in);
  EXPECT_EQ(r.entries.front().sequence, 1u);
}

TEST(WalRoundTrip, OneMiBValuesSpanManyBlocks) {
  TempDir dir;
  auto in = testing::write_wal(dir.path(), 5, 64 << 20, 1 << 20);
  auto r = testing::read_wal(dir.path());
  ASSERT_TRUE(r.error.is_ok()) << r.error.to_string();
  EXPECT_EQ(r.entries, in);
}

TEST(WalRoundTrip, RecordsEndingAtEveryOffsetNearABlockBoundary) {
  // For each k, the first entry is sized so that the second starts k bytes
  // before the end of block 0: exercises zero trailers (k < 7), an empty
  // FIRST fragment (k == 7) and FIRST/LAST splits.
  for (size_t k = 0; k <= 12; ++k) {
    TempDir dir;
    OwnedWalEntry a = testing::make_entry(1);
    a.kind = WalEntryKind::Insert;
    a.value = std::string();
    a.old_value.reset();
    size_t base = wal::encoded_entry_size(a.view());
    size_t want = wal::kBlockSize - wal::kSegmentHeaderSize - wal::kFragmentHeaderSize - k;
    // The value length varint grows with the value: adjust until exact.
    size_t vlen = want - base;
    a.value = std::string(vlen, 'x');
    while (wal::encoded_entry_size(a.view()) > want) a.value->pop_back();
    ASSERT_EQ(wal::encoded_entry_size(a.view()), want);
    auto w = WalWriter::open(testing::writer_options(dir.path()));
    ASSERT_TRUE(w.is_ok());
    ASSERT_TRUE((*w)->append(a.view()).is_ok());
    auto rest = testing::append_entries(**w, 3, 100);
    ASSERT_TRUE((*w)->close().is_ok());
    auto r = testing::read_wal(dir.path());
    ASSERT_TRUE(r.error.is_ok()) << "k=" << k << ": " << r.error.to_string();
    ASSERT_EQ(r.entries.size(), 4u) << "k=" << k;
    EXPECT_EQ(*r.entries[0].value, *a.value);
    EXPECT_EQ(std::vector<OwnedWalEntry>(r.entries.begin() + 1, r.entries.end()), rest);
  }
}

TEST(WalRoundTrip, EntriesSpanSegmentsAndStartSequencePicksTheRightOne) {
  TempDir dir;
  auto in = testing::write_wal(dir.path(), 500, 4096, 100);
  auto segs = list_wal_segments(dir.path());
  ASSERT_TRUE(segs.is_ok());
  EXPECT_GT(segs->size(), 10u);
  auto r = testing::read_wal(dir.path());
  ASSERT_TRUE(r.error.is_ok()) << r.error.to_string();
  EXPECT_EQ(r.entries, in);
  for (uint64_t start : {1u, 2u, 37u, 250u, 499u, 500u}) {
    auto part = testing::read_wal(dir.path(), start);
    ASSERT_TRUE(part.error.is_ok()) << part.error.to_string();
    ASSERT_EQ(part.entries.size(), 501 - start) << "start " << start;
    EXPECT_EQ(part.entries.front(), in[start - 1]);
  }
  // A start beyond the end waits.
  auto beyond = testing::read_wal(dir.path(), 10000);
  EXPECT_TRUE(beyond.error.is_ok());
  EXPECT_TRUE(beyond.end_of_log);
  EXPECT_TRUE(beyond.entries.empty());
}

TEST(WalRoundTrip, OversizedEntryIsRejectedOnAppend) {
  TempDir dir;
  auto w = WalWriter::open(testing::writer_options(dir.path()));
  ASSERT_TRUE(w.is_ok());
  std::string huge(wal::kMaxEntryBytes, 'x');
  WalEntry e;
  e.kind = WalEntryKind::Insert;
  e.value = std::string_view(huge);
  auto r = (*w)->append(e);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("256 MiB"), std::string::npos);
  e.kind = static_cast<WalEntryKind>(9);
  e.value.reset();
  EXPECT_EQ((*w)->append(e).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ((*w)->next_sequence(), 1u);  // nothing consumed a sequence
}

TEST(WalRoundTrip, ReaderSeesEntriesAppendedAfterItReachedTheEnd) {
  TempDir dir;
  auto w = WalWriter::open(testing::writer_options(dir.path(), 2000));
  ASSERT_TRUE(w.is_ok());
  WalReaderOptions ro;
  ro.dir = dir.path();
  auto reader = WalReader::open(ro);  // empty directory: fine, waits
  ASSERT_TRUE(reader.is_ok()) << reader.status().to_string();
  WalEntry e;
  EXPECT_EQ(*(*reader)->next(e), WalReadStatus::kEndOfLog);
  std::vector<OwnedWalEntry> got;
  for (int round = 0; round < 20; ++round) {
    auto in = testing::append_entries(**w, 7, 90);  // rotates every few entries
    for (;;) {
      auto st = (*reader)->next(e);
      ASSERT_TRUE(st.is_ok()) << st.status().to_string();
      if (*st == WalReadStatus::kEndOfLog) break;
      got.push_back(OwnedWalEntry::from(e));
    }
    ASSERT_EQ(got.size(), 7u * (round + 1));
    EXPECT_EQ(got.back(), in.back());
    EXPECT_EQ((*reader)->last_sequence(), in.back().sequence);
  }
}

}  // namespace
}  // namespace heliosdb::cdc
