// [source] and [source.postgres]: which source the daemon reads, and the
// PostgreSQL source's options, declared once. The daemon's config reader
// (config/daemon_config.cc), `config options source.postgres` and
// docs/configuration.md read these tables; defaults come from a
// default-constructed PostgresSourceOptions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "options/option_table.h"

namespace heliosdb::cdc::pg {

inline constexpr const char* kSourceTypeWal = "heliosdb_wal";
inline constexpr const char* kSourceTypePostgres = "postgres";

struct PostgresSourceOptions {
  // libpq conninfo ("host=... dbname=..." or a postgresql:// URI). May hold
  // a password: never logged (describe_server() names host, port, database).
  std::string dsn;
  std::string slot = "heliosdb_cdc";
  std::string publication = "heliosdb_cdc";
  bool create_slot = true;
  bool create_publication = true;
  std::vector<std::string> tables;  // "schema.table"; empty: all tables
  uint32_t status_interval_ms = 10000;
  std::string unchanged_toast = "marker";  // "marker" | "omit"
  std::string unchanged_toast_marker = "__heliosdb_unchanged_toast__";
  uint32_t reconnect_max_backoff_ms = 30000;
  // Snapshots (docs/postgres.md#snapshots).
  std::string snapshot = "initial";  // "initial" | "never" | "initial_only"
  uint32_t snapshot_chunk_rows = 10000;
  std::vector<std::string> snapshot_tables;   // "schema.table"; empty: every published table
  uint32_t snapshot_max_rows_per_second = 0;  // 0: unlimited
  // "schema.table=column": the unique, not-null column chunking a table
  // without a primary key.
  std::vector<std::string> snapshot_key;
  // Slot health (docs/postgres.md#slot-health).
  uint32_t heartbeat_interval_ms = 10000;  // 0: no heartbeats
  bool idle_advance = true;  // keepalives' walEnd moves the flush position when nothing is open
  uint64_t max_retained_wal_bytes = 0;           // 0: no budget
  std::string on_wal_budget_exceeded = "alert";  // "alert" | "fail"
  std::string on_slot_lost = "fail";             // "fail" | "recreate"
  uint32_t stall_timeout_s = 300;                // 0: no stall detection
  // The events' `database` ([cdc] database; the DSN's database by default).
  std::string database;
};

const options::Table& source_option_table();           // [source]
const options::Table& postgres_source_option_table();  // [source.postgres]

// Every rule `o` breaks, in table order. `chosen`: it is the source that
// runs (a [source.postgres] kept for later, beside the HeliosDB WAL, may
// leave out its dsn).
options::Problems postgres_source_problems(const PostgresSourceOptions& o, bool chosen = true);

// The database a libpq conninfo connects to: its dbname, else PGDATABASE,
// else its user (libpq's own defaults), else "". kConfig if `dsn` is not a
// conninfo libpq parses (the message never repeats the DSN: it may hold a
// password).
Result<std::string> database_of_dsn(const std::string& dsn);

}  // namespace heliosdb::cdc::pg
