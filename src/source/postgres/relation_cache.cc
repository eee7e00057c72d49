#include "source/postgres/relation_cache.h"

#include <algorithm>

#include "common/json_text.h"

namespace heliosdb::cdc::pg {

void RelationCache::put(const Relation& msg, std::vector<std::string> primary_key_columns) {
  CachedRelation rel;
  rel.relation_id = msg.relation_id;
  rel.table.reserve(msg.namespace_name.size() + 1 + msg.relation_name.size());
  // pgoutput sends an empty namespace for pg_catalog.
  rel.table.append(msg.namespace_name.empty() ? std::string_view("pg_catalog")
                                              : msg.namespace_name);
  rel.table.push_back('.');
  rel.table.append(msg.relation_name);
  rel.replica_identity = msg.replica_identity;

  rel.columns.reserve(msg.columns.size());
  for (size_t i = 0; i < msg.columns.size(); ++i) {
    const RelationColumn& c = msg.columns[i];
    CachedColumn col;
    col.name = std::string(c.name);
    append_json_quoted(col.json_name, c.name);
    col.json_name.push_back(':');
    col.type_oid = c.type_oid;
    col.type_modifier = c.type_modifier;
    col.part_of_identity = c.part_of_key;
    if (c.part_of_key) rel.identity_columns.push_back(static_cast<uint32_t>(i));
    rel.columns.push_back(std::move(col));
  }

  if (rel.replica_identity == 'f' || rel.replica_identity == 'n') {
    // FULL flags every column and NOTHING none: neither says what the key
    // is, the catalog's primary key does. A handful of columns: a linear
    // match by name is cheaper than building a map.
    for (const std::string& pk : primary_key_columns) {
      for (size_t i = 0; i < rel.columns.size(); ++i) {
        if (rel.columns[i].name != pk) continue;
        // A name given twice would be a duplicate member of the key object.
        if (std::find(rel.key_columns.begin(), rel.key_columns.end(), i) == rel.key_columns.end()) {
          rel.key_columns.push_back(static_cast<uint32_t>(i));
        }
        break;
      }
    }
  } else {
    rel.key_columns = rel.identity_columns;
    // DEFAULT: the identity is the primary key. pgoutput flags its columns
    // in table order; the catalog gives the key's own order, the order FULL
    // uses, so a row's key (and the old key of a 'K' tuple) has the same
    // bytes under either identity. Only when it names exactly the flagged
    // columns (else the flags, e.g. a key changed since the message).
    if (rel.replica_identity == 'd' && !primary_key_columns.empty() &&
        primary_key_columns.size() == rel.identity_columns.size()) {
      std::vector<uint32_t> ordered;
      for (const std::string& pk : primary_key_columns) {
        for (uint32_t i : rel.identity_columns) {
          if (rel.columns[i].name == pk &&
              std::find(ordered.begin(), ordered.end(), i) == ordered.end()) {
            ordered.push_back(i);
            break;
          }
        }
      }
      if (ordered.size() == rel.identity_columns.size()) {
        rel.key_columns = ordered;
        rel.identity_columns = std::move(ordered);
      }
    }
  }

  relations_.insert_or_assign(rel.relation_id, std::move(rel));
}

const CachedRelation* RelationCache::find(uint32_t relation_id) const {
  auto it = relations_.find(relation_id);
  return it == relations_.end() ? nullptr : &it->second;
}

}  // namespace heliosdb::cdc::pg
