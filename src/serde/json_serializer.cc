// The seed's JSON event format, written by hand: this is the hot path of
// every JSON sink, and the exact byte layout (field order, compact form,
// base64 for bytes, null for absent values) is a contract with consumers, so
// a general-purpose JSON library would add cost without adding safety.
// append_event_json() grows the output once to an upper bound of the event's
// size and writes through a raw pointer (no capacity check per field).
#include <charconv>
#include <cstring>

#include "common/base64.h"
#include "common/json_text.h"
#include "heliosdb/cdc/serialization.h"

namespace heliosdb::cdc {
namespace {

template <size_t N>
char* put(char* p, const char (&literal)[N]) {
  std::memcpy(p, literal, N - 1);
  return p + N - 1;
}

char* put_quoted(char* p, std::string_view s) {
  *p++ = '"';
  p = write_json_escaped(p, s);
  *p++ = '"';
  return p;
}

char* put_base64(char* p, std::string_view bytes) {
  *p++ = '"';
  p = base64_encode_to(p, bytes);
  *p++ = '"';
  return p;
}

template <typename Int>
char* put_int(char* p, Int v) {
  return std::to_chars(p, p + 20, v).ptr;  // 20 digits hold any 64-bit value
}

size_t quoted_max(std::string_view s) { return json_escaped_max_size(s.size()) + 2; }
size_t base64_max(const std::optional<std::string>& s) {
  return s ? base64_encoded_size(s->size()) + 2 : 4;  // "null"
}

class JsonSerializer final : public EventSerializer {
 public:
  SerializationFormat format() const override { return SerializationFormat::Json; }
  Status serialize(const CdcEvent& event, std::string_view, std::string& out) override {
    append_event_json(event, out);
    return Status::ok();
  }
};

}  // namespace

std::string_view format_name(SerializationFormat format) {
  return format == SerializationFormat::Avro ? "avro" : "json";
}

std::optional<SerializationFormat> parse_format(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "json") return SerializationFormat::Json;
  if (lower == "avro") return SerializationFormat::Avro;
  return std::nullopt;
}

void append_event_json(const CdcEvent& e, std::string& out) {
  // Field names, punctuation and the two integers: under 200 bytes.
  size_t bound = 200 + quoted_max(e.event_id) + quoted_max(e.database) + quoted_max(e.table) +
                 base64_encoded_size(e.key.size()) + 2 + base64_max(e.value) +
                 base64_max(e.old_value) + (e.transaction_id ? quoted_max(*e.transaction_id) : 4);
  for (const auto& [k, v] : e.metadata) bound += quoted_max(k) + quoted_max(v) + 2;
  const size_t start = out.size();
  out.resize(start + bound);
  char* const begin = out.data() + start;
  char* p = begin;
  p = put(p, "{\"event_id\":");
  p = put_quoted(p, e.event_id);
  p = put(p, ",\"timestamp\":");
  p = put_int(p, e.timestamp);
  p = put(p, ",\"sequence\":");
  p = put_int(p, e.sequence);
  p = put(p, ",\"operation\":\"");
  const std::string_view op = operation_name(e.operation);
  std::memcpy(p, op.data(), op.size());
  p += op.size();
  p = put(p, "\",\"database\":");
  p = put_quoted(p, e.database);
  p = put(p, ",\"table\":");
  p = put_quoted(p, e.table);
  p = put(p, ",\"key\":");
  p = put_base64(p, e.key);
  p = put(p, ",\"value\":");
  p = e.value ? put_base64(p, *e.value) : put(p, "null");
  p = put(p, ",\"old_value\":");
  p = e.old_value ? put_base64(p, *e.old_value) : put(p, "null");
  p = put(p, ",\"transaction_id\":");
  p = e.transaction_id ? put_quoted(p, *e.transaction_id) : put(p, "null");
  p = put(p, ",\"metadata\":{");
  bool first = true;
  for (const auto& [k, v] : e.metadata) {
    if (!first) *p++ = ',';
    first = false;
    p = put_quoted(p, k);
    *p++ = ':';
    p = put_quoted(p, v);
  }
  p = put(p, "}}");
  out.resize(start + static_cast<size_t>(p - begin));
}

std::string event_to_json(const CdcEvent& event) {
  std::string out;
  append_event_json(event, out);
  return out;
}

std::unique_ptr<EventSerializer> make_json_serializer() {
  return std::make_unique<JsonSerializer>();
}

}  // namespace heliosdb::cdc
