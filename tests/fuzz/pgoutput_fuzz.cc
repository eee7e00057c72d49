// libFuzzer target for the PostgreSQL replication stream decoders
// (source/postgres/pgoutput.h): the bytes are a CopyData payload as it would
// come off a replication connection, decoded as the framing ('w', 'k') and,
// for XLogData or any input, as one pgoutput message.
//
// The same bytes, after a 2-byte selector of a built-in type, are a column's
// text form for source/postgres/pg_types.h. A decoded Insert, Update or
// Delete is also encoded into event parts (source/postgres/row_encoder.h)
// against a synthetic relation with as many columns as its tuple, under a
// replica identity and column types picked from the relation id, with both
// unchanged-TOAST policies.
//
// Invariants checked: no crash or sanitizer report; a refused input is
// kCorruption with a message; every view a decoded message holds lies
// inside the input; a column's JSON form always parses as one JSON value;
// every encoded key (when not empty), value and old_value parses as one
// JSON value.
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/json_reader.h"
#include "source/postgres/pg_types.h"
#include "source/postgres/pgoutput.h"
#include "source/postgres/relation_cache.h"
#include "source/postgres/row_encoder.h"

using namespace heliosdb::cdc;

namespace {

std::string_view input;

// The types whose forms differ, and one no table knows.
constexpr uint32_t kOids[] = {16,   17,   20,   23,   25,   114,  700,  701,  1000,
                              1001, 1007, 1009, 1022, 1231, 1700, 3802, 3807, 90001};

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

void check_status(const Status& st) {
  if (!st.is_ok() && (st.code() != ErrorCode::kCorruption || st.message().empty())) {
    __builtin_trap();
  }
}

void check_row(const Status& st, const pg::EncodedRow& row) {
  check_status(st);
  if (!st.is_ok()) return;
  if (!row.key.empty() && !parse_json(row.key).is_ok()) __builtin_trap();
  if (row.has_value && !parse_json(row.value).is_ok()) __builtin_trap();
  if (row.has_old_value && !parse_json(row.old_value).is_ok()) __builtin_trap();
}

// Encodes a row message against a relation shaped after its tuple. Old and
// new tuples of different sizes exercise the column-count check.
void encode_row(const pg::PgOutputMessage& m) {
  const pg::TupleData* shape = nullptr;
  uint32_t relation_id = 0;
  if (const auto* ins = std::get_if<pg::Insert>(&m)) {
    shape = &ins->new_tuple;
    relation_id = ins->relation_id;
  } else if (const auto* up = std::get_if<pg::Update>(&m)) {
    shape = &up->new_tuple;
    relation_id = up->relation_id;
  } else if (const auto* del = std::get_if<pg::Delete>(&m)) {
    shape = &del->old_tuple;
    relation_id = del->relation_id;
  } else {
    return;
  }
  std::vector<std::string> names(shape->size());
  pg::Relation rel;
  rel.relation_id = relation_id;
  rel.namespace_name = relation_id & 1 ? "" : "public";
  rel.relation_name = "t\"q";
  rel.replica_identity = "dnfi"[relation_id % 4];
  for (size_t i = 0; i < shape->size(); ++i) {
    names[i] = "c" + std::to_string(i) + (i % 3 == 1 ? "\\\"" : "");
    rel.columns.push_back(pg::RelationColumn{((relation_id >> (i % 32)) & 1) != 0, names[i],
                                             kOids[(relation_id + i) % std::size(kOids)], -1});
  }
  pg::RelationCache cache;
  cache.put(rel, {"c0", "c2", "missing"});
  const pg::CachedRelation* cached = cache.find(relation_id);
  if (cached == nullptr) __builtin_trap();

  static const pg::RowEncoder marker;
  static const pg::RowEncoder omit(
      pg::UnchangedToastPolicy{pg::UnchangedToastPolicy::Mode::kOmit, {}});
  pg::EncodedRow row;
  for (const pg::RowEncoder* encoder : {&marker, &omit}) {
    if (const auto* ins = std::get_if<pg::Insert>(&m)) {
      check_row(encoder->encode_insert(*cached, *ins, row), row);
    } else if (const auto* up = std::get_if<pg::Update>(&m)) {
      check_row(encoder->encode_update(*cached, *up, row), row);
    } else if (const auto* del = std::get_if<pg::Delete>(&m)) {
      check_row(encoder->encode_delete(*cached, *del, row), row);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  input = std::string_view(reinterpret_cast<const char*>(data), size);
  auto framed = pg::decode_replication_message(input);
  if (framed) {
    if (const auto* x = std::get_if<pg::XLogData>(&*framed)) {
      check_view(x->payload);
      auto m = pg::decode_pgoutput(x->payload);
      check(m);
      if (m) encode_row(*m);
    }
  } else if (framed.status().code() != ErrorCode::kCorruption) {
    __builtin_trap();
  }
  auto m = pg::decode_pgoutput(input);
  check(m);
  if (m) encode_row(*m);

  if (size >= 2) {
    const uint32_t oid = kOids[(data[0] | (data[1] << 8)) % std::size(kOids)];
    std::string out;
    pg::append_column_json(out, oid, input.substr(2));
    if (!parse_json(out).is_ok()) __builtin_trap();
  }
  return 0;
}
