// The keys of [[filter.rules]] and [[transforms]] (src/filter/filter_config.h,
// docs/filtering.md), declared once: the reader in filter_config.cc takes
// their names, defaults, allowed values and secrecy from these tables, and
// `config options filter.rules` / `transforms` and docs/configuration.md
// list them. The grammar (conditions nest, keys per transform type) stays
// in the reader.
#pragma once

#include "options/option_table.h"

namespace heliosdb::cdc {

// One [[filter.rules]] entry: `action`, then the condition keys.
const options::Table& filter_rule_option_table();
// One [[transforms]] entry.
const options::Table& transform_option_table();

}  // namespace heliosdb::cdc
