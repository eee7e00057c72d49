#include "options/config_section.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/redact.h"

namespace heliosdb::cdc::config {
namespace {

std::string line_prefix(const std::string& file, const toml::node* node) {
  std::string out = file;
  if (node && node->source().begin) {
    out += ":" + std::to_string(node->source().begin.line);
  }
  return out;
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date/time";
  }
}

std::string quoted(std::string_view value) { return "\"" + std::string(value) + "\""; }

}  // namespace

Status ConfigReport::to_status() const {
  if (errors.empty()) return Status::ok();
  std::string msg;
  for (const auto& e : errors) {
    if (!msg.empty()) msg += "\n";
    msg += e;
  }
  return Status(ErrorCode::kConfig, msg);
}

ConfigSection::ConfigSection(const toml::table* table, std::string path,
                             std::shared_ptr<ConfigReport> report)
    : table_(table), path_(std::move(path)), report_(std::move(report)) {}

std::string ConfigSection::full_key(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  if (key.empty()) return path_;
  return path_ + "." + std::string(key);
}

bool ConfigSection::has(std::string_view key) const {
  return table_ && table_->get(key) != nullptr;
}

const toml::node* ConfigSection::lookup(std::string_view key) {
  known_.emplace_back(key);
  if (!table_) return nullptr;
  return table_->get(key);
}

const toml::node* ConfigSection::raw(std::string_view key) { return lookup(key); }

void ConfigSection::record(std::string_view key, std::string value, bool from_file) {
  report_->resolved.push_back({full_key(key), std::move(value), from_file});
}

namespace {

// `message` as it may be printed: URLs redacted, no secret value in it.
std::string printable_message(const ConfigReport& report, std::string_view message) {
  std::string out = redact_urls_in(message);
  for (const auto& secret : report.secret_values) out = scrub(out, secret);
  return out;
}

}  // namespace

void ConfigSection::error(std::string_view key, std::string_view message) {
  // A missing key is reported at its section's line.
  const toml::node* node = nullptr;
  if (table_) node = key.empty() ? nullptr : table_->get(key);
  if (!node) node = table_;
  report_->errors.push_back(line_prefix(report_->file, node) + ": " + full_key(key) + ": " +
                            printable_message(*report_, message));
}

void ConfigSection::error_at(const toml::node& node, std::string_view key,
                             std::string_view message) {
  report_->errors.push_back(line_prefix(report_->file, &node) + ": " + std::string(key) + ": " +
                            printable_message(*report_, message));
}

std::optional<std::string> ConfigSection::expand_env(std::string_view key, const toml::node& node,
                                                     std::string_view raw) {
  std::string out;
  size_t i = 0;
  while (i < raw.size()) {
    size_t start = raw.find("${", i);
    if (start == std::string_view::npos) {
      out.append(raw.substr(i));
      break;
    }
    out.append(raw.substr(i, start - i));
    size_t end = raw.find('}', start + 2);
    if (end == std::string_view::npos) {
      error_at(node, key, "unterminated ${ in value");
      return std::nullopt;
    }
    std::string var(raw.substr(start + 2, end - start - 2));
    const char* value = std::getenv(var.c_str());
    if (!value) {
      error_at(node, key, "environment variable " + var + " is not set");
      return std::nullopt;
    }
    out.append(value);
    i = end + 1;
  }
  return out;
}

std::optional<std::string> ConfigSection::get_optional_string(std::string_view key, Secret secret) {
  const toml::node* node = lookup(key);
  if (!node) return std::nullopt;
  const auto* str = node->as_string();
  if (!str) {
    error_at(*node, full_key(key), "expected a string, got " + type_name(*node));
    return std::nullopt;
  }
  auto value = expand_env(full_key(key), *node, str->get());
  if (!value) return std::nullopt;
  if (secret == Secret::kYes && !value->empty()) report_->secret_values.push_back(*value);
  record(key, quoted(secret == Secret::kYes ? kRedactedValue : redact_urls_in(*value)), true);
  return value;
}

std::optional<std::string> ConfigSection::get_nonempty_string(std::string_view key,
                                                              std::string_view hint) {
  auto value = get_optional_string(key);
  if (value && value->empty()) {
    error(key, hint.empty() ? "must not be empty" : "must not be empty: " + std::string(hint));
    return std::nullopt;
  }
  return value;
}

std::string ConfigSection::get_string(std::string_view key, std::string_view default_value,
                                      Secret secret, std::vector<std::string> allowed) {
  const toml::node* node = table_ ? table_->get(key) : nullptr;
  if (!node) {
    known_.emplace_back(key);
    record(key,
           quoted(secret == Secret::kYes && !default_value.empty() ? kRedactedValue
                                                                   : redact_urls_in(default_value)),
           false);
    return std::string(default_value);
  }
  auto value = get_optional_string(key, secret);
  if (!value) return std::string(default_value);
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    error_at(*node, full_key(key), "\"" + *value + "\" is not one of: " + list);
    return std::string(default_value);
  }
  return *value;
}

int64_t ConfigSection::get_int(std::string_view key, int64_t default_value, int64_t min,
                               int64_t max) {
  const toml::node* node = lookup(key);
  if (!node) {
    record(key, std::to_string(default_value), false);
    return default_value;
  }
  const auto* num = node->as_integer();
  if (!num) {
    error_at(*node, full_key(key), "expected an integer, got " + type_name(*node));
    return default_value;
  }
  int64_t v = num->get();
  if (v < min || v > max) {
    error_at(*node, full_key(key),
             "value " + std::to_string(v) + " is out of range [" + std::to_string(min) + ", " +
                 std::to_string(max) + "]");
    return default_value;
  }
  record(key, std::to_string(v), true);
  return v;
}

bool ConfigSection::get_bool(std::string_view key, bool default_value) {
  const toml::node* node = lookup(key);
  if (!node) {
    record(key, default_value ? "true" : "false", false);
    return default_value;
  }
  const auto* b = node->as_boolean();
  if (!b) {
    error_at(*node, full_key(key), "expected a boolean, got " + type_name(*node));
    return default_value;
  }
  record(key, b->get() ? "true" : "false", true);
  return b->get();
}

std::string ConfigSection::get_string(const options::Option& option) {
  return get_string(option.key, option.default_text, option.secret, option.allowed);
}

int64_t ConfigSection::get_int(const options::Option& option) {
  return get_int(option.key, option.default_int, option.min, option.max);
}

bool ConfigSection::get_bool(const options::Option& option) {
  return get_bool(option.key, option.default_bool);
}

std::vector<std::string> ConfigSection::get_string_list(const options::Option& option) {
  return get_string_list(option.key);
}

size_t ConfigSection::get_enum_index(const options::Option& option) {
  std::string value = get_string(option);
  for (size_t i = 0; i < option.allowed.size(); ++i) {
    if (option.allowed[i] == value) return i;
  }
  for (size_t i = 0; i < option.allowed.size(); ++i) {
    if (option.allowed[i] == option.default_text) return i;
  }
  return 0;
}

void ConfigSection::report(const options::Problems& problems) {
  for (const auto& p : problems.list()) error(p.option, p.message);
}

std::vector<std::string> ConfigSection::get_string_list(std::string_view key) {
  std::vector<std::string> out;
  const toml::node* node = lookup(key);
  if (!node) return out;
  const auto* arr = node->as_array();
  if (!arr) {
    error_at(*node, full_key(key), "expected an array of strings, got " + type_name(*node));
    return out;
  }
  std::string printed;
  for (const auto& item : *arr) {
    const auto* s = item.as_string();
    if (!s) {
      error_at(item, full_key(key), "expected a string, got " + type_name(item));
      continue;
    }
    auto v = expand_env(full_key(key), item, s->get());
    if (!v) continue;
    printed += (printed.empty() ? "" : ", ") + quoted(redact_urls_in(*v));
    out.push_back(*v);
  }
  record(key, "[" + printed + "]", true);
  return out;
}

std::map<std::string, std::string> ConfigSection::get_string_map(std::string_view key) {
  std::map<std::string, std::string> out;
  const toml::node* node = lookup(key);
  if (!node) return out;
  const auto* tbl = node->as_table();
  if (!tbl) {
    error_at(*node, full_key(key), "expected a table, got " + type_name(*node));
    return out;
  }
  for (const auto& [k, v] : *tbl) {
    std::string sub = full_key(key) + "." + std::string(k.str());
    std::string text;
    if (const auto* s = v.as_string()) {
      auto e = expand_env(sub, v, s->get());
      if (!e) continue;
      text = *e;
    } else if (const auto* i = v.as_integer()) {
      text = std::to_string(i->get());
    } else if (const auto* b = v.as_boolean()) {
      text = b->get() ? "true" : "false";
    } else {
      error_at(v, sub, "expected a string, integer or boolean, got " + type_name(v));
      continue;
    }
    report_->resolved.push_back({sub, quoted(printable_setting_value(k.str(), text)), true});
    out.emplace(std::string(k.str()), std::move(text));
  }
  return out;
}

ConfigSection ConfigSection::section(std::string_view key) {
  const toml::node* node = lookup(key);
  const toml::table* sub = nullptr;
  if (node) {
    sub = node->as_table();
    if (!sub) error_at(*node, full_key(key), "expected a table, got " + type_name(*node));
  }
  return ConfigSection(sub, full_key(key), report_);
}

std::vector<ConfigSection> ConfigSection::section_array(std::string_view key) {
  std::vector<ConfigSection> out;
  const toml::node* node = lookup(key);
  if (!node) return out;
  const auto* arr = node->as_array();
  if (!arr) {
    error_at(*node, full_key(key), "expected an array of tables, got " + type_name(*node));
    return out;
  }
  size_t index = 0;
  for (const auto& item : *arr) {
    std::string path = full_key(key) + "[" + std::to_string(index++) + "]";
    const auto* tbl = item.as_table();
    if (!tbl) {
      error_at(item, path, "expected a table, got " + type_name(item));
      continue;
    }
    out.emplace_back(tbl, path, report_);
  }
  return out;
}

void ConfigSection::finish() {
  if (!table_) return;
  for (const auto& [k, v] : *table_) {
    std::string_view name = k.str();
    if (std::find(known_.begin(), known_.end(), name) == known_.end()) {
      error_at(v, full_key(name), "unknown key");
    }
  }
}

Result<toml::table> parse_toml_string(std::string_view text, const std::string& source_name) {
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    return Status(ErrorCode::kConfig, source_name + ":" + std::to_string(begin.line) + ":" +
                                          std::to_string(begin.column) + ": " +
                                          std::string(e.description()));
  }
}

Result<toml::table> parse_toml_file(const std::string& file) {
  struct stat info;
  if (::stat(file.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return Status(ErrorCode::kConfig, "config file " + file + " is a directory");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Status(ErrorCode::kConfig,
                  "cannot open config file " + file + ": " + std::strerror(errno));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_toml_string(buffer.str(), file);
}

}  // namespace heliosdb::cdc::config
