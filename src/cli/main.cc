// heliosdb-cdc: the command-line entry point. Subcommands live in their own
// modules (see commands.h); this file only wires them together.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  namespace cli = heliosdb::cdc::cli;
  CLI::App app{
      "HeliosDB CDC: streams committed changes from the HeliosDB write-ahead log to Kafka,\n"
      "Kinesis, files or stdout, at least once, resuming from durable checkpoints."};
  app.name("heliosdb-cdc");
  app.set_version_flag("--version", "heliosdb-cdc 0.1.0");
  app.require_subcommand(1);
  cli::CliContext ctx;
  cli::register_run_command(app, ctx);
  cli::register_config_commands(app, ctx);
  cli::register_wal_commands(app, ctx);
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
