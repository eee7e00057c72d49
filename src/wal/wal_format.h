// Byte layout of the HeliosDB WAL, format version 1. docs/wal-format.md is the
// normative description; this header holds its constants and the pure
// encode/decode functions shared by the writer, the reader, the tests and the
// fuzz target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "heliosdb/cdc/wal.h"

namespace heliosdb::cdc::wal {

inline constexpr size_t kBlockSize = 32 * 1024;
inline constexpr size_t kFragmentHeaderSize = 7;  // crc u32, length u16, type u8
// Granularity at which a power loss loses written data: on many file systems
// a file keeps its new size while its last pages, from a boundary of this
// size on, read back as zeros. Zeros from such a boundary inside the last
// record to the end of the active segment are a torn tail (docs 6.2).
inline constexpr size_t kCrashPageSize = 4 * 1024;
inline constexpr size_t kSegmentHeaderSize = 36;
inline constexpr char kMagic[8] = {'H', 'E', 'L', 'I', 'O', 'W', 'A', 'L'};
inline constexpr uint16_t kFormatVersion = 1;
// Largest encoded entry payload (sum of its fragments). Longer is corruption.
inline constexpr size_t kMaxEntryBytes = 256u * 1024 * 1024;
// sequence u64 + timestamp i64 + transaction id u64 + kind u8 + flags u8.
inline constexpr size_t kEntryFixedBytes = 26;
inline constexpr uint8_t kFlagHasValue = 0x01;
inline constexpr uint8_t kFlagHasOldValue = 0x02;
inline constexpr std::string_view kSegmentSuffix = ".wal";
inline constexpr std::string_view kLockFileName = "LOCK";

enum FragmentType : uint8_t {
  kZeroType = 0,  // never written; zero bytes on disk
  kFullType = 1,
  kFirstType = 2,
  kMiddleType = 3,
  kLastType = 4,
};

// ---- little-endian helpers -------------------------------------------------
inline void put_u16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v);
  p[1] = static_cast<char>(v >> 8);
}
inline void put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void put_u64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline uint16_t get_u16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>(u[0] | (u[1] << 8));
}
inline uint32_t get_u32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | (uint32_t{u[1]} << 8) | (uint32_t{u[2]} << 16) | (uint32_t{u[3]} << 24);
}
inline uint64_t get_u64(const char* p) {
  return uint64_t{get_u32(p)} | (uint64_t{get_u32(p + 4)} << 32);
}

// ---- segment files -----------------------------------------------------------
struct SegmentHeader {
  uint16_t version = kFormatVersion;
  uint32_t block_size = kBlockSize;
  uint64_t first_sequence = 0;
  int64_t creation_time_ms = 0;
};

// Writes the 36-byte header into `out`.
void encode_segment_header(uint64_t first_sequence, int64_t creation_time_ms, char* out);
// Validates and parses a header. On failure returns false and sets `reason`.
bool decode_segment_header(const char* p, size_t n, SegmentHeader* out, std::string* reason);

// "00000000000000000042.wal"
std::string segment_file_name(uint64_t first_sequence);
// The first sequence encoded in a segment file name, or nullopt if `name` is
// not exactly 20 decimal digits followed by ".wal".
std::optional<uint64_t> parse_segment_file_name(std::string_view name);

// ---- entries -----------------------------------------------------------------
// Size of the encoded payload of `e`.
size_t encoded_entry_size(const WalEntry& e);
// Appends the encoded payload of `e` to `out`.
void encode_entry(const WalEntry& e, std::string* out);
// Decodes a payload. The views in `out` point into [p, p+n). Returns nullptr
// on success, else a static description of what is wrong.
const char* decode_entry(const char* p, size_t n, WalEntry* out);
// Just the sequence of an encoded payload (0 if too short).
inline uint64_t peek_sequence(const char* p, size_t n) { return n >= 8 ? get_u64(p) : 0; }

// Appends the fragments of one record to `out`. `block_offset` is the write
// position inside the current block (file offset % kBlockSize) and is advanced.
// A block tail shorter than a fragment header is filled with zeros first.
void append_fragments(std::string_view payload, size_t* block_offset, std::string* out);

// Varint (unsigned LEB128, at most 5 bytes for 32-bit values).
void put_varint32(std::string* out, uint32_t v);
// Returns the byte after the varint, or nullptr if it is malformed/truncated.
const char* get_varint32(const char* p, const char* limit, uint32_t* v);

}  // namespace heliosdb::cdc::wal
