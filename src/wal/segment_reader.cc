#include "wal/segment_reader.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/crc32c.h"
#include "wal/wal_format.h"

namespace heliosdb::cdc::wal {

SegmentRecordReader::SegmentRecordReader(size_t buffer_bytes)
    : cap_(buffer_bytes < kBlockSize ? kBlockSize : buffer_bytes - buffer_bytes % kBlockSize) {
  buf_.reset(new char[cap_]);
  data_ = buf_.get();
}

SegmentRecordReader::~SegmentRecordReader() { unmap(); }

void SegmentRecordReader::unmap() {
  if (map_) {
    ::munmap(map_, map_len_);
    map_ = nullptr;
    map_len_ = 0;
    data_ = buf_.get();
  }
}

bool SegmentRecordReader::map_file(uint64_t size) {
  unmap();
  if (size == 0) return false;
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd_, 0);
  if (p == MAP_FAILED) return false;
  ::madvise(p, size, MADV_SEQUENTIAL);
  map_ = static_cast<char*>(p);
  map_len_ = size;
  data_ = map_;
  buf_off_ = 0;
  buf_len_ = size;
  return true;
}

void SegmentRecordReader::reset(int fd, uint64_t offset) {
  unmap();
  fd_ = fd;
  buf_off_ = 0;
  buf_len_ = 0;
  boundary_ = offset;
  record_offset_ = offset;
  io_errno_ = 0;
  scratch_.clear();
}

bool SegmentRecordReader::ensure(uint64_t off, size_t n) {
  if (off >= buf_off_ && off + n <= buf_off_ + buf_len_) return true;
  if (map_) return false;  // a mapped (sealed) segment is complete
  if (io_errno_ != 0) return false;
  // Refill from the start of the block holding `off`: fragments never cross
  // a block boundary, so a whole fragment is then in the buffer unless the
  // file ends first.
  uint64_t start = off - off % kBlockSize;
  size_t got = 0;
  while (got < cap_) {
    ssize_t r = ::pread(fd_, buf_.get() + got, cap_ - got, static_cast<off_t>(start + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      io_errno_ = errno;
      break;
    }
    got += static_cast<size_t>(r);
    if (static_cast<size_t>(r) == 0 || got < cap_) break;  // short read: end of file
  }
  buf_off_ = start;
  buf_len_ = got;
  return off + n <= start + got;
}

bool SegmentRecordReader::all_zero_to_eof(uint64_t off) {
  uint64_t pos = off;
  while (ensure(pos, 1)) {
    const char* p = data_ + (pos - buf_off_);
    const char* end = data_ + buf_len_;
    for (; p < end; ++p) {
      if (*p != 0) return false;
    }
    pos = buf_off_ + buf_len_;
  }
  return io_errno_ == 0;
}

uint64_t SegmentRecordReader::lost_pages_from(uint64_t off, uint64_t frag_end) {
  // Where the zeros at the end of the fragment begin, rounded up to a page
  // boundary. It must lie inside the fragment: if the fragment's own bytes
  // are all before the zeros, the zeros do not explain its bad checksum.
  const char* frag = data_ + (off - buf_off_);
  uint64_t zeros = frag_end;
  while (zeros > off && frag[zeros - 1 - off] == 0) --zeros;
  uint64_t page = (zeros + kCrashPageSize - 1) / kCrashPageSize * kCrashPageSize;
  if (page <= off || page >= frag_end) return 0;
  return all_zero_to_eof(frag_end) ? page : 0;
}

SegmentRecordReader::Outcome SegmentRecordReader::torn(std::string reason) {
  uint64_t end = buf_off_ + buf_len_;
  tail_bytes_ = end > boundary_ ? end - boundary_ : 0;
  torn_reason_ = std::move(reason);
  invalidate();  // re-read from the file next time: it may grow or be truncated
  return Outcome::kTorn;
}

SegmentRecordReader::Outcome SegmentRecordReader::corrupt(uint64_t off, uint64_t bytes,
                                                          uint64_t resume, std::string reason) {
  damage_.offset = off;
  damage_.bytes = bytes;
  damage_.resume = resume;
  damage_.reason = std::move(reason);
  return Outcome::kCorrupt;
}

SegmentRecordReader::Outcome SegmentRecordReader::read(std::string_view* payload) {
  // The last record is consumed: a reassembly buffer grown for a big one is
  // not kept as capacity (it stayed at the size of the largest row ever read).
  if (scratch_.capacity() > cap_) std::string().swap(scratch_);
  uint64_t off = boundary_;
  uint64_t rec_start = off;
  bool in_record = false;  // a FIRST fragment has been seen
  for (;;) {
    size_t left = kBlockSize - static_cast<size_t>(off % kBlockSize);
    if (left < kFragmentHeaderSize) {  // zero-filled block trailer
      off += left;
      continue;
    }
    if (!ensure(off, kFragmentHeaderSize)) {
      if (io_errno_ != 0) return Outcome::kIoError;
      uint64_t end = buf_off_ + buf_len_;
      if (!in_record && end <= off) {
        // Nothing after the last record except, at most, a block trailer.
        tail_bytes_ = end > boundary_ ? end - boundary_ : 0;
        invalidate();  // re-read from the file next time: it may grow
        return Outcome::kEnd;
      }
      if (in_record) {
        return torn("the record at byte " + std::to_string(rec_start) +
                    " has no LAST fragment before the end of the file");
      }
      return torn("the file ends inside the fragment header at byte " + std::to_string(off));
    }
    const char* h = data_ + (off - buf_off_);
    uint32_t stored = get_u32(h);
    size_t len = get_u16(h + 4);
    uint8_t type = static_cast<uint8_t>(h[6]);
    if (type == kZeroType && len == 0 && stored == 0) {
      if (all_zero_to_eof(off)) {  // a crash left zeros after the last write
        return torn("zero bytes from byte " + std::to_string(off) + " to the end of the file");
      }
      if (io_errno_ != 0) return Outcome::kIoError;
      return corrupt(off, left, off + left, "zero bytes where a fragment header was expected");
    }
    if (kFragmentHeaderSize + len > left) {
      return corrupt(
          off, left, off + left,
          "fragment length " + std::to_string(len) + " runs past the end of its 32 KiB block");
    }
    if (off + kFragmentHeaderSize + len > buf_off_ + buf_len_) {
      if (!ensure(off, kFragmentHeaderSize + len)) {
        if (io_errno_ != 0) return Outcome::kIoError;
        return torn("the fragment at byte " + std::to_string(off) +
                    " runs past the end of the file");
      }
      continue;  // refilled: parse the header again from the fresh bytes
    }
    uint64_t frag_end = off + kFragmentHeaderSize + len;
    if (crc32c::unmask(stored) != crc32c::value(h + 6, 1 + len)) {
      if (uint64_t page = lost_pages_from(off, frag_end)) {
        return torn("checksum mismatch at byte " + std::to_string(off) +
                    ", zero bytes from the page boundary at byte " + std::to_string(page) +
                    " to the end of the file");
      }
      if (io_errno_ != 0) return Outcome::kIoError;
      return corrupt(off, kFragmentHeaderSize + len, frag_end, "checksum mismatch");
    }
    const char* data = h + kFragmentHeaderSize;
    switch (type) {
      case kFullType:
        if (in_record) {
          return corrupt(rec_start, off - rec_start, off,
                         "multi-fragment record is missing its LAST fragment");
        }
        *payload = std::string_view(data, len);
        record_offset_ = off;
        boundary_ = frag_end;
        return Outcome::kRecord;
      case kFirstType:
        if (in_record) {
          return corrupt(rec_start, off - rec_start, off,
                         "multi-fragment record is missing its LAST fragment");
        }
        in_record = true;
        rec_start = off;
        scratch_.assign(data, len);
        break;
      case kMiddleType:
      case kLastType:
        if (!in_record) {
          return corrupt(off, kFragmentHeaderSize + len, frag_end,
                         type == kMiddleType ? "MIDDLE fragment without a FIRST fragment"
                                             : "LAST fragment without a FIRST fragment");
        }
        if (scratch_.size() + len > kMaxEntryBytes) {
          return corrupt(rec_start, frag_end - rec_start, frag_end,
                         "record larger than the 256 MiB limit");
        }
        scratch_.append(data, len);
        if (type == kLastType) {
          *payload = scratch_;
          record_offset_ = rec_start;
          boundary_ = frag_end;
          return Outcome::kRecord;
        }
        break;
      default:
        return corrupt(off, kFragmentHeaderSize + len, frag_end,
                       "unknown fragment type " + std::to_string(type));
    }
    off = frag_end;
  }
}

}  // namespace heliosdb::cdc::wal
