#include "serde/avro_encoder.h"

#include <cstring>

namespace heliosdb::cdc::avro {
namespace {

inline char* write_bytes(char* p, std::string_view bytes) {
  p = write_long(p, static_cast<int64_t>(bytes.size()));
  if (!bytes.empty()) {
    std::memcpy(p, bytes.data(), bytes.size());
    p += bytes.size();
  }
  return p;
}

// Union ["null", T] of bytes or string: branch 0 for null, branch 1 and the value.
inline char* write_optional_bytes(char* p, const std::optional<std::string>& value) {
  if (!value) {
    *p++ = 0;  // zigzag(0)
    return p;
  }
  *p++ = 2;  // zigzag(1)
  return write_bytes(p, *value);
}

inline size_t optional_size(const std::optional<std::string>& value) {
  return 1 + (value ? kMaxVarintBytes + value->size() : 0);
}

}  // namespace

void append_long(std::string& out, int64_t value) {
  char buf[kMaxVarintBytes];
  char* end = write_long(buf, value);
  out.append(buf, static_cast<size_t>(end - buf));
}

void append_bytes(std::string& out, std::string_view bytes) {
  append_long(out, static_cast<int64_t>(bytes.size()));
  out.append(bytes);
}

size_t max_encoded_size(const CdcEvent& e) {
  // event_id, timestamp, sequence, operation, database, table, key: 7 varints
  size_t n = 7 * kMaxVarintBytes + e.event_id.size() + operation_name(e.operation).size() +
             e.database.size() + e.table.size() + e.key.size();
  n += optional_size(e.value) + optional_size(e.old_value) + optional_size(e.transaction_id);
  // metadata: block count, the entries, the closing 0
  n += kMaxVarintBytes + 1;
  for (const auto& [k, v] : e.metadata) n += 2 * kMaxVarintBytes + k.size() + v.size();
  return n;
}

char* encode_event(const CdcEvent& e, char* p) {
  p = write_bytes(p, e.event_id);
  p = write_long(p, e.timestamp);
  p = write_long(p, static_cast<int64_t>(e.sequence));
  p = write_bytes(p, operation_name(e.operation));
  p = write_bytes(p, e.database);
  p = write_bytes(p, e.table);
  p = write_bytes(p, e.key);
  p = write_optional_bytes(p, e.value);
  p = write_optional_bytes(p, e.old_value);
  p = write_optional_bytes(p, e.transaction_id);
  if (!e.metadata.empty()) {
    p = write_long(p, static_cast<int64_t>(e.metadata.size()));
    for (const auto& [k, v] : e.metadata) {
      p = write_bytes(p, k);
      p = write_bytes(p, v);
    }
  }
  *p++ = 0;  // end of map
  return p;
}

void append_event(const CdcEvent& event, std::string& out) {
  const size_t old_size = out.size();
  out.resize(old_size + max_encoded_size(event));
  char* end = encode_event(event, out.data() + old_size);
  out.resize(static_cast<size_t>(end - out.data()));
}

}  // namespace heliosdb::cdc::avro
