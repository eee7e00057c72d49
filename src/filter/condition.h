// The compiled form of a FilterCondition: an immutable tree of nodes shared by
// every copy of the condition. Leaf nodes read one event field each.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>

#include "heliosdb/cdc/filter.h"

namespace heliosdb::cdc {

namespace filter_internal {

// How a table pattern can be decided without running RE2. Patterns of the
// form  L, L.*, .*L, .*L.*  where L is made only of characters that are
// literal in RE2 (letters, digits, '_', '-', ...) are answered by byte
// comparison. '.' does not match '\n' and matches only valid UTF-8, so an
// input that contains '\n' or a non-ASCII byte in the part '.*' must match is
// still handed to RE2: the fast path never changes an answer.
struct LiteralShape {
  enum Kind : uint8_t { kNone, kExact, kPrefix, kSuffix, kContains } kind = kNone;
  std::string literal;
};
LiteralShape analyze_pattern(std::string_view pattern);

}  // namespace filter_internal

struct FilterCondition::Node {
  Kind kind = Kind::kAnd;
  std::string text;                       // table / database / key prefix / regex source
  std::vector<std::string> names;         // kTables
  uint32_t op_mask = 0;                   // kOperation: bit (1 << OperationType)
  std::shared_ptr<const re2::RE2> regex;  // kTablePattern
  filter_internal::LiteralShape shape;    // kTablePattern fast path
  std::vector<FilterCondition> children;  // kAnd, kOr, kNot (exactly one)
};

namespace filter_internal {

// Bit of `op` in Node::op_mask.
constexpr uint32_t op_bit(OperationType op) { return 1u << static_cast<unsigned>(op); }

// `s` in double quotes, with \" \\ and non-printable bytes as \xNN.
std::string quote(std::string_view s);

}  // namespace filter_internal
}  // namespace heliosdb::cdc
