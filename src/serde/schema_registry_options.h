// [schema_registry]: the schema registry's options (SchemaRegistrySettings,
// serde/serializer_factory.h), declared once. parse_schema_registry_section,
// `config options schema_registry` and docs/configuration.md read this table;
// defaults come from a default-constructed SchemaRegistrySettings.
#pragma once

#include "options/option_table.h"
#include "serde/serializer_factory.h"

namespace heliosdb::cdc {

const options::Table& schema_registry_option_table();

// Every rule `r` breaks (url scheme, basic auth pairs, readable ca_file,
// limits, backoff order), in table order.
options::Problems schema_registry_problems(const SchemaRegistrySettings& r);

}  // namespace heliosdb::cdc
