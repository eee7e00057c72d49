#include "source/postgres/pg_types.h"

#include <algorithm>
#include <array>
#include <optional>

#include "common/base64.h"
#include "common/json_reader.h"
#include "common/json_text.h"

namespace heliosdb::cdc::pg {
namespace {

using F = JsonForm;

// Sorted by OID (binary search). From PostgreSQL's pg_type.dat.
constexpr std::array kTypes = {
    BuiltinType{16, "bool", F::kBool, 0},
    BuiltinType{17, "bytea", F::kBytea, 0},
    BuiltinType{18, "char", F::kString, 0},
    BuiltinType{19, "name", F::kString, 0},
    BuiltinType{20, "int8", F::kInteger, 0},
    BuiltinType{21, "int2", F::kInteger, 0},
    BuiltinType{23, "int4", F::kInteger, 0},
    BuiltinType{25, "text", F::kString, 0},
    BuiltinType{26, "oid", F::kInteger, 0},
    BuiltinType{28, "xid", F::kInteger, 0},
    BuiltinType{114, "json", F::kJson, 0},
    BuiltinType{142, "xml", F::kString, 0},
    BuiltinType{143, "_xml", F::kArray, 142},
    BuiltinType{199, "_json", F::kArray, 114},
    BuiltinType{650, "cidr", F::kString, 0},
    BuiltinType{651, "_cidr", F::kArray, 650},
    BuiltinType{700, "float4", F::kFloat, 0},
    BuiltinType{701, "float8", F::kFloat, 0},
    BuiltinType{775, "_macaddr8", F::kArray, 774},
    BuiltinType{790, "money", F::kString, 0},
    BuiltinType{791, "_money", F::kArray, 790},
    BuiltinType{829, "macaddr", F::kString, 0},
    BuiltinType{869, "inet", F::kString, 0},
    BuiltinType{1000, "_bool", F::kArray, 16},
    BuiltinType{1001, "_bytea", F::kArray, 17},
    BuiltinType{1002, "_char", F::kArray, 18},
    BuiltinType{1003, "_name", F::kArray, 19},
    BuiltinType{1005, "_int2", F::kArray, 21},
    BuiltinType{1007, "_int4", F::kArray, 23},
    BuiltinType{1009, "_text", F::kArray, 25},
    BuiltinType{1011, "_xid", F::kArray, 28},
    BuiltinType{1014, "_bpchar", F::kArray, 1042},
    BuiltinType{1015, "_varchar", F::kArray, 1043},
    BuiltinType{1016, "_int8", F::kArray, 20},
    BuiltinType{1017, "_point", F::kArray, 600},
    BuiltinType{1021, "_float4", F::kArray, 700},
    BuiltinType{1022, "_float8", F::kArray, 701},
    BuiltinType{1028, "_oid", F::kArray, 26},
    BuiltinType{1040, "_macaddr", F::kArray, 829},
    BuiltinType{1041, "_inet", F::kArray, 869},
    BuiltinType{1042, "bpchar", F::kString, 0},
    BuiltinType{1043, "varchar", F::kString, 0},
    BuiltinType{1082, "date", F::kString, 0},
    BuiltinType{1083, "time", F::kString, 0},
    BuiltinType{1114, "timestamp", F::kString, 0},
    BuiltinType{1115, "_timestamp", F::kArray, 1114},
    BuiltinType{1182, "_date", F::kArray, 1082},
    BuiltinType{1183, "_time", F::kArray, 1083},
    BuiltinType{1184, "timestamptz", F::kString, 0},
    BuiltinType{1185, "_timestamptz", F::kArray, 1184},
    BuiltinType{1186, "interval", F::kString, 0},
    BuiltinType{1187, "_interval", F::kArray, 1186},
    BuiltinType{1231, "_numeric", F::kArray, 1700},
    BuiltinType{1266, "timetz", F::kString, 0},
    BuiltinType{1270, "_timetz", F::kArray, 1266},
    BuiltinType{1560, "bit", F::kString, 0},
    BuiltinType{1561, "_bit", F::kArray, 1560},
    BuiltinType{1562, "varbit", F::kString, 0},
    BuiltinType{1563, "_varbit", F::kArray, 1562},
    BuiltinType{1700, "numeric", F::kNumeric, 0},
    BuiltinType{2950, "uuid", F::kString, 0},
    BuiltinType{2951, "_uuid", F::kArray, 2950},
    BuiltinType{3220, "pg_lsn", F::kString, 0},
    BuiltinType{3221, "_pg_lsn", F::kArray, 3220},
    BuiltinType{3643, "_tsvector", F::kArray, 3614},
    BuiltinType{3802, "jsonb", F::kJson, 0},
    BuiltinType{3807, "_jsonb", F::kArray, 3802},
    BuiltinType{3905, "_int4range", F::kArray, 3904},
    BuiltinType{3907, "_numrange", F::kArray, 3906},
    BuiltinType{3909, "_tsrange", F::kArray, 3908},
    BuiltinType{3911, "_tstzrange", F::kArray, 3910},
    BuiltinType{3913, "_daterange", F::kArray, 3912},
    BuiltinType{3927, "_int8range", F::kArray, 3926},
};
static_assert(std::is_sorted(kTypes.begin(), kTypes.end(),
                             [](const BuiltinType& a, const BuiltinType& b) {
                               return a.oid < b.oid;
                             }));

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "\x0aff" -> its bytes; nullopt if not the hex output format.
std::optional<std::string> decode_bytea_hex(std::string_view text) {
  if (!text.starts_with("\\x") || text.size() % 2 != 0) return std::nullopt;
  std::string bytes;
  bytes.reserve((text.size() - 2) / 2);
  for (size_t i = 2; i < text.size(); i += 2) {
    const int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(hi * 16 + lo));
  }
  return bytes;
}

void append_scalar(std::string& out, JsonForm form, std::string_view text) {
  switch (form) {
    case F::kInteger:
      // PostgreSQL prints integers as JSON numbers; anything else (a
      // malformed value) stays a string rather than breaking the event.
      if (!text.empty() &&
          std::all_of(text.begin() + (text[0] == '-'), text.end(),
                      [](char c) { return c >= '0' && c <= '9'; }) &&
          text != "-") {
        out.append(text);
        return;
      }
      break;
    case F::kFloat:
      if (text != "NaN" && text != "Infinity" && text != "-Infinity" && !text.empty()) {
        auto parsed = parse_json(text);
        if (parsed.is_ok() && parsed->is_number()) {
          out.append(text);
          return;
        }
      }
      break;
    case F::kBool:
      if (text == "t" || text == "f") {
        out.append(text == "t" ? "true" : "false");
        return;
      }
      break;
    case F::kJson:
      if (parse_json(text).is_ok()) {
        out.append(text);
        return;
      }
      break;
    case F::kBytea:
      if (auto bytes = decode_bytea_hex(text)) {
        out.push_back('"');
        base64_append(*bytes, out);
        out.push_back('"');
        return;
      }
      break;
    default:
      break;
  }
  append_json_quoted(out, text);
}

// Parses a PostgreSQL array literal ("{1,2,NULL}", "{{a,b},{c,\"d,e\"}}")
// from `text` at `pos`, appending a JSON array. False if it is not one.
bool append_array(std::string& out, std::string_view text, size_t& pos, JsonForm element,
                  int depth) {
  if (depth > 6 || pos >= text.size() || text[pos] != '{') return false;  // PostgreSQL's MAXDIM
  ++pos;
  out.push_back('[');
  if (pos < text.size() && text[pos] == '}') {
    ++pos;
    out.push_back(']');
    return true;
  }
  for (bool first = true;; first = false) {
    if (!first) out.push_back(',');
    if (pos >= text.size()) return false;
    if (text[pos] == '{') {
      if (!append_array(out, text, pos, element, depth + 1)) return false;
    } else if (text[pos] == '"') {
      std::string value;
      for (++pos;; ++pos) {
        if (pos >= text.size()) return false;
        if (text[pos] == '"') break;
        if (text[pos] == '\\') {
          if (++pos >= text.size()) return false;
        }
        value.push_back(text[pos]);
      }
      ++pos;
      append_scalar(out, element, value);
    } else {
      const size_t end = text.find_first_of(",}", pos);
      if (end == std::string_view::npos) return false;
      const std::string_view value = text.substr(pos, end - pos);
      if (value.empty()) return false;  // PostgreSQL quotes an empty element: ""
      pos = end;
      if (value.size() == 4 && (value[0] | 0x20) == 'n' && (value[1] | 0x20) == 'u' &&
          (value[2] | 0x20) == 'l' && (value[3] | 0x20) == 'l') {
        out.append("null");
      } else {
        append_scalar(out, element, value);
      }
    }
    if (pos >= text.size()) return false;
    if (text[pos] == '}') {
      ++pos;
      out.push_back(']');
      return true;
    }
    if (text[pos] != ',') return false;
    ++pos;
  }
}

}  // namespace

const BuiltinType* builtin_type(uint32_t oid) {
  auto it = std::lower_bound(kTypes.begin(), kTypes.end(), oid,
                             [](const BuiltinType& t, uint32_t o) { return t.oid < o; });
  return it != kTypes.end() && it->oid == oid ? &*it : nullptr;
}

const BuiltinType* builtin_type_by_name(std::string_view name) {
  auto it = std::find_if(kTypes.begin(), kTypes.end(),
                         [&](const BuiltinType& t) { return t.name == name; });
  return it != kTypes.end() ? &*it : nullptr;
}

void append_column_json(std::string& out, uint32_t type_oid, std::string_view text) {
  const BuiltinType* type = builtin_type(type_oid);
  if (!type) {
    append_json_quoted(out, text);
    return;
  }
  if (type->form != F::kArray) {
    append_scalar(out, type->form, text);
    return;
  }
  const BuiltinType* element = builtin_type(type->element_oid);
  const size_t start = out.size();
  size_t pos = 0;
  // A literal with dimension bounds ("[0:1]={1,2}") or one that does not
  // parse stays its text form.
  if (!append_array(out, text, pos, element ? element->form : F::kString, 1) ||
      pos != text.size()) {
    out.resize(start);
    append_json_quoted(out, text);
  }
}

}  // namespace heliosdb::cdc::pg
