// The hand-written Avro encoder of CdcEvent: exact bytes for small cases, and
// every edge case decoded by an independent implementation (python3-avro) to
// the same values.
#include "serde/avro_encoder.h"

#include <gtest/gtest.h>

#include "testing/event_factory.h"

#include "avro_check_util.h"
#include "serde/avro_schema.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using avro_test::hex;

std::string encode_long(int64_t v) {
  std::string out;
  avro::append_long(out, v);
  return out;
}

TEST(AvroEncoder, LongsAreZigzagVarints) {
  EXPECT_EQ(hex(encode_long(0)), "00");
  EXPECT_EQ(hex(encode_long(-1)), "01");
  EXPECT_EQ(hex(encode_long(1)), "02");
  EXPECT_EQ(hex(encode_long(-64)), "7f");
  EXPECT_EQ(hex(encode_long(64)), "8001");
  EXPECT_EQ(hex(encode_long(-65)), "8101");
  EXPECT_EQ(hex(encode_long(8191)), "fe7f");
  EXPECT_EQ(hex(encode_long(8192)), "808001");
  EXPECT_EQ(hex(encode_long(INT64_MAX)), "feffffffffffffffff01");
  EXPECT_EQ(hex(encode_long(INT64_MIN)), "ffffffffffffffffff01");
}

TEST(AvroEncoder, SmallEventIsByteExact) {
  CdcEvent e;
  e.event_id = "e";
  e.timestamp = 1;
  e.sequence = 2;
  e.operation = OperationType::Insert;
  e.database = "d";
  e.table = "t";
  std::string out;
  avro::append_event(e, out);
  // event_id "e", 1, 2, "INSERT", "d", "t", key "", value null, old_value
  // null, transaction_id null, empty map.
  // clang-format off
  EXPECT_EQ(hex(out), "0265" "02" "04" "0c494e53455254" "0264" "0274" "00" "00" "00" "00" "00");
  // clang-format on
}

TEST(AvroEncoder, PresentOptionalsUseUnionBranchOne) {
  CdcEvent e;
  e.event_id = "e";
  e.database = "d";
  e.table = "t";
  e.operation = OperationType::Delete;
  e.key = "k";
  e.value = std::string("");
  e.old_value = std::string("\x01", 1);
  e.transaction_id = "x";
  e.metadata = {{"a", "b"}, {"c", ""}};
  std::string out;
  avro::append_event(e, out);
  // clang-format off
  EXPECT_EQ(hex(out), "0265" "00" "00" "0c44454c455445" "0264" "0274" "026b"
                      "0200"      // value: branch 1, empty bytes
                      "020201"    // old_value: branch 1, one byte 0x01
                      "020278"    // transaction_id: branch 1, "x"
                      "04" "0261" "0262" "0263" "00" "00");  // map: 2 entries, end
}

TEST(AvroEncoder, SeedExampleMatchesTheBytesInDocsAvroMd) {
  // The seed's example event; the same bytes python3-avro's DatumWriter writes.
  std::string out;
  // clang-format on
  avro::append_event(avro_test::edge_case_events()[0], out);
  // clang-format off
  EXPECT_EQ(hex(out),
            "16" "6576745f6d7964625f3432" "a091d89fee47" "54" "0c" "494e53455254" "08" "6d796462"
            "0a" "7573657273" "0e" "75736572313233" "0220" "7b226e616d65223a22416c696365227d"
            "00" "020e" "74786e5f373839" "020c" "736f75726365" "10" "68656c696f736462" "00");
  // clang-format on
}

// A PostgreSQL snapshot row. `operation` is an Avro string, so READ needs no
// schema change (the registered schema stays compatible); transaction_id
// takes the null branch. The bytes are python3-avro DatumWriter's for the
// same record.
TEST(AvroEncoder, SnapshotReadRowIsByteExactAndDecodesWithPythonAvro) {
  CdcEvent e = testing::snapshot_read_event();
  std::string out;
  avro::append_event(e, out);
  // clang-format off
  EXPECT_EQ(hex(out),
            "20" "6576745f785f736e61705f315f616263"          // event_id
            "80a0abfef962" "0e"                              // timestamp, sequence 7
            "08" "52454144"                                  // "READ"
            "02" "78" "18" "7075626c69632e7573657273"        // "x", "public.users"
            "10" "7b226964223a317d"                          // key
            "02" "2a" "7b226964223a312c226e616d65223a22616e6e227d"  // value: branch 1
            "00"                                             // old_value: null
            "00"                                             // transaction_id: null
            "02" "10" "736e617073686f74" "08" "74727565" "00");  // {"snapshot": "true"}
  // clang-format on
  testing::TempDir dir;
  testing::write_file(dir.file("read.bin"), out);
  avro_test::expect_same_text(avro_test::run_check("datums", dir.file("read.bin")),
                              avro_test::render(e) + "\n");
}

TEST(AvroEncoder, AppendsAfterExistingBytesAndReusesCapacity) {
  CdcEvent e;
  e.event_id = "e";
  std::string out = "prefix";
  avro::append_event(e, out);
  std::string alone;
  avro::append_event(e, alone);
  EXPECT_EQ(out, "prefix" + alone);
  EXPECT_LE(alone.size(), avro::max_encoded_size(e));
}

TEST(AvroEncoder, SchemaIsTheSeedSchema) {
  testing::TempDir dir;
  testing::write_file(dir.file("schema.json"), std::string(avro::cdc_event_schema_json()));
  EXPECT_EQ(avro_test::run_check("schema", dir.file("schema.json")), "schema ok\n");
}

TEST(AvroEncoder, EveryEdgeCaseDecodesWithPythonAvro) {
  auto events = avro_test::edge_case_events();
  std::string bytes, want;
  for (const auto& e : events) {
    avro::append_event(e, bytes);
    want += avro_test::render(e) + "\n";
  }
  testing::TempDir dir;
  testing::write_file(dir.file("datums.bin"), bytes);
  avro_test::expect_same_text(avro_test::run_check("datums", dir.file("datums.bin")), want);
}

TEST(AvroEncoder, EachEdgeCaseDecodesAlone) {
  // One datum per run: a length error in one event cannot be masked by the
  // next event's bytes.
  testing::TempDir dir;
  for (const auto& e : avro_test::edge_case_events()) {
    if (e.value && e.value->size() > 1000) continue;  // covered above; keep it fast
    std::string bytes;
    avro::append_event(e, bytes);
    testing::write_file(dir.file("one.bin"), bytes);
    avro_test::expect_same_text(avro_test::run_check("datums", dir.file("one.bin")),
                                avro_test::render(e) + "\n");
  }
}

}  // namespace
}  // namespace heliosdb::cdc
