// The filter and transforms of the daemon's config file:
//
//   [[filter.rules]]               # keys inside one rule are AND-ed
//   action = "include"             # include | exclude
//   table_pattern = "user_.*"      # condition keys: table, tables, table_pattern,
//   database = "production"        #   database, operations, key_prefix,
//                                  #   any = [{...}], all = [{...}], not = {...}
//   [[transforms]]                 # run in file order on included events
//   type = "hash_key"              # add_metadata | mask_value | hash_key
//   secret_env = "CDC_HASH_SECRET"
//   condition = { table = "users" }
//
// Full grammar and semantics: docs/filtering.md.
#pragma once

#include <string>

#include "options/config_section.h"
#include "heliosdb/cdc/filter.h"

namespace heliosdb::cdc {

// Reads [filter] (with its [[filter.rules]]) and the top-level [[transforms]]
// of `root` (the file's root section). Every problem (unknown key, invalid
// RE2 pattern, unknown operation, missing or short secret, ...) is recorded in
// root's report as "file:line: key: message in rule {…}", quoting the rule as
// written (secrets redacted). Returns the compiled filter, or a kConfig status
// listing the same errors when this part of the file has any. An absent
// [filter] and no [[transforms]] give an empty filter.
Result<EventFilter> parse_filter_config(config::ConfigSection& root);

// The compiled rules and transforms in readable form, one per line, for
// `heliosdb-cdc config check`. Never contains an HMAC secret.
std::string describe_filter(const EventFilter& filter);

}  // namespace heliosdb::cdc
