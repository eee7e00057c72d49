// How PostgreSQL column values, in the text form the replication stream
// sends, become JSON in events: every form of the documented mapping, and
// malformed text kept as a string rather than breaking the event's JSON.
#include "source/postgres/pg_types.h"

#include <gtest/gtest.h>

#include "common/json_reader.h"

namespace heliosdb::cdc::pg {
namespace {

std::string json(uint32_t oid, std::string_view text) {
  std::string out;
  append_column_json(out, oid, text);
  // Whatever the input, the output is one JSON value.
  EXPECT_TRUE(parse_json(out).is_ok()) << out;
  return out;
}

constexpr uint32_t kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25,
                   kJson = 114, kFloat4 = 700, kFloat8 = 701, kInt4Array = 1007, kTextArray = 1009,
                   kFloat8Array = 1022, kTimestamptz = 1184, kNumeric = 1700, kNumericArray = 1231,
                   kUuid = 2950, kJsonb = 3802, kUserType = 90001;

TEST(PgTypes, NumbersAreJsonNumbersAndNumericStaysExact) {
  EXPECT_EQ(json(kInt4, "42"), "42");
  EXPECT_EQ(json(kInt8, "-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(json(kInt2, "-7"), "-7");
  EXPECT_EQ(json(kFloat8, "1.5"), "1.5");
  EXPECT_EQ(json(kFloat4, "1e-05"), "1e-05");
  EXPECT_EQ(json(kFloat8, "NaN"), "\"NaN\"");
  EXPECT_EQ(json(kFloat8, "Infinity"), "\"Infinity\"");
  EXPECT_EQ(json(kFloat8, "-Infinity"), "\"-Infinity\"");
  EXPECT_EQ(json(kNumeric, "12345678901234567890.000000000000000001"),
            "\"12345678901234567890.000000000000000001\"");
  EXPECT_EQ(json(kNumeric, "NaN"), "\"NaN\"");
}

TEST(PgTypes, BoolJsonByteaAndText) {
  EXPECT_EQ(json(kBool, "t"), "true");
  EXPECT_EQ(json(kBool, "f"), "false");
  EXPECT_EQ(json(kJsonb, R"({"a": [1, 2]})"), R"({"a": [1, 2]})");
  EXPECT_EQ(json(kJson, "\"x\""), "\"x\"");
  EXPECT_EQ(json(kBytea, "\\x68656c6c6f"), "\"aGVsbG8=\"");
  EXPECT_EQ(json(kBytea, "\\x"), "\"\"");
  EXPECT_EQ(json(kText, "say \"hi\"\n"), R"("say \"hi\"\n")");
  EXPECT_EQ(json(kTimestamptz, "2026-12-02 18:00:00.123+00"), "\"2026-12-02 18:00:00.123+00\"");
  EXPECT_EQ(json(kUuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"");
  EXPECT_EQ(json(kUserType, "happy"), "\"happy\"");  // a user-defined type: its text form
}

TEST(PgTypes, ArraysBecomeJsonArraysOfTheirElements) {
  EXPECT_EQ(json(kInt4Array, "{1,2,NULL,-3}"), "[1,2,null,-3]");
  EXPECT_EQ(json(kInt4Array, "{}"), "[]");
  EXPECT_EQ(json(kInt4Array, "{{1,2},{3,4}}"), "[[1,2],[3,4]]");
  EXPECT_EQ(json(kTextArray, R"({a,"b,c","d\"e","NULL",null})"),
            R"(["a","b,c","d\"e","NULL",null])");
  EXPECT_EQ(json(kFloat8Array, "{1.5,NaN}"), R"([1.5,"NaN"])");
  EXPECT_EQ(json(kNumericArray, "{1.10}"), R"(["1.10"])");
}

TEST(PgTypes, MalformedTextStaysAStringAndNeverBreaksTheJson) {
  EXPECT_EQ(json(kInt4, "12a"), "\"12a\"");
  EXPECT_EQ(json(kInt4, "-"), "\"-\"");
  EXPECT_EQ(json(kInt4, ""), "\"\"");
  EXPECT_EQ(json(kFloat8, "1.2.3"), "\"1.2.3\"");
  EXPECT_EQ(json(kBool, "yes"), "\"yes\"");
  EXPECT_EQ(json(kJsonb, "{not json"), "\"{not json\"");
  EXPECT_EQ(json(kBytea, "\\xzz"), "\"\\\\xzz\"");
  EXPECT_EQ(json(kBytea, "abc"), "\"abc\"");  // escape output format: its text
  for (const char* bad :
       {"{1,2", "{1,,2}", "[0:1]={1,2}", "{\"a}", "{1}x", "", "{{{{{{{{1}}}}}}}}"}) {
    EXPECT_EQ(json(kInt4Array, bad)[0], '"') << bad;
  }
}

TEST(PgTypes, TheTableKnowsTheBuiltinTypes) {
  ASSERT_NE(builtin_type(kInt4), nullptr);
  EXPECT_EQ(builtin_type(kInt4)->name, "int4");
  EXPECT_EQ(builtin_type(kInt4Array)->element_oid, kInt4);
  EXPECT_EQ(builtin_type(kUserType), nullptr);
}

TEST(PgTypes, ArraysOfStringMappedTypesAreJsonArraysToo) {
  // inet[], "char"[], point[] (elements quoted: they hold commas), money[].
  EXPECT_EQ(json(1041, "{10.0.0.1,::1}"), R"x(["10.0.0.1","::1"])x");
  EXPECT_EQ(json(1002, "{x,NULL}"), R"x(["x",null])x");
  EXPECT_EQ(json(1017, R"x({"(1,2)","(3,4)"})x"), R"x(["(1,2)","(3,4)"])x");
  EXPECT_EQ(json(791, "{$1.50}"), R"x(["$1.50"])x");
  EXPECT_EQ(json(3905, R"x({"[1,3)",empty})x"), R"x(["[1,3)","empty"])x");
}

TEST(PgTypes, BuiltinTypesByName) {
  // pgoutput's Type message names a domain's base type: "int4" for a domain
  // over integer.
  ASSERT_NE(builtin_type_by_name("int4"), nullptr);
  EXPECT_EQ(builtin_type_by_name("int4")->oid, 23u);
  EXPECT_EQ(builtin_type_by_name("jsonb")->oid, 3802u);
  EXPECT_EQ(builtin_type_by_name("_text")->oid, 1009u);
  EXPECT_EQ(builtin_type_by_name("integer"), nullptr);  // SQL's name, not typname
  EXPECT_EQ(builtin_type_by_name("mood"), nullptr);
  EXPECT_EQ(builtin_type_by_name(""), nullptr);
}

}  // namespace
}  // namespace heliosdb::cdc::pg
