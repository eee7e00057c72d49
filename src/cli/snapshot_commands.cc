// `heliosdb-cdc snapshot request` and `heliosdb-cdc snapshot status`: the
// operator's side of the PostgreSQL source's snapshots (issue 18).
//
// request writes a logical message into the server's WAL, which a daemon
// reading the slot takes up from its stream: it needs no channel to the
// daemon (so it works from any machine that reaches the database), and a
// daemon that is down reads it at its next start, since the slot keeps the
// WAL. status reads the checkpoint, the one record of what was delivered,
// so it answers whether or not the daemon runs.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/operator_signals.h"
#include "common/json_text.h"
#include "config/daemon_config.h"
#include "pipeline/checkpoint_store.h"
#include "source/postgres/pg_catalog.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/postgres_options.h"
#include "source/postgres/postgres_source.h"
#include "source/postgres/snapshot_state.h"

namespace heliosdb::cdc::cli {
namespace {

// Snapshots are read through logical messages, which pgoutput sends from
// protocol version 1 with `messages` only on PostgreSQL 14 or later.
constexpr int kSnapshotMinServerVersion = 140000;

void fail(const std::string& command, const std::string& message) {
  std::cerr << "heliosdb-cdc: snapshot " << command << ": " << message << "\n";
}

// The config, when its source is PostgreSQL; otherwise prints why and sets
// `exit_code` (2: the file or the usage is wrong, nothing was tried).
std::optional<DaemonConfig> load_postgres_config(const std::string& file,
                                                 const std::string& command, int& exit_code) {
  auto loaded = load_daemon_config(file);
  if (!loaded) {
    std::cerr << "heliosdb-cdc: invalid configuration:\n" << loaded.status().message() << "\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (!loaded->postgres) {
    fail(command, file + " reads [source] type = \"" + loaded->source_type +
                      "\"; snapshots are of the PostgreSQL source only ([source] type = \"" +
                      pg::kSourceTypePostgres + "\")");
    exit_code = 2;
    return std::nullopt;
  }
  return std::move(*loaded);
}

// ---- snapshot request ----------------------------------------------------------

struct RequestOptions {
  std::string config_file;
  std::vector<std::string> tables;
};

// The same rule as [source.postgres] tables: exactly one dot, both sides
// non-empty; names are taken as they are (case-sensitive, not SQL-parsed).
bool is_schema_table(const std::string& table) {
  const size_t dot = table.find('.');
  return dot != std::string::npos && dot != 0 && dot + 1 != table.size() &&
         table.find('.', dot + 1) == std::string::npos;
}

const std::string& text_of(const std::optional<std::string>& v) {
  static const std::string empty;
  return v ? *v : empty;
}

// Every check before the message is written, so a request nobody can take up
// is refused rather than lost: the server is new enough, the slot exists
// (a slot created later starts after the message), the publication exists
// and holds each table.
Status check_request(pg::PgConnection& conn, const pg::PostgresSourceOptions& o,
                     const std::vector<std::string>& tables) {
  const std::string where = "PostgreSQL at " + conn.server();
  auto version = conn.query("SELECT current_setting('server_version_num')::int >= " +
                                std::to_string(kSnapshotMinServerVersion) +
                                ", current_setting('server_version')",
                            "reading the server version");
  if (!version) return version.status();
  if (version->rows.empty() || text_of(version->rows[0][0]) != "t") {
    return Status(ErrorCode::kFailedPrecondition,
                  where + " is version " +
                      (version->rows.empty() ? "?" : text_of(version->rows[0][1])) +
                      "; snapshots need PostgreSQL 14 or later (their signals are logical "
                      "messages, which pgoutput sends from 14 on)");
  }
  auto slot = conn.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
                         "looking up replication slot " + o.slot, {o.slot});
  if (!slot) return slot.status();
  if (slot->rows.empty()) {
    return Status(ErrorCode::kFailedPrecondition,
                  "replication slot " + o.slot + " does not exist on " + where +
                      ": no daemon reads this pipeline yet, and a slot created later would not "
                      "see the request. Start the daemon (its first start snapshots the tables "
                      "itself unless [source.postgres] snapshot = \"never\"), then request again");
  }
  auto pub = conn.query("SELECT 1 FROM pg_publication WHERE pubname = $1",
                        "looking up publication " + o.publication, {o.publication});
  if (!pub) return pub.status();
  if (pub->rows.empty()) {
    return Status(ErrorCode::kFailedPrecondition,
                  "publication " + o.publication + " does not exist on " + where);
  }
  for (const std::string& table : tables) {
    const size_t dot = table.find('.');
    const std::vector<std::string> params = {table.substr(0, dot), table.substr(dot + 1),
                                             o.publication};
    auto found = conn.query(
        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')), "
        "EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = $3 AND schemaname = $1 "
        "AND tablename = $2)",
        "looking up table " + table, params);
    if (!found) return found.status();
    if (found->rows.empty() || text_of(found->rows[0][0]) != "t") {
      return Status(ErrorCode::kFailedPrecondition,
                    "table " + table + " does not exist on " + where);
    }
    if (text_of(found->rows[0][1]) != "t") {
      return Status(ErrorCode::kFailedPrecondition,
                    "table " + table + " is not in publication " + o.publication + " on " + where +
                        ": the daemon streams and snapshots the publication's tables only (ALTER "
                        "PUBLICATION " +
                        pg::quote_identifier(o.publication) + " ADD TABLE " +
                        pg::quote_identifier(table.substr(0, dot)) + "." +
                        pg::quote_identifier(table.substr(dot + 1)) + ")");
    }
  }
  return Status::ok();
}

int snapshot_request(const RequestOptions& opts) {
  std::vector<std::string> tables;
  for (const std::string& t : opts.tables) {
    if (!is_schema_table(t)) {
      fail("request", "--table '" + t + "' is not schema.table (e.g. public.users)");
      return 2;
    }
    // Named twice: snapshotted once.
    if (std::find(tables.begin(), tables.end(), t) == tables.end()) tables.push_back(t);
  }
  int exit_code = 0;
  auto cfg = load_postgres_config(opts.config_file, "request", exit_code);
  if (!cfg) return exit_code;
  const pg::PostgresSourceOptions& o = *cfg->postgres;
  auto conn = pg::PgConnection::connect(o.dsn, pg::PgConnection::Kind::kRegular);
  if (!conn) {
    fail("request", conn.status().message());
    return 1;
  }
  if (Status st = check_request(**conn, o, tables); !st.is_ok()) {
    fail("request", st.message());
    return 1;
  }
  auto lsn = pg::write_snapshot_request(**conn, {o.slot, tables});
  if (!lsn) {
    fail("request", lsn.status().message());
    return 1;
  }
  std::string names;
  for (const auto& t : tables) names += (names.empty() ? "" : ", ") + t;
  std::cout << "requested a snapshot of " << names << " for slot " << o.slot << " at LSN " << *lsn
            << " on PostgreSQL at " << (*conn)->server()
            << ": a running daemon takes it up as it reads the stream (or at its next start)\n";
  return 0;
}

// ---- snapshot status -----------------------------------------------------------

// A key value for a person: as it is when it cannot be misread, else as a
// JSON string (quotes, escapes), so "a, b" is not taken for two columns.
std::string readable_value(const std::string& v) {
  bool plain = !v.empty();
  for (unsigned char c : v) {
    if (c <= 0x20 || c == 0x7f || c == ',' || c == '(' || c == ')' || c == '"' || c == '\\') {
      plain = false;
    }
  }
  if (plain) return v;
  std::string out;
  append_json_quoted(out, v);
  return out;
}

std::string readable_key(const std::vector<std::string>& key) {
  std::string out = "(";
  for (size_t i = 0; i < key.size(); ++i) {
    if (i) out += ", ";
    out += readable_value(key[i]);
  }
  return out + ")";
}

struct Counts {
  size_t done = 0, running = 0, pending = 0;
};

Counts count_phases(const pg::SnapshotState& s) {
  Counts c;
  for (const auto& t : s.tables) {
    switch (t.phase) {
      case pg::SnapshotTableState::Phase::kDone:
        ++c.done;
        break;
      case pg::SnapshotTableState::Phase::kRunning:
        ++c.running;
        break;
      case pg::SnapshotTableState::Phase::kPending:
        ++c.pending;
        break;
    }
  }
  return c;
}

std::string stream_line(const DeliveryPosition& p) {
  const std::string restart = pg::format_lsn(p.restart_sequence);
  if (p.commit_sequence == 0) return "stream: nothing delivered yet; reading resumes at " + restart;
  std::string what =
      p.event_sequence == p.commit_sequence
          ? "delivered through the transaction committed at " + pg::format_lsn(p.commit_sequence)
          : "delivered through change " + std::to_string(p.event_sequence) +
                " of the transaction committed at " + pg::format_lsn(p.commit_sequence);
  return "stream: " + what + "; reading resumes at " + restart;
}

// "2025-11-25T14:40:00.000Z".
std::string utc_time(int64_t ms) {
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];  // room for any int the format could print
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string text_status(const Checkpoint& c, const pg::PostgresCheckpoint& pc,
                        const std::string& path) {
  std::string out = "checkpoint " + path;
  if (c.updated_at_ms > 0) out += ", written " + utc_time(c.updated_at_ms);
  out += "\n" + stream_line(pc.position) + "\n";
  const pg::SnapshotState& s = pc.snapshot;
  if (s.empty()) return out + "no snapshot has run\n";
  out += "snapshot run " + std::to_string(s.run);
  if (s.last_request != 0) out += " (last request taken at " + pg::format_lsn(s.last_request) + ")";
  out += "\n";
  size_t width = 0;
  for (const auto& t : s.tables) width = std::max(width, t.table.size());
  for (const auto& t : s.tables) {
    out += "  " + t.table + std::string(width - t.table.size() + 2, ' ');
    out += std::string(pg::phase_name(t.phase));
    out += std::string(9 - pg::phase_name(t.phase).size(), ' ');
    out += std::to_string(t.rows) + (t.rows == 1 ? " row" : " rows");
    if (t.phase == pg::SnapshotTableState::Phase::kRunning) {
      out += t.after.empty() ? ", resumes from the start"
                             : ", resumes after key " + readable_key(t.after);
    }
    out += "\n";
  }
  const Counts n = count_phases(s);
  out += std::to_string(n.done) + " of " + std::to_string(s.tables.size()) +
         (s.tables.size() == 1 ? " table" : " tables") + " done, " + std::to_string(n.running) +
         " running, " + std::to_string(n.pending) + " pending\n";
  return out;
}

std::string json_status(const Checkpoint& c, const pg::PostgresCheckpoint& pc,
                        const std::string& path) {
  std::string out = "{\"checkpoint\":";
  append_json_quoted(out, path);
  out += ",\"found\":true,\"updated_at_ms\":" + std::to_string(c.updated_at_ms);
  out += ",\"stream\":{\"restart_lsn\":\"" + pg::format_lsn(pc.position.restart_sequence) +
         "\",\"commit_lsn\":\"" + pg::format_lsn(pc.position.commit_sequence) +
         "\",\"event\":" + std::to_string(pc.position.event_sequence) + "}";
  const pg::SnapshotState& s = pc.snapshot;
  if (s.empty()) return out + ",\"snapshot\":null}\n";
  out += ",\"snapshot\":{\"run\":" + std::to_string(s.run) + ",\"last_request_lsn\":\"" +
         pg::format_lsn(s.last_request) + "\",\"tables\":[";
  for (size_t i = 0; i < s.tables.size(); ++i) {
    const auto& t = s.tables[i];
    if (i) out += ",";
    out += "{\"table\":";
    append_json_quoted(out, t.table);
    out += ",\"phase\":\"" + std::string(pg::phase_name(t.phase)) +
           "\",\"rows\":" + std::to_string(t.rows) + ",\"after\":[";
    for (size_t k = 0; k < t.after.size(); ++k) {
      if (k) out += ",";
      append_json_quoted(out, t.after[k]);
    }
    out += "]}";
  }
  const Counts n = count_phases(s);
  out += "],\"done\":" + std::to_string(n.done) + ",\"running\":" + std::to_string(n.running) +
         ",\"pending\":" + std::to_string(n.pending) + "}}\n";
  return out;
}

struct StatusOptions {
  std::string config_file;
  bool json = false;
};

int snapshot_status(const StatusOptions& opts) {
  int exit_code = 0;
  auto cfg = load_postgres_config(opts.config_file, "status", exit_code);
  if (!cfg) return exit_code;
  // The store the daemon resumes from (EventProcessor's default), read only:
  // no lock, so a running daemon is not disturbed; its writes are atomic
  // renames, so the file read is one whole checkpoint.
  FileCheckpointStore store(cfg->cdc.checkpoint_dir, cfg->cdc.database);
  auto loaded = store.load();
  if (!loaded) {
    fail("status", loaded.status().message());
    return 1;
  }
  if (!loaded->has_value()) {
    if (opts.json) {
      std::string out = "{\"checkpoint\":";
      append_json_quoted(out, store.path());
      std::cout << out << ",\"found\":false}\n";
    } else {
      std::cout << "no checkpoint yet at " << store.path()
                << ": the daemon has not delivered anything, and no snapshot has run\n";
    }
    return 0;
  }
  const Checkpoint& c = **loaded;
  if (c.source.source_type != pg::kPostgresSourceType) {
    fail("status", "checkpoint file " + store.path() + " was written by a \"" +
                       c.source.source_type + "\" source, not by the PostgreSQL source (\"" +
                       pg::kPostgresSourceType + "\")");
    return 1;
  }
  auto decoded = pg::decode_postgres_checkpoint(c.source.position);
  if (!decoded) {
    fail("status",
         "checkpoint file " + store.path() + " is damaged: " + decoded.status().message());
    return 1;
  }
  std::cout << (opts.json ? json_status(c, *decoded, store.path())
                          : text_status(c, *decoded, store.path()));
  return 0;
}

}  // namespace

void register_snapshot_commands(CLI::App& app, CliContext& ctx) {
  CLI::App* snapshot = app.add_subcommand(
      "snapshot", "Snapshots of the PostgreSQL source: request one, show their progress");
  snapshot->require_subcommand(1);

  auto req = std::make_shared<RequestOptions>();
  CLI::App* request = snapshot->add_subcommand(
      "request",
      "Ask the daemon of this config to snapshot TABLE(s) again while it keeps streaming.\n"
      "Writes a logical message into the server's WAL (pg_logical_emit_message; flushed before\n"
      "it returns) that the daemon reads from its slot: it needs no access to the daemon's\n"
      "machine, and a stopped daemon takes it up at its next start. Checks first that the server "
      "is PostgreSQL 14 or later,\n"
      "that the slot exists and that each table is in the publication.\n"
      "Exit codes: 0 requested, 1 refused by the server or the checks, 2 bad usage or\n"
      "configuration (also: the source is not PostgreSQL).");
  request->add_option("-c,--config", req->config_file, "TOML configuration file")->required();
  request
      ->add_option("--table", req->tables,
                   "Table to snapshot, schema.table (repeat for more: --table a.x --table a.y)")
      ->required()
      ->type_name("SCHEMA.TABLE");
  request->callback([req, &ctx] {
    restore_default_signals();  // served by `run` only (operator_signals.h)
    ctx.exit_code = snapshot_request(*req);
  });

  auto st = std::make_shared<StatusOptions>();
  CLI::App* status = snapshot->add_subcommand(
      "status",
      "Show the snapshot progress the checkpoint records: the stream position, the snapshot\n"
      "run, and per table its phase (pending, running, done), the rows delivered and, while it\n"
      "runs, the key it resumes after. Reads the checkpoint file only (no server, no lock), so\n"
      "it works whether or not the daemon runs; it shows what is acknowledged, which may trail\n"
      "a running daemon by a checkpoint interval.\n"
      "Exit codes: 0 shown (also: no checkpoint yet), 1 unreadable or damaged checkpoint,\n"
      "2 bad usage or configuration (also: the source is not PostgreSQL).");
  status->add_option("-c,--config", st->config_file, "TOML configuration file")->required();
  status->add_flag("--json", st->json, "Print one JSON object (for scripts)");
  status->callback([st, &ctx] {
    restore_default_signals();
    ctx.exit_code = snapshot_status(*st);
  });
}

}  // namespace heliosdb::cdc::cli
