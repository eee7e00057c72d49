#include "source/postgres/pg_catalog.h"

#include <spdlog/spdlog.h>

namespace heliosdb::cdc::pg {
namespace {

const std::string& text_or_empty(const std::optional<std::string>& v) {
  static const std::string empty;
  return v ? *v : empty;
}

// "public.users" -> "public"."users".
std::string quoted_table(const std::string& table) {
  const size_t dot = table.find('.');
  return quote_identifier(table.substr(0, dot)) + "." + quote_identifier(table.substr(dot + 1));
}

}  // namespace

Status check_wal_level(PgConnection& conn) {
  auto r = conn.query("SHOW wal_level", "reading wal_level");
  if (!r) return r.status();
  const std::string level = r->rows.empty() ? "" : text_or_empty(r->rows[0][0]);
  if (level == "logical") return Status::ok();
  return Status(ErrorCode::kFailedPrecondition,
                "wal_level is '" + level + "' on PostgreSQL at " + conn.server() +
                    "; logical replication needs wal_level = logical: set it in postgresql.conf "
                    "(or ALTER SYSTEM SET wal_level = logical) and restart the server");
}

Status check_replication_role(PgConnection& conn) {
  auto r = conn.query(
      "SELECT rolreplication OR rolsuper, current_user FROM pg_roles WHERE rolname = current_user",
      "reading the role's privileges");
  if (!r) return r.status();
  if (!r->rows.empty() && text_or_empty(r->rows[0][0]) == "t") return Status::ok();
  const std::string user = r->rows.empty() ? "?" : text_or_empty(r->rows[0][1]);
  return Status(ErrorCode::kPermissionDenied,
                "role " + user + " has no REPLICATION privilege on PostgreSQL at " + conn.server() +
                    ": grant it (ALTER ROLE " + quote_identifier(user) +
                    " REPLICATION) or use a role that has it");
}

Status ensure_publication(PgConnection& conn, const PostgresSourceOptions& options) {
  auto found = conn.query("SELECT puballtables FROM pg_publication WHERE pubname = $1",
                          "looking up publication " + options.publication, {options.publication});
  if (!found) return found.status();
  if (found->rows.empty()) {
    if (!options.create_publication) {
      return Status(ErrorCode::kFailedPrecondition,
                    "publication " + options.publication + " does not exist on PostgreSQL at " +
                        conn.server() + ": create it (CREATE PUBLICATION " +
                        quote_identifier(options.publication) +
                        " FOR TABLE ...) or set [source.postgres] create_publication = true");
    }
    std::string sql = "CREATE PUBLICATION " + quote_identifier(options.publication);
    if (options.tables.empty()) {
      sql += " FOR ALL TABLES";
    } else {
      sql += " FOR TABLE ";
      for (size_t i = 0; i < options.tables.size(); ++i) {
        if (i) sql += ", ";
        sql += quoted_table(options.tables[i]);
      }
    }
    HELIOSDB_RETURN_IF_ERROR(conn.exec(sql, "creating publication " + options.publication));
    spdlog::info("created publication {} ({})", options.publication,
                 options.tables.empty() ? std::string("all tables")
                                        : std::to_string(options.tables.size()) + " tables");
  }
  // A table PostgreSQL cannot identify rows of: its UPDATEs and DELETEs
  // fail on the server while it is published (or, under NOTHING, carry no
  // key), and its events have an empty key.
  auto keyless = conn.query(
      "SELECT pt.schemaname || '.' || pt.tablename FROM pg_publication_tables pt "
      "JOIN pg_namespace n ON n.nspname = pt.schemaname "
      "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename "
      "WHERE pt.pubname = $1 AND (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS "
      "(SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))) ORDER BY 1",
      "listing the tables of publication " + options.publication, {options.publication});
  if (!keyless) return keyless.status();
  for (const auto& row : keyless->rows) {
    spdlog::warn(
        "table {} of publication {} has no primary key and no replica identity: its UPDATEs and "
        "DELETEs carry no key (PostgreSQL refuses them while the table publishes them) and its "
        "events have an empty key; add a primary key or ALTER TABLE ... REPLICA IDENTITY FULL",
        text_or_empty(row[0]), options.publication);
  }
  return Status::ok();
}

Result<std::optional<SlotState>> find_slot(PgConnection& conn, const std::string& slot) {
  const bool has_wal_status = PQserverVersion(conn.raw()) >= 130000;
  auto r = conn.query(std::string("SELECT plugin, database, active, active_pid, "
                                  "confirmed_flush_lsn, ") +
                          (has_wal_status ? "wal_status" : "NULL") +
                          " FROM pg_replication_slots WHERE slot_name = $1",
                      "looking up replication slot " + slot, {slot});
  if (!r) return r.status();
  if (r->rows.empty()) return std::optional<SlotState>();
  const auto& row = r->rows[0];
  SlotState s;
  s.plugin = text_or_empty(row[0]);
  s.database = text_or_empty(row[1]);
  s.active = text_or_empty(row[2]) == "t";
  if (row[3]) s.active_pid = std::stoll(*row[3]);
  if (row[4]) {
    auto lsn = parse_lsn(*row[4]);
    if (!lsn) {
      return Status(ErrorCode::kCorruption, "slot " + slot + " on PostgreSQL at " + conn.server() +
                                                ": confirmed_flush_lsn '" + *row[4] +
                                                "' is not an LSN");
    }
    s.confirmed_flush = *lsn;
  }
  s.wal_status = text_or_empty(row[5]);
  return std::optional<SlotState>(std::move(s));
}

Result<Lsn> create_slot(PgConnection& conn, const std::string& slot) {
  auto r = conn.query("SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')",
                      "creating replication slot " + slot, {slot});
  if (!r) return r.status();
  if (r->rows.empty() || !r->rows[0][0]) {
    return Status(ErrorCode::kInternal, "creating replication slot " + slot + ": no LSN returned");
  }
  auto lsn = parse_lsn(*r->rows[0][0]);
  if (!lsn) return Status(ErrorCode::kCorruption, "slot " + slot + ": bad LSN " + *r->rows[0][0]);
  return *lsn;
}

Status drop_slot(PgConnection& conn, const std::string& slot) {
  return conn.exec("SELECT pg_drop_replication_slot($1)", "dropping replication slot " + slot,
                   {slot});
}

Result<std::vector<std::string>> publication_tables(PgConnection& conn,
                                                    const std::string& publication) {
  auto r = conn.query(
      "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = $1 "
      "ORDER BY 1",
      "listing the tables of publication " + publication, {publication});
  if (!r) return r.status();
  std::vector<std::string> tables;
  for (const auto& row : r->rows) {
    if (row[0]) tables.push_back(*row[0]);
  }
  return tables;
}

Result<std::string> write_snapshot_request(PgConnection& conn, const SnapshotRequest& request) {
  // A non-transactional message is written to the WAL buffers but not
  // flushed (PostgreSQL 17 added a `flush` argument for that), and
  // walsenders send flushed WAL only: on a quiet server it could wait for
  // the next commit, and a crash before then would lose it. A transaction
  // with an xid flushes everything before its commit record, so one is
  // committed right after the message (synchronous_commit = local: flushed
  // here, without waiting for synchronous standbys). It costs one xid and
  // writes no row.
  const std::string what = "writing the snapshot request";
  HELIOSDB_RETURN_IF_ERROR(conn.exec("BEGIN", what));
  HELIOSDB_RETURN_IF_ERROR(conn.exec("SET LOCAL synchronous_commit = local", what));
  auto lsn = conn.query("SELECT pg_logical_emit_message(false, $1::text, $2::text)::text", what,
                        {std::string(kSnapshotRequestPrefix), encode_snapshot_request(request)});
  if (!lsn) return lsn.status();
  HELIOSDB_RETURN_IF_ERROR(
      conn.query("SELECT pg_current_xact_id()", what + " (flushing it)").status());
  HELIOSDB_RETURN_IF_ERROR(conn.exec("COMMIT", what + " (flushing it)"));
  if (lsn->rows.empty() || !lsn->rows[0][0]) {
    return Status(ErrorCode::kInternal, what + ": pg_logical_emit_message returned no LSN");
  }
  return *lsn->rows[0][0];
}

Result<std::vector<std::string>> primary_key_columns(PgConnection& conn, uint32_t relation_id) {
  auto r = conn.query(
      "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
      "a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::oid AND i.indisprimary "
      "ORDER BY array_position(i.indkey::int2[], a.attnum)",
      "reading the primary key of relation " + std::to_string(relation_id),
      {std::to_string(relation_id)});
  if (!r) return r.status();
  std::vector<std::string> out;
  for (const auto& row : r->rows) out.push_back(text_or_empty(row[0]));
  return out;
}

Result<Lsn> current_wal_lsn(PgConnection& conn) {
  auto r = conn.query("SELECT pg_current_wal_lsn()", "reading the WAL position");
  if (!r) return r.status();
  if (r->rows.empty() || !r->rows[0][0]) {
    return Status(ErrorCode::kInternal, "pg_current_wal_lsn() returned nothing");
  }
  auto lsn = parse_lsn(*r->rows[0][0]);
  if (!lsn) return Status(ErrorCode::kCorruption, "bad LSN " + *r->rows[0][0]);
  return *lsn;
}

}  // namespace heliosdb::cdc::pg
