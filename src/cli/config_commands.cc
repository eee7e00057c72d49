// `heliosdb-cdc config check FILE`: validates a config file and prints the
// resolved configuration (defaults included, secrets redacted) or every error.
// `heliosdb-cdc config options [SECTION]`: lists the declared options.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/operator_signals.h"
#include "common/redact.h"
#include "config/daemon_config.h"
#include "config/option_tables.h"
#include "sink/sink_registry.h"

namespace heliosdb::cdc::cli {

namespace {

void register_options_command(CLI::App& config, CliContext& ctx) {
  CLI::App* list = config.add_subcommand(
      "options",
      "List every option of the config sections declared in option tables (key, type, "
      "default, range, secret, doc), or of SECTION only (e.g. cdc).\nExit codes: 0 listed, 2 "
      "unknown SECTION.");
  auto section = std::make_shared<std::string>();
  auto markdown = std::make_shared<bool>(false);
  list->add_option("SECTION", *section, "Config section, e.g. cdc");
  list->add_flag("--markdown", *markdown,
                 "Print SECTION's table as Markdown (as in docs/configuration.md)");
  list->callback([section, markdown, &ctx] {
    restore_default_signals();
    std::vector<const options::Table*> chosen;
    if (section->empty()) {
      chosen = config::option_tables();
    } else if (const options::Table* t = config::find_option_table(*section)) {
      chosen.push_back(t);
    } else {
      std::string names;
      for (const auto* t : config::option_tables())
        names += (names.empty() ? "" : ", ") + t->section;
      std::cerr << "heliosdb-cdc: no option table for section \"" << *section
                << "\" (declared: " << names << ")\n";
      ctx.exit_code = 2;
      return;
    }
    bool first = true;
    for (const options::Table* t : chosen) {
      if (!first) std::cout << "\n";
      first = false;
      std::cout << (*markdown ? options::render_markdown(*t) : options::render_listing(*t));
    }
    ctx.exit_code = 0;
  });
}

}  // namespace

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
  register_options_command(*config, ctx);
  // The sink types, each with its description (sink/sink_registry.h).
  std::string sinks = "Sink types ([sink] type; options: config options sink.<type>):\n";
  for (const auto& t : sink_types()) {
    sinks += "  " + std::string(t.name) +
             std::string(t.name.size() < 9 ? 9 - t.name.size() : 1, ' ') +
             std::string(t.description) + "\n";
  }
  config->footer(sinks);
}

}  // namespace heliosdb::cdc::cli
