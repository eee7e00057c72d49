#include "options/option_table.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "common/redact.h"

namespace heliosdb::cdc::options {

Option string_option(std::string key, std::string default_value, std::string call,
                     std::string doc) {
  Option o;
  o.key = std::move(key);
  o.type = Type::kString;
  o.default_text = std::move(default_value);
  o.call = std::move(call);
  o.doc = std::move(doc);
  return o;
}

Option int_option(std::string key, int64_t default_value, int64_t min, int64_t max,
                  std::string call, std::string doc) {
  Option o;
  o.key = std::move(key);
  o.type = Type::kInt;
  o.default_int = default_value;
  o.default_text = std::to_string(default_value);
  o.min = min;
  o.max = max;
  o.call = std::move(call);
  o.doc = std::move(doc);
  return o;
}

Option bool_option(std::string key, bool default_value, std::string call, std::string doc) {
  Option o;
  o.key = std::move(key);
  o.type = Type::kBool;
  o.default_bool = default_value;
  o.default_text = default_value ? "true" : "false";
  o.call = std::move(call);
  o.doc = std::move(doc);
  return o;
}

Option string_list_option(std::string key, std::string call, std::string doc) {
  Option o;
  o.key = std::move(key);
  o.type = Type::kStringList;
  o.default_text = "[]";
  o.call = std::move(call);
  o.doc = std::move(doc);
  return o;
}

Option table_option(std::string key, std::string call, std::string doc) {
  Option o;
  o.key = std::move(key);
  o.type = Type::kTable;
  o.default_text = "{}";
  o.call = std::move(call);
  o.doc = std::move(doc);
  return o;
}

Option enum_option(std::string key, std::string default_value, std::vector<std::string> allowed,
                   std::string call, std::string doc) {
  Option o =
      string_option(std::move(key), std::move(default_value), std::move(call), std::move(doc));
  o.type = Type::kEnum;
  o.allowed = std::move(allowed);
  return o;
}

const Option& Table::at(std::string_view key) const {
  for (const auto& o : options) {
    if (o.key == key) return o;
  }
  std::fprintf(stderr, "option table [%s] declares no option %.*s\n", section.c_str(),
               static_cast<int>(key.size()), key.data());
  std::abort();
}

std::string range_problem(const Option& option, int64_t value) {
  if (value < option.min) {
    std::string why = "must be at least " + std::to_string(option.min);
    if (!option.note.empty()) why += " " + option.note;
    return why;
  }
  if (value > option.max) return "must be at most " + std::to_string(option.max);
  return "";
}

std::string enum_problem(const Option& option, std::string_view value) {
  if (std::find(option.allowed.begin(), option.allowed.end(), value) != option.allowed.end()) {
    return "";
  }
  std::string list;
  for (const auto& a : option.allowed) list += (list.empty() ? "" : ", ") + a;
  return "\"" + std::string(value) + "\" is not one of: " + list;
}

void Problems::add(std::string_view key, std::string message) {
  table_->at(key);  // a key not declared is a programming error
  list_.push_back({std::string(key), std::move(message)});
}

void Problems::limit(std::string_view key, int64_t value) {
  std::string why = range_problem(table_->at(key), value);
  if (!why.empty()) add(key, std::move(why));
}

void Problems::one_of(std::string_view key, std::string_view value) {
  std::string why = enum_problem(table_->at(key), value);
  if (!why.empty()) add(key, std::move(why));
}

void Problems::not_empty(std::string_view key, std::string_view value, std::string_view why) {
  if (!value.empty()) return;
  add(key, why.empty() ? "must not be empty" : "must not be empty: " + std::string(why));
}

Status library_error(const Problems& problems, ErrorCode code) {
  if (problems.empty()) return Status::ok();
  const Problem& p = problems.list().front();
  const Option& o = problems.table().at(p.option);
  std::string msg = p.option + ": " + p.message;
  if (!o.call.empty()) msg += "; set with " + o.call;
  return Status(code, redact_urls_in(msg));
}

std::string describe_range(const Option& option) {
  switch (option.type) {
    case Type::kInt:
      return std::to_string(option.min) + ".." + std::to_string(option.max);
    case Type::kEnum: {
      std::string list;
      for (const auto& a : option.allowed) list += (list.empty() ? "" : ", ") + a;
      return list;
    }
    default:
      return "";
  }
}

std::string_view type_name(Type type) {
  switch (type) {
    case Type::kString:
      return "string";
    case Type::kInt:
      return "integer";
    case Type::kBool:
      return "boolean";
    case Type::kStringList:
      return "string list";
    case Type::kEnum:
      return "enum";
    case Type::kTable:
      return "table";
    case Type::kTableList:
      return "table list";
  }
  return "";
}

namespace {

std::string shown_default(const Option& o) {
  if (o.required) return "(required)";
  if (o.secret == Secret::kYes && !o.default_text.empty()) return std::string(kRedactedValue);
  if (o.type == Type::kString || o.type == Type::kEnum) {
    return o.default_text.empty() ? "(none)" : "\"" + o.default_text + "\"";
  }
  return o.default_text;
}

}  // namespace

std::string render_listing(const Table& table) {
  std::string out = "[" + table.section + "]\n";
  for (const auto& o : table.options) {
    out += "  " + o.key + "  (" + std::string(type_name(o.type)) + ")\n";
    out += "      default: " + shown_default(o) + "\n";
    std::string range = describe_range(o);
    if (!range.empty()) out += "      range:   " + range + "\n";
    if (o.secret == Secret::kYes) out += "      secret:  yes (redacted by config check)\n";
    if (!o.call.empty()) out += "      builder: " + o.call + "\n";
    out += "      " + o.doc + "\n";
    for (size_t i = 0; i < o.allowed_docs.size() && i < o.allowed.size(); ++i) {
      out += "        " + o.allowed[i] + ": " + o.allowed_docs[i] + "\n";
    }
  }
  return out;
}

std::string render_markdown(const Table& table) {
  std::string out = "| key | type | default | range | meaning |\n|---|---|---|---|---|\n";
  for (const auto& o : table.options) {
    std::string def;
    if (o.required) {
      def = "— (required)";
    } else if (o.default_text.empty()) {
      def = "—";
    } else if (o.secret == Secret::kYes) {
      def = "`" + std::string(kRedactedValue) + "`";
    } else {
      def = "`" + o.default_text + "`";
    }
    std::string range = describe_range(o);
    std::string doc = o.doc;
    for (size_t i = 0; i < o.allowed_docs.size() && i < o.allowed.size(); ++i) {
      doc += (i == 0 ? " " : "; ") + ("`" + o.allowed[i] + "`: " + o.allowed_docs[i]);
      if (i + 1 == o.allowed_docs.size()) doc += ".";
    }
    if (o.secret == Secret::kYes) doc += " Secret: `config check` prints it redacted.";
    out += "| `" + o.key + "` | " + std::string(type_name(o.type)) + " | " + def + " | " +
           (range.empty() ? "" : range) + " | " + doc + " |\n";
  }
  return out;
}

}  // namespace heliosdb::cdc::options
