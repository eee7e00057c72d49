// libFuzzer target for the PostgreSQL replication stream decoders
// (source/postgres/pgoutput.h): the bytes are a CopyData payload as it would
// come off a replication connection, decoded as the framing ('w', 'k') and,
// for XLogData or any input, as one pgoutput message.
//
// The same bytes, after a 2-byte selector of a built-in type, are a column's
// text form for source/postgres/pg_types.h.
//
// Invariants checked: no crash or sanitizer report; a refused input is
// kCorruption with a message; every view a decoded message holds lies
// inside the input; a column's JSON form always parses as one JSON value.
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <variant>

#include "common/json_reader.h"
#include "source/postgres/pg_types.h"
#include "source/postgres/pgoutput.h"

using namespace heliosdb::cdc;

namespace {

std::string_view input;

void check_view(std::string_view v) {
  if (v.empty()) return;
  if (v.data() < input.data() || v.data() + v.size() > input.data() + input.size()) {
    __builtin_trap();
  }
}

void check_tuple(const pg::TupleData& tuple) {
  for (const pg::TupleColumn& c : tuple) check_view(c.value);
}

void check(const Result<pg::PgOutputMessage>& m) {
  if (!m) {
    if (m.status().code() != ErrorCode::kCorruption || m.status().message().empty()) {
      __builtin_trap();
    }
    return;
  }
  std::visit(
      [](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, pg::Origin>) check_view(msg.name);
        if constexpr (std::is_same_v<T, pg::Relation>) {
          check_view(msg.namespace_name);
          check_view(msg.relation_name);
          for (const auto& c : msg.columns) check_view(c.name);
        }
        if constexpr (std::is_same_v<T, pg::TypeMessage>) {
          check_view(msg.namespace_name);
          check_view(msg.type_name);
        }
        if constexpr (std::is_same_v<T, pg::Insert>) check_tuple(msg.new_tuple);
        if constexpr (std::is_same_v<T, pg::Update>) {
          check_tuple(msg.old_tuple);
          check_tuple(msg.new_tuple);
        }
        if constexpr (std::is_same_v<T, pg::Delete>) check_tuple(msg.old_tuple);
        if constexpr (std::is_same_v<T, pg::LogicalMessage>) {
          check_view(msg.prefix);
          check_view(msg.content);
        }
      },
      *m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  input = std::string_view(reinterpret_cast<const char*>(data), size);
  auto framed = pg::decode_replication_message(input);
  if (framed) {
    if (const auto* x = std::get_if<pg::XLogData>(&*framed)) {
      check_view(x->payload);
      check(pg::decode_pgoutput(x->payload));
    }
  } else if (framed.status().code() != ErrorCode::kCorruption) {
    __builtin_trap();
  }
  check(pg::decode_pgoutput(input));

  if (size >= 2) {
    // The types whose forms differ, and one no table knows.
    static constexpr uint32_t kOids[] = {16,   17,   20,   23,   25,   114,  700,  701,  1000,
                                         1001, 1007, 1009, 1022, 1231, 1700, 3802, 3807, 90001};
    const uint32_t oid = kOids[(data[0] | (data[1] << 8)) % std::size(kOids)];
    std::string out;
    pg::append_column_json(out, oid, input.substr(2));
    if (!parse_json(out).is_ok()) __builtin_trap();
  }
  return 0;
}
