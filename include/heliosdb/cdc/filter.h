// Event filtering and transformation (the seed's "Event Filtering" and
// "Event Transformation"). The EventProcessor applies the filter to every
// committed change before it is serialized; a dropped event is never
// serialized, but it still counts as done for the checkpoint.
//
//   auto users = FilterCondition::table_pattern("user_.*");   // Result: RE2 may reject it
//   if (!users) return users.status();
//   EventFilter filter = EventFilter()
//       .add_rule(FilterRule::include(FilterCondition::all_of({
//           FilterCondition::database("production"), *users})))
//       .add_rule(FilterRule::exclude(FilterCondition::operation(OperationType::Delete)))
//       .add_transform(TransformRule::add_metadata("source", "heliosdb-prod"));
//
// Semantics (docs/filtering.md):
//   * no include rule: every event is included;
//   * with include rules: an event must match at least one of them;
//   * an exclude match always wins over any include;
//   * transforms run in the order added, only on included events; a transform
//     scoped by a condition runs only when the condition matches the event as
//     earlier transforms left it.
//
// All types are immutable values after construction and cheap to copy (they
// share compiled state). apply() and matches() are const and safe to call from
// several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/event.h"
#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

// A predicate over one event. It reads only the fields it names (table,
// database, operation, key); values are never touched.
class FilterCondition {
 public:
  enum class Kind : uint8_t {
    kTable,         // table == name
    kTables,        // table is one of a set of names
    kTablePattern,  // RE2 full match of the whole table name
    kDatabase,      // database == name
    kOperation,     // operation is one of a set
    kKeyPrefix,     // raw key bytes start with a prefix
    kAnd,           // every child matches (true when there are none)
    kOr,            // at least one child matches (false when there are none)
    kNot,           // the single child does not match
  };

  // Seed: FilterCondition::Table("users").
  static FilterCondition table(std::string name);
  // Any of several table names (one hash-free linear scan; keep it short).
  static FilterCondition tables(std::vector<std::string> names);
  // Seed: FilterCondition::TablePattern(Regex::new("user_.*")). The pattern
  // must match the WHOLE table name ("user_.*" does not match "app_user_x").
  // RE2 syntax, linear time in the input (no catastrophic backtracking). An
  // invalid pattern is a kInvalidArgument error quoting RE2's reason.
  static Result<FilterCondition> table_pattern(std::string_view pattern);
  static FilterCondition database(std::string name);
  static FilterCondition operation(OperationType op);
  static FilterCondition operations(const std::vector<OperationType>& ops);
  // The event's raw key bytes begin with `prefix`.
  static FilterCondition key_prefix(std::string prefix);
  // Seed: And(vec![...]), Or(vec![...]), Not(...).
  static FilterCondition all_of(std::vector<FilterCondition> children);
  static FilterCondition any_of(std::vector<FilterCondition> children);
  static FilterCondition negate(FilterCondition child);

  bool matches(const CdcEvent& event) const;
  Kind kind() const;
  // Readable form, e.g. `(database == "production" and table ~ /user_.*/)`.
  std::string to_string() const;

  struct Node;  // implementation detail (src/filter/)
  explicit FilterCondition(std::shared_ptr<const Node> node) : node_(std::move(node)) {}
  const Node& node() const { return *node_; }

 private:
  std::shared_ptr<const Node> node_;
};

// One include or exclude rule.
class FilterRule {
 public:
  enum class Action : uint8_t { kInclude, kExclude };

  static FilterRule include(FilterCondition condition) {
    return FilterRule(Action::kInclude, std::move(condition));
  }
  static FilterRule exclude(FilterCondition condition) {
    return FilterRule(Action::kExclude, std::move(condition));
  }

  Action action() const { return action_; }
  const FilterCondition& condition() const { return condition_; }
  // "include if table == \"users\""
  std::string to_string() const;

 private:
  FilterRule(Action action, FilterCondition condition)
      : action_(action), condition_(std::move(condition)) {}
  Action action_;
  FilterCondition condition_;
};

// One transformation of an included event, optionally scoped by a condition.
class TransformRule {
 public:
  enum class Kind : uint8_t { kAddMetadata, kMaskValue, kHashKey };
  enum class HashAlgorithm : uint8_t {
    kHmacSha256,     // keyed: HMAC-SHA-256(secret, key). The default.
    kSha256Unkeyed,  // SHA-256(key): weaker, see hash_key_unkeyed_sha256().
  };
  enum class HashEncoding : uint8_t {
    kHex,  // 64 lowercase hex characters (default)
    kRaw,  // the 32 digest bytes
  };

  // The mask written over value and old_value by mask_value().
  static constexpr std::string_view kDefaultMask = "***MASKED***";
  // Shortest HMAC secret accepted, in bytes.
  static constexpr size_t kMinSecretBytes = 16;

  // Seed: AddMetadata { key, value }: sets metadata[key] = value, replacing
  // an existing entry of that key.
  static TransformRule add_metadata(std::string key, std::string value);
  // Seed: MaskValue. Replaces the bytes of value AND old_value with `mask`
  // when they are present; an absent value (e.g. a DELETE's value) stays
  // absent (JSON null), so consumers still see which images existed.
  static TransformRule mask_value(std::string mask = std::string(kDefaultMask));
  // Seed: HashKey, keyed. Replaces the key bytes with
  // HMAC-SHA-256(secret, key), encoded per `encoding`. Equal keys give equal
  // hashes (joins still work), but without the secret a low-entropy key
  // (an e-mail address, a user id) cannot be recovered by hashing guesses.
  // The secret must be at least kMinSecretBytes long.
  static Result<TransformRule> hash_key(std::string_view secret,
                                        HashEncoding encoding = HashEncoding::kHex);
  // Unkeyed SHA-256 of the key. Only when explicitly asked for: anyone can
  // hash candidate keys and compare, so it hides nothing from a dictionary
  // attack on guessable keys. Prefer hash_key(secret).
  static TransformRule hash_key_unkeyed_sha256(HashEncoding encoding = HashEncoding::kHex);

  // A copy that only runs on events matching `condition`.
  TransformRule when(FilterCondition condition) const;

  Kind kind() const;
  const std::optional<FilterCondition>& condition() const;
  // Runs the transform if its condition (if any) matches.
  void apply(CdcEvent& event) const;
  // Readable form; never contains the HMAC secret.
  std::string to_string() const;

  struct Impl;  // implementation detail (src/filter/)
  explicit TransformRule(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<const Impl> impl_;
};

class EventFilter {
 public:
  EventFilter();
  ~EventFilter();
  EventFilter(const EventFilter&);
  EventFilter& operator=(const EventFilter&);
  EventFilter(EventFilter&&) noexcept;
  EventFilter& operator=(EventFilter&&) noexcept;

  // Chainable on lvalues and temporaries:
  //   EventFilter f = EventFilter().add_rule(...).add_transform(...);
  EventFilter& add_rule(FilterRule rule) &;
  EventFilter&& add_rule(FilterRule rule) &&;
  EventFilter& add_transform(TransformRule transform) &;
  EventFilter&& add_transform(TransformRule transform) &&;

  // True when the filter has no rules and no transforms.
  bool empty() const;
  // The include/exclude decision alone; the event is not modified.
  bool matches(const CdcEvent& event) const;
  // Decides whether `event` is kept (false = drop) and, if kept, runs the
  // transforms on it in order.
  bool apply(CdcEvent& event) const;

  const std::vector<FilterRule>& rules() const;
  const std::vector<TransformRule>& transforms() const;

 private:
  struct Impl;
  Impl& mutable_impl();
  std::shared_ptr<Impl> impl_;
};

// The seed's FilterBuilder. Dimensions are AND-ed: an event is kept when its
// table is one of the included tables (if any were named), its operation one
// of the included operations (if any were named), and it matches none of the
// exclusions.
//
//   EventFilter f = FilterBuilder().include_table("users").include_table("orders")
//                       .exclude_table("logs").build();
class FilterBuilder {
 public:
  FilterBuilder& include_table(std::string name);
  FilterBuilder& exclude_table(std::string name);
  FilterBuilder& include_operations(const std::vector<OperationType>& ops);
  FilterBuilder& exclude_operations(const std::vector<OperationType>& ops);
  FilterBuilder& include_database(std::string name);
  FilterBuilder& exclude_database(std::string name);
  EventFilter build() const;

 private:
  std::vector<std::string> include_tables_;
  std::vector<std::string> exclude_tables_;
  std::vector<OperationType> include_ops_;
  std::vector<OperationType> exclude_ops_;
  std::vector<std::string> include_databases_;
  std::vector<std::string> exclude_databases_;
};

}  // namespace heliosdb::cdc
