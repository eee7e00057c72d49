// The PostgreSQL source's pure parts: the checkpoint encoding of its
// positions, the event sequence derived from the commit LSN, and the
// [source] / [source.postgres] sections of the config file. The source
// against a real server: tests/integration/postgres_*_test.cc.
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>

#include "config/daemon_config.h"
#include "source/postgres/postgres_options.h"
#include "source/postgres/postgres_source.h"

namespace heliosdb::cdc::pg {
namespace {

TEST(PostgresPosition, RoundTripsThroughTheCheckpointEncoding) {
  const DeliveryPosition p{0x16B374D848, 0x16B374D800, 12};
  EXPECT_EQ(encode_postgres_position(p), "pg1 16/B374D848 16/B374D800 12");
  auto back = decode_postgres_position(encode_postgres_position(p));
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(*back, p);
  auto zero = decode_postgres_position(encode_postgres_position({}));
  ASSERT_TRUE(zero);
  EXPECT_EQ(*zero, DeliveryPosition{});
}

TEST(PostgresPosition, RefusesWhatIsNotItsEncoding) {
  for (const char* bad : {"", "pg1", "pg1 0/0 0/0", "pg2 0/0 0/0 0", "pg1 0/0 0/0 -1",
                          "pg1 0/0 0/0 1 2", "pg1 x/0 0/0 1", "pg1  0/0 0/0 1", "1 2 3"}) {
    auto r = decode_postgres_position(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kCorruption);
    EXPECT_NE(r.status().message().find("not a PostgreSQL position"), std::string::npos);
  }
}

TEST(PostgresEventSequence, IncreasesInCommitOrderAndStaysASignedLong) {
  // Two commits 40 bytes apart (the smallest commit record): the first
  // one's ordinals up to 5 * 2^20 - 1 stay below the second's first.
  const Lsn a = 0x3000000, b = a + 40;
  EXPECT_LT(postgres_event_sequence(a, 5 * (uint64_t{1} << 20) - 1), postgres_event_sequence(b, 0));
  EXPECT_LT(postgres_event_sequence(a, 0), postgres_event_sequence(a, 1));
  // Positive as an Avro long below 64 TiB of WAL.
  const Lsn high = (Lsn{1} << 46) - 8;
  EXPECT_LE(postgres_event_sequence(high, (1 << 20) - 1),
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  // The value of the first event a real run printed (commit 0/194C398).
  EXPECT_EQ(postgres_event_sequence(0x194C398, 0), 3476896612352u);
}

Result<DaemonConfig> parse(const std::string& text) { return parse_daemon_config(text, "c.toml"); }

const char* kPostgresConfig =
    "[source]\ntype = \"postgres\"\n"
    "[source.postgres]\ndsn = \"host=db.internal port=5433 dbname=shop user=cdc "
    "password=hunter2-secret\"\n";

TEST(PostgresConfig, DatabaseDefaultsToTheDsnsAndTheSourceIsPostgres) {
  auto c = parse(kPostgresConfig);
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->source_type, "postgres");
  EXPECT_EQ(c->cdc.database, "shop");
  ASSERT_TRUE(c->create_source);
  EXPECT_EQ(c->source_description, "PostgreSQL slot heliosdb_cdc (publication heliosdb_cdc)");
  // config check: the DSN redacted, the database the DSN gave.
  bool saw_database = false;
  for (const auto& r : c->report->resolved) {
    EXPECT_EQ(r.value.find("hunter2"), std::string::npos) << r.key;
    if (r.key == "cdc.database") {
      saw_database = true;
      EXPECT_EQ(r.value, "\"shop\"");
    }
  }
  EXPECT_TRUE(saw_database);
}

TEST(PostgresConfig, AnExplicitDatabaseWinsAndUrisWork) {
  auto c = parse(std::string(kPostgresConfig) + "[cdc]\ndatabase = \"shop_events\"\n");
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->cdc.database, "shop_events");
  auto uri = parse(
      "[source]\ntype = \"postgres\"\n[source.postgres]\n"
      "dsn = \"postgresql://cdc:pw@127.0.0.1:5432/inventory?sslmode=require\"\n");
  ASSERT_TRUE(uri) << uri.status().message();
  EXPECT_EQ(uri->cdc.database, "inventory");
}

TEST(PostgresConfig, TheWalSourceStaysTheDefault) {
  auto c = parse("[cdc]\ndatabase = \"d\"\n");
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->source_type, "heliosdb_wal");
  EXPECT_FALSE(c->create_source);
  EXPECT_EQ(c->source_description, "WAL /var/lib/heliosdb/wal");
}

void expect_error(const std::string& text, const std::string& part) {
  auto c = parse(text);
  ASSERT_FALSE(c) << text;
  EXPECT_EQ(c.status().code(), ErrorCode::kConfig);
  EXPECT_NE(c.status().message().find(part), std::string::npos) << c.status().message();
  EXPECT_EQ(c.status().message().find("hunter2"), std::string::npos) << c.status().message();
}

TEST(PostgresConfig, BadValuesNameTheirKeyAndLine) {
  expect_error(std::string(kPostgresConfig) + "[cdc]\nwal_path = \"/w\"\n",
               "c.toml:6: cdc.wal_path: applies to [source] type = \"heliosdb_wal\" only");
  expect_error("[source]\ntype = \"postgres\"\n", "source.postgres.dsn: must not be empty");
  expect_error(std::string(kPostgresConfig) + "slot = \"Bad-Slot\"\n",
               "c.toml:5: source.postgres.slot: must be 1 to 63 lower-case letters");
  expect_error(std::string(kPostgresConfig) + "tables = [\"users\"]\n",
               "source.postgres.tables: 'users' is not schema.table");
  expect_error(std::string(kPostgresConfig) + "unchanged_toast = \"drop\"\n",
               "source.postgres.unchanged_toast");
  expect_error(std::string(kPostgresConfig) + "status_interval_ms = 10\n",
               "source.postgres.status_interval_ms: value 10 is out of range");
  expect_error(std::string(kPostgresConfig) + "sslmode = \"require\"\n", "source.postgres.sslmode");
  expect_error("[source]\ntype = \"mysql\"\n", "source.type");
  // libpq's own complaint about a broken DSN; the DSN itself is not echoed.
  expect_error(
      "[source]\ntype = \"postgres\"\n[source.postgres]\ndsn = \"host=x password=hunter2-secret "
      "bogus_option=1\"\n",
      "source.postgres.dsn: not a libpq connection string: invalid connection option");
}

TEST(PostgresConfig, ThePasswordMayComeFromTheEnvironment) {
  ::setenv("HELIOSDB_TEST_PG_PASSWORD", "hunter2-secret", 1);
  auto c = parse(
      "[source]\ntype = \"postgres\"\n[source.postgres]\n"
      "dsn = \"host=127.0.0.1 dbname=app user=cdc password=${HELIOSDB_TEST_PG_PASSWORD}\"\n");
  ::unsetenv("HELIOSDB_TEST_PG_PASSWORD");
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->cdc.database, "app");
}

}  // namespace
}  // namespace heliosdb::cdc::pg
