// Damaged bytes are found, reported with the file and the exact byte offset,
// and the caller's policy decides: kStop returns the error, kSkip reports it
// and goes on.
#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "testing/test_util.h"
#include "wal_test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

struct Damaged {
  TempDir dir;
  std::vector<OwnedWalEntry> in;
  std::vector<uint64_t> offs;
  std::string path;
  explicit Damaged(size_t n = 20) {
    in = testing::write_wal(dir.path(), n);
    offs = testing::record_offsets(in);
    path = testing::seg(dir.path(), 1);
  }
};

void expect_error_at(const testing::ReadResult& r, const std::string& path, uint64_t offset,
                     const std::string& reason) {
  ASSERT_FALSE(r.error.is_ok());
  EXPECT_EQ(r.error.code(), ErrorCode::kCorruption);
  std::string want = path + " at byte " + std::to_string(offset) + ": " + reason;
  EXPECT_NE(r.error.message().find(want), std::string::npos)
      << "got: " << r.error.message() << "\nwant: " << want;
  ASSERT_FALSE(r.reports.empty());
  EXPECT_EQ(r.reports[0].file, path);
  EXPECT_EQ(r.reports[0].offset, offset);
}

TEST(WalCorruption, FlippedPayloadByteIsAChecksumMismatchAtTheRecordOffset) {
  Damaged d;
  testing::flip_byte(d.path, d.offs[7] + 7 + 30);  // inside entry 8's payload
  auto r = testing::read_wal(d.dir.path());
  EXPECT_EQ(r.entries.size(), 7u);
  expect_error_at(r, d.path, d.offs[7], "checksum mismatch");
  EXPECT_EQ(r.reports[0].bytes, d.offs[8] - d.offs[7]);
}

TEST(WalCorruption, FlippedChecksumByteIsDetected) {
  Damaged d;
  testing::flip_byte(d.path, d.offs[3] + 1);
  auto r = testing::read_wal(d.dir.path());
  EXPECT_EQ(r.entries.size(), 3u);
  expect_error_at(r, d.path, d.offs[3], "checksum mismatch");
}

TEST(WalCorruption, FlippedTypeByteIsDetected) {
  Damaged d;
  testing::flip_byte(d.path, d.offs[5] + 6, 0x02);  // FULL -> LAST: checksum covers the type
  auto r = testing::read_wal(d.dir.path());
  expect_error_at(r, d.path, d.offs[5], "checksum mismatch");
}

TEST(WalCorruption, LengthRunningPastTheBlockIsCorruption) {
  Damaged d;
  testing::flip_byte(d.path, d.offs[2] + 5, 0x7f);  // length high byte: > 32 KiB
  auto r = testing::read_wal(d.dir.path());
  EXPECT_EQ(r.entries.size(), 2u);
  ASSERT_FALSE(r.error.is_ok());
  EXPECT_NE(r.error.message().find(" at byte " + std::to_string(d.offs[2]) + ": fragment length"),
            std::string::npos)
      << r.error.message();
}

TEST(WalCorruption, StopPolicyReturnsTheSameErrorAgain) {
  Damaged d;
  testing::flip_byte(d.path, d.offs[4] + 10);
  WalReaderOptions o;
  o.dir = d.dir.path();
  int reports = 0;
  o.on_corruption = [&](const WalCorruption&) { ++reports; };
  auto reader = WalReader::open(o);
  ASSERT_TRUE(reader.is_ok());
  WalEntry e;
  for (int i = 0; i < 4; ++i) ASSERT_EQ(*(*reader)->next(e), WalReadStatus::kEntry);
  auto first = (*reader)->next(e);
  auto second = (*reader)->next(e);
  ASSERT_FALSE(first.is_ok());
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(first.status().message(), second.status().message());
  EXPECT_EQ(reports, 1);  // reported once
  EXPECT_EQ((*reader)->last_sequence(), 4u);
  EXPECT_EQ((*reader)->current_offset(), d.offs[4]);
}

TEST(WalCorruption, SkipPolicyReportsAndReturnsEverythingElse) {
  Damaged d;
  testing::flip_byte(d.path, d.offs[4] + 10);
  testing::flip_byte(d.path, d.offs[11] + 20);
  auto r = testing::read_wal(d.dir.path(), 0, WalCorruptionPolicy::kSkip);
  ASSERT_TRUE(r.error.is_ok()) << r.error.to_string();
  ASSERT_EQ(r.reports.size(), 2u);
  EXPECT_EQ(r.reports[0].offset, d.offs[4]);
  EXPECT_EQ(r.reports[1].offset, d.offs[11]);
  EXPECT_EQ(r.reports[0].reason, "checksum mismatch");
  EXPECT_EQ(r.entries.size(), d.in.size() - 2);
  EXPECT_EQ(r.entries[4], d.in[5]);
}

TEST(WalCorruption, DamageInsideAMultiFragmentRecordIsReportedAtItsFragment) {
  TempDir dir;
  auto in = testing::write_wal(dir.path(), 3, 64 << 20, 100000);  // records of ~3-4 blocks
  std::string path = testing::seg(dir.path(), 1);
  testing::flip_byte(path, 2 * wal::kBlockSize + 100);  // a MIDDLE fragment of some record
  auto r = testing::read_wal(dir.path());
  ASSERT_EQ(r.error.code(), ErrorCode::kCorruption);
  EXPECT_EQ(r.reports[0].offset, 2 * wal::kBlockSize);
  EXPECT_EQ(r.reports[0].reason, "checksum mismatch");
  auto s = testing::read_wal(dir.path(), 0, WalCorruptionPolicy::kSkip);
  ASSERT_TRUE(s.error.is_ok());
  for (const auto& e : s.entries) {
    EXPECT_EQ(e, in[e.sequence - 1]);  // whatever comes back is intact
  }
}

TEST(WalCorruption, UndecodableEntryWithValidChecksumIsCorruption) {
  TempDir dir;
  auto w = WalWriter::open(testing::writer_options(dir.path()));
  ASSERT_TRUE(w.is_ok());
  testing::append_entries(**w, 2);
  ASSERT_TRUE((*w)->close().is_ok());
  // Hand-craft a record with kind 42 and a correct CRC.
  std::string payload;
  OwnedWalEntry e = testing::make_entry(3);
  wal::encode_entry(e.view(), &payload);
  payload[24] = 42;
  std::string path = testing::seg(dir.path(), 1);
  uint64_t at = testing::file_size(path);
  size_t bo = at % wal::kBlockSize;
  std::string frame;
  wal::append_fragments(payload, &bo, &frame);
  testing::append_bytes(path, frame);
  auto r = testing::read_wal(dir.path());
  EXPECT_EQ(r.entries.size(), 2u);
  expect_error_at(r, path, at, "unknown entry kind");
}

TEST(WalCorruption, SequenceOutOfOrderInsideASegmentIsCorruption) {
  TempDir dir;
  testing::write_wal(dir.path(), 2);
  std::string payload;
  OwnedWalEntry e = testing::make_entry(7);  // expected 3
  wal::encode_entry(e.view(), &payload);
  std::string path = testing::seg(dir.path(), 1);
  uint64_t at = testing::file_size(path);
  size_t bo = at % wal::kBlockSize;
  std::string frame;
  wal::append_fragments(payload, &bo, &frame);
  testing::append_bytes(path, frame);
  auto r = testing::read_wal(dir.path());
  expect_error_at(r, path, at, "sequence out of order: expected 3, found 7");
}

TEST(WalCorruption, BadSegmentHeaderIsReportedAtByteZero) {
  Damaged d;
  testing::flip_byte(d.path, 3);
  auto r = testing::read_wal(d.dir.path());
  expect_error_at(r, d.path, 0, "bad segment magic");
}

TEST(WalCorruption, UnsupportedFormatVersionIsAFailedPrecondition) {
  Damaged d;
  std::string bytes = testing::read_file(d.path);
  bytes[8] = 2;
  wal::put_u32(bytes.data() + 32, crc32c::mask(crc32c::value(bytes.data(), 32)));
  testing::write_file(d.path, bytes);
  auto r = testing::read_wal(d.dir.path());
  EXPECT_EQ(r.error.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error.message().find("unsupported WAL format version 2"), std::string::npos);
}

TEST(WalCorruption, WriterRefusesToContinueAfterMidSegmentDamage) {
  Damaged d;
  testing::flip_byte(d.path, d.offs[3] + 12);
  auto w = WalWriter::open(testing::writer_options(d.dir.path()));
  ASSERT_FALSE(w.is_ok());
  EXPECT_EQ(w.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(w.status().message().find(d.path + " at byte " + std::to_string(d.offs[3])),
            std::string::npos)
      << w.status().message();
  EXPECT_EQ(testing::file_size(d.path), d.offs.back());  // nothing was truncated
}

// The reader and the restarting writer both call the last record of `wal`
// a checksum mismatch at its offset, and the writer truncates nothing.
void expect_checksum_mismatch_at_last_record(const testing::WalEndingInRecordAt& wal) {
  const uint64_t size = testing::file_size(wal.path);
  auto r = testing::read_wal(wal.dir);
  EXPECT_EQ(r.entries, wal.before_last());
  expect_error_at(r, wal.path, wal.last_start, "checksum mismatch");
  auto w = WalWriter::open(testing::writer_options(wal.dir));
  ASSERT_FALSE(w.is_ok());
  EXPECT_EQ(w.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(w.status().message().find(wal.path + " at byte " + std::to_string(wal.last_start) +
                                      ": checksum mismatch"),
            std::string::npos)
      << w.status().message();
  EXPECT_EQ(testing::file_size(wal.path), size);
}

// Zeros to the end of the file are a torn tail only if they start at a 4 KiB
// page boundary inside the failed record (what a power loss leaves); else the
// record was damaged where it was written.
TEST(WalCorruption, ZerosFromAnUnalignedOffsetInTheLastRecordAreCorruption) {
  TempDir dir;
  testing::WalEndingInRecordAt wal(dir.path(), 4000, 3000);  // ends before 8192
  testing::zero_from(wal.path, 4097, 4096);
  expect_checksum_mismatch_at_last_record(wal);
}

TEST(WalCorruption, PageOfZerosFollowedByNonZeroBytesIsCorruption) {
  TempDir dir;
  testing::WalEndingInRecordAt wal(dir.path(), 4000, 3000);
  testing::zero_from(wal.path, 4096, 8192);
  testing::flip_byte(wal.path, wal.end + 8000, 0x01);
  expect_checksum_mismatch_at_last_record(wal);
}

// Zero pages after a bad record start after it: they do not explain its checksum.
TEST(WalCorruption, BadRecordFollowedByZeroPagesIsCorruption) {
  TempDir dir;
  testing::WalEndingInRecordAt wal(dir.path(), 1000, 2000);  // ends before 4096
  testing::flip_byte(wal.path, wal.last_start + 100);
  testing::zero_from(wal.path, wal.end, 8192);
  expect_checksum_mismatch_at_last_record(wal);
}

TEST(WalCorruption, PageLossTailInASealedSegmentIsCorruption) {
  TempDir dir;
  testing::WalEndingInRecordAt wal(dir.path(), 4000, 3000, /*sealed=*/true);
  testing::zero_from(wal.path, 4096, 4096);
  auto r = testing::read_wal(dir.path());
  EXPECT_EQ(r.entries, wal.before_last());
  expect_error_at(r, wal.path, wal.last_start,
                  "incomplete record at the end of a sealed segment (checksum mismatch at byte " +
                      std::to_string(wal.last_start) +
                      ", zero bytes from the page boundary at byte 4096 to the end of the file)");
}

}  // namespace
}  // namespace heliosdb::cdc
