// The [cdc] section's options (CdcConfig, include/heliosdb/cdc/config.h).
#pragma once

#include "options/option_table.h"

namespace heliosdb::cdc {

// Defaults come from a default-constructed CdcConfig: the struct holds the
// literals, this table their limits and docs.
const options::Table& cdc_option_table();

}  // namespace heliosdb::cdc
