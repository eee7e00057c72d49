#include "filter/filter_options.h"

#include "heliosdb/cdc/filter.h"

namespace heliosdb::cdc {
namespace {

options::Table make_rule_table() {
  options::Table t;
  t.section = "filter.rules";
  auto& v = t.options;
  options::Option action = options::enum_option(
      "action", "", {"include", "exclude"}, "FilterRule::include() / exclude()",
      "No include rule: everything is included; with include rules an event must match one; an "
      "exclude match always wins.");
  action.required = true;
  v.push_back(std::move(action));
  // The condition keys (also the keys of `any`, `all`, `not` and a
  // transform's `condition`); all of one table are AND-ed.
  v.push_back(options::string_option("table", "", "FilterCondition::table()",
                                     "Table name equals this (case-sensitive)."));
  v.push_back(options::string_list_option("tables", "FilterCondition::tables()",
                                          "Table name is one of this list."));
  v.push_back(options::string_option(
      "table_pattern", "", "FilterCondition::table_pattern()",
      "RE2 pattern that must match the **whole** table name (`user_.*` does not match "
      "`app_user_x`)."));
  v.push_back(options::string_option("database", "", "FilterCondition::database()",
                                     "Database name equals this."));
  v.push_back(options::string_list_option(
      "operations", "FilterCondition::operations()",
      "Operation is one of `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`, `READ` (case-insensitive; "
      "`READ`: a PostgreSQL snapshot row)."));
  v.push_back(options::string_option("key_prefix", "", "FilterCondition::key_prefix()",
                                     "The raw key bytes start with this."));
  options::Option any = options::string_list_option(
      "any", "FilterCondition::any_of()", "Array of condition tables; at least one must match.");
  any.type = options::Type::kTableList;
  any.default_text = "";
  v.push_back(std::move(any));
  options::Option all = options::string_list_option("all", "FilterCondition::all_of()",
                                                    "Array of condition tables; all must match.");
  all.type = options::Type::kTableList;
  all.default_text = "";
  v.push_back(std::move(all));
  options::Option no = options::table_option("not", "FilterCondition::negate()",
                                             "One condition table that must not match.");
  no.default_text = "";
  v.push_back(std::move(no));
  return t;
}

options::Table make_transform_table() {
  options::Table t;
  t.section = "transforms";
  auto& v = t.options;
  options::Option type =
      options::enum_option("type", "", {"add_metadata", "mask_value", "hash_key"}, "",
                           "What the transform does; the keys below say which type takes them.");
  type.required = true;
  type.allowed_docs = {"sets `metadata[key] = value` (replacing an existing entry)",
                       "writes `mask` over `value` and `old_value` when present (absent ones "
                       "stay `null`)",
                       "replaces the key by its hash (`algorithm`, `encoding`)"};
  v.push_back(std::move(type));
  v.push_back(options::string_option("key", "", "TransformRule::add_metadata()",
                                     "`add_metadata`, required: the metadata key; not empty."));
  v.push_back(options::string_option("value", "", "TransformRule::add_metadata()",
                                     "`add_metadata`, required: the metadata value."));
  v.push_back(options::string_option("mask", std::string(TransformRule::kDefaultMask),
                                     "TransformRule::mask_value()",
                                     "`mask_value`: the bytes written over the values."));
  options::Option algorithm =
      options::enum_option("algorithm", "hmac-sha256", {"hmac-sha256", "sha256"},
                           "TransformRule::hash_key()", "`hash_key`:");
  algorithm.allowed_docs = {
      "key becomes HMAC-SHA-256(secret, key)",
      "unkeyed SHA-256, weaker (guessable keys can be recovered); takes no secret"};
  v.push_back(std::move(algorithm));
  options::Option secret = options::string_option(
      "secret", "", "TransformRule::hash_key()",
      "`hash_key`: the HMAC secret, at least " + std::to_string(TransformRule::kMinSecretBytes) +
          " bytes; use `\"${VAR}\"` to keep it out of the file.");
  secret.secret = options::Secret::kYes;
  v.push_back(std::move(secret));
  v.push_back(options::string_option(
      "secret_env", "", "",
      "`hash_key`: name of the environment variable holding the secret (instead of `secret`)."));
  options::Option encoding = options::enum_option("encoding", "hex", {"hex", "raw"},
                                                  "TransformRule::hash_key()", "`hash_key`:");
  encoding.allowed_docs = {"64 lowercase hex characters", "the 32 digest bytes"};
  v.push_back(std::move(encoding));
  options::Option condition = options::table_option(
      "condition", "TransformRule::when()",
      "Any type: a condition table (the keys of a rule, without `action`); the transform runs "
      "only on events matching it, e.g. `condition = { table = \"users\" }`.");
  condition.default_text = "";
  v.push_back(std::move(condition));
  return t;
}

}  // namespace

const options::Table& filter_rule_option_table() {
  static const options::Table table = make_rule_table();
  return table;
}

const options::Table& transform_option_table() {
  static const options::Table table = make_transform_table();
  return table;
}

}  // namespace heliosdb::cdc
