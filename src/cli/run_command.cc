// `heliosdb-cdc run --config FILE [--once] [--log-file PATH]`: the daemon.
#include <spdlog/sinks/ansicolor_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "cli/commands.h"
#include "cli/log_file.h"
#include "cli/run_signals.h"
#include "cli/snapshot_bar.h"
#include "config/daemon_config.h"
#include "heliosdb/cdc/metrics.h"
#include "heliosdb/cdc/processor.h"

namespace heliosdb::cdc::cli {
namespace {

int exit_code_for(const Status& st) {
  if (st.is_ok()) return 0;
  if (st.code() == ErrorCode::kConfig || st.code() == ErrorCode::kInvalidArgument) return 2;
  return 1;
}

struct RunOptions {
  std::string config_file;
  bool once = false;
  std::string log_level = "info";
  std::string log_file;
  bool no_progress = false;
};

// The snapshot progress bar is for a person watching the log on a terminal:
// not with --log-file, --no-progress, a stderr that is no terminal (a pipe,
// a file, journald) or a terminal that cannot erase a line (TERM=dumb).
bool progress_bar_wanted(const RunOptions& opts) {
  if (!opts.log_file.empty() || opts.no_progress || !isatty(STDERR_FILENO)) return false;
  const char* term = std::getenv("TERM");
  return !(term && std::strcmp(term, "dumb") == 0);
}

// Columns of the terminal on stderr, read at each redraw (it may be
// resized); 0 when unknown (then the bar is not cut).
size_t terminal_width() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) != 0) return 0;
  return ws.ws_col;
}

// The log goes to stderr, or with --log-file to that file (`log`, which
// SIGHUP reopens). With a progress bar, stderr's console sink is wrapped in
// the ProgressLineSink that keeps the bar under the lines; returned then.
std::shared_ptr<ProgressLineSink> setup_logging(const std::string& level,
                                                std::shared_ptr<ReopenableFileLog> log,
                                                bool progress_bar) {
  std::shared_ptr<ProgressLineSink> bar;
  std::shared_ptr<spdlog::logger> logger;
  if (log) {
    logger = std::make_shared<spdlog::logger>("heliosdb-cdc", std::move(log));
  } else if (progress_bar) {
    // The wrapper's mutex serializes the console sink's writes.
    using ConsoleSink = spdlog::sinks::ansicolor_sink<spdlog::details::console_nullmutex>;
    bar = std::make_shared<ProgressLineSink>(
        stderr, std::make_unique<ConsoleSink>(stderr, spdlog::color_mode::automatic));
    logger = std::make_shared<spdlog::logger>("heliosdb-cdc", bar);
  } else {
    logger = spdlog::stderr_color_mt("heliosdb-cdc");
  }
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  return bar;
}

// A SIGTERM/SIGINT that came before the pipeline started: a clean stop.
int stopped_before_start() {
  spdlog::info("stopped before the pipeline started: nothing delivered, checkpoint unchanged");
  return 0;
}

int run_daemon(const RunOptions& opts) {
  // The operator's signals have been blocked in every thread since exec
  // (main.cc); from here on they are served on their own thread, so a stop
  // while the config loads or the sink connects is a clean exit 0.
  std::shared_ptr<ReopenableFileLog> log_file;
  if (!opts.log_file.empty()) {
    auto opened = ReopenableFileLog::open(opts.log_file);
    if (!opened) {
      std::cerr << "heliosdb-cdc: " << opened.status().message() << "\n";
      return 2;
    }
    log_file = std::move(*opened);
  }
  const std::shared_ptr<ProgressLineSink> bar =
      setup_logging(opts.log_level, log_file, progress_bar_wanted(opts));
  auto signals = RunSignals::start(log_file);
  if (!signals) {
    spdlog::error("cannot serve signals: {}", signals.status().to_string());
    return 1;
  }
  auto loaded = load_daemon_config(opts.config_file);
  if (!loaded) {
    std::cerr << "heliosdb-cdc: invalid configuration:\n" << loaded.status().message() << "\n";
    return 2;
  }
  DaemonConfig& cfg = *loaded;
  if ((*signals)->stop_requested()) return stopped_before_start();
  auto sink = cfg.create_sink();
  if (!sink) {
    spdlog::error("cannot create the {} sink: {}", cfg.sink_type, sink.status().to_string());
    return exit_code_for(sink.status()) == 2 ? 2 : 1;
  }
  if ((*signals)->stop_requested()) return stopped_before_start();
  EventProcessor processor(cfg.cdc, std::move(*sink));
  auto attached = (*signals)->attach(processor);
  processor.with_filter(cfg.filter);
  if (cfg.create_source) processor.with_source(cfg.create_source());
  if (bar) {
    // Called only while a snapshot runs (never with the HeliosDB WAL), at
    // most every 200 ms: the bar's redraw rate.
    processor.with_snapshot_listener(
        [bar, model = std::make_shared<SnapshotBar>()](const SnapshotProgress& progress) {
          bar->show(model->update(SnapshotBar::Clock::now(), progress, terminal_width()));
        });
  }
  // Before the metrics port: a second daemon with the same config then fails
  // naming the lock and the process that holds it, not the port.
  if (Status locked = processor.lock_checkpoint(); !locked.is_ok()) {
    spdlog::error("{}", locked.to_string());
    return exit_code_for(locked);
  }
  // metrics: exporter on [metrics] listen unless [cdc] enable_metrics = false
  // (then nothing is opened). Destroyed before `processor`, whose stats it reads.
  auto metrics = start_metrics_exporter(processor, cfg.sink_type, cfg.metrics);
  if (!metrics) {
    spdlog::error("{}", metrics.status().to_string());
    return exit_code_for(metrics.status());
  }
  if (*metrics) {
    spdlog::info("metrics on http://{}/metrics, health on http://{}/health", (*metrics)->address(),
                 (*metrics)->address());
  }
  spdlog::info("heliosdb-cdc starting: database {}, {}, sink {}, checkpoints in {}{}",
               cfg.cdc.database, cfg.source_description, cfg.sink_type, cfg.cdc.checkpoint_dir,
               opts.once              ? " (--once)"
               : cfg.source_runs_once ? " (snapshot = initial_only)"
                                      : "");
  Status st = opts.once || cfg.source_runs_once ? processor.run_once() : processor.start();
  if (bar) bar->show("");  // a run stopped mid-snapshot leaves no bar behind
  if (!st.is_ok()) {
    spdlog::error("{}", st.to_string());
    // Whatever stops a pipeline that ran is a runtime failure, whichever code
    // it carries (a message too large for Kafka is kInvalidArgument): bad
    // configuration (2) is found above, before it runs.
    return 1;
  }
  return 0;
}

}  // namespace

void register_run_command(CLI::App& app, CliContext& ctx) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* run = app.add_subcommand(
      "run",
      "Stream committed changes from the WAL to the configured sink.\n"
      "Runs until SIGTERM/SIGINT (then flushes the sink, writes a final checkpoint and exits 0),\n"
      "or with --once until the WAL's current end. SIGHUP reopens the --log-file and the file\n"
      "sink's output (rotate by renaming, then SIGHUP; copytruncate is not supported), SIGUSR1\n"
      "logs a status line, SIGUSR2 is ignored; the stdout sink ends the run cleanly when its\n"
      "reader goes away (`run | head`). Exit codes: 0 done, 1 runtime failure, 2 bad usage or\n"
      "configuration.");
  run->add_option("-c,--config", opts->config_file, "TOML configuration file")->required();
  run->add_flag("--once", opts->once,
                "Deliver what the WAL holds now, then flush, checkpoint and exit 0");
  run->add_option("--log-level", opts->log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  run->add_option("--log-file", opts->log_file,
                  "Append the log to PATH instead of stderr; SIGHUP reopens it (log rotation)")
      ->type_name("PATH");
  run->add_flag("--no-progress", opts->no_progress,
                "No snapshot progress bar on stderr (shown only when stderr is a terminal and "
                "the log goes there)");
  run->callback([opts, &ctx] { ctx.exit_code = run_daemon(*opts); });
}

}  // namespace heliosdb::cdc::cli
