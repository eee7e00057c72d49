// A component's options declared once, as a table.
//
// Each entry says what an option is (key, type, default, limits, secret or
// not, the library builder call that sets it, a one-line doc). The TOML
// reader (options/config_section.h), the library builders' validation, the
// `heliosdb-cdc config options` listing and the tables of
// docs/configuration.md all read the same entry, so limits and defaults
// cannot drift apart. This module depends on common only: no TOML here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::options {

// kTable: a table (passthrough properties, a filter condition);
// kTableList: an array of tables (filter conditions).
enum class Type { kString, kInt, kBool, kStringList, kEnum, kTable, kTableList };

// A secret's value is never printed (config check shows it redacted).
enum class Secret { kNo, kYes };

struct Option {
  std::string key;
  Type type = Type::kString;
  std::string default_text;   // kString/kEnum default; for listings of every type
  int64_t default_int = 0;    // kInt
  bool default_bool = false;  // kBool
  int64_t min = 0;            // kInt: inclusive limits, the same on every path
  int64_t max = 0;
  std::vector<std::string> allowed;  // kEnum
  Secret secret = Secret::kNo;
  bool required = false;  // no usable default: must be set
  std::string call;       // builder call named by library errors, e.g. ".batch_size()"
  std::string note;       // appended to a lower-limit message, e.g. "(1 MiB)"
  // kEnum: a one-line meaning per allowed value (same order), shown by the
  // listing and the docs; may be empty.
  std::vector<std::string> allowed_docs;
  std::string doc;  // one line, Markdown allowed
};

Option string_option(std::string key, std::string default_value, std::string call, std::string doc);
Option int_option(std::string key, int64_t default_value, int64_t min, int64_t max,
                  std::string call, std::string doc);
Option bool_option(std::string key, bool default_value, std::string call, std::string doc);
Option string_list_option(std::string key, std::string call, std::string doc);
Option table_option(std::string key, std::string call, std::string doc);
Option enum_option(std::string key, std::string default_value, std::vector<std::string> allowed,
                   std::string call, std::string doc);

// The options of one config section, in declaration (and listing) order.
struct Table {
  std::string section;  // dotted TOML path, e.g. "cdc" or "sink.kafka"
  std::vector<Option> options;

  // The entry for `key`; a key not declared is a programming error (aborts).
  const Option& at(std::string_view key) const;
};

// Why `value` breaks `option`'s limits ("must be at least 1"), or "" if it
// does not. For library paths; the TOML reader words the same limits as
// "value V is out of range [min, max]" at the key's line.
std::string range_problem(const Option& option, int64_t value);
// Why `value` is not one of an enum option's allowed values, or "".
std::string enum_problem(const Option& option, std::string_view value);

// One rule a component's values break: the option's key, and why.
struct Problem {
  std::string option;
  std::string message;
};

// Collects the problems of one set of values against `table`: the one
// place a component states its rules, read by both paths. The TOML reader
// reports each at its key's line (ConfigSection::report), the library as
// library_error() words it.
class Problems {
 public:
  explicit Problems(const Table& table) : table_(&table) {}
  // A rule of the component's own (cross-field, syntax).
  void add(std::string_view key, std::string message);
  // The declared limits of an integer option.
  void limit(std::string_view key, int64_t value);
  // The declared values of an enum option.
  void one_of(std::string_view key, std::string_view value);
  // "must not be empty" (then ": " + why, when given) for an empty value.
  void not_empty(std::string_view key, std::string_view value, std::string_view why = {});

  const Table& table() const { return *table_; }
  const std::vector<Problem>& list() const { return list_; }
  bool empty() const { return list_.empty(); }

 private:
  const Table* table_;
  std::vector<Problem> list_;
};

// The library's error for the first problem, naming the call that sets it:
// "batch_size: must be at most 100000; set with .batch_size()"; ok if none.
Status library_error(const Problems& problems, ErrorCode code = ErrorCode::kInvalidArgument);

// "1..100000", "a, b, c" or "" (no limits): the accepted values.
std::string describe_range(const Option& option);
std::string_view type_name(Type type);

// Plain-text listing, one block per option (`config options`).
std::string render_listing(const Table& table);
// The Markdown table pasted into docs/configuration.md.
std::string render_markdown(const Table& table);

}  // namespace heliosdb::cdc::options
