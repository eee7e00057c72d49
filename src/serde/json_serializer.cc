// The seed's JSON event format, written by hand: this is the hot path of
// every JSON sink, and the exact byte layout (field order, compact form,
// base64 for bytes, null for absent values) is a contract with consumers, so
// a general-purpose JSON library would add cost without adding safety.
#include <openssl/evp.h>

#include <charconv>
#include <cstring>

#include "common/json_text.h"
#include "heliosdb/cdc/serialization.h"

namespace heliosdb::cdc {
namespace {

void append_string(std::string& out, std::string_view s) { append_json_quoted(out, s); }

// Standard base64 with padding (RFC 4648), via OpenSSL.
void append_base64(std::string& out, std::string_view bytes) {
  out.push_back('"');
  size_t encoded = 4 * ((bytes.size() + 2) / 3);
  size_t pos = out.size();
  out.resize(pos + encoded + 1);  // EVP_EncodeBlock writes a trailing NUL
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + pos),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(pos + static_cast<size_t>(n));
  out.push_back('"');
}

template <typename Int>
void append_int(std::string& out, Int v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
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
  out.reserve(
      out.size() + 160 + e.event_id.size() + e.database.size() + e.table.size() +
      (e.key.size() + (e.value ? e.value->size() : 0) + (e.old_value ? e.old_value->size() : 0)) *
          4 / 3);
  out += "{\"event_id\":";
  append_string(out, e.event_id);
  out += ",\"timestamp\":";
  append_int(out, e.timestamp);
  out += ",\"sequence\":";
  append_int(out, e.sequence);
  out += ",\"operation\":\"";
  out += operation_name(e.operation);
  out += "\",\"database\":";
  append_string(out, e.database);
  out += ",\"table\":";
  append_string(out, e.table);
  out += ",\"key\":";
  append_base64(out, e.key);
  out += ",\"value\":";
  if (e.value)
    append_base64(out, *e.value);
  else
    out += "null";
  out += ",\"old_value\":";
  if (e.old_value)
    append_base64(out, *e.old_value);
  else
    out += "null";
  out += ",\"transaction_id\":";
  if (e.transaction_id)
    append_string(out, *e.transaction_id);
  else
    out += "null";
  out += ",\"metadata\":{";
  bool first = true;
  for (const auto& [k, v] : e.metadata) {
    if (!first) out.push_back(',');
    first = false;
    append_string(out, k);
    out.push_back(':');
    append_string(out, v);
  }
  out += "}}";
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
