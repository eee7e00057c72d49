#include "common/json_text.h"

#include <cstdint>
#include <cstring>

namespace heliosdb::cdc {
namespace {

bool plain(unsigned char c) { return c >= 0x20 && c != '"' && c != '\\'; }

// How many bytes from `i` on need no escaping. Eight at a time (SWAR): the
// byte loop was the event serializer's largest cost (about a tenth of a
// snapshot's CPU), and rows are mostly plain text. A word is plain when no
// byte is below 0x20, '"' or '\\'; bytes >= 0x80 are plain (UTF-8 passes).
size_t plain_run(std::string_view s, size_t i) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  const size_t start = i;
  while (i + 8 <= s.size()) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    // Each term is non-zero iff some byte is below 0x20, is '"', is '\\'
    // (the classic "has less than" / "has zero byte" tests: exact as
    // booleans; ~x keeps bytes >= 0x80 out).
    const uint64_t quote = w ^ (kOnes * '"');
    const uint64_t backslash = w ^ (kOnes * '\\');
    const uint64_t special = (((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) |
                              ((backslash - kOnes) & ~backslash)) &
                             kHigh;
    if (special) break;
    i += 8;
  }
  while (i < s.size() && plain(static_cast<unsigned char>(s[i]))) ++i;
  return i - start;
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Copies runs of plain bytes at once: most text needs no escaping.
  size_t i = 0;
  while (i < s.size()) {
    const size_t run = plain_run(s, i);
    out.append(s.data() + i, run);
    i += run;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i++]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default: {
        const char buf[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out.append(buf, 6);
      }
    }
  }
}

char* write_json_escaped(char* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < s.size()) {
    const size_t run = plain_run(s, i);
    std::memcpy(out, s.data() + i, run);
    out += run;
    i += run;
    if (i == s.size()) break;
    const char ch = s[i++];
    const auto c = static_cast<unsigned char>(ch);
    *out++ = '\\';
    switch (c) {
      case '"':
      case '\\':
        *out++ = ch;
        break;
      case '\n':
        *out++ = 'n';
        break;
      case '\r':
        *out++ = 'r';
        break;
      case '\t':
        *out++ = 't';
        break;
      case '\b':
        *out++ = 'b';
        break;
      case '\f':
        *out++ = 'f';
        break;
      default:
        *out++ = 'u';
        *out++ = '0';
        *out++ = '0';
        *out++ = kHex[c >> 4];
        *out++ = kHex[c & 0xf];
    }
  }
  return out;
}

void append_json_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  append_json_escaped(out, s);
  out.push_back('"');
}

}  // namespace heliosdb::cdc
