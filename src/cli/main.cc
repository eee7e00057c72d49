// heliosdb-cdc: the command-line entry point. Subcommands live in their own
// modules (see commands.h); this file only wires them together.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/operator_signals.h"

namespace {

// The operator's signals are blocked (and SIGPIPE ignored) before anything
// else runs: the dynamic loader calls .preinit_array entries of the
// executable after loading the libraries and before any of their
// constructors, so from there on no thread (librdkafka's, civetweb's, ours)
// can be killed by them, and `run` serves them on its signal thread
// (cli/operator_signals.h). The window before that is the loader's own work
// (docs/operations.md, "Signals"). Constructor priorities cannot come this
// early: shared libraries' constructors run before the executable's.
void block_signals_at_exec(int, char**, char**) { heliosdb::cdc::cli::block_operator_signals(); }

using PreinitFunction = void (*)(int, char**, char**);
[[gnu::section(".preinit_array"), gnu::used]] const PreinitFunction kBlockSignalsAtExec =
    &block_signals_at_exec;

}  // namespace

int main(int argc, char** argv) {
  namespace cli = heliosdb::cdc::cli;
  CLI::App app{
      "HeliosDB CDC: streams committed changes from the HeliosDB write-ahead log to Kafka,\n"
      "Kinesis, files or stdout, at least once, resuming from durable checkpoints."};
  app.footer(
      "Configuration: `heliosdb-cdc config options [SECTION]` lists the config file's options\n"
      "(type, default, range, doc); `heliosdb-cdc config check FILE` validates a file.");
  app.name("heliosdb-cdc");
  app.set_version_flag("--version", "heliosdb-cdc 0.1.0");
  app.require_subcommand(1);
  cli::CliContext ctx;
  cli::register_run_command(app, ctx);
  cli::register_config_commands(app, ctx);
  cli::register_wal_commands(app, ctx);
  cli::register_snapshot_commands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    // CLI11 returns 0 for --help/--version; every usage error exits 2.
    return rc == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "heliosdb-cdc: %s\n", e.what());
    return 1;
  }
  return ctx.exit_code;
}
