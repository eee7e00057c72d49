// FilterCondition: constructors, evaluation and printing.
#include "filter/condition.h"

#include <utility>

namespace heliosdb::cdc {
namespace filter_internal {

std::string quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));  // printable ASCII and UTF-8 bytes as they are
    }
  }
  out.push_back('"');
  return out;
}

namespace {
bool is_literal_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == ':' || c == '/' || c == '@' || c == '#' || c == '%' || c == '=' ||
         c == ',' || c == ';' || c == '!' || c == '~' || c == '<' || c == '>' || c == '&' ||
         c == '\'' || c == '"' || c == ' ';
}
}  // namespace

LiteralShape analyze_pattern(std::string_view p) {
  LiteralShape shape;
  bool lead = p.starts_with(".*");
  if (lead) p.remove_prefix(2);
  bool trail = p.size() >= 2 && p.ends_with(".*");
  if (trail) p.remove_suffix(2);
  for (char c : p) {
    if (!is_literal_char(c)) return shape;  // kNone: RE2 decides
  }
  shape.literal = std::string(p);
  shape.kind = lead ? (trail ? LiteralShape::kContains : LiteralShape::kSuffix)
                    : (trail ? LiteralShape::kPrefix : LiteralShape::kExact);
  return shape;
}

}  // namespace filter_internal

using filter_internal::LiteralShape;
using filter_internal::op_bit;
using filter_internal::quote;

namespace {

// True when '.*' surely matches `s`: every byte printable-or-control ASCII
// other than '\n'.
bool dot_star_matches(std::string_view s) {
  for (char c : s) {
    if (c == '\n' || static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

bool regex_full_match(const FilterCondition::Node& n, std::string_view table) {
  return n.regex->Match(re2::StringPiece(table.data(), table.size()), 0, table.size(),
                        re2::RE2::ANCHOR_BOTH, nullptr, 0);
}

bool pattern_matches(const FilterCondition::Node& n, std::string_view table) {
  const std::string& lit = n.shape.literal;
  switch (n.shape.kind) {
    case LiteralShape::kNone:
      return regex_full_match(n, table);
    case LiteralShape::kExact:
      return table == lit;
    case LiteralShape::kPrefix:
      if (!table.starts_with(lit)) return false;
      return dot_star_matches(table.substr(lit.size())) || regex_full_match(n, table);
    case LiteralShape::kSuffix:
      if (!table.ends_with(lit)) return false;
      return dot_star_matches(table.substr(0, table.size() - lit.size())) ||
             regex_full_match(n, table);
    case LiteralShape::kContains:
      if (table.find(lit) == std::string_view::npos) return false;
      return dot_star_matches(table) || regex_full_match(n, table);
  }
  return regex_full_match(n, table);
}

FilterCondition make(FilterCondition::Node node) {
  return FilterCondition(std::make_shared<const FilterCondition::Node>(std::move(node)));
}

std::string ops_to_string(uint32_t mask) {
  std::vector<std::string_view> names;
  for (auto op : {OperationType::Insert, OperationType::Update, OperationType::Delete,
                  OperationType::Truncate, OperationType::Read}) {
    if (mask & op_bit(op)) names.push_back(operation_name(op));
  }
  if (names.size() == 1) return "operation == " + std::string(names[0]);
  std::string out = "operation in [";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  return out + "]";
}

std::string describe(const FilterCondition::Node& n, bool nested) {
  using Kind = FilterCondition::Kind;
  switch (n.kind) {
    case Kind::kTable:
      return "table == " + quote(n.text);
    case Kind::kTables: {
      std::string out = "table in [";
      for (size_t i = 0; i < n.names.size(); ++i) {
        if (i) out += ", ";
        out += quote(n.names[i]);
      }
      return out + "]";
    }
    case Kind::kTablePattern:
      return "table matches /" + n.text + "/";
    case Kind::kDatabase:
      return "database == " + quote(n.text);
    case Kind::kOperation:
      return ops_to_string(n.op_mask);
    case Kind::kKeyPrefix:
      return "key starts with " + quote(n.text);
    case Kind::kAnd:
    case Kind::kOr: {
      if (n.children.empty()) return n.kind == Kind::kAnd ? "true" : "false";
      if (n.children.size() == 1) return describe(n.children[0].node(), nested);
      std::string out = nested ? "(" : "";
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i) out += n.kind == Kind::kAnd ? " and " : " or ";
        out += describe(n.children[i].node(), true);
      }
      return nested ? out + ")" : out;
    }
    case Kind::kNot:
      return "not (" + describe(n.children[0].node(), false) + ")";
  }
  return "?";
}

}  // namespace

FilterCondition FilterCondition::table(std::string name) {
  Node n;
  n.kind = Kind::kTable;
  n.text = std::move(name);
  return make(std::move(n));
}

FilterCondition FilterCondition::tables(std::vector<std::string> names) {
  Node n;
  n.kind = Kind::kTables;
  n.names = std::move(names);
  return make(std::move(n));
}

Result<FilterCondition> FilterCondition::table_pattern(std::string_view pattern) {
  re2::RE2::Options options;
  options.set_log_errors(false);  // the error is returned, not printed
  auto regex =
      std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!regex->ok()) {
    return invalid_argument("invalid RE2 pattern " + quote(pattern) + ": " + regex->error());
  }
  Node n;
  n.kind = Kind::kTablePattern;
  n.text = std::string(pattern);
  n.regex = std::move(regex);
  n.shape = filter_internal::analyze_pattern(pattern);
  return make(std::move(n));
}

FilterCondition FilterCondition::database(std::string name) {
  Node n;
  n.kind = Kind::kDatabase;
  n.text = std::move(name);
  return make(std::move(n));
}

FilterCondition FilterCondition::operation(OperationType op) { return operations({op}); }

FilterCondition FilterCondition::operations(const std::vector<OperationType>& ops) {
  Node n;
  n.kind = Kind::kOperation;
  for (auto op : ops) n.op_mask |= op_bit(op);
  return make(std::move(n));
}

FilterCondition FilterCondition::key_prefix(std::string prefix) {
  Node n;
  n.kind = Kind::kKeyPrefix;
  n.text = std::move(prefix);
  return make(std::move(n));
}

FilterCondition FilterCondition::all_of(std::vector<FilterCondition> children) {
  Node n;
  n.kind = Kind::kAnd;
  n.children = std::move(children);
  return make(std::move(n));
}

FilterCondition FilterCondition::any_of(std::vector<FilterCondition> children) {
  Node n;
  n.kind = Kind::kOr;
  n.children = std::move(children);
  return make(std::move(n));
}

FilterCondition FilterCondition::negate(FilterCondition child) {
  Node n;
  n.kind = Kind::kNot;
  n.children.push_back(std::move(child));
  return make(std::move(n));
}

bool FilterCondition::matches(const CdcEvent& event) const {
  const Node& n = *node_;
  switch (n.kind) {
    case Kind::kTable:
      return event.table == n.text;
    case Kind::kTables:
      for (const auto& name : n.names) {
        if (event.table == name) return true;
      }
      return false;
    case Kind::kTablePattern:
      return pattern_matches(n, event.table);
    case Kind::kDatabase:
      return event.database == n.text;
    case Kind::kOperation:
      return (n.op_mask & op_bit(event.operation)) != 0;
    case Kind::kKeyPrefix:
      return std::string_view(event.key).starts_with(n.text);
    case Kind::kAnd:
      for (const auto& c : n.children) {
        if (!c.matches(event)) return false;
      }
      return true;
    case Kind::kOr:
      for (const auto& c : n.children) {
        if (c.matches(event)) return true;
      }
      return false;
    case Kind::kNot:
      return !n.children[0].matches(event);
  }
  return false;
}

FilterCondition::Kind FilterCondition::kind() const { return node_->kind; }

std::string FilterCondition::to_string() const { return describe(*node_, false); }

std::string FilterRule::to_string() const {
  return std::string(action_ == Action::kInclude ? "include" : "exclude") + " if " +
         condition_.to_string();
}

}  // namespace heliosdb::cdc
