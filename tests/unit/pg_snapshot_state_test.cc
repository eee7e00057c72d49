// The snapshot encodings of the PostgreSQL source (snapshot_state.h): the
// progress a checkpoint keeps, the watermark and request messages, and the
// checkpoint position that carries the progress (postgres_source.h). Byte-
// exact, since checkpoints written by one version are read by the next.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "source/postgres/postgres_source.h"
#include "source/postgres/snapshot_state.h"

namespace heliosdb::cdc::pg {
namespace {

using Phase = SnapshotTableState::Phase;

SnapshotState small_state() {
  SnapshotState s;
  s.run = 2;
  s.last_request = 0x16B3748;
  s.tables = {{"public.users", Phase::kDone, 1000, {}},
              {"public.my table", Phase::kRunning, 42, {"a b", ""}},
              {"public.x", Phase::kPending, 0, {}}};
  return s;
}

TEST(PgSnapshotState, EncodesASmallStateExactly) {
  EXPECT_EQ(encode_snapshot_state(small_state()),
            "run=2;req=0/16B3748;t=public.users:done:1000:;"
            "t=public.my%20table:running:42:a%20b,%;t=public.x:pending:0:");
}

TEST(PgSnapshotState, EncodesAStateWithoutTables) {
  SnapshotState s;
  s.run = 1;
  EXPECT_EQ(encode_snapshot_state(s), "run=1;req=0/0");
}

TEST(PgSnapshotState, DecodesTheExactTextBack) {
  auto s = decode_snapshot_state(
      "run=2;req=0/16B3748;t=public.users:done:1000:;"
      "t=public.my%20table:running:42:a%20b,%;t=public.x:pending:0:");
  ASSERT_TRUE(s) << s.status().to_string();
  EXPECT_EQ(*s, small_state());
}

// Every separator of the encoding, '%' itself, bytes outside printable
// ASCII (UTF-8, NUL, newline) and empty values, in table names and keys.
TEST(PgSnapshotState, RoundTripsNamesAndKeysWithSeparatorsAndNonAscii) {
  SnapshotState s;
  s.run = 7;
  s.last_request = (uint64_t{0xA} << 32) | 0xFFFFFFFF;
  const std::vector<std::string> awkward = {
      "with space", "a:b", "a;b",           "a,b",
      "100%",       "%25", "caf\xC3\xA9",   "\xE6\x97\xA5\xE6\x9C\xAC",
      "",           "a=b", "tab\there\nnl", std::string("nul\0x", 5),
      "%"};
  s.tables.push_back({"public.plain", Phase::kRunning, 1, awkward});
  s.tables.push_back({"my schema.t:1;2,3%", Phase::kPending, 0, {}});
  s.tables.push_back(
      {"\xC3\xA9sch\xC3\xA9ma.t\xC3\xA0"
       "ble",
       Phase::kDone,
       18446744073709551615u,
       {""}});
  s.tables.push_back({"public.two_empties", Phase::kRunning, 3, {"", ""}});
  const std::string text = encode_snapshot_state(s);
  // One token: nothing that splits the checkpoint line or the position.
  EXPECT_EQ(text.find_first_of(" \n\r\t"), std::string::npos) << text;
  for (unsigned char c : text) EXPECT_TRUE(c > 0x20 && c < 0x7f) << text;
  auto back = decode_snapshot_state(text);
  ASSERT_TRUE(back) << back.status().to_string();
  EXPECT_EQ(*back, s);
}

// An empty key (start from the beginning) and a key of one empty value are
// different positions.
TEST(PgSnapshotState, TellsNoKeyFromOneEmptyValue) {
  SnapshotState none, one_empty;
  none.run = one_empty.run = 1;
  none.tables = {{"public.t", Phase::kRunning, 5, {}}};
  one_empty.tables = {{"public.t", Phase::kRunning, 5, {""}}};
  EXPECT_EQ(encode_snapshot_state(none), "run=1;req=0/0;t=public.t:running:5:");
  EXPECT_EQ(encode_snapshot_state(one_empty), "run=1;req=0/0;t=public.t:running:5:%");
  EXPECT_EQ(*decode_snapshot_state(encode_snapshot_state(none)), none);
  EXPECT_EQ(*decode_snapshot_state(encode_snapshot_state(one_empty)), one_empty);
}

struct Corrupt {
  const char* name;
  const char* text;
  const char* why;  // what the message must say
};

class PgSnapshotStateCorruption : public ::testing::TestWithParam<Corrupt> {};

TEST_P(PgSnapshotStateCorruption, IsKCorruptionNamingTheProblem) {
  const Corrupt& c = GetParam();
  auto r = decode_snapshot_state(c.text);
  ASSERT_FALSE(r) << "decoded: " << encode_snapshot_state(*r);
  EXPECT_EQ(r.status().code(), ErrorCode::kCorruption);
  EXPECT_EQ(r.status().message(),
            "snapshot progress '" + std::string(c.text) + "': " + std::string(c.why));
}

INSTANTIATE_TEST_SUITE_P(
    EachWay, PgSnapshotStateCorruption,
    ::testing::Values(
        Corrupt{"Empty", "", "expected run=<n>;req=<LSN>"},
        Corrupt{"NoRequest", "run=1", "expected run=<n>;req=<LSN>"},
        Corrupt{"FieldsSwapped", "req=0/0;run=1", "expected run=<n>;req=<LSN>"},
        Corrupt{"RunNotANumber", "run=x;req=0/0", "bad run number"},
        Corrupt{"RunEmpty", "run=;req=0/0", "bad run number"},
        Corrupt{"RunNegative", "run=-1;req=0/0", "bad run number"},
        Corrupt{"RequestNotAnLsn", "run=1;req=16B3748", "bad request LSN"},
        Corrupt{"UnknownField",
                "run=1;req=0/0;x=public.t:done:1:", "expected t=<table>:<phase>:<rows>:<key>"},
        Corrupt{"TrailingSeparator", "run=1;req=0/0;", "expected t=<table>:<phase>:<rows>:<key>"},
        Corrupt{"TableFieldMissing", "run=1;req=0/0;t=public.t:done:1",
                "expected t=<table>:<phase>:<rows>:<key>"},
        Corrupt{"TableFieldExtra",
                "run=1;req=0/0;t=public.t:done:1::", "expected t=<table>:<phase>:<rows>:<key>"},
        Corrupt{"TableNameEmpty", "run=1;req=0/0;t=:done:1:", "bad table name"},
        Corrupt{"TableNameTruncatedEscape", "run=1;req=0/0;t=public.t%2:done:1:", "bad table name"},
        Corrupt{"TableNameBadEscape", "run=1;req=0/0;t=public.t%G1:done:1:", "bad table name"},
        Corrupt{"UnknownPhase", "run=1;req=0/0;t=public.t:finished:1:", "unknown phase 'finished'"},
        Corrupt{"RowsNotANumber",
                "run=1;req=0/0;t=public.t:done:many:", "bad row count of public.t"},
        Corrupt{"RowsEmpty", "run=1;req=0/0;t=public.t:done::", "bad row count of public.t"},
        Corrupt{"KeyBadEscape", "run=1;req=0/0;t=public.t:running:1:a,%ZZ", "bad key of public.t"},
        Corrupt{"KeyTruncatedEscape", "run=1;req=0/0;t=public.t:running:1:%4",
                "bad key of public.t"},
        // from_chars would take "-1" as a hex number: only two hex digits
        // are an escape.
        Corrupt{"KeySignedEscape", "run=1;req=0/0;t=public.t:running:1:%-1",
                "bad key of public.t"}),
    [](const ::testing::TestParamInfo<Corrupt>& info) { return std::string(info.param.name); });

TEST(PgSnapshotState, CorruptionMessageQuotesAtMost120Bytes) {
  const std::string text = "run=1;req=0/0;t=" + std::string(200, 'a') + ":bogus:1:";
  auto r = decode_snapshot_state(text);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().message(),
            "snapshot progress '" + text.substr(0, 120) + "': unknown phase 'bogus'");
}

TEST(PgSnapshotState, CurrentIsTheFirstTableNotDone) {
  SnapshotState s = small_state();
  ASSERT_NE(s.current(), nullptr);
  EXPECT_EQ(s.current()->table, "public.my table");
  EXPECT_TRUE(s.active());
  for (auto& t : s.tables) t.phase = Phase::kDone;
  EXPECT_EQ(s.current(), nullptr);
  EXPECT_FALSE(s.active());
  EXPECT_FALSE(s.empty());
  EXPECT_TRUE(SnapshotState{}.empty());
}

// ---- watermarks ------------------------------------------------------------------

TEST(PgWatermark, EncodesExactly) {
  EXPECT_EQ(encode_watermark({"heliosdb_cdc", false, "2:public.users:7"}),
            "heliosdb_cdc low 2%3Apublic.users%3A7");
  EXPECT_EQ(encode_watermark({"heliosdb_cdc", true, "c1"}), "heliosdb_cdc high c1");
}

TEST(PgWatermark, RoundTrips) {
  for (bool high : {false, true}) {
    Watermark w{"slot with space%", high, "chunk id: caf\xC3\xA9 ;,="};
    auto back = decode_watermark(encode_watermark(w));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->slot, w.slot);
    EXPECT_EQ(back->high, w.high);
    EXPECT_EQ(back->chunk_id, w.chunk_id);
  }
}

TEST(PgWatermark, RejectsMalformedText) {
  for (const char* bad :
       {"", "heliosdb_cdc", "heliosdb_cdc low", "heliosdb_cdc mid c1", "heliosdb_cdc LOW c1",
        "heliosdb_cdc low c1 extra", "heliosdb_cdc  low c1", "heliosdb%G1 low c1",
        "heliosdb_cdc low c%1", "heliosdb_cdc low c%-1"}) {
    EXPECT_FALSE(decode_watermark(bad).has_value()) << bad;
  }
}

// ---- snapshot requests -----------------------------------------------------------

TEST(PgSnapshotRequest, EncodesExactly) {
  EXPECT_EQ(encode_snapshot_request({"heliosdb_cdc", {"public.users", "public.my table"}}),
            "slot=heliosdb_cdc tables=public.users,public.my%20table");
}

TEST(PgSnapshotRequest, RoundTrips) {
  SnapshotRequest r{"s", {"public.a,b", "sch\xC3\xA9ma.t;1", "x.100%", "y.a=b c"}};
  auto back = decode_snapshot_request(encode_snapshot_request(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->slot, r.slot);
  EXPECT_EQ(back->tables, r.tables);
}

TEST(PgSnapshotRequest, RejectsMalformedText) {
  for (const char* bad :
       {"", "slot=s", "tables=public.t", "tables=public.t slot=s",
        "slot=s tables=", "slot=s tables=public.a,,public.b", "slot=s tables=public.a,",
        "slot=s tables=public.a extra", "slot=s  tables=public.a", "slot=%G1 tables=public.a",
        "slot=s tables=public.%4", "slot=s tables=public.%-1", "slots=s tables=public.a"}) {
    EXPECT_FALSE(decode_snapshot_request(bad).has_value()) << bad;
  }
}

// ---- the checkpoint position -----------------------------------------------------

TEST(PgCheckpointPosition, WithoutASnapshotIsTheStreamPositionAlone) {
  const DeliveryPosition p{0x16B3748, 0x16B3700, 3};
  EXPECT_EQ(encode_postgres_position(p), "pg1 0/16B3748 0/16B3700 3");
  EXPECT_EQ(encode_postgres_position(p, SnapshotState{}), "pg1 0/16B3748 0/16B3700 3");
  auto c = decode_postgres_checkpoint("pg1 0/16B3748 0/16B3700 3");
  ASSERT_TRUE(c) << c.status().to_string();
  EXPECT_EQ(c->position, p);
  EXPECT_TRUE(c->snapshot.empty());
}

TEST(PgCheckpointPosition, WithASnapshotCarriesItAfterTheStreamPosition) {
  const DeliveryPosition p{(uint64_t{1} << 32) | 0x28, (uint64_t{1} << 32) | 0x20, 12};
  const std::string text = encode_postgres_position(p, small_state());
  EXPECT_EQ(text,
            "pg1 1/28 1/20 12 run=2;req=0/16B3748;t=public.users:done:1000:;"
            "t=public.my%20table:running:42:a%20b,%;t=public.x:pending:0:");
  auto c = decode_postgres_checkpoint(text);
  ASSERT_TRUE(c) << c.status().to_string();
  EXPECT_EQ(c->position, p);
  EXPECT_EQ(c->snapshot, small_state());
  // The stream-only decoder reads the same position and ignores the rest.
  auto position = decode_postgres_position(text);
  ASSERT_TRUE(position) << position.status().to_string();
  EXPECT_EQ(*position, p);
}

TEST(PgCheckpointPosition, ADamagedSnapshotPartIsKCorruptionSayingWhat) {
  auto c = decode_postgres_checkpoint("pg1 0/10 0/8 8 run=x;req=0/0");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.status().code(), ErrorCode::kCorruption);
  EXPECT_EQ(c.status().message(),
            "not a PostgreSQL position: snapshot progress 'run=x;req=0/0': bad run number");
}

TEST(PgCheckpointPosition, ADamagedStreamPartIsKCorruption) {
  for (const char* bad : {"", "pg1", "pg1 0/10 0/8", "pg2 0/10 0/8 8", "pg1 0/10 0/8 x",
                          "pg1 10 0/8 8 run=1;req=0/0"}) {
    auto c = decode_postgres_checkpoint(bad);
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.status().code(), ErrorCode::kCorruption) << bad;
    EXPECT_EQ(c.status().message(),
              "not a PostgreSQL position (\"pg1 <restart LSN> <commit LSN> <event> "
              "[<snapshot progress>]\"): '" +
                  std::string(bad) + "'");
  }
}

}  // namespace
}  // namespace heliosdb::cdc::pg
