// Subcommands of the heliosdb-cdc binary. Each module registers its CLI11
// subcommand(s); a callback stores the process exit code in `exit_code`
// (0 done, 1 runtime failure, 2 bad usage or config).
#pragma once

#include <CLI/CLI.hpp>

namespace heliosdb::cdc::cli {

struct CliContext {
  int exit_code = 0;
};

void register_wal_commands(CLI::App& app, CliContext& ctx);     // wal generate, wal dump
void register_run_command(CLI::App& app, CliContext& ctx);      // run
void register_config_commands(CLI::App& app, CliContext& ctx);  // config check
// snapshot request, snapshot status (the PostgreSQL source's snapshots)
void register_snapshot_commands(CLI::App& app, CliContext& ctx);

}  // namespace heliosdb::cdc::cli
