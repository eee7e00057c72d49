// Reads snapshot chunks: the regular connection's side of a snapshot.
//
// DBLog's watermark method (Andreas Andreakis and Ioannis Papapanagiotou,
// "DBLog: A Watermark Based Change-Data-Capture Framework", 2020): a chunk
// (`WHERE key > last ORDER BY key LIMIT n`) is read between two
// watermarks this reader writes into the WAL with
// pg_logical_emit_message(false, ...). The replication stream (the source)
// sees both; any row of the chunk that a streamed change touches between
// them is dropped from the chunk (the change is newer), and the rest go out
// as READ events at the high watermark. Each chunk is its own short
// REPEATABLE READ, READ ONLY transaction: no snapshot is held across
// chunks, no lock beyond the query's ACCESS SHARE.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/status.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/postgres_options.h"
#include "source/postgres/relation_cache.h"
#include "source/postgres/row_encoder.h"

namespace heliosdb::cdc::pg {

// How one table is read.
struct SnapshotTablePlan {
  std::string table;  // "schema.table", as events name it
  // The table as the replication stream describes it (the same columns,
  // types and identity flags pgoutput sends), so rows encode to the same
  // bytes as streamed changes.
  CachedRelation relation;
  // The columns chunks are paged by (indexes into relation.columns): the
  // primary key, else the replica identity index, else snapshot_key.
  std::vector<uint32_t> chunk_key;
  int64_t estimated_rows = -1;  // pg_class.reltuples; -1: never analyzed
  std::string first_query;      // the first chunk
  std::string next_query;       // later chunks: $1.. are the last key's values
};

struct SnapshotChunk {
  std::string id;
  std::vector<EncodedRow> rows;
  std::vector<std::string> match_keys;  // of each row (snapshot_match_key)
  std::vector<std::string> last_key;    // the chunk key of the last row read
  bool table_done = false;              // no row after this chunk
  // The chunk query's snapshot (32-bit xids): its xmin, and every
  // transaction it saw as running (its xip). The stream sends committed
  // transactions only, so one of these it delivers was committed yet
  // invisible to the chunk (its commit waited, e.g. for a synchronous
  // standby): its changes are newer than the chunk's rows, whatever their
  // place in the stream. pg_xact_status() cannot tell those apart (it says
  // "in progress" while the commit waits).
  uint32_t xmin = 0;
  std::vector<uint32_t> running;
  // Sessions seen waiting at commit for synchronous replication
  // (pg_stat_activity, wait_event SyncRep): committed, not yet visible.
  // Other roles' sessions show only with pg_read_all_stats (or pg_monitor).
  std::vector<uint32_t> commit_waiting;
  int64_t read_time_ms = 0;  // when it was read, ms since the Unix epoch
};

// The bytes a row's chunk key is matched by: each value's length and text,
// as PostgreSQL prints it (the replication stream and the chunk query print
// alike: both connections set the same datestyle and float digits).
std::string snapshot_match_key(const std::vector<std::string_view>& values);
// The columns of `rel` chunks page by and changes are matched by: the
// events' key columns (the primary key, or the replica identity index's),
// else the table's snapshot_key column; empty if neither.
std::vector<uint32_t> snapshot_key_columns(const CachedRelation& rel,
                                           const PostgresSourceOptions& o);

class SnapshotReader {
 public:
  static Result<std::unique_ptr<SnapshotReader>> connect(const PostgresSourceOptions& o);

  // The published tables, "schema.table", in name order.
  Result<std::vector<std::string>> published_tables();
  // kNotFound if the table is gone; kFailedPrecondition naming it if it has
  // nothing to page by (no primary key, identity index or snapshot_key).
  Result<SnapshotTablePlan> plan(const std::string& table);
  // Writes the low watermark, reads the chunk after `after` (empty: from
  // the start) and writes the high watermark.
  Result<SnapshotChunk> read_chunk(const SnapshotTablePlan& plan,
                                   const std::vector<std::string>& after, const std::string& id);
  const std::string& server() const { return conn_->server(); }
  PgConnection& connection() { return *conn_; }

 private:
  SnapshotReader(PostgresSourceOptions o, std::unique_ptr<PgConnection> conn);
  Status emit_watermark(bool high, const std::string& id);

  PostgresSourceOptions o_;
  std::unique_ptr<PgConnection> conn_;
  RowEncoder encoder_;
};

}  // namespace heliosdb::cdc::pg
