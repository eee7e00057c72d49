// The tables the replication stream has described, by relation id.
//
// pgoutput sends a Relation message before the first row of a table on a
// connection (and again after the table's definition changes); row messages
// carry only the relation id. The cache keeps, per relation, what turning a
// row into an event needs: the "schema.table" name, the columns with their
// types, the names already JSON-quoted (rows arrive at hundreds of thousands
// per second; a name is escaped once here, not once per row), and which
// columns make the event's key.
//
// The key: under REPLICA IDENTITY DEFAULT ('d') or USING INDEX ('i') the
// columns the Relation message flags as part of the identity (what the old
// 'K' tuple of an UPDATE or DELETE carries). Under FULL ('f') pgoutput flags
// every column, and under NOTHING ('n') none, so there the key is the
// primary key the caller read from the catalog. Under DEFAULT the flagged
// columns are put in that key's order too, so a row's key bytes do not
// depend on the replica identity.
//
// Relation ids are only meaningful within one connection: clear() on every
// new one. Not thread-safe; one per replication connection.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "source/postgres/pgoutput.h"

namespace heliosdb::cdc::pg {

struct CachedColumn {
  std::string name;
  std::string json_name;  // `"name":`, escaped and quoted, ready to append
  uint32_t type_oid = 0;
  int32_t type_modifier = 0;
  bool part_of_identity = false;  // flagged in the Relation message
};

struct CachedRelation {
  uint32_t relation_id = 0;
  std::string table;            // "schema.table"; an empty namespace is "pg_catalog"
  char replica_identity = 'd';  // d default, n nothing, f full, i index
  std::vector<CachedColumn> columns;
  // Indexes into `columns`, in the key's order (see the header comment).
  std::vector<uint32_t> key_columns;
  // Indexes of the columns flagged part_of_identity: the columns an old 'K'
  // tuple carries values for. In table order; under DEFAULT in the primary
  // key's order when put() was given it (the same bytes as under FULL).
  std::vector<uint32_t> identity_columns;

  bool has_key() const { return !key_columns.empty(); }
};

class RelationCache {
 public:
  // Copies `msg` (its views may die after the call), replacing an entry
  // with the same relation id. `primary_key_columns`: the table's primary
  // key column names from the catalog, in key order: the key under REPLICA
  // IDENTITY FULL or NOTHING (names the message lacks are ignored), and the
  // order of the flagged columns under DEFAULT when it names exactly them.
  void put(const Relation& msg, std::vector<std::string> primary_key_columns);

  // The relation, or null if the stream has not described it. The pointer
  // stays valid until the next put() of the same id or clear().
  const CachedRelation* find(uint32_t relation_id) const;

  void clear() { relations_.clear(); }
  size_t size() const { return relations_.size(); }

 private:
  std::unordered_map<uint32_t, CachedRelation> relations_;
};

}  // namespace heliosdb::cdc::pg
