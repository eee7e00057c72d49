// `heliosdb-cdc config check FILE`: validates a config file and prints the
// resolved configuration (defaults included, secrets redacted) or every error.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/operator_signals.h"
#include "common/redact.h"
#include "config/daemon_config.h"

namespace heliosdb::cdc::cli {

void register_config_commands(CLI::App& app, CliContext& ctx) {
  CLI::App* config = app.add_subcommand("config", "Validate and print a configuration file");
  config->require_subcommand(1);
  CLI::App* check = config->add_subcommand(
      "check",
      "Validate FILE and print the resolved configuration (defaults filled in, secrets "
      "redacted).\nExit codes: 0 valid, 2 invalid.");
  auto file = std::make_shared<std::string>();
  check->add_option("FILE", *file, "TOML configuration file")->required();
  check->callback([file, &ctx] {
    restore_default_signals();  // served by `run` only (operator_signals.h)
    auto loaded = load_daemon_config(*file);
    if (!loaded) {
      std::cerr << "heliosdb-cdc: invalid configuration:\n" << loaded.status().message() << "\n";
      ctx.exit_code = 2;
      return;
    }
    std::cout << "# " << *file << ": configuration is valid\n";
    std::cout << "# resolved options (\"# default\" marks values not set in the file)\n";
    for (const auto& r : loaded->report->resolved) {
      std::cout << r.key << " = " << r.value << (r.from_file ? "" : "  # default") << "\n";
    }
    std::cout << "\n# filter and transforms\n";
    // An add_metadata value or a rule may quote a URL: no userinfo shown.
    const std::string description = redact_urls_in(loaded->filter_description);
    std::cout << description;
    if (!description.empty() && description.back() != '\n') {
      std::cout << "\n";
    }
    ctx.exit_code = 0;
  });
}

}  // namespace heliosdb::cdc::cli
