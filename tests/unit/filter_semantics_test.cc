// Include/exclude semantics of EventFilter, FilterCondition and FilterBuilder,
// table-driven: each case names the rule set and the events it keeps.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <re2/re2.h>

#include "heliosdb/cdc/filter.h"

namespace heliosdb::cdc {
namespace {

CdcEvent event(std::string database, std::string table, OperationType op = OperationType::Insert,
               std::string key = "k") {
  CdcEvent e;
  e.database = std::move(database);
  e.table = std::move(table);
  e.operation = op;
  e.key = std::move(key);
  e.value = "v";
  return e;
}

FilterCondition pattern(std::string_view re) {
  auto c = FilterCondition::table_pattern(re);
  EXPECT_TRUE(c.is_ok()) << c.status().to_string();
  return *c;
}

using Op = OperationType;

struct Case {
  std::string name;
  EventFilter filter;
  std::vector<std::pair<CdcEvent, bool>> expect;  // event -> kept?
};

std::vector<Case> cases() {
  using FC = FilterCondition;
  using FR = FilterRule;
  std::vector<Case> out;
  out.push_back({"empty filter keeps everything",
                 EventFilter(),
                 {{event("db", "users"), true}, {event("x", "", Op::Truncate), true}}});
  out.push_back({"one include: only matching events",
                 EventFilter().add_rule(FR::include(FC::table("users"))),
                 {{event("db", "users"), true}, {event("db", "orders"), false}}});
  out.push_back({"several includes: matching any one is enough",
                 EventFilter()
                     .add_rule(FR::include(FC::table("users")))
                     .add_rule(FR::include(FC::table("orders"))),
                 {{event("db", "users"), true},
                  {event("db", "orders"), true},
                  {event("db", "logs"), false}}});
  out.push_back({"exclude only: everything but the match",
                 EventFilter().add_rule(FR::exclude(FC::table("logs"))),
                 {{event("db", "users"), true}, {event("db", "logs"), false}}});
  out.push_back({"exclude wins over a matching include (include added first)",
                 EventFilter()
                     .add_rule(FR::include(FC::table("users")))
                     .add_rule(FR::exclude(FC::operation(Op::Delete))),
                 {{event("db", "users", Op::Insert), true},
                  {event("db", "users", Op::Delete), false},
                  {event("db", "orders", Op::Insert), false}}});
  out.push_back(
      {"exclude wins over a matching include (exclude added first)",
       EventFilter()
           .add_rule(FR::exclude(FC::operation(Op::Delete)))
           .add_rule(FR::include(FC::table("users"))),
       {{event("db", "users", Op::Insert), true}, {event("db", "users", Op::Delete), false}}});
  out.push_back({"table is an exact, case-sensitive comparison",
                 EventFilter().add_rule(FR::include(FC::table("users"))),
                 {{event("db", "Users"), false},
                  {event("db", "users_x"), false},
                  {event("db", "xusers"), false},
                  {event("db", "users"), true}}});
  out.push_back({"tables: any of the names",
                 EventFilter().add_rule(FR::include(FC::tables({"a", "b"}))),
                 {{event("db", "a"), true}, {event("db", "b"), true}, {event("db", "ab"), false}}});
  out.push_back({"table_pattern is anchored at both ends (full match)",
                 EventFilter().add_rule(FR::include(pattern("user_.*"))),
                 {{event("db", "user_profiles"), true},
                  {event("db", "user_"), true},
                  {event("db", "app_user_x"), false},
                  {event("db", "user"), false},
                  {event("db", "users"), false}}});
  out.push_back({"table_pattern without wildcard matches only the whole name",
                 EventFilter().add_rule(FR::include(pattern("user"))),
                 {{event("db", "user"), true},
                  {event("db", "users"), false},
                  {event("db", "superuser"), false}}});
  out.push_back({"table_pattern alternation is anchored as a whole",
                 EventFilter().add_rule(FR::include(pattern("a|b"))),
                 {{event("db", "a"), true},
                  {event("db", "b"), true},
                  {event("db", "ab"), false},
                  {event("db", "xb"), false}}});
  out.push_back({"database",
                 EventFilter().add_rule(FR::include(FC::database("production"))),
                 {{event("production", "t"), true},
                  {event("staging", "t"), false},
                  {event("production2", "t"), false}}});
  out.push_back({"operations: a set",
                 EventFilter().add_rule(FR::include(FC::operations({Op::Insert, Op::Update}))),
                 {{event("db", "t", Op::Insert), true},
                  {event("db", "t", Op::Update), true},
                  {event("db", "t", Op::Delete), false},
                  {event("db", "t", Op::Truncate), false},
                  {event("db", "t", Op::Read), false}}});
  out.push_back({"operations: READ alone (snapshot rows)",
                 EventFilter().add_rule(FR::include(FC::operation(Op::Read))),
                 {{event("db", "t", Op::Read), true}, {event("db", "t", Op::Insert), false}}});
  out.push_back({"exclude TRUNCATE",
                 EventFilter().add_rule(FR::exclude(FC::operation(Op::Truncate))),
                 {{event("db", "t", Op::Truncate), false}, {event("db", "t", Op::Delete), true}}});
  out.push_back({"key prefix on raw bytes",
                 EventFilter().add_rule(FR::include(FC::key_prefix(std::string("ten\0a", 5)))),
                 {{event("db", "t", Op::Insert, std::string("ten\0a:1", 7)), true},
                  {event("db", "t", Op::Insert, std::string("ten\0b:1", 7)), false},
                  {event("db", "t", Op::Insert, "ten"), false}}});
  out.push_back({"empty key prefix matches every key",
                 EventFilter().add_rule(FR::include(FC::key_prefix(""))),
                 {{event("db", "t", Op::Insert, ""), true}}});
  out.push_back({"seed's complex filter: And(Database, TablePattern)",
                 EventFilter().add_rule(
                     FR::include(FC::all_of({FC::database("production"), pattern("user_.*")}))),
                 {{event("production", "user_profiles"), true},
                  {event("staging", "user_profiles"), false},
                  {event("production", "orders"), false}}});
  out.push_back({"Or inside And, Not inside Or",
                 EventFilter().add_rule(FR::include(FC::all_of(
                     {FC::database("db"),
                      FC::any_of({FC::table("a"), FC::negate(FC::operation(Op::Delete))})}))),
                 {{event("db", "a", Op::Delete), true},
                  {event("db", "b", Op::Insert), true},
                  {event("db", "b", Op::Delete), false},
                  {event("other", "a", Op::Insert), false}}});
  out.push_back({"Not of And",
                 EventFilter().add_rule(FR::exclude(
                     FC::negate(FC::all_of({FC::table("a"), FC::operation(Op::Insert)})))),
                 {{event("db", "a", Op::Insert), true},
                  {event("db", "a", Op::Update), false},
                  {event("db", "b", Op::Insert), false}}});
  out.push_back({"double negation",
                 EventFilter().add_rule(FR::include(FC::negate(FC::negate(FC::table("a"))))),
                 {{event("db", "a"), true}, {event("db", "b"), false}}});
  out.push_back(
      {"empty And is true, empty Or is false",
       EventFilter().add_rule(FR::include(FC::all_of({}))).add_rule(FR::exclude(FC::any_of({}))),
       {{event("db", "a"), true}}});
  out.push_back({"include rule matching nothing drops everything",
                 EventFilter().add_rule(FR::include(FC::any_of({}))),
                 {{event("db", "a"), false}}});
  return out;
}

TEST(FilterSemanticsTest, TableOfCases) {
  for (auto& c : cases()) {
    for (auto& [ev, kept] : c.expect) {
      CdcEvent copy = ev;
      EXPECT_EQ(c.filter.matches(ev), kept)
          << c.name << ": database=" << ev.database << " table=" << ev.table
          << " op=" << operation_name(ev.operation);
      EXPECT_EQ(c.filter.apply(copy), kept) << c.name;
      EXPECT_EQ(copy, ev) << c.name << ": a filter without transforms must not modify the event";
    }
  }
}

TEST(FilterSemanticsTest, EmptyMeansNoRulesAndNoTransforms) {
  EXPECT_TRUE(EventFilter().empty());
  EXPECT_FALSE(EventFilter().add_rule(FilterRule::include(FilterCondition::table("a"))).empty());
  EXPECT_FALSE(EventFilter().add_transform(TransformRule::mask_value()).empty());
}

TEST(FilterSemanticsTest, InvalidPatternIsAnErrorNamingThePattern) {
  auto c = FilterCondition::table_pattern("user_(.*");
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("invalid RE2 pattern \"user_(.*\""), std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("missing )"), std::string::npos) << c.status().message();
}

TEST(FilterSemanticsTest, BackreferencesAreRejectedNotBacktracked) {
  // RE2 has no backreferences (they need backtracking): a clear error.
  EXPECT_FALSE(FilterCondition::table_pattern("(a)\\1").is_ok());
}

TEST(FilterSemanticsTest, PathologicalPatternStaysLinear) {
  // (a+)+$ backtracks exponentially in PCRE-style engines on "aaaa...!";
  // RE2 is linear. Asserts the answers; with a backtracking engine this test
  // would not finish.
  auto c = FilterCondition::table_pattern("(a+)+$");
  ASSERT_TRUE(c.is_ok());
  CdcEvent e;
  e.table = std::string(100000, 'a') + "!";
  EXPECT_FALSE(c->matches(e));
  e.table = std::string(100000, 'a');
  EXPECT_TRUE(c->matches(e));
  auto nested = FilterCondition::table_pattern("(x+x+)+y");
  ASSERT_TRUE(nested.is_ok());
  e.table = std::string(50000, 'x');
  EXPECT_FALSE(nested->matches(e));
}

TEST(FilterSemanticsTest, LiteralFastPathAgreesWithRe2) {
  // Simple patterns (L, L.*, .*L, .*L.*) are decided without RE2; every
  // answer must equal RE2's full match, including for inputs with '\n' and
  // non-ASCII or invalid UTF-8 bytes, which '.' treats specially.
  const std::vector<std::string> patterns = {
      "",        "user",      "user_.*",   ".*_log", ".*audit.*", ".*",       ".*.*", "a-b:c",
      "user_.+", "(?i)users", "user_\\d+", "a|b",    "us.r",      "user_.*x", ".*?",  "[a-z]+"};
  const std::vector<std::string> tables = {
      "",         "user",   "users",      "user_",   "user_profiles", "app_user_x",    "x_log",
      "x_log2",   "_log",   "my_audit_t", "audit",   "aud",           "a-b:c",         "USERS",
      "user_12",  "a",      "b",          "usxr",    "user_\n",       "user_\xc3\xa9", "user_\xff",
      "\xff_log", "\n_log", "my\naudit",  "user_abx"};
  for (const auto& p : patterns) {
    auto c = FilterCondition::table_pattern(p);
    ASSERT_TRUE(c.is_ok()) << p;
    re2::RE2 reference(p);
    ASSERT_TRUE(reference.ok()) << p;
    for (const auto& t : tables) {
      CdcEvent e;
      e.table = t;
      EXPECT_EQ(c->matches(e), re2::RE2::FullMatch(t, reference))
          << "pattern " << p << " table " << t;
    }
  }
}

TEST(FilterSemanticsTest, CopiesAreIndependent) {
  EventFilter a = EventFilter().add_rule(FilterRule::include(FilterCondition::table("users")));
  EventFilter b = a;
  b.add_rule(FilterRule::exclude(FilterCondition::operation(OperationType::Delete)));
  CdcEvent del = event("db", "users", OperationType::Delete);
  EXPECT_TRUE(a.matches(del)) << "adding to a copy must not change the original";
  EXPECT_FALSE(b.matches(del));
  EXPECT_EQ(a.rules().size(), 1u);
  EXPECT_EQ(b.rules().size(), 2u);
}

TEST(FilterSemanticsTest, RulesAreKeptInOrderWithTheirAction) {
  EventFilter f = EventFilter()
                      .add_rule(FilterRule::exclude(FilterCondition::table("a")))
                      .add_rule(FilterRule::include(FilterCondition::table("b")));
  ASSERT_EQ(f.rules().size(), 2u);
  EXPECT_EQ(f.rules()[0].action(), FilterRule::Action::kExclude);
  EXPECT_EQ(f.rules()[1].to_string(), "include if table == \"b\"");
}

TEST(FilterSemanticsTest, ConditionToString) {
  using FC = FilterCondition;
  auto c = FC::all_of({FC::database("production"), pattern("user_.*"),
                       FC::any_of({FC::operations({OperationType::Insert, OperationType::Update}),
                                   FC::negate(FC::key_prefix("a\"b\x01"))}),
                       FC::tables({"x", "y"})});
  EXPECT_EQ(c.to_string(),
            "database == \"production\" and table matches /user_.*/ and "
            "(operation in [INSERT, UPDATE] or not (key starts with \"a\\\"b\\x01\")) and "
            "table in [\"x\", \"y\"]");
  EXPECT_EQ(FC::operation(OperationType::Delete).to_string(), "operation == DELETE");
  EXPECT_EQ(FC::operation(OperationType::Read).to_string(), "operation == READ");
  EXPECT_EQ(FC::operations({OperationType::Read, OperationType::Insert}).to_string(),
            "operation in [INSERT, READ]");
  EXPECT_EQ(FC::all_of({}).to_string(), "true");
  EXPECT_EQ(FC::any_of({}).to_string(), "false");
}

// ---- FilterBuilder (the seed's examples) ----

TEST(FilterBuilderTest, SeedTableExample) {
  EventFilter f =
      FilterBuilder().include_table("users").include_table("orders").exclude_table("logs").build();
  EXPECT_TRUE(f.matches(event("db", "users")));
  EXPECT_TRUE(f.matches(event("db", "orders")));
  EXPECT_FALSE(f.matches(event("db", "logs")));
  EXPECT_FALSE(f.matches(event("db", "other")));
}

TEST(FilterBuilderTest, SeedOperationExample) {
  EventFilter f = FilterBuilder().include_operations({Op::Insert, Op::Update}).build();
  EXPECT_TRUE(f.matches(event("db", "t", Op::Insert)));
  EXPECT_TRUE(f.matches(event("db", "t", Op::Update)));
  EXPECT_FALSE(f.matches(event("db", "t", Op::Delete)));
}

TEST(FilterBuilderTest, DimensionsAreAnded) {
  EventFilter f = FilterBuilder()
                      .include_table("users")
                      .include_operations({Op::Insert})
                      .exclude_operations({Op::Truncate})
                      .build();
  EXPECT_TRUE(f.matches(event("db", "users", Op::Insert)));
  EXPECT_FALSE(f.matches(event("db", "users", Op::Update)));
  EXPECT_FALSE(f.matches(event("db", "orders", Op::Insert)));
}

TEST(FilterBuilderTest, ExcludeOnlyAndDatabases) {
  EventFilter f = FilterBuilder()
                      .exclude_operations({Op::Delete})
                      .include_database("a")
                      .include_database("b")
                      .exclude_database("c")
                      .build();
  EXPECT_TRUE(f.matches(event("a", "t", Op::Insert)));
  EXPECT_TRUE(f.matches(event("b", "t", Op::Insert)));
  EXPECT_FALSE(f.matches(event("a", "t", Op::Delete)));
  EXPECT_FALSE(f.matches(event("c", "t", Op::Insert)));
  EXPECT_TRUE(FilterBuilder().build().empty());
}

}  // namespace
}  // namespace heliosdb::cdc
