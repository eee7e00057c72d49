// Every section whose options are declared in a table (options/), each
// table next to its component, in the order of docs/configuration.md
// ([[filter.rules]] and [[transforms]] list the keys of one entry; their
// grammar is src/filter/filter_config.h, docs/filtering.md).
#pragma once

#include <string_view>
#include <vector>

#include "options/option_table.h"

namespace heliosdb::cdc::config {

const std::vector<const options::Table*>& option_tables();
// The table of `section` ("cdc"), or null.
const options::Table* find_option_table(std::string_view section);

}  // namespace heliosdb::cdc::config
