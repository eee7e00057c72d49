#include "common/crc32c.h"

#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace heliosdb::cdc::crc32c {
namespace {

constexpr uint32_t kPoly = 0x82f63b78u;  // reflected Castagnoli polynomial

// Interleaving chunk sizes for the hardware path: three independent streams
// hide the 3-cycle latency of the crc32 instruction.
constexpr size_t kLong = 4096;
constexpr size_t kShort = 64;
constexpr size_t kTiny = 24;  // one last three-way round for short fragments

struct Tables {
  uint32_t slice[8][256];
  uint32_t shift_long[4][256];   // the register advanced over kLong zero bytes
  uint32_t shift_short[4][256];  // ... over kShort zero bytes
  uint32_t shift_tiny[4][256];   // ... over kTiny zero bytes
  bool hw = false;

  // Multiplies a and b modulo the polynomial (both bit-reflected).
  static uint32_t multmodp(uint32_t a, uint32_t b) {
    uint32_t m = 1u << 31, p = 0;
    for (;;) {
      if (a & m) {
        p ^= b;
        if ((a & (m - 1)) == 0) break;
      }
      m >>= 1;
      b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;
    }
    return p;
  }

  void make_shift(uint32_t (&t)[4][256], size_t zero_bytes) {
    // x^(8 * zero_bytes) mod P: advance "1" (bit 31 in reflected form) over zeros.
    uint32_t xpow = 1u << 31;
    for (size_t i = 0; i < zero_bytes; ++i) xpow = slice[0][xpow & 0xff] ^ (xpow >> 8);
    for (int k = 0; k < 4; ++k) {
      for (uint32_t b = 0; b < 256; ++b) t[k][b] = multmodp(xpow, b << (8 * k));
    }
  }

  Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int j = 0; j < 8; ++j) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      slice[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (int k = 1; k < 8; ++k)
        slice[k][i] = (slice[k - 1][i] >> 8) ^ slice[0][slice[k - 1][i] & 0xff];
    }
    make_shift(shift_long, kLong);
    make_shift(shift_short, kShort);
    make_shift(shift_tiny, kTiny);
#if defined(__x86_64__)
    hw = __builtin_cpu_supports("sse4.2");
#endif
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

inline uint32_t shift(const uint32_t (&t)[4][256], uint32_t crc) {
  return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
}

inline uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint32_t portable(const Tables& t, uint32_t crc, const unsigned char* p, size_t n) {
  uint32_t c = ~crc;
  while (n && (reinterpret_cast<uintptr_t>(p) & 7)) {
    c = t.slice[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    --n;
  }
  while (n >= 8) {
    uint64_t w = load64(p) ^ c;  // little-endian host
    c = t.slice[7][w & 0xff] ^ t.slice[6][(w >> 8) & 0xff] ^ t.slice[5][(w >> 16) & 0xff] ^
        t.slice[4][(w >> 24) & 0xff] ^ t.slice[3][(w >> 32) & 0xff] ^ t.slice[2][(w >> 40) & 0xff] ^
        t.slice[1][(w >> 48) & 0xff] ^ t.slice[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) c = t.slice[0][(c ^ *p++) & 0xff] ^ (c >> 8);
  return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t hardware(const Tables& t, uint32_t crc,
                                                    const unsigned char* p, size_t n) {
  // Unaligned 8-byte loads are cheap on x86-64: no byte-wise alignment prologue.
  uint64_t c0 = static_cast<uint32_t>(~crc);
  while (n >= 3 * kLong) {
    uint64_t c1 = 0, c2 = 0;
    const unsigned char* end = p + kLong;
    do {
      c0 = _mm_crc32_u64(c0, load64(p));
      c1 = _mm_crc32_u64(c1, load64(p + kLong));
      c2 = _mm_crc32_u64(c2, load64(p + 2 * kLong));
      p += 8;
    } while (p < end);
    c0 = shift(t.shift_long, static_cast<uint32_t>(c0)) ^ c1;
    c0 = shift(t.shift_long, static_cast<uint32_t>(c0)) ^ c2;
    p += 2 * kLong;
    n -= 3 * kLong;
  }
  while (n >= 3 * kShort) {
    uint64_t c1 = 0, c2 = 0;
    const unsigned char* end = p + kShort;
    do {
      c0 = _mm_crc32_u64(c0, load64(p));
      c1 = _mm_crc32_u64(c1, load64(p + kShort));
      c2 = _mm_crc32_u64(c2, load64(p + 2 * kShort));
      p += 8;
    } while (p < end);
    c0 = shift(t.shift_short, static_cast<uint32_t>(c0)) ^ c1;
    c0 = shift(t.shift_short, static_cast<uint32_t>(c0)) ^ c2;
    p += 2 * kShort;
    n -= 3 * kShort;
  }
  if (n >= 3 * kTiny) {
    uint64_t c1 = 0, c2 = 0;
    for (size_t i = 0; i < kTiny; i += 8) {
      c0 = _mm_crc32_u64(c0, load64(p + i));
      c1 = _mm_crc32_u64(c1, load64(p + kTiny + i));
      c2 = _mm_crc32_u64(c2, load64(p + 2 * kTiny + i));
    }
    c0 = shift(t.shift_tiny, static_cast<uint32_t>(c0)) ^ c1;
    c0 = shift(t.shift_tiny, static_cast<uint32_t>(c0)) ^ c2;
    p += 3 * kTiny;
    n -= 3 * kTiny;
  }
  while (n >= 8) {
    c0 = _mm_crc32_u64(c0, load64(p));
    p += 8;
    n -= 8;
  }
  uint32_t c = static_cast<uint32_t>(c0);
  if (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    c = _mm_crc32_u32(c, w);
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    c = _mm_crc32_u16(c, h);
    p += 2;
    n -= 2;
  }
  if (n) c = _mm_crc32_u8(c, *p);
  return ~c;
}
#endif

}  // namespace

uint32_t extend_portable(uint32_t crc, const void* data, size_t n) {
  return portable(tables(), crc, static_cast<const unsigned char*>(data), n);
}

uint32_t extend(uint32_t crc, const void* data, size_t n) {
  const Tables& t = tables();
#if defined(__x86_64__)
  if (t.hw) return hardware(t, crc, static_cast<const unsigned char*>(data), n);
#endif
  return portable(t, crc, static_cast<const unsigned char*>(data), n);
}

bool hardware_accelerated() { return tables().hw; }

}  // namespace heliosdb::cdc::crc32c
