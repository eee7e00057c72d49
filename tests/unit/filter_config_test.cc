// [[filter.rules]] and [[transforms]] from TOML: the compiled filter, its
// description, and every error naming file:line and key and quoting the rule.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "filter/filter_config.h"
#include "options/config_section.h"

namespace heliosdb::cdc {
namespace {

struct Parsed {
  Result<EventFilter> filter = Status(ErrorCode::kInternal, "not parsed");
  std::shared_ptr<config::ConfigReport> report;
};

Parsed parse(const std::string& text) {
  Parsed out;
  auto table = config::parse_toml_string(text, "cdc.toml");
  if (!table) {
    ADD_FAILURE() << table.status().to_string();
    return out;
  }
  static toml::table keep;  // sections point into the table while parsing
  keep = std::move(*table);
  out.report = std::make_shared<config::ConfigReport>();
  out.report->file = "cdc.toml";
  config::ConfigSection root(&keep, "", out.report);
  out.filter = parse_filter_config(root);
  return out;
}

// The single error of a config that must fail.
std::string error_of(const std::string& text) {
  Parsed p = parse(text);
  EXPECT_FALSE(p.filter.is_ok());
  if (p.filter.is_ok()) return "";
  EXPECT_EQ(p.filter.status().code(), ErrorCode::kConfig);
  EXPECT_EQ(p.report->errors.size(), 1u) << p.filter.status().message();
  return p.filter.status().message();
}

CdcEvent event(std::string database, std::string table, OperationType op = OperationType::Insert,
               std::string key = "k") {
  CdcEvent e;
  e.database = std::move(database);
  e.table = std::move(table);
  e.operation = op;
  e.key = std::move(key);
  e.value = "v";
  e.old_value = "o";
  return e;
}

TEST(FilterConfigTest, AbsentSectionsGiveAnEmptyFilter) {
  Parsed p = parse("[cdc]\ndatabase = \"x\"\n");
  ASSERT_TRUE(p.filter.is_ok());
  EXPECT_TRUE(p.filter->empty());
  EXPECT_EQ(describe_filter(*p.filter),
            "filter: 0 include rules, 0 exclude rules, 0 transforms\n"
            "  every event is kept\n");
}

TEST(FilterConfigTest, DesignExampleCompilesAndDescribes) {
  Parsed p = parse(R"([[filter.rules]]
action = "include"
table = "users"
[[filter.rules]]
action = "include"
database = "production"
table_pattern = "user_.*"
[[filter.rules]]
action = "exclude"
operations = ["DELETE"]

[[transforms]]
type = "add_metadata"
key = "source"
value = "heliosdb-prod"
)");
  ASSERT_TRUE(p.filter.is_ok()) << p.filter.status().message();
  const EventFilter& f = *p.filter;
  EXPECT_TRUE(f.matches(event("any", "users")));
  EXPECT_TRUE(f.matches(event("production", "user_x")));
  EXPECT_FALSE(f.matches(event("staging", "user_x")));
  EXPECT_FALSE(f.matches(event("production", "user_x", OperationType::Delete)));
  EXPECT_FALSE(f.matches(event("any", "orders")));
  CdcEvent e = event("any", "users");
  ASSERT_TRUE(f.apply(e));
  EXPECT_EQ(e.metadata.at("source"), "heliosdb-prod");

  EXPECT_EQ(describe_filter(f),
            "filter: 2 include rules, 1 exclude rule, 1 transform\n"
            "  an event is kept when it matches at least one include rule and no exclude rule\n"
            "  rule 1: include if table == \"users\"\n"
            "  rule 2: include if table matches /user_.*/ and database == \"production\"\n"
            "  rule 3: exclude if operation == DELETE\n"
            "  transforms run in this order on kept events:\n"
            "  transform 1: add_metadata \"source\" = \"heliosdb-prod\"\n");
}

TEST(FilterConfigTest, NestedAnyAllNot) {
  Parsed p = parse(R"(
[[filter.rules]]
action = "include"
database = "db"
any = [{ table = "a" }, { tables = ["b", "c"], operations = ["insert", "Update"] }]
not = { key_prefix = "tmp:" }
[[filter.rules]]
action = "exclude"
all = [{ table = "a" }, { not = { operations = ["INSERT"] } }]
)");
  ASSERT_TRUE(p.filter.is_ok()) << p.filter.status().message();
  const EventFilter& f = *p.filter;
  EXPECT_TRUE(f.matches(event("db", "a", OperationType::Insert)));
  EXPECT_FALSE(f.matches(event("db", "a", OperationType::Update))) << "excluded by rule 2";
  EXPECT_TRUE(f.matches(event("db", "b", OperationType::Update)));
  EXPECT_FALSE(f.matches(event("db", "b", OperationType::Delete)));
  EXPECT_FALSE(f.matches(event("db", "a", OperationType::Insert, "tmp:1")));
  EXPECT_FALSE(f.matches(event("other", "a", OperationType::Insert)));
  EXPECT_EQ(describe_filter(f),
            "filter: 1 include rule, 1 exclude rule, 0 transforms\n"
            "  an event is kept when it matches at least one include rule and no exclude rule\n"
            "  rule 1: include if database == \"db\" and (table == \"a\" or (table in [\"b\", "
            "\"c\"] and operation in [INSERT, UPDATE])) and not (key starts with \"tmp:\")\n"
            "  rule 2: exclude if table == \"a\" and not (operation == INSERT)\n");
}

TEST(FilterConfigTest, TransformsWithConditionsAndSecretFromEnvironment) {
  ::setenv("FILTER_TEST_HASH_SECRET", "0123456789abcdef0123456789abcdef", 1);
  Parsed p = parse(R"(
[[transforms]]
type = "mask_value"
condition = { table = "users" }
[[transforms]]
type = "mask_value"
mask = "<hidden>"
condition = { table = "cards" }
[[transforms]]
type = "hash_key"
secret_env = "FILTER_TEST_HASH_SECRET"
[[transforms]]
type = "hash_key"
secret = "${FILTER_TEST_HASH_SECRET}"
encoding = "raw"
condition = { table = "never" }
[[transforms]]
type = "hash_key"
algorithm = "sha256"
condition = { table = "never" }
)");
  ASSERT_TRUE(p.filter.is_ok()) << p.filter.status().message();
  CdcEvent users = event("db", "users", OperationType::Update, "user123");
  CdcEvent cards = event("db", "cards");
  ASSERT_TRUE(p.filter->apply(users));
  ASSERT_TRUE(p.filter->apply(cards));
  EXPECT_EQ(users.value, std::optional<std::string>("***MASKED***"));
  EXPECT_EQ(users.old_value, std::optional<std::string>("***MASKED***"));
  // Python 3: hmac.new(b"0123456789abcdef0123456789abcdef", b"user123", hashlib.sha256).hexdigest()
  EXPECT_EQ(users.key, "74e3c00682a93a2b46c4d75560280f42d7668870c2df05f078f59ba5d08396fb");
  EXPECT_EQ(cards.value, std::optional<std::string>("<hidden>"));

  std::string text = describe_filter(*p.filter);
  EXPECT_EQ(text,
            "filter: 0 include rules, 0 exclude rules, 5 transforms\n"
            "  every event is kept\n"
            "  transforms run in this order on kept events:\n"
            "  transform 1: mask_value: value and old_value become \"***MASKED***\", when table "
            "== \"users\"\n"
            "  transform 2: mask_value: value and old_value become \"<hidden>\", when table == "
            "\"cards\"\n"
            "  transform 3: hash_key: key becomes HMAC-SHA-256(secret, key) (secret not shown), "
            "64 hex characters\n"
            "  transform 4: hash_key: key becomes HMAC-SHA-256(secret, key) (secret not shown), "
            "32 raw bytes, when table == \"never\"\n"
            "  transform 5: hash_key: key becomes SHA-256(key), UNKEYED (guessable keys can be "
            "recovered), 64 hex characters, when table == \"never\"\n");
  EXPECT_EQ(text.find("0123456789abcdef"), std::string::npos);
  for (const auto& r : p.report->resolved) {
    EXPECT_EQ(r.value.find("0123456789abcdef"), std::string::npos) << r.key;
  }
}

// ---- errors: file:line, key, quoted rule ----

TEST(FilterConfigTest, InvalidRegexNamesLineKeyAndQuotesTheRule) {
  EXPECT_EQ(error_of("[cdc]\ndatabase = \"x\"\n\n[[filter.rules]]\naction = \"include\"\n"
                     "table_pattern = \"user_(.*\"\n"),
            "cdc.toml:6: filter.rules[0].table_pattern: invalid RE2 pattern \"user_(.*\": "
            "missing ): user_(.* in rule {action = \"include\", table_pattern = \"user_(.*\"}");
}

TEST(FilterConfigTest, InvalidRegexInsideNesting) {
  std::string err = error_of(R"([[filter.rules]]
action = "exclude"
any = [
  { table = "a" },
  { table_pattern = "[z-a]" },
]
)");
  EXPECT_EQ(
      err.rfind("cdc.toml:5: filter.rules[0].any[1].table_pattern: invalid RE2 pattern "
                "\"[z-a]\": invalid character class range: z-a in rule {action = \"exclude\", "
                "any = [{table = \"a\"}, {table_pattern = \"[z-a]\"}]}",
                0),
      0u)
      << err;
}

TEST(FilterConfigTest, UnknownConditionKey) {
  EXPECT_EQ(error_of("[[filter.rules]]\naction = \"include\"\ntabel = \"users\"\n"),
            "cdc.toml:3: filter.rules[0].tabel: unknown rule key; expected one of: action, "
            "table, tables, table_pattern, database, operations, key_prefix, any, all, not in "
            "rule {action = \"include\", tabel = \"users\"}");
}

TEST(FilterConfigTest, UnknownConditionKeyNested) {
  std::string err = error_of("[[filter.rules]]\naction = \"include\"\nnot = { column = \"x\" }\n");
  EXPECT_EQ(err.rfind("cdc.toml:3: filter.rules[0].not.column: unknown condition key", 0), 0u)
      << err;
}

TEST(FilterConfigTest, UnknownOperation) {
  EXPECT_EQ(error_of("[[filter.rules]]\naction = \"exclude\"\noperations = [\"DELETE\", "
                     "\"REMOVE\"]\n"),
            "cdc.toml:3: filter.rules[0].operations: unknown operation \"REMOVE\"; expected "
            "INSERT, UPDATE, DELETE, TRUNCATE or READ in rule {action = \"exclude\", "
            "operations = [\"DELETE\", \"REMOVE\"]}");
}

// READ (a PostgreSQL snapshot row) is a fifth operation a rule can name.
TEST(FilterConfigTest, OperationsReadKeepsSnapshotRowsAndDropsInserts) {
  Parsed p = parse("[[filter.rules]]\naction = \"include\"\noperations = [\"READ\"]\n");
  ASSERT_TRUE(p.filter.is_ok()) << p.filter.status().message();
  const EventFilter& f = *p.filter;
  EXPECT_TRUE(f.matches(event("db", "users", OperationType::Read)));
  EXPECT_FALSE(f.matches(event("db", "users", OperationType::Insert)));
  EXPECT_FALSE(f.matches(event("db", "users", OperationType::Update)));
  EXPECT_EQ(describe_filter(f),
            "filter: 1 include rule, 0 exclude rules, 0 transforms\n"
            "  an event is kept when it matches at least one include rule\n"
            "  rule 1: include if operation == READ\n");
}

TEST(FilterConfigTest, OperationsReadIsCaseInsensitiveAndListedWithTheOthers) {
  Parsed p =
      parse("[[filter.rules]]\naction = \"exclude\"\noperations = [\"read\", \"Truncate\"]\n");
  ASSERT_TRUE(p.filter.is_ok()) << p.filter.status().message();
  const EventFilter& f = *p.filter;
  EXPECT_FALSE(f.matches(event("db", "users", OperationType::Read)));
  EXPECT_FALSE(f.matches(event("db", "users", OperationType::Truncate)));
  EXPECT_TRUE(f.matches(event("db", "users", OperationType::Insert)));
  EXPECT_EQ(describe_filter(f),
            "filter: 0 include rules, 1 exclude rule, 0 transforms\n"
            "  an event is kept unless it matches an exclude rule\n"
            "  rule 1: exclude if operation in [TRUNCATE, READ]\n");
}

TEST(FilterConfigTest, MissingOrWrongAction) {
  EXPECT_EQ(error_of("[[filter.rules]]\ntable = \"users\"\n"),
            "cdc.toml:1: filter.rules[0]: missing action = \"include\" or \"exclude\" in rule "
            "{table = \"users\"}");
  std::string err = error_of("[[filter.rules]]\naction = \"drop\"\ntable = \"users\"\n");
  EXPECT_EQ(err.rfind("cdc.toml:2: filter.rules[0].action: \"drop\" is not one of: include, "
                      "exclude",
                      0),
            0u)
      << err;
}

TEST(FilterConfigTest, RuleWithoutCondition) {
  std::string err = error_of("[[filter.rules]]\naction = \"exclude\"\n");
  EXPECT_EQ(err.rfind("cdc.toml:1: filter.rules[0]: no condition; give at least one of: table", 0),
            0u)
      << err;
}

TEST(FilterConfigTest, WrongTypes) {
  std::string err = error_of("[[filter.rules]]\naction = \"include\"\ntable = 5\n");
  EXPECT_EQ(err.rfind("cdc.toml:3: filter.rules[0].table: expected a string, got an integer", 0),
            0u)
      << err;
  err = error_of("[[filter.rules]]\naction = \"include\"\nany = { table = \"a\" }\n");
  EXPECT_EQ(err.rfind("cdc.toml:3: filter.rules[0].any: expected a non-empty array", 0), 0u) << err;
}

TEST(FilterConfigTest, UnknownKeyInFilterSection) {
  std::string err = error_of("[filter]\nrule = []\n");
  EXPECT_EQ(err, "cdc.toml:2: filter.rule: unknown key");
}

TEST(FilterConfigTest, ErrorsOfSeveralRulesAreAllReported) {
  Parsed p = parse(
      "[[filter.rules]]\naction = \"include\"\ntable_pattern = \"(\"\n"
      "[[filter.rules]]\naction = \"include\"\ntable = \"ok\"\n"
      "[[filter.rules]]\naction = \"include\"\noperations = [\"X\"]\n");
  ASSERT_FALSE(p.filter.is_ok());
  ASSERT_EQ(p.report->errors.size(), 2u);
  EXPECT_EQ(p.report->errors[0].rfind("cdc.toml:3: filter.rules[0].table_pattern", 0), 0u);
  EXPECT_EQ(p.report->errors[1].rfind("cdc.toml:9: filter.rules[2].operations", 0), 0u);
}

TEST(FilterConfigTest, HashKeyWithoutSecret) {
  std::string err = error_of("[[transforms]]\ntype = \"hash_key\"\n");
  EXPECT_EQ(err.rfind("cdc.toml:1: transforms[0]: hash_key needs an HMAC secret: secret = "
                      "\"${ENV_VAR}\" or secret_env = \"ENV_VAR\" (at least 16 bytes)",
                      0),
            0u)
      << err;
  EXPECT_NE(err.find(" in transform {type = \"hash_key\"}"), std::string::npos) << err;
}

TEST(FilterConfigTest, HashKeySecretEnvNotSet) {
  ::unsetenv("FILTER_TEST_UNSET_SECRET");
  EXPECT_EQ(error_of("[[transforms]]\ntype = \"hash_key\"\nsecret_env = "
                     "\"FILTER_TEST_UNSET_SECRET\"\n"),
            "cdc.toml:3: transforms[0].secret_env: environment variable "
            "\"FILTER_TEST_UNSET_SECRET\" is not set in transform {type = \"hash_key\", "
            "secret_env = \"FILTER_TEST_UNSET_SECRET\"}");
}

TEST(FilterConfigTest, HashKeyShortSecretIsRejectedAndNotPrinted) {
  std::string err = error_of("[[transforms]]\ntype = \"hash_key\"\nsecret = \"hunter2\"\n");
  EXPECT_EQ(err,
            "cdc.toml:3: transforms[0].secret: hash_key: the HMAC secret must be at least 16 "
            "bytes long (got 7) in transform {type = \"hash_key\", secret = \"<redacted>\"}");
}

TEST(FilterConfigTest, UnkeyedHashTakesNoSecret) {
  std::string err = error_of(
      "[[transforms]]\ntype = \"hash_key\"\nalgorithm = \"sha256\"\nsecret = "
      "\"0123456789abcdef0123\"\n");
  EXPECT_EQ(err.rfind("cdc.toml:4: transforms[0].secret: algorithm = \"sha256\" is the unkeyed "
                      "hash and takes no secret",
                      0),
            0u)
      << err;
  EXPECT_EQ(err.find("0123456789abcdef0123"), std::string::npos) << err;
}

TEST(FilterConfigTest, TransformUnknownTypeAndKeys) {
  std::string err = error_of("[[transforms]]\ntype = \"rename\"\n");
  EXPECT_EQ(err.rfind("cdc.toml:2: transforms[0].type: \"rename\" is not one of: add_metadata, "
                      "mask_value, hash_key",
                      0),
            0u)
      << err;
  err = error_of("[[transforms]]\ntype = \"mask_value\"\nkey = \"x\"\n");
  EXPECT_EQ(err,
            "cdc.toml:3: transforms[0].key: unknown key for type = \"mask_value\"; expected one "
            "of: type, condition, mask in transform {type = \"mask_value\", key = \"x\"}");
  err = error_of("[[transforms]]\ntype = \"add_metadata\"\nkey = \"x\"\n");
  EXPECT_EQ(err.rfind("cdc.toml:1: transforms[0]: add_metadata needs value = \"...\"", 0), 0u)
      << err;
}

TEST(FilterConfigTest, TransformConditionErrors) {
  std::string err =
      error_of("[[transforms]]\ntype = \"mask_value\"\ncondition = { table_pattern = \"(\" }\n");
  EXPECT_EQ(err.rfind("cdc.toml:3: transforms[0].condition.table_pattern: invalid RE2 pattern", 0),
            0u)
      << err;
  err = error_of("[[transforms]]\ntype = \"mask_value\"\ncondition = \"users\"\n");
  EXPECT_EQ(err.rfind("cdc.toml:3: transforms[0].condition: expected a condition table", 0), 0u)
      << err;
}

}  // namespace
}  // namespace heliosdb::cdc
