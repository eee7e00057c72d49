// Reads framed records (reassembled fragments) from one segment file.
//
// Knows nothing about sequences or policy: it tells a complete record, a clean
// end, a torn tail and damage apart, and the WalReader (or the writer's
// recovery scan) decides what they mean.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace heliosdb::cdc::wal {

class SegmentRecordReader {
 public:
  enum class Outcome {
    kRecord,   // `payload` holds one complete record
    kEnd,      // clean end: the file ends at a record boundary (or in a block trailer)
    kTorn,     // the file ends inside a record: short header, length past the end,
               // multi-fragment record without its LAST fragment, zeros to the end,
               // or a fragment failing its checksum with zeros from a 4 KiB page
               // boundary inside it to the end (a power loss); see torn_reason()
    kCorrupt,  // damaged bytes; see damage()
    kIoError,  // pread failed; see io_errno()
  };
  struct Damage {
    uint64_t offset = 0;  // file offset of the damaged bytes
    uint64_t bytes = 0;   // how many bytes are dropped
    uint64_t resume = 0;  // where reading continues if the caller skips them
    std::string reason;
  };

  // Reads with an internal buffer of `buffer_bytes` (a multiple of the block size).
  explicit SegmentRecordReader(size_t buffer_bytes = 1 << 20);
  SegmentRecordReader(const SegmentRecordReader&) = delete;
  SegmentRecordReader& operator=(const SegmentRecordReader&) = delete;

  ~SegmentRecordReader();

  // Starts reading `fd` (not owned; must outlive its use here) at `offset`.
  void reset(int fd, uint64_t offset);
  // Reads the first `size` bytes of the file through a read-only mapping
  // instead of pread() copies. Only for sealed segments, whose bytes never
  // change again (a mapping of a file truncated underneath would fault).
  // Returns false (and keeps using pread) if mapping fails.
  bool map_file(uint64_t size);
  // Forgets buffered bytes, so the next read sees the file as it is now.
  void invalidate() {
    if (!map_) buf_len_ = 0;
  }
  // Continues at `offset` (e.g. Damage::resume), dropping any partial record.
  void seek(uint64_t offset) { boundary_ = offset; }

  // Reads the next record. On kRecord the payload view stays valid until the
  // next call. On anything but kRecord the position stays at the boundary
  // after the last complete record, so calling again re-reads the same bytes.
  Outcome read(std::string_view* payload);

  // Offset just after the last complete record (where the next one starts).
  uint64_t boundary() const { return boundary_; }
  // Offset where the last record returned began.
  uint64_t record_offset() const { return record_offset_; }
  const Damage& damage() const { return damage_; }
  int io_errno() const { return io_errno_; }
  // For kTorn/kEnd: bytes after boundary() that exist in the file.
  uint64_t tail_bytes() const { return tail_bytes_; }
  // For kTorn: how the record is torn, with byte offsets (for error messages).
  const std::string& torn_reason() const { return torn_reason_; }

 private:
  // Makes [off, off+n) available in the buffer. False if the file is shorter.
  bool ensure(uint64_t off, size_t n);
  uint64_t file_end_known() const { return buf_off_ + buf_len_; }
  bool all_zero_to_eof(uint64_t off);
  // For a fragment at `off`, buffered up to `frag_end`, whose checksum fails:
  // the 4 KiB page boundary inside it from which every byte to the end of the
  // file is zero, if there is one (a power loss lost the pages from there),
  // else 0. On a read error returns 0 with io_errno() set.
  uint64_t lost_pages_from(uint64_t off, uint64_t frag_end);
  Outcome torn(std::string reason);
  Outcome corrupt(uint64_t off, uint64_t bytes, uint64_t resume, std::string reason);

  void unmap();

  int fd_ = -1;
  const char* data_ = nullptr;  // buf_ or map_
  char* map_ = nullptr;
  size_t map_len_ = 0;
  std::unique_ptr<char[]> buf_;
  size_t cap_;
  uint64_t buf_off_ = 0;  // file offset of buf_[0]
  size_t buf_len_ = 0;
  bool buf_hit_eof_ = false;  // the last refill stopped at end of file
  uint64_t boundary_ = 0;
  uint64_t record_offset_ = 0;
  std::string scratch_;  // reassembly of multi-fragment records
  Damage damage_;
  int io_errno_ = 0;
  uint64_t tail_bytes_ = 0;
  std::string torn_reason_;
};

}  // namespace heliosdb::cdc::wal
