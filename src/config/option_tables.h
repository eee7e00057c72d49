// Every section whose options are declared in a table (options/), in the
// order of docs/configuration.md. Sections not yet converted (metrics,
// schema_registry, sink.*, filter) are read by hand and are not listed.
#pragma once

#include <string_view>
#include <vector>

#include "options/option_table.h"

namespace heliosdb::cdc::config {

const std::vector<const options::Table*>& option_tables();
// The table of `section` ("cdc"), or null.
const options::Table* find_option_table(std::string_view section);

}  // namespace heliosdb::cdc::config
