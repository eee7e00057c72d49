#include "cli/commands.h"

namespace heliosdb::cdc::cli {
// Placeholder until the pipeline lands.
void register_run_command(CLI::App& app, CliContext& ctx) {
  app.add_subcommand("run", "Stream committed changes from the WAL to the configured sink");
}
}  // namespace heliosdb::cdc::cli
