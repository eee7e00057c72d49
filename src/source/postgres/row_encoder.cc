#include "source/postgres/row_encoder.h"

#include <utility>

#include "common/json_text.h"
#include "source/postgres/pg_types.h"

namespace heliosdb::cdc::pg {
namespace {

using Kind = TupleColumn::Kind;

// The network is untrusted: a tuple must have exactly the relation's
// columns, or indexing it by the relation's column numbers would be wrong
// (or out of bounds).
Status check_count(const CachedRelation& rel, const TupleData& tuple, const char* what) {
  if (tuple.size() == rel.columns.size()) return Status::ok();
  return corruption(rel.table + ": " + what + " has " + std::to_string(tuple.size()) +
                    " columns, the relation has " + std::to_string(rel.columns.size()));
}

}  // namespace

RowEncoder::RowEncoder(UnchangedToastPolicy policy) : policy_(std::move(policy)) {
  append_json_quoted(marker_json_, policy_.marker);
}

Status RowEncoder::append_object(std::string& out, const CachedRelation& rel,
                                 const TupleData& tuple, const TupleData* toast_source,
                                 Columns which, const char* what) const {
  const std::vector<uint32_t>* subset = which == Columns::kKey        ? &rel.key_columns
                                        : which == Columns::kIdentity ? &rel.identity_columns
                                                                      : nullptr;
  const size_t count = subset ? subset->size() : rel.columns.size();
  out.push_back('{');
  bool first = true;
  for (size_t k = 0; k < count; ++k) {
    const size_t i = subset ? (*subset)[k] : k;
    const CachedColumn& col = rel.columns[i];
    const TupleColumn* c = &tuple[i];
    // An unchanged TOASTed value is not data: take the old row's when it
    // was sent (a null there is a real null), else the policy.
    if (c->kind == Kind::kUnchangedToast && toast_source &&
        (*toast_source)[i].kind != Kind::kUnchangedToast) {
      c = &(*toast_source)[i];
    }
    if (c->kind == Kind::kUnchangedToast && policy_.mode == UnchangedToastPolicy::Mode::kOmit) {
      continue;
    }
    if (!first) out.push_back(',');
    first = false;
    out.append(col.json_name);
    switch (c->kind) {
      case Kind::kNull:
        out.append("null");
        break;
      case Kind::kText:
        append_column_json(out, col.type_oid, c->value);
        break;
      case Kind::kUnchangedToast:
        out.append(marker_json_);
        break;
      case Kind::kBinary:
        // We start replication without the binary option, so a binary
        // value means the bytes are not what we asked for.
        return corruption(rel.table + ": column \"" + col.name + "\" of the " + what +
                          " is in binary format, which was never requested");
    }
  }
  out.push_back('}');
  return Status::ok();
}

Status RowEncoder::encode_insert(const CachedRelation& rel, const Insert& msg,
                                 EncodedRow& out) const {
  out.kind = OperationType::Insert;
  out.key.clear();
  out.value.clear();
  out.old_value.clear();
  out.has_value = true;
  out.has_old_value = false;
  HELIOSDB_RETURN_IF_ERROR(check_count(rel, msg.new_tuple, "INSERT new tuple"));
  if (rel.has_key()) {
    HELIOSDB_RETURN_IF_ERROR(
        append_object(out.key, rel, msg.new_tuple, nullptr, Columns::kKey, "INSERT new tuple"));
  }
  return append_object(out.value, rel, msg.new_tuple, nullptr, Columns::kAll, "INSERT new tuple");
}

Status RowEncoder::encode_update(const CachedRelation& rel, const Update& msg,
                                 EncodedRow& out) const {
  out.kind = OperationType::Update;
  out.key.clear();
  out.value.clear();
  out.old_value.clear();
  out.has_value = true;
  out.has_old_value = msg.old_kind == 'K' || msg.old_kind == 'O';
  HELIOSDB_RETURN_IF_ERROR(check_count(rel, msg.new_tuple, "UPDATE new tuple"));
  if (out.has_old_value) {
    HELIOSDB_RETURN_IF_ERROR(check_count(rel, msg.old_tuple, "UPDATE old tuple"));
  }
  // Only a whole old row ('O') can stand in for unchanged TOASTed values;
  // a 'K' tuple has values for the identity columns only.
  const TupleData* toast_source = msg.old_kind == 'O' ? &msg.old_tuple : nullptr;
  if (rel.has_key()) {
    HELIOSDB_RETURN_IF_ERROR(append_object(out.key, rel, msg.new_tuple, toast_source, Columns::kKey,
                                           "UPDATE new tuple"));
  }
  HELIOSDB_RETURN_IF_ERROR(append_object(out.value, rel, msg.new_tuple, toast_source, Columns::kAll,
                                         "UPDATE new tuple"));
  if (out.has_old_value) {
    return append_object(out.old_value, rel, msg.old_tuple, nullptr,
                         msg.old_kind == 'O' ? Columns::kAll : Columns::kIdentity,
                         "UPDATE old tuple");
  }
  return Status::ok();
}

Status RowEncoder::encode_delete(const CachedRelation& rel, const Delete& msg,
                                 EncodedRow& out) const {
  out.kind = OperationType::Delete;
  out.key.clear();
  out.value.clear();
  out.old_value.clear();
  out.has_value = false;
  out.has_old_value = true;
  HELIOSDB_RETURN_IF_ERROR(check_count(rel, msg.old_tuple, "DELETE old tuple"));
  if (rel.has_key()) {
    HELIOSDB_RETURN_IF_ERROR(
        append_object(out.key, rel, msg.old_tuple, nullptr, Columns::kKey, "DELETE old tuple"));
  }
  return append_object(out.old_value, rel, msg.old_tuple, nullptr,
                       msg.old_kind == 'O' ? Columns::kAll : Columns::kIdentity,
                       "DELETE old tuple");
}

}  // namespace heliosdb::cdc::pg
