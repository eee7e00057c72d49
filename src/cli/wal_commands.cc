#include "cli/commands.h"

namespace heliosdb::cdc::cli {
// Placeholder until the WAL module lands.
void register_wal_commands(CLI::App& app, CliContext& ctx) {
  app.add_subcommand("wal", "Generate or inspect a HeliosDB WAL directory")->require_subcommand(1);
}
}  // namespace heliosdb::cdc::cli
