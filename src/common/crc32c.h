// CRC32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78), as used by
// the WAL for every fragment and segment header.
//
// No Debian 12 package ships a CRC32C library (Debian's "crc32c" is absent;
// zlib only has plain CRC32), so this is our own: SSE4.2 `crc32` instructions
// in three interleaved streams when the CPU has them (checked at run time),
// else a slicing-by-8 table. Both give identical results.
#pragma once

#include <cstddef>
#include <cstdint>

namespace heliosdb::cdc::crc32c {

// Returns the CRC32C of data[0, n) appended to a message whose CRC32C is `crc`
// (pass 0 to start a new message).
uint32_t extend(uint32_t crc, const void* data, size_t n);

// CRC32C of data[0, n).
inline uint32_t value(const void* data, size_t n) { return extend(0, data, n); }

// The portable table implementation (for tests and as a fallback).
uint32_t extend_portable(uint32_t crc, const void* data, size_t n);

// True if extend() uses the SSE4.2 instructions on this CPU.
bool hardware_accelerated();

// LevelDB's checksum masking: storing the CRC of data that itself contains
// CRCs is error-prone, so stored CRCs are rotated and offset.
constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
inline uint32_t unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace heliosdb::cdc::crc32c
