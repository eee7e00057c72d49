// Helpers for the WAL tests: deterministic entries, reading a whole WAL, and
// damaging files on purpose.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "heliosdb/cdc/wal.h"
#include "wal/wal_files.h"
#include "wal/wal_format.h"

namespace heliosdb::cdc::testing {

// A deterministic entry for sequence `seq` with a value of `value_bytes` bytes.
inline OwnedWalEntry make_entry(uint64_t seq, size_t value_bytes = 40) {
  OwnedWalEntry e;
  e.sequence = seq;
  e.timestamp_ms = 1764000000000 + static_cast<int64_t>(seq);
  e.transaction_id = seq / 4 + 1;
  static const WalEntryKind kinds[] = {
      WalEntryKind::Begin,    WalEntryKind::Insert, WalEntryKind::Update, WalEntryKind::Delete,
      WalEntryKind::Truncate, WalEntryKind::Commit, WalEntryKind::Abort};
  e.kind = kinds[seq % 7];
  e.database = "db";
  e.table = "t" + std::to_string(seq % 3);
  e.key = "key" + std::to_string(seq);
  std::string v(value_bytes, 'a');
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>('a' + (seq + i) % 26);
  if (e.kind == WalEntryKind::Insert || e.kind == WalEntryKind::Update) e.value = v;
  if (e.kind == WalEntryKind::Update || e.kind == WalEntryKind::Delete) e.old_value = v + "-old";
  return e;
}

inline WalWriterOptions writer_options(const std::string& dir, uint64_t segment_bytes = 64 << 20) {
  WalWriterOptions o;
  o.dir = dir;
  o.segment_bytes = segment_bytes;
  o.sync_policy = WalSyncPolicy::kNever;
  return o;
}

// Appends entries for sequences next..next+n-1 (content from make_entry) and returns them.
inline std::vector<OwnedWalEntry> append_entries(WalWriter& w, size_t n, size_t value_bytes = 40) {
  std::vector<OwnedWalEntry> out;
  for (size_t i = 0; i < n; ++i) {
    OwnedWalEntry e = make_entry(w.next_sequence(), value_bytes);
    auto seq = w.append(e.view());
    EXPECT_TRUE(seq.is_ok()) << seq.status().to_string();
    EXPECT_EQ(*seq, e.sequence);
    out.push_back(e);
  }
  return out;
}

inline std::vector<OwnedWalEntry> write_wal(const std::string& dir, size_t n,
                                            uint64_t segment_bytes = 64 << 20,
                                            size_t value_bytes = 40) {
  auto w = WalWriter::open(writer_options(dir, segment_bytes));
  EXPECT_TRUE(w.is_ok()) << w.status().to_string();
  auto out = append_entries(**w, n, value_bytes);
  EXPECT_TRUE((*w)->close().is_ok());
  return out;
}

struct ReadResult {
  std::vector<OwnedWalEntry> entries;
  Status error;                        // first error returned by next()
  std::vector<WalCorruption> reports;  // everything on_corruption saw
  bool end_of_log = false;             // stopped at kEndOfLog
};

inline ReadResult read_wal(const std::string& dir, uint64_t start = 0,
                           WalCorruptionPolicy policy = WalCorruptionPolicy::kStop,
                           size_t max_entries = SIZE_MAX) {
  ReadResult r;
  WalReaderOptions o;
  o.dir = dir;
  o.start_sequence = start;
  o.corruption_policy = policy;
  o.on_corruption = [&r](const WalCorruption& c) { r.reports.push_back(c); };
  auto reader = WalReader::open(o);
  if (!reader) {
    r.error = reader.status();
    return r;
  }
  WalEntry e;
  while (r.entries.size() < max_entries) {
    auto st = (*reader)->next(e);
    if (!st) {
      r.error = st.status();
      break;
    }
    if (*st == WalReadStatus::kEndOfLog) {
      r.end_of_log = true;
      break;
    }
    r.entries.push_back(OwnedWalEntry::from(e));
  }
  return r;
}

inline std::string seg(const std::string& dir, uint64_t first) {
  return wal::segment_path(dir, first);
}

inline uint64_t file_size(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

inline void truncate_file(const std::string& path, uint64_t size) {
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(size)), 0);
}

inline void flip_byte(const std::string& path, uint64_t offset, unsigned char mask = 0x40) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  unsigned char b;
  ASSERT_EQ(::pread(fd, &b, 1, static_cast<off_t>(offset)), 1);
  b ^= mask;
  ASSERT_EQ(::pwrite(fd, &b, 1, static_cast<off_t>(offset)), 1);
  ::close(fd);
}

inline void append_bytes(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

// What a power loss leaves behind on many file systems: the file keeps its
// new size (here grown by `grow_by` more bytes, as if its size reached the
// disk ahead of the data) but its pages from `from` on read back as zeros.
inline void zero_from(const std::string& path, uint64_t from, uint64_t grow_by = 0) {
  uint64_t size = file_size(path);
  ASSERT_LE(from, size);
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  std::string zeros(size + grow_by - from, '\0');
  ASSERT_EQ(::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(from)),
            static_cast<ssize_t>(zeros.size()));
  ::close(fd);
}

// An INSERT of sequence `seq` whose value is `value_bytes` bytes.
inline OwnedWalEntry make_insert(uint64_t seq, size_t value_bytes) {
  OwnedWalEntry e = make_entry(seq);
  e.kind = WalEntryKind::Insert;
  e.value = std::string(value_bytes, static_cast<char>('a' + seq % 26));
  e.old_value.reset();
  return e;
}

// A single-segment WAL (plus, if `sealed`, a second segment that seals it)
// whose first segment ends in an INSERT record of `value_bytes` that begins
// at byte `last_start`: the record a crash tears in the tests.
struct WalEndingInRecordAt {
  std::string dir;
  std::string path;               // the segment holding the record
  std::vector<OwnedWalEntry> in;  // entries of that segment; the last one is the record
  uint64_t last_start = 0;
  uint64_t end = 0;  // size of the segment: the end of the record

  WalEndingInRecordAt(std::string wal_dir, uint64_t start, size_t value_bytes, bool sealed = false)
      : dir(std::move(wal_dir)), path(wal::segment_path(dir, 1)), last_start(start) {
    auto w = WalWriter::open(writer_options(dir));
    EXPECT_TRUE(w.is_ok()) << w.status().to_string();
    // Fill up to a little before `start`, then one INSERT sized to end exactly there.
    while (file_size(path) + 1200 < start) {
      in.push_back(make_insert((*w)->next_sequence(), 500));
      EXPECT_TRUE((*w)->append(in.back().view()).is_ok());
    }
    uint64_t at = std::max<uint64_t>(file_size(path), wal::kSegmentHeaderSize);
    EXPECT_EQ(at / wal::kBlockSize, start / wal::kBlockSize) << "filler would cross a block";
    EXPECT_GE(start, at + 64);
    OwnedWalEntry pad = make_insert((*w)->next_sequence(), start - at - 64);
    for (;;) {  // the value length's varint may change the size: converge
      uint64_t frame = wal::kFragmentHeaderSize + wal::encoded_entry_size(pad.view());
      if (at + frame == start) break;
      pad.value->resize(pad.value->size() + start - (at + frame));
    }
    in.push_back(pad);
    EXPECT_TRUE((*w)->append(pad.view()).is_ok());
    EXPECT_EQ(file_size(path), start);
    in.push_back(make_insert((*w)->next_sequence(), value_bytes));
    EXPECT_TRUE((*w)->append(in.back().view()).is_ok());
    end = file_size(path);
    EXPECT_TRUE((*w)->close().is_ok());
    if (sealed) {
      auto w2 = WalWriter::open(writer_options(dir));
      EXPECT_TRUE(w2.is_ok()) << w2.status().to_string();
      append_entries(**w2, 2);  // a newer segment: the first one is sealed
      EXPECT_TRUE((*w2)->close().is_ok());
    }
  }
  std::vector<OwnedWalEntry> before_last() const { return {in.begin(), in.end() - 1}; }
};

// Offsets of each entry's record in a single-segment WAL written by write_wal
// (computed from the format, so tests can aim at exact bytes).
inline std::vector<uint64_t> record_offsets(const std::vector<OwnedWalEntry>& entries) {
  std::vector<uint64_t> offs;
  size_t block_offset = wal::kSegmentHeaderSize;
  uint64_t pos = wal::kSegmentHeaderSize;
  for (const auto& e : entries) {
    std::string payload, frame;
    wal::encode_entry(e.view(), &payload);
    size_t before = block_offset;
    wal::append_fragments(payload, &block_offset, &frame);
    // Skip a zero trailer at the front, if one was written.
    uint64_t start = pos;
    if (wal::kBlockSize - before < wal::kFragmentHeaderSize) start += wal::kBlockSize - before;
    offs.push_back(start);
    pos += frame.size();
  }
  offs.push_back(pos);  // end of the last record
  return offs;
}

}  // namespace heliosdb::cdc::testing
