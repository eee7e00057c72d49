#include "common/base64.h"

#include <array>
#include <cstdint>
#include <cstring>

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

}  // namespace

char* base64_encode_to(char* out, std::string_view bytes) {
  const auto* in = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
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
