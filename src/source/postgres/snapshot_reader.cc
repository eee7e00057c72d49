#include "source/postgres/snapshot_reader.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>

#include "source/postgres/pg_types.h"
#include "source/postgres/snapshot_state.h"

namespace heliosdb::cdc::pg {

namespace {

const std::string& text_or_empty(const std::optional<std::string>& v) {
  static const std::string empty;
  return v ? *v : empty;
}

int64_t to_i64(const std::optional<std::string>& v, int64_t fallback) {
  if (!v) return fallback;
  int64_t out = fallback;
  std::from_chars(v->data(), v->data() + v->size(), out);
  return out;
}

// "{1,3}" (an int2vector cast to int2[] and printed) -> {1, 3}.
std::vector<int> parse_attnums(const std::string& text) {
  std::vector<int> out;
  int cur = 0;
  bool in_number = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      cur = cur * 10 + (c - '0');
      in_number = true;
    } else if (in_number) {
      out.push_back(cur);
      cur = 0;
      in_number = false;
    }
  }
  if (in_number) out.push_back(cur);
  return out;
}

std::vector<uint32_t> xid_list(const std::string& text) {
  // xid8 values ("epoch << 32 | xid"): the stream's Begin carries 32 bits.
  std::vector<uint32_t> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    uint64_t x = 0;
    std::from_chars(text.data() + i, text.data() + j, x);
    out.push_back(static_cast<uint32_t>(x & 0xffffffffu));
    i = j + 1;
  }
  return out;
}

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::vector<uint32_t> snapshot_key_columns(const CachedRelation& rel,
                                           const PostgresSourceOptions& o) {
  if (rel.has_key()) return rel.key_columns;
  for (const std::string& entry : o.snapshot_key) {
    const size_t eq = entry.find('=');
    if (entry.substr(0, eq) != rel.table) continue;
    for (uint32_t i = 0; i < rel.columns.size(); ++i) {
      if (rel.columns[i].name == entry.substr(eq + 1)) return {i};
    }
  }
  return {};
}

std::string snapshot_match_key(const std::vector<std::string_view>& values) {
  std::string out;
  for (std::string_view v : values) {
    const uint32_t n = static_cast<uint32_t>(v.size());
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out.append(v);
  }
  return out;
}

SnapshotReader::SnapshotReader(PostgresSourceOptions o, std::unique_ptr<PgConnection> conn)
    : o_(std::move(o)), conn_(std::move(conn)) {}

Result<std::unique_ptr<SnapshotReader>> SnapshotReader::connect(const PostgresSourceOptions& o) {
  auto conn = PgConnection::connect(o.dsn, PgConnection::Kind::kRegular);
  if (!conn) return conn.status();
  const int version = PQserverVersion((*conn)->raw());
  if (version < 140000) {
    return Status(ErrorCode::kFailedPrecondition,
                  "snapshots need PostgreSQL 14 or later (their watermarks are logical decoding "
                  "messages, which pgoutput sends from 14 on), and PostgreSQL at " +
                      (*conn)->server() + " is " + std::to_string(version / 10000) +
                      ": set [source.postgres] snapshot = \"never\" to stream changes only");
  }
  // The watermarks' flushing commits (emit_watermark) need the WAL flushed
  // here only: walsenders send locally flushed WAL. Under synchronous
  // replication the default (on) would make every watermark wait for a
  // standby, and stall the snapshot whenever the standby is away.
  HELIOSDB_RETURN_IF_ERROR(
      (*conn)->exec("SET synchronous_commit = local", "setting up the snapshot connection"));
  return std::unique_ptr<SnapshotReader>(new SnapshotReader(o, std::move(*conn)));
}

Result<std::vector<std::string>> SnapshotReader::published_tables() {
  auto r = conn_->query(
      "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = $1 "
      "ORDER BY 1",
      "listing the tables of publication " + o_.publication, {o_.publication});
  if (!r) return r.status();
  std::vector<std::string> out;
  for (const auto& row : r->rows) out.push_back(text_or_empty(row[0]));
  return out;
}

Result<SnapshotTablePlan> SnapshotReader::plan(const std::string& table) {
  const size_t dot = table.find('.');
  const std::string schema = table.substr(0, dot);
  const std::string name = table.substr(dot + 1);
  auto rel = conn_->query(
      "SELECT c.oid, c.relreplident, c.reltuples::bigint, c.relkind FROM pg_class c JOIN "
      "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
      "looking up table " + table + " for its snapshot", {schema, name});
  if (!rel) return rel.status();
  if (rel->rows.empty()) {
    return Status(ErrorCode::kNotFound,
                  "table " + table + " does not exist on PostgreSQL at " + conn_->server());
  }
  const std::string oid = text_or_empty(rel->rows[0][0]);
  const char identity = text_or_empty(rel->rows[0][1]).empty() ? 'd' : (*rel->rows[0][1])[0];
  const int64_t reltuples = to_i64(rel->rows[0][2], -1);
  const bool partitioned = text_or_empty(rel->rows[0][3]) == "p";

  auto cols = conn_->query(
      "SELECT a.attname, a.attnum, a.atttypid, t.typtype, t.typbasetype, a.atttypmod, "
      "format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_attribute a JOIN pg_type t ON "
      "t.oid = a.atttypid WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped "
      "AND a.attgenerated = '' ORDER BY a.attnum",
      "reading the columns of " + table, {oid});
  if (!cols) return cols.status();
  auto idx = conn_->query(
      "SELECT i.indisprimary, i.indisreplident, i.indkey::int2[]::text FROM pg_index i WHERE "
      "i.indrelid = $1::oid AND (i.indisprimary OR i.indisreplident)",
      "reading the keys of " + table, {oid});
  if (!idx) return idx.status();
  std::vector<int> pk, identity_index;
  for (const auto& row : idx->rows) {
    if (text_or_empty(row[0]) == "t") pk = parse_attnums(text_or_empty(row[2]));
    if (text_or_empty(row[1]) == "t") identity_index = parse_attnums(text_or_empty(row[2]));
  }
  const std::vector<int>& flagged = identity == 'd' ? pk : identity_index;

  SnapshotTablePlan plan;
  plan.table = table;
  plan.estimated_rows = reltuples;
  // The Relation message pgoutput would send (logicalrep_write_attrs):
  // under FULL every column is flagged, else those of the identity index.
  Relation msg;
  msg.relation_id = static_cast<uint32_t>(to_i64(oid, 0));
  msg.namespace_name = schema;
  msg.relation_name = name;
  msg.replica_identity = identity;
  std::map<int, uint32_t> index_of_attnum;
  std::vector<std::string> type_names;
  std::vector<bool> not_null;
  for (const auto& row : cols->rows) {
    RelationColumn c;
    c.name = text_or_empty(row[0]);
    const int attnum = static_cast<int>(to_i64(row[1], 0));
    uint32_t type_oid = static_cast<uint32_t>(to_i64(row[2], 0));
    // A domain over a built-in type maps as that type, as the stream maps
    // it from its Type message.
    if (text_or_empty(row[3]) == "d") {
      const auto base = static_cast<uint32_t>(to_i64(row[4], 0));
      if (builtin_type(base)) type_oid = base;
    }
    c.type_oid = type_oid;
    c.type_modifier = static_cast<int32_t>(to_i64(row[5], -1));
    c.part_of_key =
        identity == 'f' || std::find(flagged.begin(), flagged.end(), attnum) != flagged.end();
    index_of_attnum[attnum] = static_cast<uint32_t>(msg.columns.size());
    msg.columns.push_back(c);
    type_names.push_back(text_or_empty(row[6]));
    not_null.push_back(text_or_empty(row[7]) == "t");
  }
  std::vector<std::string> pk_names;
  for (int a : pk) {
    auto it = index_of_attnum.find(a);
    if (it != index_of_attnum.end()) pk_names.emplace_back(msg.columns[it->second].name);
  }
  RelationCache cache;
  cache.put(msg, pk_names);
  plan.relation = *cache.find(msg.relation_id);

  // Chunks page by the events' key columns (the primary key, or the
  // replica identity index's columns), so the stream side matches changes
  // to chunk rows by the same columns (snapshot_key_columns).
  if (plan.relation.has_key()) {
    plan.chunk_key = plan.relation.key_columns;
  } else {
    std::string column;
    for (const std::string& entry : o_.snapshot_key) {
      const size_t eq = entry.find('=');
      if (entry.substr(0, eq) == table) column = entry.substr(eq + 1);
    }
    if (column.empty()) {
      return Status(ErrorCode::kFailedPrecondition,
                    "table " + table +
                        " has no primary key or replica identity index, so its snapshot has "
                        "nothing to page by: add a primary key, or name a unique, not-null column "
                        "in [source.postgres] snapshot_key = [\"" +
                        table + "=<column>\"] (the table needs REPLICA IDENTITY FULL then)");
    }
    uint32_t index = 0;
    bool found = false;
    for (uint32_t i = 0; i < msg.columns.size(); ++i) {
      if (msg.columns[i].name == column) {
        index = i;
        found = true;
      }
    }
    if (!found) {
      return Status(ErrorCode::kFailedPrecondition,
                    "[source.postgres] snapshot_key: table " + table + " has no column " + column);
    }
    if (!not_null[index]) {
      return Status(ErrorCode::kFailedPrecondition,
                    "[source.postgres] snapshot_key: column " + column + " of " + table +
                        " may be NULL; the snapshot pages by it, so it must be NOT NULL");
    }
    auto unique = conn_->query(
        "SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attname = "
        "$2 WHERE i.indrelid = $1::oid AND i.indisunique AND i.indnkeyatts = 1 AND i.indkey[0] = "
        "a.attnum AND i.indpred IS NULL",
        "checking snapshot_key " + column + " of " + table, {oid, column});
    if (!unique) return unique.status();
    if (unique->rows.empty()) {
      return Status(ErrorCode::kFailedPrecondition,
                    "[source.postgres] snapshot_key: column " + column + " of " + table +
                        " has no unique index of its own; the snapshot pages by it, so it must be "
                        "unique");
    }
    if (identity != 'f') {
      return Status(ErrorCode::kFailedPrecondition,
                    "[source.postgres] snapshot_key: table " + table +
                        " has no primary key, so its updates and deletes reach the stream without "
                        "column " +
                        column +
                        " unless the table has REPLICA IDENTITY FULL (ALTER TABLE ... REPLICA "
                        "IDENTITY FULL); without it the snapshot cannot tell which rows changed");
    }
    plan.chunk_key = {index};
  }

  std::string select = "SELECT ";
  for (size_t i = 0; i < msg.columns.size(); ++i) {
    if (i) select += ", ";
    select += quote_identifier(msg.columns[i].name);
  }
  select += std::string(" FROM ") + (partitioned ? "" : "ONLY ") + quote_identifier(schema) + "." +
            quote_identifier(name);
  std::string order = " ORDER BY ", lhs = "(", rhs = "(";
  for (size_t i = 0; i < plan.chunk_key.size(); ++i) {
    const uint32_t c = plan.chunk_key[i];
    if (i) {
      order += ", ";
      lhs += ", ";
      rhs += ", ";
    }
    order += quote_identifier(msg.columns[c].name);
    lhs += quote_identifier(msg.columns[c].name);
    rhs += "$" + std::to_string(i + 1) + "::" + type_names[c];
  }
  const std::string limit = " LIMIT " + std::to_string(uint64_t{o_.snapshot_chunk_rows} + 1);
  plan.first_query = select + order + limit;
  plan.next_query = select + " WHERE " + lhs + ") > " + rhs + ")" + order + limit;
  return plan;
}

Status SnapshotReader::emit_watermark(bool high, const std::string& id) {
  // A non-transactional message is written to the WAL at once but not
  // flushed, and walsenders send only flushed WAL: without a flush it waits
  // for the WAL writer (wal_writer_delay, 200 ms by default), twice per
  // chunk. txid_current() gives the statement's transaction an xid, so its
  // commit flushes the WAL up to there (PostgreSQL 17's flush argument
  // does the same). The empty transaction itself is not sent (PostgreSQL
  // 15 skips empty transactions; 14 sends a BEGIN/COMMIT pair).
  return conn_->exec(
      "SELECT pg_logical_emit_message(false, $1, $2), txid_current()",
      std::string("writing the ") + (high ? "high" : "low") + " watermark of snapshot chunk " + id,
      {std::string(kWatermarkPrefix), encode_watermark({o_.slot, high, id})});
}

Result<SnapshotChunk> SnapshotReader::read_chunk(const SnapshotTablePlan& plan,
                                                 const std::vector<std::string>& after,
                                                 const std::string& id) {
  SnapshotChunk chunk;
  chunk.id = id;
  HELIOSDB_RETURN_IF_ERROR(emit_watermark(false, id));
  const std::string what = "reading a snapshot chunk of " + plan.table;
  HELIOSDB_RETURN_IF_ERROR(conn_->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", what));
  auto rollback = [&](Status st) {
    if (PQstatus(conn_->raw()) == CONNECTION_OK) (void)conn_->exec("ROLLBACK", what);
    return st;
  };
  // The first statement fixes the transaction's snapshot: the chunk query
  // below sees exactly what pg_current_snapshot() describes here.
  auto snap = conn_->query(
      "SELECT pg_snapshot_xmin(s)::text, coalesce((SELECT string_agg(x::text, ',') FROM "
      "pg_snapshot_xip(s) AS x), ''), coalesce((SELECT string_agg(backend_xid::text, ',') FROM "
      "pg_stat_activity WHERE wait_event = 'SyncRep' AND backend_xid IS NOT NULL), '') FROM "
      "pg_current_snapshot() AS s",
      what);
  if (!snap) return rollback(snap.status());
  if (!snap->rows.empty()) {
    const auto xmin = xid_list(text_or_empty(snap->rows[0][0]));
    if (!xmin.empty()) chunk.xmin = xmin[0];
    chunk.running = xid_list(text_or_empty(snap->rows[0][1]));
    chunk.commit_waiting = xid_list(text_or_empty(snap->rows[0][2]));
  }
  chunk.read_time_ms = now_unix_ms();
  // Read in place from libpq's result: a chunk is the largest result we
  // take, and a copy of it (QueryRows) was a third of the snapshot's memory.
  auto result = after.empty() ? conn_->query_result(plan.first_query, what)
                              : conn_->query_result(plan.next_query, what, after);
  if (!result) return rollback(result.status());
  HELIOSDB_RETURN_IF_ERROR(conn_->exec("COMMIT", what));
  HELIOSDB_RETURN_IF_ERROR(emit_watermark(true, id));

  const PGresult* res = result->get();
  const size_t got = static_cast<size_t>(PQntuples(res));
  const int columns = PQnfields(res);
  if (static_cast<size_t>(columns) != plan.relation.columns.size()) {
    return Status(ErrorCode::kInternal, what + ": the chunk query returned " +
                                            std::to_string(columns) + " columns, not " +
                                            std::to_string(plan.relation.columns.size()));
  }
  auto cell = [res](size_t r, uint32_t c) {
    return std::string_view(
        PQgetvalue(res, static_cast<int>(r), static_cast<int>(c)),
        static_cast<size_t>(PQgetlength(res, static_cast<int>(r), static_cast<int>(c))));
  };
  const size_t limit = o_.snapshot_chunk_rows;
  chunk.table_done = got <= limit;
  const size_t n = std::min(got, limit);
  chunk.rows.resize(n);
  chunk.match_keys.reserve(n);
  Insert ins;
  ins.relation_id = plan.relation.relation_id;
  ins.new_tuple.resize(static_cast<size_t>(columns));
  std::vector<std::string_view> key_values;
  for (size_t r = 0; r < n; ++r) {
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(res, static_cast<int>(r), c)) {
        ins.new_tuple[c] = {TupleColumn::Kind::kNull, {}};
      } else {
        ins.new_tuple[c] = {TupleColumn::Kind::kText, cell(r, static_cast<uint32_t>(c))};
      }
    }
    HELIOSDB_RETURN_IF_ERROR(encoder_.encode_insert(plan.relation, ins, chunk.rows[r]));
    chunk.rows[r].kind = OperationType::Read;
    key_values.clear();
    for (uint32_t c : plan.chunk_key) key_values.push_back(cell(r, c));
    chunk.match_keys.push_back(snapshot_match_key(key_values));
  }
  if (n > 0) {
    for (uint32_t c : plan.chunk_key) chunk.last_key.emplace_back(cell(n - 1, c));
  }
  return chunk;
}

}  // namespace heliosdb::cdc::pg
