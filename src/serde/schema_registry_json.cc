#include "serde/schema_registry_json.h"

#include "common/json_reader.h"
#include "common/json_text.h"

namespace heliosdb::cdc::schema_registry {

void append_json_string(std::string& out, std::string_view text) { append_json_quoted(out, text); }

std::string registration_body(std::string_view schema) {
  std::string body = "{\"schema\":";
  append_json_string(body, schema);
  body += "}";
  return body;
}

std::optional<RegistryAnswer> parse_registry_answer(std::string_view body) {
  auto parsed = parse_json(body);
  if (!parsed.is_ok() || !parsed->is_object()) return std::nullopt;
  RegistryAnswer answer;
  answer.id = parsed->get_integer("id");
  answer.error_code = parsed->get_integer("error_code");
  answer.message = parsed->get_string("message");
  return answer;
}

}  // namespace heliosdb::cdc::schema_registry
