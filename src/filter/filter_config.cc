// Parsing [[filter.rules]] and [[transforms]], and describing the result.
#include "filter/filter_config.h"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

#include <openssl/crypto.h>

#include "common/redact.h"
#include "filter/condition.h"
#include "filter/filter_options.h"

namespace heliosdb::cdc {
namespace {

using config::ConfigReport;
using config::ConfigSection;
using filter_internal::quote;
using Keys = std::initializer_list<std::string_view>;

// The condition keys: the rule table's keys after `action`.
const std::vector<std::string_view>& condition_keys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> out;
    for (const auto& o : filter_rule_option_table().options) {
      if (o.key != "action") out.emplace_back(o.key);
    }
    return out;
  }();
  return keys;
}

// Whether `key` of a rule or transform is declared secret (its value is
// never quoted).
bool secret_key(std::string_view key) {
  for (const options::Table* t : {&filter_rule_option_table(), &transform_option_table()}) {
    for (const auto& o : t->options) {
      if (o.key == key && o.secret == options::Secret::kYes) return true;
    }
  }
  return false;
}

template <typename Range>
std::string join(const Range& keys) {
  std::string out;
  for (auto k : keys) out += (out.empty() ? "" : ", ") + std::string(k);
  return out;
}

template <typename Range>
bool contains(const Range& keys, std::string_view k) {
  return std::find(keys.begin(), keys.end(), k) != keys.end();
}

// A TOML value on one line, as the user wrote it (before ${VAR} expansion);
// the value of any key declared secret is replaced by "<redacted>".
std::string inline_toml(const toml::node& node) {
  if (const auto* s = node.as_string()) return quote(s->get());
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* f = node.as_floating_point()) return std::to_string(f->get());
  if (const auto* a = node.as_array()) {
    std::string out = "[";
    for (size_t i = 0; i < a->size(); ++i) {
      out += (i ? ", " : "") + inline_toml(*a->get(i));
    }
    return out + "]";
  }
  if (const auto* t = node.as_table()) {
    // toml++ iterates keys sorted; quote them in the order they were written.
    std::vector<std::pair<std::string_view, const toml::node*>> entries;
    for (const auto& [k, v] : *t) entries.emplace_back(k.str(), &v);
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      const auto& pa = a.second->source().begin;
      const auto& pb = b.second->source().begin;
      return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
    });
    std::string out = "{";
    for (size_t i = 0; i < entries.size(); ++i) {
      out += (i ? ", " : "") + std::string(entries[i].first) + " = ";
      out += secret_key(entries[i].first) ? "\"" + std::string(kRedactedValue) + "\""
                                          : inline_toml(*entries[i].second);
    }
    return out + "}";
  }
  return "<date/time>";
}

class Parser {
 public:
  explicit Parser(std::shared_ptr<ConfigReport> report) : report_(std::move(report)) {}

  size_t error_count() const { return report_->errors.size(); }

  // Appends " in <what> {...}" to every error recorded since `since`.
  void quote_errors(size_t since, std::string_view what, const toml::table& table) {
    std::string suffix = " in " + std::string(what) + " " + redact_urls_in(inline_toml(table));
    for (size_t i = since; i < report_->errors.size(); ++i) report_->errors[i] += suffix;
  }

  // Rejects keys of `sec` that are neither condition keys nor `extra`.
  void check_keys(ConfigSection& sec, Keys extra, std::string_view what) {
    for (const auto& [k, v] : *sec.table()) {
      std::string_view key = k.str();
      if (contains(condition_keys(), key) || contains(extra, key)) continue;
      std::string expected = join(condition_keys());
      if (extra.size()) expected = join(extra) + ", " + expected;
      sec.error_at(v, sec.full_key(key),
                   "unknown " + std::string(what) + " key; expected one of: " + expected);
    }
  }

  // The condition formed by the condition keys of `sec` (AND-ed). Returns
  // nullopt after recording an error (or if errors were recorded since
  // `before`, e.g. unknown keys). A table without condition keys is an error.
  std::optional<FilterCondition> condition(ConfigSection& sec, size_t before) {
    std::vector<FilterCondition> parts;
    if (sec.has("table")) {
      if (auto v = sec.get_nonempty_string("table", "a change's table is never empty")) {
        parts.push_back(FilterCondition::table(*v));
      }
    }
    if (sec.has("tables")) {
      auto names = sec.get_string_list("tables");
      if (names.empty()) {
        sec.error("tables", "must list at least one table");
      } else if (std::find(names.begin(), names.end(), "") != names.end()) {
        sec.error("tables", "must not contain an empty name: a change's table is never empty");
      } else {
        parts.push_back(FilterCondition::tables(std::move(names)));
      }
    }
    if (sec.has("table_pattern")) {
      if (auto v = sec.get_nonempty_string("table_pattern",
                                           "it would match no table; \".*\" matches every table")) {
        auto c = FilterCondition::table_pattern(*v);
        if (c) {
          parts.push_back(*c);
        } else {
          sec.error("table_pattern", c.status().message());
        }
      }
    }
    if (sec.has("database")) {
      if (auto v = sec.get_nonempty_string("database", "a change's database is never empty")) {
        parts.push_back(FilterCondition::database(*v));
      }
    }
    if (sec.has("operations")) {
      std::vector<OperationType> ops;
      size_t list_errors = error_count();
      auto names = sec.get_string_list("operations");
      for (const auto& name : names) {
        if (auto op = parse_operation(name)) {
          ops.push_back(*op);
        } else {
          sec.error("operations", "unknown operation " + quote(name) +
                                      "; expected INSERT, UPDATE, DELETE, TRUNCATE or READ");
        }
      }
      if (names.empty() && error_count() == list_errors) {
        sec.error("operations", "must list at least one operation");
      }
      if (!ops.empty()) parts.push_back(FilterCondition::operations(ops));
    }
    if (sec.has("key_prefix")) {
      if (auto v = sec.get_nonempty_string(
              "key_prefix",
              "every key starts with \"\", so it would match every key (leave it out instead)")) {
        parts.push_back(FilterCondition::key_prefix(*v));
      }
    }
    for (std::string_view list_key : {"any", "all"}) {
      if (!sec.has(list_key)) continue;
      const toml::node* node = sec.raw(list_key);
      const toml::array* arr = node->as_array();
      if (!arr || arr->empty()) {
        sec.error(list_key, "expected a non-empty array of condition tables, e.g. " +
                                std::string(list_key) +
                                " = [{ table = \"a\" }, { table = \"b\" }]");
        continue;
      }
      std::vector<FilterCondition> children;
      for (size_t i = 0; i < arr->size(); ++i) {
        std::string path = sec.full_key(list_key) + "[" + std::to_string(i) + "]";
        const toml::table* t = arr->get(i)->as_table();
        if (!t) {
          sec.error_at(*arr->get(i), path, "expected a condition table, e.g. { table = \"a\" }");
          continue;
        }
        ConfigSection child(t, path, report_);
        if (auto c = nested(child)) children.push_back(std::move(*c));
      }
      parts.push_back(list_key == "any" ? FilterCondition::any_of(std::move(children))
                                        : FilterCondition::all_of(std::move(children)));
    }
    if (sec.has("not")) {
      const toml::node* node = sec.raw("not");
      if (const toml::table* t = node->as_table()) {
        ConfigSection child(t, sec.full_key("not"), report_);
        if (auto c = nested(child)) parts.push_back(FilterCondition::negate(std::move(*c)));
      } else {
        sec.error("not", "expected a condition table, e.g. not = { table = \"a\" }");
      }
    }
    if (error_count() != before) return std::nullopt;
    if (parts.empty()) {
      sec.error("", "no condition; give at least one of: " + join(condition_keys()));
      return std::nullopt;
    }
    if (parts.size() == 1) return parts[0];
    return FilterCondition::all_of(std::move(parts));
  }

  std::optional<FilterCondition> nested(ConfigSection& sec) {
    size_t before = error_count();
    check_keys(sec, {}, "condition");
    return condition(sec, before);
  }

  void rule(ConfigSection& sec, EventFilter& filter) {
    size_t before = error_count();
    check_keys(sec, {"action"}, "rule");
    std::string action;
    if (!sec.has("action")) {
      sec.error("", "missing action = \"include\" or \"exclude\"");
    } else {
      action = sec.get_string(filter_rule_option_table().at("action"));
    }
    auto cond = condition(sec, before);
    if (error_count() != before || !cond) {
      quote_errors(before, "rule", *sec.table());
      return;
    }
    filter.add_rule(action == "include" ? FilterRule::include(*cond) : FilterRule::exclude(*cond));
  }

  void transform(ConfigSection& sec, EventFilter& filter) {
    size_t before = error_count();
    std::optional<TransformRule> rule = transform_rule(sec);
    std::optional<FilterCondition> scope;
    if (sec.has("condition")) {
      const toml::node* node = sec.raw("condition");
      if (const toml::table* t = node->as_table()) {
        ConfigSection child(t, sec.full_key("condition"), report_);
        scope = nested(child);
      } else {
        sec.error("condition",
                  "expected a condition table, e.g. condition = { table = \"users\" }");
      }
    }
    if (error_count() != before || !rule) {
      quote_errors(before, "transform", *sec.table());
      return;
    }
    filter.add_transform(scope ? rule->when(*scope) : *rule);
  }

 private:
  void check_transform_keys(ConfigSection& sec, Keys allowed, std::string_view type) {
    for (const auto& [k, v] : *sec.table()) {
      if (k.str() == "type" || k.str() == "condition" || contains(allowed, k.str())) continue;
      std::string expected = "type, condition";
      if (allowed.size()) expected += ", " + join(allowed);
      sec.error_at(
          v, sec.full_key(k.str()),
          "unknown key for type = \"" + std::string(type) + "\"; expected one of: " + expected);
    }
  }

  std::optional<TransformRule> transform_rule(ConfigSection& sec) {
    if (!sec.has("type")) {
      sec.error("", "missing type = \"add_metadata\", \"mask_value\" or \"hash_key\"");
      return std::nullopt;
    }
    size_t before = error_count();
    const options::Table& t = transform_option_table();
    std::string type = sec.get_string(t.at("type"));
    if (error_count() != before) return std::nullopt;

    if (type == "add_metadata") {
      check_transform_keys(sec, {"key", "value"}, type);
      auto key = sec.get_optional_string("key");
      auto value = sec.get_optional_string("value");
      if (!sec.has("key")) sec.error("", "add_metadata needs key = \"...\"");
      if (!sec.has("value")) sec.error("", "add_metadata needs value = \"...\"");
      if (key && key->empty()) sec.error("key", "must not be empty");
      if (error_count() != before) return std::nullopt;
      return TransformRule::add_metadata(*key, *value);
    }
    if (type == "mask_value") {
      check_transform_keys(sec, {"mask"}, type);
      std::string mask = sec.get_string(t.at("mask"));
      if (error_count() != before) return std::nullopt;
      return TransformRule::mask_value(mask);
    }

    // hash_key
    check_transform_keys(sec, {"algorithm", "secret", "secret_env", "encoding"}, type);
    std::string algorithm = sec.get_string(t.at("algorithm"));
    std::string encoding = sec.get_string(t.at("encoding"));
    auto enc =
        encoding == "raw" ? TransformRule::HashEncoding::kRaw : TransformRule::HashEncoding::kHex;
    bool has_secret = sec.has("secret");
    bool has_env = sec.has("secret_env");
    if (error_count() != before) return std::nullopt;
    if (algorithm == "sha256") {
      if (has_secret || has_env) {
        sec.error(has_secret ? "secret" : "secret_env",
                  "algorithm = \"sha256\" is the unkeyed hash and takes no secret; remove it or "
                  "use algorithm = \"hmac-sha256\"");
        return std::nullopt;
      }
      return TransformRule::hash_key_unkeyed_sha256(enc);
    }
    if (has_secret && has_env) {
      sec.error("secret_env", "give either secret or secret_env, not both");
      return std::nullopt;
    }
    if (!has_secret && !has_env) {
      sec.error("",
                "hash_key needs an HMAC secret: secret = \"${ENV_VAR}\" or secret_env = "
                "\"ENV_VAR\" (at least " +
                    std::to_string(TransformRule::kMinSecretBytes) +
                    " bytes). algorithm = \"sha256\" hashes without a secret, but guessable keys "
                    "can then be recovered by hashing candidates");
      return std::nullopt;
    }
    std::string secret;
    std::string_view secret_key = has_secret ? "secret" : "secret_env";
    if (has_secret) {
      auto s = sec.get_optional_string("secret", t.at("secret").secret);
      if (!s) return std::nullopt;
      secret = std::move(*s);
    } else {
      auto var = sec.get_optional_string("secret_env");
      if (!var) return std::nullopt;
      const char* value = var->empty() ? nullptr : std::getenv(var->c_str());
      if (!value) {
        sec.error("secret_env", "environment variable " + quote(*var) + " is not set");
        return std::nullopt;
      }
      secret = value;
    }
    auto rule = TransformRule::hash_key(secret, enc);
    OPENSSL_cleanse(secret.data(), secret.size());
    if (!rule) {
      sec.error(secret_key, rule.status().message());
      return std::nullopt;
    }
    return std::move(rule).value();
  }

  std::shared_ptr<ConfigReport> report_;
};

}  // namespace

Result<EventFilter> parse_filter_config(config::ConfigSection& root) {
  Parser parser(root.report());
  size_t before = parser.error_count();
  EventFilter filter;

  ConfigSection filter_section = root.section("filter");
  for (auto& rule : filter_section.section_array("rules")) parser.rule(rule, filter);
  filter_section.finish();
  for (auto& t : root.section_array("transforms")) parser.transform(t, filter);

  const auto& errors = root.report()->errors;
  if (errors.size() == before) return filter;
  std::string message;
  for (size_t i = before; i < errors.size(); ++i) {
    message += (message.empty() ? "" : "\n") + errors[i];
  }
  return Status(ErrorCode::kConfig, message);
}

std::string describe_filter(const EventFilter& filter) {
  const auto& rules = filter.rules();
  const auto& transforms = filter.transforms();
  size_t includes = std::count_if(rules.begin(), rules.end(), [](const FilterRule& r) {
    return r.action() == FilterRule::Action::kInclude;
  });
  size_t excludes = rules.size() - includes;
  auto plural = [](size_t n, std::string_view word) {
    return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
  };

  std::string out = "filter: " + plural(includes, "include rule") + ", " +
                    plural(excludes, "exclude rule") + ", " +
                    plural(transforms.size(), "transform") + "\n";
  if (includes == 0 && excludes == 0) {
    out += "  every event is kept\n";
  } else if (includes == 0) {
    out += "  an event is kept unless it matches an exclude rule\n";
  } else if (excludes == 0) {
    out += "  an event is kept when it matches at least one include rule\n";
  } else {
    out += "  an event is kept when it matches at least one include rule and no exclude rule\n";
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    out += "  rule " + std::to_string(i + 1) + ": " + rules[i].to_string() + "\n";
  }
  if (!transforms.empty()) out += "  transforms run in this order on kept events:\n";
  for (size_t i = 0; i < transforms.size(); ++i) {
    out += "  transform " + std::to_string(i + 1) + ": " + transforms[i].to_string() + "\n";
  }
  return out;
}

}  // namespace heliosdb::cdc
