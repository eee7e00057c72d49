#include "source/postgres/postgres_options.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <memory>

namespace heliosdb::cdc::pg {
namespace {

options::Table make_source_table() {
  options::Table t;
  t.section = "source";
  t.options.push_back(options::enum_option("type", kSourceTypeWal,
                                           {kSourceTypeWal, kSourceTypePostgres}, "",
                                           "Where committed changes come from:"));
  t.options.back().allowed_docs = {
      "the HeliosDB WAL in `[cdc] wal_path`",
      "a PostgreSQL server's logical replication (pgoutput), configured in `[source.postgres]` "
      "(see [postgres.md](postgres.md))"};
  return t;
}

options::Table make_postgres_table() {
  const PostgresSourceOptions d;
  options::Table t;
  t.section = "source.postgres";
  auto& v = t.options;
  v.push_back(options::string_option(
      "dsn", "", "PostgresSourceOptions::dsn",
      "libpq connection string (`host=db.internal port=5432 dbname=app user=cdc "
      "sslmode=verify-full` "
      "or a `postgresql://` URI). The password: `${ENV}` substitution, `PGPASSWORD` or "
      "`~/.pgpass`; never logged. TLS with libpq's `sslmode`, `sslrootcert`, ...; "
      "`connect_timeout` "
      "too."));
  v.back().secret = options::Secret::kYes;
  v.back().required = true;
  v.push_back(options::string_option(
      "slot", d.slot, "PostgresSourceOptions::slot",
      "Logical replication slot (plugin `pgoutput`) the daemon reads and confirms."));
  v.push_back(options::string_option("publication", d.publication,
                                     "PostgresSourceOptions::publication",
                                     "Publication naming the tables whose changes are sent."));
  v.push_back(options::bool_option(
      "create_slot", d.create_slot, "PostgresSourceOptions::create_slot",
      "Create the slot when it does not exist (`false`: a missing slot is an error). Never when a "
      "checkpoint exists: a new slot would silently skip what happened since."));
  v.push_back(options::bool_option(
      "create_publication", d.create_publication, "PostgresSourceOptions::create_publication",
      "Create the publication when it does not exist: `FOR TABLE` the `tables`, or `FOR ALL "
      "TABLES` (superuser only) when `tables` is empty."));
  v.push_back(options::string_list_option(
      "tables", "PostgresSourceOptions::tables",
      "Tables of a publication the daemon creates, as `schema.table` (e.g. `[\"public.users\"]`); "
      "empty: all tables."));
  v.push_back(options::int_option(
      "status_interval_ms", d.status_interval_ms, 100, 3600000,
      "PostgresSourceOptions::status_interval_ms",
      "Longest time between two standby status updates to the server (flush position and "
      "liveness); keep it well below the server's `wal_sender_timeout` (60 s by default)."));
  v.push_back(options::enum_option(
      "unchanged_toast", d.unchanged_toast, {"marker", "omit"},
      "PostgresSourceOptions::unchanged_toast",
      "A large (TOASTed) column an UPDATE left unchanged, when the old row does not carry it:"));
  v.back().allowed_docs = {"the column's value is `unchanged_toast_marker`, as a string",
                           "the column is left out of `value`"};
  v.push_back(options::string_option("unchanged_toast_marker", d.unchanged_toast_marker,
                                     "PostgresSourceOptions::unchanged_toast_marker",
                                     "The string that stands for an unchanged TOASTed value under "
                                     "`unchanged_toast = \"marker\"`."));
  v.push_back(options::int_option(
      "reconnect_max_backoff_ms", d.reconnect_max_backoff_ms, 100, 3600000,
      "PostgresSourceOptions::reconnect_max_backoff_ms",
      "A lost connection is retried with exponential backoff (100 ms doubling, with jitter) up to "
      "this wait between attempts, for as long as it takes; each attempt is logged, each "
      "reconnection counted in "
      "`heliosdb_cdc_source_reconnects_total`."));
  v.push_back(options::enum_option(
      "snapshot", d.snapshot, {"initial", "never", "initial_only"},
      "PostgresSourceOptions::snapshot",
      "Rows already in the tables when the pipeline starts (PostgreSQL 14 or later), read in "
      "chunks while changes stream on ([postgres.md](postgres.md#snapshots)):"));
  v.back().allowed_docs = {
      "snapshot the `snapshot_tables` once, on the first start (no checkpoint yet), then stream",
      "no snapshot: changes from the slot's position on only",
      "snapshot, deliver every row, exit 0 once it is all acknowledged"};
  v.push_back(options::int_option(
      "snapshot_chunk_rows", d.snapshot_chunk_rows, 1, 1000000,
      "PostgresSourceOptions::snapshot_chunk_rows",
      "Rows per snapshot chunk: one short read-only query each, by primary-key order. A crash "
      "reads at most one chunk again."));
  v.push_back(options::string_list_option(
      "snapshot_tables", "PostgresSourceOptions::snapshot_tables",
      "Tables the initial snapshot reads, as `schema.table`, in this order; empty: every table "
      "of the publication."));
  v.push_back(options::int_option(
      "snapshot_max_rows_per_second", d.snapshot_max_rows_per_second, 0, 100000000,
      "PostgresSourceOptions::snapshot_max_rows_per_second",
      "Most snapshot rows read per second, to spare a busy server; 0: unlimited."));
  v.push_back(options::string_list_option(
      "snapshot_key", "PostgresSourceOptions::snapshot_key",
      "For a table without a primary key: `\"schema.table=column\"`, a unique, not-null column "
      "the snapshot pages by (checked at start)."));
  v.push_back(options::int_option(
      "heartbeat_interval_ms", d.heartbeat_interval_ms, 0, 3600000,
      "PostgresSourceOptions::heartbeat_interval_ms",
      "How often the daemon writes a heartbeat into the server's WAL (`pg_logical_emit_message`, "
      "PostgreSQL 14 or later) and waits for it on the stream: it moves the slot on when the "
      "captured tables are idle and proves the path end to end; never delivered to the sink. 0: "
      "none."));
  v.push_back(options::bool_option(
      "idle_advance", d.idle_advance, "PostgresSourceOptions::idle_advance",
      "With nothing in flight, move the flush position up to the server's keepalive `walEnd`, so "
      "an idle or fully filtered database does not hold WAL. Turn off only to see the slot's "
      "WAL grow."));
  v.push_back(options::int_option(
      "max_retained_wal_bytes", static_cast<int64_t>(d.max_retained_wal_bytes), 0, int64_t{1} << 50,
      "PostgresSourceOptions::max_retained_wal_bytes",
      "WAL budget: most bytes the slot may hold on the server (`pg_current_wal_lsn()` minus its "
      "`restart_lsn`, exported as `heliosdb_cdc_source_retained_wal_bytes`); past it, "
      "`on_wal_budget_exceeded` applies. 0: no budget."));
  v.push_back(options::enum_option("on_wal_budget_exceeded", d.on_wal_budget_exceeded,
                                   {"alert", "fail"},
                                   "PostgresSourceOptions::on_wal_budget_exceeded",
                                   "What happens past `max_retained_wal_bytes`:"));
  v.back().allowed_docs = {"a warning once a minute, and `/health` says `degraded` with the reason",
                           "the daemon stops with exit 1 naming the budget"};
  v.push_back(options::enum_option(
      "on_slot_lost", d.on_slot_lost, {"fail", "recreate"}, "PostgresSourceOptions::on_slot_lost",
      "A slot that no longer holds the changes after the checkpoint, at start or while running: "
      "invalidated by the server (`wal_status` `lost`, e.g. by `max_slot_wal_keep_size`), "
      "dropped, or advanced past the checkpoint by another client; counted in "
      "`heliosdb_cdc_source_slot_lost_total`:"));
  v.back().allowed_docs = {
      "stop with exit 1, saying what happened and how to recover",
      "log a warning, drop what is left of the slot, create it again and snapshot every "
      "published table through it (PostgreSQL 14+), so every row's current state is delivered "
      "(the changes in the gap are not, as changes; a row deleted in the gap is not deleted)"};
  v.push_back(options::int_option(
      "stall_timeout_s", d.stall_timeout_s, 0, 86400, "PostgresSourceOptions::stall_timeout_s",
      "`/health` answers 503 (`stalled`) when the flush position has not moved for this long "
      "while the server has newer WAL. 0: never."));
  return t;
}

// PostgreSQL's unquoted identifiers for slots: lower-case letters, digits
// and underscores, at most 63 bytes (NAMEDATALEN - 1).
bool valid_slot_name(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool schema_table(const std::string& table) {
  const size_t dot = table.find('.');
  return dot != std::string::npos && dot != 0 && dot + 1 != table.size() &&
         table.find('.', dot + 1) == std::string::npos;
}

}  // namespace

const options::Table& source_option_table() {
  static const options::Table table = make_source_table();
  return table;
}

const options::Table& postgres_source_option_table() {
  static const options::Table table = make_postgres_table();
  return table;
}

options::Problems postgres_source_problems(const PostgresSourceOptions& o, bool chosen) {
  options::Problems p(postgres_source_option_table());
  if (chosen) p.not_empty("dsn", o.dsn, "the libpq connection string of the server to read");
  if (!valid_slot_name(o.slot)) {
    p.add("slot",
          "must be 1 to 63 lower-case letters, digits or underscores (a replication slot name)");
  }
  if (o.publication.empty() || o.publication.size() > 63) {
    p.add("publication", "must be 1 to 63 bytes (a PostgreSQL identifier)");
  }
  for (const std::string& table : o.tables) {
    if (!schema_table(table)) {
      p.add("tables", "'" + table + "' is not schema.table (e.g. \"public.users\")");
    }
  }
  p.limit("status_interval_ms", o.status_interval_ms);
  p.one_of("unchanged_toast", o.unchanged_toast);
  p.limit("reconnect_max_backoff_ms", o.reconnect_max_backoff_ms);
  p.one_of("snapshot", o.snapshot);
  p.limit("snapshot_chunk_rows", o.snapshot_chunk_rows);
  for (const std::string& table : o.snapshot_tables) {
    if (!schema_table(table)) {
      p.add("snapshot_tables", "'" + table + "' is not schema.table (e.g. \"public.users\")");
    }
  }
  p.limit("snapshot_max_rows_per_second", o.snapshot_max_rows_per_second);
  for (const std::string& entry : o.snapshot_key) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || !schema_table(entry.substr(0, eq)) || eq + 1 == entry.size()) {
      p.add("snapshot_key",
            "'" + entry + "' is not schema.table=column (e.g. \"public.events=event_id\")");
    }
  }
  p.limit("heartbeat_interval_ms", o.heartbeat_interval_ms);
  p.limit("max_retained_wal_bytes", static_cast<int64_t>(o.max_retained_wal_bytes));
  p.one_of("on_wal_budget_exceeded", o.on_wal_budget_exceeded);
  p.one_of("on_slot_lost", o.on_slot_lost);
  p.limit("stall_timeout_s", o.stall_timeout_s);
  return p;
}

Result<std::string> database_of_dsn(const std::string& dsn) {
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &err);
  if (!parsed) {
    // libpq's message names the bad part ("invalid connection option",
    // "missing "=" after ..."), never the whole string.
    std::string why = err ? err : "out of memory";
    if (err) PQfreemem(err);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return Status(ErrorCode::kConfig, "not a libpq connection string: " + why);
  }
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> guard(parsed, PQconninfoFree);
  std::string dbname, user;
  for (PQconninfoOption* o = parsed; o->keyword; ++o) {
    if (!o->val || !*o->val) continue;
    if (std::string_view(o->keyword) == "dbname") dbname = o->val;
    if (std::string_view(o->keyword) == "user") user = o->val;
  }
  if (!dbname.empty()) return dbname;
  if (const char* env = std::getenv("PGDATABASE"); env && *env) return std::string(env);
  if (!user.empty()) return user;
  if (const char* env = std::getenv("PGUSER"); env && *env) return std::string(env);
  return std::string();
}

}  // namespace heliosdb::cdc::pg
