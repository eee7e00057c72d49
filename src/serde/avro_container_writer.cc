#include "serde/avro_container_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <random>

#include "serde/avro_encoder.h"
#include "serde/avro_schema.h"

namespace heliosdb::cdc::avro {
namespace {

constexpr std::string_view kMagic("Obj\x01", 4);

// Reads a zigzag varint long at `pos`; nullopt if the bytes end first or the
// varint is longer than 10 bytes.
std::optional<int64_t> read_long(std::string_view in, size_t& pos) {
  uint64_t n = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (pos >= in.size()) return std::nullopt;
    uint8_t b = static_cast<uint8_t>(in[pos++]);
    n |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return static_cast<int64_t>((n >> 1) ^ (~(n & 1) + 1));
  }
  return std::nullopt;
}

}  // namespace

SyncMarker AvroContainerWriter::random_sync_marker() {
  std::random_device rd;
  SyncMarker sync;
  for (size_t i = 0; i < sync.size(); i += 4) {
    uint32_t r = rd();
    std::memcpy(sync.data() + i, &r, 4);
  }
  return sync;
}

AvroContainerWriter::AvroContainerWriter(const SyncMarker& sync) : sync_(sync) {}

void AvroContainerWriter::append_header(std::string& out) const {
  out.append(kMagic);
  append_long(out, 2);  // one map block of two entries
  append_bytes(out, "avro.schema");
  append_bytes(out, cdc_event_schema_json());
  append_bytes(out, "avro.codec");
  append_bytes(out, "null");
  append_long(out, 0);  // end of map
  out.append(sync_.data(), sync_.size());
}

void AvroContainerWriter::add(const CdcEvent& event) {
  append_event(event, block_);
  ++count_;
}

void AvroContainerWriter::append_block(std::string& out) {
  if (count_ == 0) return;
  append_long(out, static_cast<int64_t>(count_));
  append_long(out, static_cast<int64_t>(block_.size()));
  out.append(block_);
  out.append(sync_.data(), sync_.size());
  block_.clear();
  // A block of big rows is not kept as capacity for the next one.
  if (block_.capacity() > kKeptBlockBytes) std::string().swap(block_);
  count_ = 0;
}

namespace {

// Random access to the bytes being scanned: a string in memory or a file.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Copies up to `len` bytes at `offset` into `buf`; returns how many, or -1.
  virtual int64_t read(uint64_t offset, char* buf, size_t len) = 0;
};

class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string_view s) : s_(s) {}
  uint64_t size() const override { return s_.size(); }
  int64_t read(uint64_t offset, char* buf, size_t len) override {
    if (offset >= s_.size()) return 0;
    size_t n = std::min<uint64_t>(len, s_.size() - offset);
    std::memcpy(buf, s_.data() + offset, n);
    return static_cast<int64_t>(n);
  }

 private:
  std::string_view s_;
};

class FileSource final : public ByteSource {
 public:
  FileSource(int fd, uint64_t size) : fd_(fd), size_(size) {}
  uint64_t size() const override { return size_; }
  int64_t read(uint64_t offset, char* buf, size_t len) override {
    size_t done = 0;
    while (done < len && offset + done < size_) {
      ssize_t n = ::pread(fd_, buf + done, len - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return -1;
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return static_cast<int64_t>(done);
  }

 private:
  int fd_;
  uint64_t size_;
};

Result<ContainerInfo> scan(ByteSource& src) {
  ContainerInfo info;
  auto bad = [](uint64_t offset, std::string_view what) {
    return Status(ErrorCode::kCorruption, "not a valid Avro container file at byte " +
                                              std::to_string(offset) + ": " + std::string(what));
  };
  // The header is small (the schema is under 1 KiB): read a generous prefix.
  std::string head(static_cast<size_t>(std::min<uint64_t>(src.size(), 1 << 20)), '\0');
  if (src.read(0, head.data(), head.size()) != static_cast<int64_t>(head.size())) {
    return Status(ErrorCode::kIo, "cannot read the Avro container header");
  }
  std::string_view file = head;
  if (file.size() < kMagic.size() || file.substr(0, kMagic.size()) != kMagic) {
    return bad(0, "missing \"Obj\\x01\" magic");
  }
  size_t pos = kMagic.size();
  bool have_codec = false;
  // Header metadata: a map of bytes, possibly in several blocks.
  for (;;) {
    size_t at = pos;
    auto count = read_long(file, pos);
    if (!count) return bad(at, "header metadata cut short");
    if (*count == 0) break;
    int64_t n = *count;
    if (n < 0) {  // negative count: a block byte size follows
      if (n == INT64_MIN) return bad(at, "header metadata count out of range");
      if (!read_long(file, pos)) return bad(at, "header metadata cut short");
      n = -n;
    }
    for (int64_t i = 0; i < n; ++i) {
      std::string_view kv[2];
      for (auto& s : kv) {
        size_t at2 = pos;
        auto len = read_long(file, pos);
        if (!len || *len < 0 || static_cast<uint64_t>(*len) > file.size() - pos) {
          return bad(at2, "header metadata cut short");
        }
        s = file.substr(pos, static_cast<size_t>(*len));
        pos += static_cast<size_t>(*len);
      }
      if (kv[0] == "avro.schema") info.schema = std::string(kv[1]);
      if (kv[0] == "avro.codec") {
        info.codec = std::string(kv[1]);
        have_codec = true;
      }
    }
  }
  if (!have_codec) info.codec = "null";
  if (file.size() - pos < info.sync.size()) return bad(pos, "header sync marker cut short");
  std::memcpy(info.sync.data(), file.data() + pos, info.sync.size());
  pos += info.sync.size();
  info.header_size = pos;
  info.complete_size = pos;
  if (info.codec != "null") {
    return Status(ErrorCode::kFailedPrecondition,
                  "Avro container file uses codec \"" + info.codec + "\", not \"null\"");
  }
  if (info.schema != cdc_event_schema_json()) {
    return Status(ErrorCode::kFailedPrecondition,
                  "Avro container file was written with a different schema than "
                  "heliosdb.cdc.CdcEvent's");
  }
  // Blocks: only their headers and sync markers are read. A block cut short
  // at the end is a torn tail, not corruption.
  uint64_t off = pos;
  const uint64_t total = src.size();
  while (off < total) {
    const uint64_t block_start = off;
    char buf[2 * kMaxVarintBytes];
    int64_t got = src.read(off, buf, sizeof buf);
    if (got < 0) return Status(ErrorCode::kIo, "cannot read Avro container block");
    std::string_view hdr(buf, static_cast<size_t>(got));
    size_t hp = 0;
    auto count = read_long(hdr, hp);
    if (!count) break;
    auto size = read_long(hdr, hp);
    if (!size) break;
    if (*count < 0 || *size < 0) return bad(block_start, "negative block count or size");
    off += hp;
    if (static_cast<uint64_t>(*size) + info.sync.size() > total - off) break;
    off += static_cast<uint64_t>(*size);
    SyncMarker sync;
    if (src.read(off, sync.data(), sync.size()) != static_cast<int64_t>(sync.size())) {
      return Status(ErrorCode::kIo, "cannot read Avro container block");
    }
    if (sync != info.sync) return bad(off, "block sync marker does not match the header's");
    off += sync.size();
    info.complete_size = off;
    info.events += static_cast<uint64_t>(*count);
  }
  return info;
}

}  // namespace

Result<ContainerInfo> scan_container(std::string_view file) {
  StringSource src(file);
  return scan(src);
}

Result<ContainerInfo> scan_container_file(int fd, uint64_t size) {
  FileSource src(fd, size);
  return scan(src);
}

}  // namespace heliosdb::cdc::avro
