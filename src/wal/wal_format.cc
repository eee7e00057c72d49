#include "wal/wal_format.h"

#include <cstdio>
#include <cstring>

#include "common/crc32c.h"

namespace heliosdb::cdc::wal {

void encode_segment_header(uint64_t first_sequence, int64_t creation_time_ms, char* out) {
  std::memcpy(out, kMagic, 8);
  put_u16(out + 8, kFormatVersion);
  put_u16(out + 10, 0);  // reserved
  put_u32(out + 12, static_cast<uint32_t>(kBlockSize));
  put_u64(out + 16, first_sequence);
  put_u64(out + 24, static_cast<uint64_t>(creation_time_ms));
  put_u32(out + 32, crc32c::mask(crc32c::value(out, 32)));
}

bool decode_segment_header(const char* p, size_t n, SegmentHeader* out, std::string* reason) {
  if (n < kSegmentHeaderSize) {
    *reason = "segment header truncated (" + std::to_string(n) + " of " +
              std::to_string(kSegmentHeaderSize) + " bytes)";
    return false;
  }
  if (std::memcmp(p, kMagic, 8) != 0) {
    *reason = "bad segment magic (not a HeliosDB WAL segment)";
    return false;
  }
  uint32_t stored = crc32c::unmask(get_u32(p + 32));
  if (stored != crc32c::value(p, 32)) {
    *reason = "segment header checksum mismatch";
    return false;
  }
  out->version = get_u16(p + 8);
  out->block_size = get_u32(p + 12);
  out->first_sequence = get_u64(p + 16);
  out->creation_time_ms = static_cast<int64_t>(get_u64(p + 24));
  if (out->version != kFormatVersion) {
    *reason = "unsupported WAL format version " + std::to_string(out->version) +
              " (this reader supports version 1)";
    return false;
  }
  if (get_u16(p + 10) != 0) {
    *reason = "segment header reserved field is not zero";
    return false;
  }
  if (out->block_size != kBlockSize) {
    *reason = "unsupported block size " + std::to_string(out->block_size) + " (expected 32768)";
    return false;
  }
  return true;
}

std::string segment_file_name(uint64_t first_sequence) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.wal", static_cast<unsigned long long>(first_sequence));
  return buf;
}

std::optional<uint64_t> parse_segment_file_name(std::string_view name) {
  if (name.size() != 20 + kSegmentSuffix.size()) return std::nullopt;
  if (name.substr(20) != kSegmentSuffix) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;  // overflow
    v = v * 10 + d;
  }
  return v;
}

void put_varint32(std::string* out, uint32_t v) {
  char buf[5];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

const char* get_varint32(const char* p, const char* limit, uint32_t* v) {
  uint32_t result = 0;
  for (uint32_t shift = 0; shift <= 28 && p < limit; shift += 7) {
    uint32_t byte = static_cast<unsigned char>(*p++);
    if (shift == 28 && byte > 0x0f) return nullptr;  // more than 32 bits
    if (byte & 0x80) {
      result |= (byte & 0x7f) << shift;
    } else {
      result |= byte << shift;
      *v = result;
      return p;
    }
  }
  return nullptr;
}

namespace {
size_t varint_size(size_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
size_t field_size(std::string_view s) { return varint_size(s.size()) + s.size(); }
void put_field(std::string* out, std::string_view s) {
  put_varint32(out, static_cast<uint32_t>(s.size()));
  out->append(s.data(), s.size());
}
}  // namespace

size_t encoded_entry_size(const WalEntry& e) {
  size_t n = kEntryFixedBytes + field_size(e.database) + field_size(e.table) + field_size(e.key);
  if (e.value) n += field_size(*e.value);
  if (e.old_value) n += field_size(*e.old_value);
  return n;
}

void encode_entry(const WalEntry& e, std::string* out) {
  char fixed[kEntryFixedBytes];
  put_u64(fixed, e.sequence);
  put_u64(fixed + 8, static_cast<uint64_t>(e.timestamp_ms));
  put_u64(fixed + 16, e.transaction_id);
  fixed[24] = static_cast<char>(e.kind);
  fixed[25] =
      static_cast<char>((e.value ? kFlagHasValue : 0) | (e.old_value ? kFlagHasOldValue : 0));
  out->append(fixed, kEntryFixedBytes);
  put_field(out, e.database);
  put_field(out, e.table);
  put_field(out, e.key);
  if (e.value) put_field(out, *e.value);
  if (e.old_value) put_field(out, *e.old_value);
}

namespace {
inline const char* get_field(const char* p, const char* limit, std::string_view* out) {
  uint32_t len;
  if (p < limit && static_cast<unsigned char>(*p) < 0x80) {  // fast path: one-byte length
    len = static_cast<unsigned char>(*p++);
  } else {
    p = get_varint32(p, limit, &len);
    if (!p) return nullptr;
  }
  if (len > static_cast<size_t>(limit - p)) return nullptr;
  *out = std::string_view(p, len);
  return p + len;
}
}  // namespace

const char* decode_entry(const char* p, size_t n, WalEntry* out) {
  if (n < kEntryFixedBytes) return "entry shorter than its fixed fields";
  const char* limit = p + n;
  out->sequence = get_u64(p);
  out->timestamp_ms = static_cast<int64_t>(get_u64(p + 8));
  out->transaction_id = get_u64(p + 16);
  uint8_t kind = static_cast<uint8_t>(p[24]);
  uint8_t flags = static_cast<uint8_t>(p[25]);
  if (kind < static_cast<uint8_t>(WalEntryKind::Begin) ||
      kind > static_cast<uint8_t>(WalEntryKind::Abort)) {
    return "unknown entry kind";
  }
  if (flags & ~(kFlagHasValue | kFlagHasOldValue)) return "unknown entry flags";
  out->kind = static_cast<WalEntryKind>(kind);
  p += kEntryFixedBytes;
  if (!(p = get_field(p, limit, &out->database))) return "bad database field";
  if (!(p = get_field(p, limit, &out->table))) return "bad table field";
  if (!(p = get_field(p, limit, &out->key))) return "bad key field";
  std::string_view v;
  if (flags & kFlagHasValue) {
    if (!(p = get_field(p, limit, &v))) return "bad value field";
    out->value = v;
  } else {
    out->value.reset();
  }
  if (flags & kFlagHasOldValue) {
    if (!(p = get_field(p, limit, &v))) return "bad old_value field";
    out->old_value = v;
  } else {
    out->old_value.reset();
  }
  if (p != limit) return "trailing bytes after entry";
  return nullptr;
}

void append_fragments(std::string_view payload, size_t* block_offset, std::string* out) {
  const char* ptr = payload.data();
  size_t left = payload.size();
  bool begin = true;
  do {
    size_t leftover = kBlockSize - *block_offset;
    if (leftover < kFragmentHeaderSize) {
      out->append(leftover, '\0');  // zero-filled block trailer
      *block_offset = 0;
      leftover = kBlockSize;
    }
    size_t avail = leftover - kFragmentHeaderSize;
    size_t len = left < avail ? left : avail;
    bool end = (len == left);
    FragmentType type = begin && end ? kFullType
                        : begin      ? kFirstType
                        : end        ? kLastType
                                     : kMiddleType;
    char header[kFragmentHeaderSize];
    put_u16(header + 4, static_cast<uint16_t>(len));
    header[6] = static_cast<char>(type);
    uint32_t crc = crc32c::extend(crc32c::value(header + 6, 1), ptr, len);
    put_u32(header, crc32c::mask(crc));
    out->append(header, kFragmentHeaderSize);
    out->append(ptr, len);
    ptr += len;
    left -= len;
    *block_offset += kFragmentHeaderSize + len;
    begin = false;
  } while (left > 0);
}

}  // namespace heliosdb::cdc::wal
