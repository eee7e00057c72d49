// Turning one pgoutput row message (Insert, Update, Delete) into the parts
// of an event: its key, value and old_value, each a JSON object
// `{"col":<json>,...}` (no spaces) whose values follow the type mapping of
// pg_types.h and NULL columns are null.
//
//   key        the relation's key columns (relation_cache.h) of the new row
//              (INSERT, UPDATE) or of the old tuple (DELETE), in key order;
//              zero bytes (not "{}") when the table has no key.
//   value      the new row, in table column order; none for DELETE.
//   old_value  under an old 'O' tuple (REPLICA IDENTITY FULL) the whole old
//              row; under 'K' (the key changed, or a DELETE under DEFAULT or
//              USING INDEX) the identity columns only; none for an UPDATE
//              that carries no old tuple.
//
// An unchanged TOASTed value ('u': PostgreSQL did not send it because the
// UPDATE left it alone) is never passed off as data. It is taken from the
// old 'O' tuple's same column when that one was sent (a null there is a
// real null); otherwise the UnchangedToastPolicy decides: a marker string,
// or the column left out of the object.
//
// Input from the network is checked: a tuple whose column count is not the
// relation's, or a binary-format column (we never ask for binary), is
// kCorruption naming the table. TRUNCATE needs nothing from here: one event
// per relation, empty key, no value.
//
// Pure and allocation-free per row once the buffers have grown. Not
// thread-safe; one per replication connection.
#pragma once

#include <string>

#include "heliosdb/cdc/event.h"
#include "heliosdb/cdc/status.h"
#include "source/postgres/pgoutput.h"
#include "source/postgres/relation_cache.h"

namespace heliosdb::cdc::pg {

struct UnchangedToastPolicy {
  enum class Mode { kMarker, kOmit };
  Mode mode = Mode::kMarker;
  std::string marker = "__heliosdb_unchanged_toast__";  // kMarker: as a JSON string
};

// One row's event parts. Reuse one across rows: the strings keep their
// capacity, so steady-state encoding allocates nothing.
struct EncodedRow {
  OperationType kind = OperationType::Insert;
  std::string key;  // empty: the table has no key
  std::string value;
  bool has_value = false;
  std::string old_value;
  bool has_old_value = false;
};

class RowEncoder {
 public:
  explicit RowEncoder(UnchangedToastPolicy policy = {});

  // `rel` must be the relation the message names (the caller looks it up
  // with RelationCache::find). On error `out` holds no meaningful row.
  Status encode_insert(const CachedRelation& rel, const Insert& msg, EncodedRow& out) const;
  Status encode_update(const CachedRelation& rel, const Update& msg, EncodedRow& out) const;
  Status encode_delete(const CachedRelation& rel, const Delete& msg, EncodedRow& out) const;

  const UnchangedToastPolicy& policy() const { return policy_; }

 private:
  // Which columns of a tuple an object holds.
  enum class Columns { kAll, kKey, kIdentity };

  // Appends the object of `which` columns of `tuple` (`what`, e.g. "UPDATE
  // new tuple", names it in errors); an unchanged TOASTed column is taken
  // from `toast_source` (the old 'O' tuple) when non-null. The tuple's
  // column count is checked by the caller.
  Status append_object(std::string& out, const CachedRelation& rel, const TupleData& tuple,
                       const TupleData* toast_source, Columns which, const char* what) const;

  UnchangedToastPolicy policy_;
  std::string marker_json_;  // the marker, quoted once
};

}  // namespace heliosdb::cdc::pg
