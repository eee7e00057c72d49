#include "config/daemon_config.h"

#include "filter/filter_config.h"
#include "metrics/metrics_config.h"
#include "options/cdc_options.h"
#include "source/postgres/postgres_options.h"
#include "source/postgres/postgres_source.h"

namespace heliosdb::cdc {

namespace {

// [source] and [source.postgres]. Returns the PostgreSQL options when that
// is the source (database still to be resolved).
std::optional<pg::PostgresSourceOptions> read_source_section(config::ConfigSection& root,
                                                             DaemonConfig& out) {
  config::ConfigSection source = root.section("source");
  out.source_type = source.get_string(pg::source_option_table().at("type"));
  const bool postgres = out.source_type == pg::kSourceTypePostgres;
  std::optional<pg::PostgresSourceOptions> result;
  if (postgres || source.has("postgres")) {
    // Validated whenever present, used only when chosen.
    config::ConfigSection s = source.section("postgres");
    const options::Table& t = pg::postgres_source_option_table();
    pg::PostgresSourceOptions o;
    o.dsn = s.get_string(t.at("dsn"));
    o.slot = s.get_string(t.at("slot"));
    o.publication = s.get_string(t.at("publication"));
    o.create_slot = s.get_bool(t.at("create_slot"));
    o.create_publication = s.get_bool(t.at("create_publication"));
    o.tables = s.get_string_list(t.at("tables"));
    o.status_interval_ms = static_cast<uint32_t>(s.get_int(t.at("status_interval_ms")));
    o.unchanged_toast = s.get_string(t.at("unchanged_toast"));
    o.unchanged_toast_marker = s.get_string(t.at("unchanged_toast_marker"));
    o.reconnect_max_backoff_ms = static_cast<uint32_t>(s.get_int(t.at("reconnect_max_backoff_ms")));
    o.snapshot = s.get_string(t.at("snapshot"));
    o.snapshot_chunk_rows = static_cast<uint32_t>(s.get_int(t.at("snapshot_chunk_rows")));
    o.snapshot_tables = s.get_string_list(t.at("snapshot_tables"));
    o.snapshot_max_rows_per_second =
        static_cast<uint32_t>(s.get_int(t.at("snapshot_max_rows_per_second")));
    o.snapshot_key = s.get_string_list(t.at("snapshot_key"));
    o.heartbeat_interval_ms = static_cast<uint32_t>(s.get_int(t.at("heartbeat_interval_ms")));
    o.idle_advance = s.get_bool(t.at("idle_advance"));
    o.max_retained_wal_bytes = static_cast<uint64_t>(s.get_int(t.at("max_retained_wal_bytes")));
    o.on_wal_budget_exceeded = s.get_string(t.at("on_wal_budget_exceeded"));
    o.on_slot_lost = s.get_string(t.at("on_slot_lost"));
    o.stall_timeout_s = static_cast<uint32_t>(s.get_int(t.at("stall_timeout_s")));
    s.report(pg::postgres_source_problems(o, postgres));
    if (!o.dsn.empty()) {
      auto db = pg::database_of_dsn(o.dsn);
      if (!db) {
        s.error("dsn", db.status().message());
      } else {
        o.database = *db;
      }
    }
    s.finish();
    if (postgres) result = std::move(o);
  }
  source.finish();
  return result;
}

void read_cdc_section(config::ConfigSection& s, CdcConfig& c,
                      std::optional<pg::PostgresSourceOptions>& postgres) {
  // Keys, defaults and limits come from the table the library's builder
  // checks too; read in the order config check prints them.
  const options::Table& t = cdc_option_table();
  c.wal_path = s.get_string(t.at("wal_path"));
  c.database = s.get_string(t.at("database"));
  c.checkpoint_dir = s.get_string(t.at("checkpoint_dir"));
  c.checkpoint_interval = static_cast<uint64_t>(s.get_int(t.at("checkpoint_interval")));
  c.batch_size = static_cast<uint32_t>(s.get_int(t.at("batch_size")));
  c.buffer_size = static_cast<uint32_t>(s.get_int(t.at("buffer_size")));
  c.buffer_bytes = static_cast<uint64_t>(s.get_int(t.at("buffer_bytes")));
  c.poll_interval_ms = static_cast<uint32_t>(s.get_int(t.at("poll_interval_ms")));
  c.enable_metrics = s.get_bool(t.at("enable_metrics"));
  c.checkpoint_max_age_ms = static_cast<uint32_t>(s.get_int(t.at("checkpoint_max_age_ms")));
  c.max_transaction_memory_bytes =
      static_cast<uint64_t>(s.get_int(t.at("max_transaction_memory_bytes")));
  c.stop_interrupt_delay_ms = static_cast<uint32_t>(s.get_int(t.at("stop_interrupt_delay_ms")));
  c.drain_timeout_ms = static_cast<uint32_t>(s.get_int(t.at("drain_timeout_ms")));
  if (postgres) {
    if (s.has("wal_path")) {
      s.error("wal_path",
              "applies to [source] type = \"heliosdb_wal\" only; the PostgreSQL source reads the "
              "server in [source.postgres] dsn");
    }
    // The events' database: [cdc] database, else the one the DSN connects to.
    if (c.database.empty()) c.database = postgres->database;
    postgres->database = c.database;
  }
  // The library's own rules (the processor checks the same at start), each
  // reported at the line of its key, or of [cdc] for a missing key.
  for (const auto& p : c.problems()) s.error(p.option, p.message);
  s.finish();
}

Result<DaemonConfig> read_daemon_config(const toml::table& parsed, const std::string& file) {
  auto report = std::make_shared<config::ConfigReport>();
  report->file = file;
  DaemonConfig out;
  out.file = file;
  out.report = report;
  config::ConfigSection root(&parsed, "", report);

  auto postgres = read_source_section(root, out);
  config::ConfigSection cdc = root.section("cdc");
  read_cdc_section(cdc, out.cdc, postgres);
  if (postgres) {
    // config check shows the database the DSN gave, not the empty default.
    for (auto& r : report->resolved) {
      if (r.key == "cdc.database" && !r.from_file) r.value = "\"" + out.cdc.database + "\"";
    }
    out.source_description =
        "PostgreSQL slot " + postgres->slot + " (publication " + postgres->publication + ")";
    out.source_runs_once = postgres->snapshot == "initial_only";
    out.create_source = [o = *postgres] { return pg::make_postgres_source_factory(o); };
    out.postgres = std::move(postgres);
  } else {
    out.source_description = "WAL " + out.cdc.wal_path;
  }

  // [metrics]: the metrics module owns the full section (see src/metrics/).
  config::ConfigSection metrics = root.section("metrics");
  out.metrics = metrics::parse_metrics_section(metrics);  // calls finish()
  out.metrics.enabled = out.cdc.enable_metrics;

  config::ConfigSection registry = root.section("schema_registry");
  SinkSettings settings;
  settings.database = out.cdc.database;
  settings.serde.registry = parse_schema_registry_section(registry);

  config::ConfigSection sink = root.section("sink");
  out.sink_type = sink.get_string(sink_option_table().at("type"));
  // Every sink section present is validated; only the chosen one is created.
  for (const auto& t : sink_types()) {
    if (t.name != out.sink_type && !sink.has(t.name)) continue;
    config::ConfigSection section = sink.section(t.name);
    SinkCreator creator = t.parse(section, settings);
    section.finish();
    if (t.name == out.sink_type) out.create_sink = std::move(creator);
  }
  sink.finish();

  // [filter] and [[transforms]].
  auto filter = parse_filter_config(root);
  if (filter) {
    out.filter = std::move(*filter);
    out.filter_description = describe_filter(out.filter);
  }
  root.finish();
  if (!report->ok()) return report->to_status();
  return out;
}

}  // namespace

Result<DaemonConfig> load_daemon_config(const std::string& file) {
  auto parsed = config::parse_toml_file(file);
  if (!parsed) return parsed.status();
  return read_daemon_config(*parsed, file);
}

Result<DaemonConfig> parse_daemon_config(std::string_view text, const std::string& file) {
  auto parsed = config::parse_toml_string(text, file);
  if (!parsed) return parsed.status();
  return read_daemon_config(*parsed, file);
}

}  // namespace heliosdb::cdc
