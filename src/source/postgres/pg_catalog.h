// What the PostgreSQL source asks of the server's catalog, on a regular
// connection: the checks before it streams (wal_level, REPLICATION,
// the publication, the slot), the set-up it may do (create them), and the
// primary key of a relation, which pgoutput does not send under REPLICA
// IDENTITY FULL or NOTHING. Every error names the server and says how to
// fix it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "heliosdb/cdc/status.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/pgoutput.h"
#include "source/postgres/postgres_options.h"
#include "source/postgres/snapshot_state.h"

namespace heliosdb::cdc::pg {

// kFailedPrecondition unless wal_level is logical (saying how to set it).
Status check_wal_level(PgConnection& conn);
// kPermissionDenied unless the role may replicate (REPLICATION or superuser).
Status check_replication_role(PgConnection& conn);
// The publication exists, or is created (FOR TABLE the tables, else FOR
// ALL TABLES) when the options allow; then warns, once per table, of
// published tables with neither a primary key nor a replica identity.
Status ensure_publication(PgConnection& conn, const PostgresSourceOptions& options);

struct SlotState {
  std::string plugin;
  std::string database;
  bool active = false;
  std::optional<int64_t> active_pid;
  Lsn confirmed_flush = 0;
  // pg_replication_slots.wal_status (PostgreSQL 13+; empty before): "lost"
  // once the server invalidated the slot (max_slot_wal_keep_size).
  std::string wal_status;
};
// The slot, or nullopt if there is none of that name.
Result<std::optional<SlotState>> find_slot(PgConnection& conn, const std::string& slot);
// Creates a pgoutput slot; returns its consistent point (where it starts).
Result<Lsn> create_slot(PgConnection& conn, const std::string& slot);
// Drops the slot (an error while a walsender still holds it).
Status drop_slot(PgConnection& conn, const std::string& slot);
// "schema.table" of each table the publication has, in name order.
Result<std::vector<std::string>> publication_tables(PgConnection& conn,
                                                    const std::string& publication);
// Writes `request` into the WAL and makes it durable (a logical message,
// PostgreSQL 14+); returns the LSN pg_logical_emit_message gave.
Result<std::string> write_snapshot_request(PgConnection& conn, const SnapshotRequest& request);

// The relation's primary-key columns in key order (empty: none).
Result<std::vector<std::string>> primary_key_columns(PgConnection& conn, uint32_t relation_id);
// pg_current_wal_lsn(): where `run --once` stops.
Result<Lsn> current_wal_lsn(PgConnection& conn);

}  // namespace heliosdb::cdc::pg
