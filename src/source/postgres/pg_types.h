// PostgreSQL's built-in types and how a column's text form becomes JSON in
// an event's key, value and old_value (docs: the PostgreSQL source's type
// mapping). Type messages of the replication stream name only user-defined
// types, so the built-in ones are a static table of their OIDs (from
// PostgreSQL's pg_type.dat; OIDs of built-in types never change).
//
// The mapping: integers and floats as JSON numbers (float NaN and the
// infinities as strings), numeric as an exact string, bool as true/false,
// json and jsonb embedded, bytea (hex output) as base64, arrays of these as
// JSON arrays, NULL as null, everything else (text types, dates and times
// as PostgreSQL prints them in ISO style, uuid, ...) as its text form in a
// string. A domain over a built-in type maps as that type (the source reads
// the base type from the stream's Type message); other user-defined types
// (enums, composites, their arrays) are their text form.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace heliosdb::cdc::pg {

enum class JsonForm : uint8_t {
  kString,   // the text form, quoted
  kInteger,  // a JSON number as PostgreSQL prints it
  kFloat,    // a JSON number, or "NaN" / "Infinity" / "-Infinity" as strings
  kNumeric,  // exact: the text form, quoted (NaN and infinities too)
  kBool,     // "t" / "f" -> true / false
  kJson,     // embedded as it is (validated; a string if it is not JSON)
  kBytea,    // "\x..." hex -> base64 string
  kArray,    // a JSON array of the element type's forms
};

struct BuiltinType {
  uint32_t oid;
  std::string_view name;
  JsonForm form;
  uint32_t element_oid;  // for kArray
};

// The built-in type `oid`, or null (a user-defined type: its text form).
const BuiltinType* builtin_type(uint32_t oid);

// The built-in type named `name` (pg_type.typname, e.g. "int4"), or null.
// For the replication stream's Type messages: pgoutput describes a domain
// by its base type's namespace and name.
const BuiltinType* builtin_type_by_name(std::string_view name);

// Appends the JSON form of a column of type `type_oid` whose text form is
// `text` (a NULL column is appended as null by the caller).
void append_column_json(std::string& out, uint32_t type_oid, std::string_view text);

}  // namespace heliosdb::cdc::pg
