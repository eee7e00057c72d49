// JSON string escaping (common/json_text.h) against a byte-at-a-time
// reference: every byte value at every offset of a word, so the eight-byte
// scan cannot pass a byte that needs escaping, nor escape one that does not.
#include "common/json_text.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace heliosdb::cdc {
namespace {

// Byte by byte, by another route than the code under test (snprintf for
// \u escapes): what RFC 8259 asks for, the short forms where JSON has them.
std::string reference_escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const char* named = c == '"'    ? "\\\""
                        : c == '\\' ? "\\\\"
                        : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t"
                        : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f"
                                    : nullptr;
    if (named) {
      out += named;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

std::string written(std::string_view s) {
  std::string buf(json_escaped_max_size(s.size()), '\0');
  char* end = write_json_escaped(buf.data(), s);
  buf.resize(static_cast<size_t>(end - buf.data()));
  return buf;
}

TEST(JsonText, EveryByteAtEveryOffsetOfTwoWords) {
  for (int c = 0; c < 256; ++c) {
    for (size_t at = 0; at < 19; ++at) {
      // Plain neighbours on both sides, including bytes >= 0x80 and the
      // values next to the special ones (0x1f/0x20, 0x21/0x23, 0x5b/0x5d).
      std::string s =
          "ab\x80z!#[]\xff yx\x7f"
          "0123456789";
      s.resize(19);
      s[at] = static_cast<char>(c);
      const std::string want = reference_escape(s);
      std::string appended = "prefix";
      append_json_escaped(appended, s);
      ASSERT_EQ(appended, "prefix" + want) << "byte " << c << " at " << at;
      ASSERT_EQ(written(s), want) << "byte " << c << " at " << at;
    }
  }
}

TEST(JsonText, RunsOfSpecialsAndLongPlainText) {
  const std::string specials = "\"\\\n\r\t\b\f\x01\x1f";
  std::string long_text(1000, 'x');
  long_text[997] = '"';
  for (const std::string& s : {specials, specials + specials, long_text, std::string(),
                               std::string("\xc3\xa9t\xc3\xa9 \xe2\x82\xac")}) {
    std::string appended;
    append_json_escaped(appended, s);
    EXPECT_EQ(appended, reference_escape(s));
    EXPECT_EQ(written(s), reference_escape(s));
  }
  std::string quoted;
  append_json_quoted(quoted, "say \"hi\"\n");
  EXPECT_EQ(quoted, "\"say \\\"hi\\\"\\n\"");
}

}  // namespace
}  // namespace heliosdb::cdc
