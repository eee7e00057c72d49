#include "cli/commands.h"

namespace heliosdb::cdc::cli {
// Placeholder until the pipeline lands.
void register_config_commands(CLI::App& app, CliContext& ctx) {
  app.add_subcommand("config", "Validate and print a configuration file")->require_subcommand(1);
}
}  // namespace heliosdb::cdc::cli
