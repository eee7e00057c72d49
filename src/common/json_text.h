// Escaping text for JSON strings (RFC 8259), shared by every module that
// writes JSON by hand: the event serializer, the schema-registry and Kinesis
// request bodies, the /health answer.
#pragma once

#include <string>
#include <string_view>

namespace heliosdb::cdc {

// Appends `s` escaped for use inside a JSON string (no quotes added).
// Bytes >= 0x80 pass through unchanged, so UTF-8 stays UTF-8.
void append_json_escaped(std::string& out, std::string_view s);
// Appends `s` as a quoted JSON string.
void append_json_quoted(std::string& out, std::string_view s);

// The most bytes write_json_escaped() writes for `n` input bytes (\u00XX).
constexpr size_t json_escaped_max_size(size_t n) { return 6 * n; }
// Writes `s` escaped at `out` (room for json_escaped_max_size(s.size())
// needed); returns the end. For writers that size their buffer once.
char* write_json_escaped(char* out, std::string_view s);

}  // namespace heliosdb::cdc
