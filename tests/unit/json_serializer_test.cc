#include <gtest/gtest.h>

#include "testing/event_factory.h"

#include "heliosdb/cdc/serialization.h"

namespace heliosdb::cdc {
namespace {

CdcEvent seed_example() {
  CdcEvent e;
  e.event_id = "evt_123456";
  e.timestamp = 1234567890000;
  e.sequence = 42;
  e.operation = OperationType::Insert;
  e.database = "mydb";
  e.table = "users";
  e.key = "user123";
  e.value = std::string(R"({"name":"Alice"})");
  e.transaction_id = "txn_789";
  e.metadata = {{"source", "heliosdb"}};
  return e;
}

TEST(JsonSerializer, MatchesTheSeedExampleByteForByte) {
  EXPECT_EQ(event_to_json(seed_example()),
            R"({"event_id":"evt_123456","timestamp":1234567890000,"sequence":42,)"
            R"("operation":"INSERT","database":"mydb","table":"users","key":"dXNlcjEyMw==",)"
            R"("value":"eyJuYW1lIjoiQWxpY2UifQ==","old_value":null,"transaction_id":"txn_789",)"
            R"("metadata":{"source":"heliosdb"}})");
}

TEST(JsonSerializer, AbsentValuesAreNullAndEmptyBytesAreEmptyStrings) {
  CdcEvent e = seed_example();
  e.operation = OperationType::Delete;
  e.key = "";
  e.value.reset();
  e.old_value = std::string();
  e.transaction_id.reset();
  e.metadata.clear();
  EXPECT_EQ(event_to_json(e),
            R"({"event_id":"evt_123456","timestamp":1234567890000,"sequence":42,)"
            R"("operation":"DELETE","database":"mydb","table":"users","key":"",)"
            R"("value":null,"old_value":"","transaction_id":null,"metadata":{}})");
}

// A PostgreSQL snapshot row: operation READ, no transaction (null), and
// metadata.snapshot "true" ("last" on a table's last row).
CdcEvent snapshot_row() { return testing::snapshot_read_event(); }

TEST(JsonSerializer, SnapshotReadRowIsByteExact) {
  EXPECT_EQ(event_to_json(snapshot_row()),
            R"({"event_id":"evt_x_snap_1_abc","timestamp":1700000000000,"sequence":7,)"
            R"("operation":"READ","database":"x","table":"public.users","key":"eyJpZCI6MX0=",)"
            R"("value":"eyJpZCI6MSwibmFtZSI6ImFubiJ9","old_value":null,"transaction_id":null,)"
            R"("metadata":{"snapshot":"true"}})");
  CdcEvent last = snapshot_row();
  last.metadata = {{"origin", "o"}, {"snapshot", "last"}};
  EXPECT_EQ(event_to_json(last),
            R"({"event_id":"evt_x_snap_1_abc","timestamp":1700000000000,"sequence":7,)"
            R"("operation":"READ","database":"x","table":"public.users","key":"eyJpZCI6MX0=",)"
            R"("value":"eyJpZCI6MSwibmFtZSI6ImFubiJ9","old_value":null,"transaction_id":null,)"
            R"("metadata":{"origin":"o","snapshot":"last"}})");
}

TEST(JsonSerializer, UpdateCarriesOldValueAndBinaryBytesAreBase64) {
  CdcEvent e = seed_example();
  e.operation = OperationType::Update;
  e.key = std::string("\x00\xff\x10", 3);
  e.old_value = std::string("ab");
  std::string json = event_to_json(e);
  EXPECT_NE(json.find(R"("operation":"UPDATE")"), std::string::npos);
  EXPECT_NE(json.find(R"("key":"AP8Q")"), std::string::npos);
  EXPECT_NE(json.find(R"("old_value":"YWI=")"), std::string::npos);
}

TEST(JsonSerializer, EscapesStringsPerRfc8259) {
  CdcEvent e = seed_example();
  e.table = "we\"ird\\tab\n\x01";
  e.metadata = {{"k\"", "v\t"}, {"a", "\xc3\xa9"}};
  std::string json = event_to_json(e);
  EXPECT_NE(json.find(R"("table":"we\"ird\\tab\n\u0001")"), std::string::npos) << json;
  // Map keys are emitted in sorted order; UTF-8 passes through unchanged.
  EXPECT_NE(json.find("\"metadata\":{\"a\":\"\xc3\xa9\",\"k\\\"\":\"v\\t\"}"), std::string::npos)
      << json;
}

TEST(JsonSerializer, AppendsWithoutClearingTheBuffer) {
  std::string out = "prefix";
  append_event_json(seed_example(), out);
  EXPECT_EQ(out.rfind("prefix{\"event_id\"", 0), 0u);
}

TEST(EventIds, AreStableAndDerivedFromDatabaseAndSequence) {
  EXPECT_EQ(make_event_id("mydb", 42), "evt_mydb_42");
  EXPECT_EQ(make_event_id("mydb", 42), make_event_id("mydb", 42));
  EXPECT_NE(make_event_id("mydb", 42), make_event_id("other", 42));
  std::string txn;
  assign_transaction_id(txn, 789);
  EXPECT_EQ(txn, "txn_789");
}

TEST(Formats, ParseCaseInsensitively) {
  EXPECT_EQ(parse_format("JSON"), SerializationFormat::Json);
  EXPECT_EQ(parse_format("avro"), SerializationFormat::Avro);
  EXPECT_FALSE(parse_format("xml").has_value());
  EXPECT_EQ(parse_operation("insert"), OperationType::Insert);
  EXPECT_FALSE(parse_operation("upsert").has_value());
}

}  // namespace
}  // namespace heliosdb::cdc
