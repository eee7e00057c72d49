// Reading one TOML table of the daemon's config file with validation.
//
// Every component reads its own section through a ConfigSection: each getter
// declares the key, its default and limits in one place, records the resolved
// value (for `heliosdb-cdc config check`, with secrets redacted) and records
// errors that name the file, line and full key. finish() then reports any key
// nobody asked for as unknown.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "heliosdb/cdc/status.h"
#include "options/option_table.h"

namespace heliosdb::cdc::config {

// Errors and resolved values shared by all sections of one file.
struct ConfigReport {
  std::string file;
  std::vector<std::string> errors;  // "file:line: key: message"
  struct Resolved {
    std::string key;    // full dotted key, e.g. "sink.kafka.topic"
    std::string value;  // as printed by config check (common/redact.h: no secrets)
    bool from_file = false;
  };
  std::vector<Resolved> resolved;
  // Values read for secret options: scrubbed from every error message.
  std::vector<std::string> secret_values;

  bool ok() const { return errors.empty(); }
  // kConfig status listing every error, one per line.
  Status to_status() const;
};

using Secret = options::Secret;

class ConfigSection {
 public:
  // `table` may be null (section absent: every getter returns its default).
  ConfigSection(const toml::table* table, std::string path, std::shared_ptr<ConfigReport> report);

  bool present() const { return table_ != nullptr; }
  const std::string& path() const { return path_; }
  bool has(std::string_view key) const;

  // Strings expand ${VAR} from the environment (an unset variable is an
  // error). `allowed` (if not empty) lists the accepted values.
  std::string get_string(std::string_view key, std::string_view default_value,
                         Secret secret = Secret::kNo, std::vector<std::string> allowed = {});
  std::optional<std::string> get_optional_string(std::string_view key, Secret secret = Secret::kNo);
  // As get_optional_string, for options where "" means nothing: an empty
  // value (after ${VAR} expansion) is an error at its line ("must not be
  // empty", then `hint` if given) and returns nullopt.
  std::optional<std::string> get_nonempty_string(std::string_view key, std::string_view hint = {});
  int64_t get_int(std::string_view key, int64_t default_value, int64_t min, int64_t max);
  bool get_bool(std::string_view key, bool default_value);
  std::vector<std::string> get_string_list(std::string_view key);

  // Reads a declared option: its key, default, limits (the same the library
  // builder checks), allowed values and secrecy all come from `option`.
  std::string get_string(const options::Option& option);
  int64_t get_int(const options::Option& option);
  bool get_bool(const options::Option& option);
  std::vector<std::string> get_string_list(const options::Option& option);
  // get_string(option) for an enum option, mapped to its position in
  // option.allowed (the default's position when absent or invalid).
  size_t get_enum_index(const options::Option& option);

  // Records each problem at its key's line (or the section's, for a key
  // not in the file): the library's rules, worded for the file.
  void report(const options::Problems& problems);

  // A nested table, e.g. section("kafka") of "sink" is "sink.kafka".
  ConfigSection section(std::string_view key);
  // An array of tables ([[filter.rules]]); each element is a section.
  std::vector<ConfigSection> section_array(std::string_view key);
  // A table of arbitrary string keys to string values (passthrough
  // properties). Values expand ${VAR}; values of sensitive keys
  // (is_sensitive_setting in common/redact.h) print as redacted.
  std::map<std::string, std::string> get_string_map(std::string_view key);

  // Raw node access for components with their own grammar (filter rules).
  const toml::node* raw(std::string_view key);
  const toml::table* table() const { return table_; }

  // Records an error about `key` (or the section itself if key is empty).
  void error(std::string_view key, std::string_view message);
  // Records an error at the position of `node`.
  void error_at(const toml::node& node, std::string_view full_key, std::string_view message);
  // Reports keys of this section that no getter asked for. Call once, after
  // reading the section (and its subsections, which report for themselves).
  void finish();

  std::shared_ptr<ConfigReport> report() const { return report_; }
  std::string full_key(std::string_view key) const;

 private:
  const toml::node* lookup(std::string_view key);
  void record(std::string_view key, std::string value, bool from_file);
  std::optional<std::string> expand_env(std::string_view full_key, const toml::node& node,
                                        std::string_view raw);

  const toml::table* table_;
  std::string path_;
  std::shared_ptr<ConfigReport> report_;
  std::vector<std::string> known_;
};

// Parses `file` as TOML. A syntax error becomes a kConfig status with line and column.
Result<toml::table> parse_toml_file(const std::string& file);
Result<toml::table> parse_toml_string(std::string_view text, const std::string& source_name);

}  // namespace heliosdb::cdc::config
