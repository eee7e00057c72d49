#include "config/daemon_config.h"

#include <limits>

#include "filter/filter_config.h"
#include "metrics/metrics_config.h"

namespace heliosdb::cdc {

namespace {

void read_cdc_section(config::ConfigSection& s, CdcConfig& c) {
  const CdcConfig defaults;
  c.wal_path = s.get_string("wal_path", defaults.wal_path);
  c.database = s.get_string("database", "");
  c.checkpoint_dir = s.get_string("checkpoint_dir", defaults.checkpoint_dir);
  c.checkpoint_interval = static_cast<uint64_t>(
      s.get_int("checkpoint_interval", static_cast<int64_t>(defaults.checkpoint_interval), 1,
                std::numeric_limits<int32_t>::max()));
  c.batch_size = static_cast<uint32_t>(s.get_int("batch_size", defaults.batch_size, 1, 100000));
  c.buffer_size =
      static_cast<uint32_t>(s.get_int("buffer_size", defaults.buffer_size, 1, 10000000));
  c.buffer_bytes =
      static_cast<uint64_t>(s.get_int("buffer_bytes", static_cast<int64_t>(defaults.buffer_bytes),
                                      static_cast<int64_t>(CdcConfig::kMinBufferBytes), 1ll << 40));
  c.poll_interval_ms =
      static_cast<uint32_t>(s.get_int("poll_interval_ms", defaults.poll_interval_ms, 1, 60000));
  c.enable_metrics = s.get_bool("enable_metrics", defaults.enable_metrics);
  c.checkpoint_max_age_ms = static_cast<uint32_t>(
      s.get_int("checkpoint_max_age_ms", defaults.checkpoint_max_age_ms, 1, 3600000));
  c.max_transaction_memory_bytes = static_cast<uint64_t>(s.get_int(
      "max_transaction_memory_bytes", static_cast<int64_t>(defaults.max_transaction_memory_bytes),
      1024, 2ll * 1024 * 1024 * 1024));
  c.stop_interrupt_delay_ms = static_cast<uint32_t>(
      s.get_int("stop_interrupt_delay_ms", defaults.stop_interrupt_delay_ms, 1, 3600000));
  c.drain_timeout_ms =
      static_cast<uint32_t>(s.get_int("drain_timeout_ms", defaults.drain_timeout_ms, 1, 3600000));
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

  config::ConfigSection cdc = root.section("cdc");
  read_cdc_section(cdc, out.cdc);

  // [metrics]: the metrics module owns the full section (see src/metrics/).
  config::ConfigSection metrics = root.section("metrics");
  out.metrics = metrics::parse_metrics_section(metrics);  // calls finish()
  out.metrics.enabled = out.cdc.enable_metrics;

  config::ConfigSection registry = root.section("schema_registry");
  SinkSettings settings;
  settings.database = out.cdc.database;
  settings.serde.registry = parse_schema_registry_section(registry);

  config::ConfigSection sink = root.section("sink");
  std::vector<std::string> names;
  for (const auto& t : sink_types()) names.emplace_back(t.name);
  out.sink_type = sink.get_string("type", "kafka", config::Secret::kNo, names);
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
