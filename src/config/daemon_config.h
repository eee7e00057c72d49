// The daemon's whole configuration file (DESIGN.md "Config shape"), read and
// validated in one pass. Every error names the file, line and key.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "heliosdb/cdc/config.h"
#include "heliosdb/cdc/filter.h"
#include "heliosdb/cdc/metrics.h"
#include "options/config_section.h"
#include "sink/sink_registry.h"
#include "source/postgres/postgres_options.h"
#include "source/source.h"

namespace heliosdb::cdc {

struct DaemonConfig {
  std::string file;
  CdcConfig cdc;
  // [source] type; create_source is empty for the HeliosDB WAL (the
  // processor's own default, [cdc] wal_path).
  std::string source_type;
  // The source ends the run once caught up, as `run --once` does
  // ([source.postgres] snapshot = "initial_only").
  bool source_runs_once = false;
  std::function<std::unique_ptr<SourceFactory>()> create_source;
  std::string source_description;  // for the start line: "WAL /var/lib/heliosdb/wal"
  // The PostgreSQL source's options when it is the source (database
  // resolved): the `snapshot` commands connect with them without a daemon.
  std::optional<pg::PostgresSourceOptions> postgres;
  MetricsSettings metrics;  // [metrics]; metrics.enabled is [cdc] enable_metrics
  std::string sink_type;
  SinkCreator create_sink;
  EventFilter filter;
  std::string filter_description;  // compiled rules, for config check
  // Every resolved option (defaults included, secrets redacted).
  std::shared_ptr<config::ConfigReport> report;
};

// Reads and validates `file`. On any error returns kConfig with every error
// found, one per line ("file:line: key: message").
Result<DaemonConfig> load_daemon_config(const std::string& file);

// The same from the text of a config file; `file` only names it in messages.
// Never throws: TOML syntax errors come back as kConfig too.
Result<DaemonConfig> parse_daemon_config(std::string_view text, const std::string& file);

}  // namespace heliosdb::cdc
