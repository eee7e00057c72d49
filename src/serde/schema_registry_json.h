// The little JSON the schema-registry client needs: escaping the schema into a
// request body, and reading the flat answers of the Confluent REST API
// ({"id":1}, {"error_code":409,"message":"..."}), with the project's JSON
// reader (common/json_reader.h: answers are untrusted bytes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace heliosdb::cdc::schema_registry {

// Appends `text` as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view text);

// {"schema":"<schema as a JSON string>"}: the body of a registration.
std::string registration_body(std::string_view schema);

// The top-level members of an answer this client cares about.
struct RegistryAnswer {
  std::optional<int64_t> id;
  std::optional<int64_t> error_code;
  std::optional<std::string> message;
};

// Parses `body` as one JSON object; nullopt if it is not well-formed JSON or
// not an object. Unknown members (any JSON value) are skipped.
std::optional<RegistryAnswer> parse_registry_answer(std::string_view body);

}  // namespace heliosdb::cdc::schema_registry
