#include "common/base64.h"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace heliosdb::cdc {
namespace {

constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The two base64 digits of every 12-bit value (8 KiB, stays in L1 while a
// batch is encoded).
constexpr std::array<std::array<char, 2>, 4096> kDigitPairs = [] {
  std::array<std::array<char, 2>, 4096> t{};
  for (size_t v = 0; v < t.size(); ++v) t[v] = {kDigits[v >> 6], kDigits[v & 63]};
  return t;
}();

#if defined(__x86_64__)
// 12 input bytes -> 16 digits per step with SSSE3, after Wojciech Mula's
// published method: a byte shuffle puts each 3-byte group in a 32-bit lane,
// two 16-bit multiplies move the four 6-bit fields into the four bytes, and
// one more shuffle maps each field's range (A-Z, a-z, 0-9, +, /) to the
// offset that turns it into its ASCII digit. Reads 16 bytes per step, so it
// stops while 16 remain; the scalar loop does the rest.
__attribute__((target("ssse3"))) size_t encode_ssse3(char* out, const uint8_t* in, size_t n) {
  const __m128i spread = _mm_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
  const __m128i offsets =
      _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                    '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
  size_t i = 0;
  for (; i + 16 <= n; i += 12) {
    __m128i v = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)), spread);
    const __m128i hi =
        _mm_mulhi_epu16(_mm_and_si128(v, _mm_set1_epi32(0x0fc0fc00)), _mm_set1_epi32(0x04000040));
    const __m128i lo =
        _mm_mullo_epi16(_mm_and_si128(v, _mm_set1_epi32(0x003f03f0)), _mm_set1_epi32(0x01000010));
    const __m128i fields = _mm_or_si128(hi, lo);  // one 6-bit value per byte
    // Range of each field: 0 for 26..51, 1..12 for 52..63, 13 for 0..25.
    __m128i range = _mm_subs_epu8(fields, _mm_set1_epi8(51));
    const __m128i upper = _mm_cmpgt_epi8(_mm_set1_epi8(26), fields);
    range = _mm_or_si128(range, _mm_and_si128(upper, _mm_set1_epi8(13)));
    const __m128i digits = _mm_add_epi8(fields, _mm_shuffle_epi8(offsets, range));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), digits);
    out += 16;
  }
  return i;
}

const bool kHaveSsse3 = __builtin_cpu_supports("ssse3");
#endif

}  // namespace

char* base64_encode_to(char* out, std::string_view bytes) {
  const auto* in = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
#if defined(__x86_64__)
  if (kHaveSsse3 && n >= 16) {
    i = encode_ssse3(out, in, n);
    out += i / 3 * 4;
  }
#endif
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    std::memcpy(out, kDigitPairs[v >> 12].data(), 2);
    std::memcpy(out + 2, kDigitPairs[v & 0xfff].data(), 2);
    out += 4;
  }
  if (n - i == 1) {
    const uint32_t v = uint32_t{in[i]} << 4;
    std::memcpy(out, kDigitPairs[v].data(), 2);
    out[2] = '=';
    out[3] = '=';
    out += 4;
  } else if (n - i == 2) {
    const uint32_t v = (uint32_t{in[i]} << 10) | (uint32_t{in[i + 1]} << 2);
    std::memcpy(out, kDigitPairs[v >> 6].data(), 2);
    out[2] = kDigits[v & 63];
    out[3] = '=';
    out += 4;
  }
  return out;
}

void base64_append(std::string_view bytes, std::string& out) {
  const size_t pos = out.size();
  out.resize(pos + base64_encoded_size(bytes.size()));
  base64_encode_to(out.data() + pos, bytes);
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  base64_append(bytes, out);
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const int a = val(text[i]), b = val(text[i + 1]);
    if (a < 0 || b < 0) return std::nullopt;
    const bool last = i + 4 == text.size();
    const char c3 = text[i + 2], c4 = text[i + 3];
    if (last && c3 == '=' && c4 == '=') {
      out.push_back(static_cast<char>((a << 2) | (b >> 4)));
      break;
    }
    const int c = val(c3);
    if (c < 0) return std::nullopt;
    if (last && c4 == '=') {
      out.push_back(static_cast<char>((a << 2) | (b >> 4)));
      out.push_back(static_cast<char>(((b & 15) << 4) | (c >> 2)));
      break;
    }
    const int d = val(c4);
    if (d < 0) return std::nullopt;
    out.push_back(static_cast<char>((a << 2) | (b >> 4)));
    out.push_back(static_cast<char>(((b & 15) << 4) | (c >> 2)));
    out.push_back(static_cast<char>(((c & 3) << 6) | d));
  }
  return out;
}

}  // namespace heliosdb::cdc
