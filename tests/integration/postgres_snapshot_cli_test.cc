// `heliosdb-cdc snapshot request` against the real PostgreSQL server
// (ctest fixture postgres_server): the request is a logical message in the
// WAL, checked independently of the daemon by reading the slot with
// PostgreSQL's own test_decoding plugin; and each refusal (a table not in
// the publication, no such table, no such slot) writes nothing.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "postgres_cdc_util.h"
#include "postgres_test_util.h"

namespace heliosdb::cdc {
namespace {

using pg_test::CdcDaemon;
using pg_test::Cleanup;
using pg_test::Connection;
using pg_test::contains;
using pg_test::describe;
using pg_test::table_and_publication;

std::string server() {
  return "PostgreSQL at 127.0.0.1:" + std::to_string(pg_test::port()) +
         ", database heliosdb_test, user heliosdb_repl";
}

// The config's slot, made with test_decoding so the test reads what the
// request wrote as text. The daemon's own slot (pgoutput) would carry the
// same message; the command only needs the slot to exist.
void test_decoding_slot(const std::string& slot, Cleanup& cleanup) {
  cleanup.slots.push_back(slot);
  pg_test::superuser().query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')",
                             {slot});
}

// Every logical message of `prefix` the slot holds (consuming them), as
// test_decoding prints them, with their LSNs.
struct Message {
  std::string lsn, data;
};
std::vector<Message> messages(const std::string& slot) {
  std::vector<Message> out;
  auto rows = pg_test::superuser().query(
      "SELECT lsn::text, data FROM pg_logical_slot_get_changes($1, NULL, NULL)", {slot});
  for (const auto& row : rows) {
    if (row[1] && contains(*row[1], "prefix: heliosdb_cdc.snapshot_request,")) {
      out.push_back({*row[0], *row[1]});
    }
  }
  return out;
}

void write_config(const CdcDaemon& d) { testing::write_file(d.config_path(), d.config_text()); }

testing::CommandResult request(const CdcDaemon& d, const std::vector<std::string>& tables) {
  std::vector<std::string> args = {"snapshot", "request", "--config", d.config_path()};
  for (const auto& t : tables) {
    args.push_back("--table");
    args.push_back(t);
  }
  return testing::run_cli(args);
}

void expect_no_password(const testing::CommandResult& r) {
  for (const std::string& role : {"heliosdb_repl", "heliosdb_norepl", "postgres"}) {
    EXPECT_FALSE(contains(r.out + r.err, pg_test::password_of(role))) << describe(r);
  }
}

TEST(PostgresSnapshotCli, RequestWritesTheRequestMessageIntoTheWal) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string a = pg_test::unique_name("snapreq_a");
  const std::string b = pg_test::unique_name("snapreq_b");
  const std::string pub = pg_test::unique_name("snapreq_pub");
  const std::string slot = pg_test::unique_name("snapreq_slot");
  Connection c(pg_test::dsn());
  c.exec("CREATE TABLE " + a + " (id int PRIMARY KEY)");
  cleanup.sql.push_back("DROP TABLE IF EXISTS " + a);
  c.exec("CREATE TABLE " + b + " (id int PRIMARY KEY)");
  cleanup.sql.push_back("DROP TABLE IF EXISTS " + b);
  c.exec("CREATE PUBLICATION " + pub + " FOR TABLE " + a + ", " + b);
  cleanup.sql.push_back("DROP PUBLICATION IF EXISTS " + pub);
  test_decoding_slot(slot, cleanup);
  CdcDaemon d(slot, pub);
  write_config(d);

  const std::string before = pg_test::current_wal_lsn();
  // Named twice: asked for once, in the order first named.
  auto r = request(d, {"public." + b, "public." + a, "public." + b});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.err, "");
  expect_no_password(r);
  const std::string head =
      "requested a snapshot of public." + b + ", public." + a + " for slot " + slot + " at LSN ";
  const std::string tail = " on " + server() +
                           ": a running daemon takes it up as it reads the stream (or at its "
                           "next start)\n";
  ASSERT_EQ(r.out.rfind(head, 0), 0u) << r.out;
  ASSERT_GT(r.out.size(), head.size() + tail.size()) << r.out;
  ASSERT_EQ(r.out.substr(r.out.size() - tail.size()), tail) << r.out;
  const std::string lsn = r.out.substr(head.size(), r.out.size() - head.size() - tail.size());
  EXPECT_LT(pg_test::parse_lsn(before), pg_test::parse_lsn(lsn));
  // Flushed before the command returned: walsenders send flushed WAL only,
  // and an unflushed message is lost in a crash.
  EXPECT_LE(
      pg_test::parse_lsn(lsn),
      pg_test::parse_lsn(pg_test::superuser().scalar("SELECT pg_current_wal_flush_lsn()::text")));

  // Non-transactional (no BEGIN/COMMIT around it), the daemon's prefix, and
  // the content the daemon decodes (snapshot_state.h).
  const std::string content = "slot=" + slot + " tables=public." + b + ",public." + a;
  auto m = messages(slot);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].data, "message: transactional: 0 prefix: heliosdb_cdc.snapshot_request, sz: " +
                           std::to_string(content.size()) + " content:" + content);
  // The LSN printed is the one decoding gives the message (its record's
  // end), so an operator can find it in the stream.
  EXPECT_EQ(m[0].lsn, lsn);
}

TEST(PostgresSnapshotCli, ATableNotInThePublicationIsRefusedNamingBoth) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string published = pg_test::unique_name("snapreq_pub_t");
  const std::string other = pg_test::unique_name("snapreq_other");
  const std::string pub = pg_test::unique_name("snapreq_pub");
  const std::string slot = pg_test::unique_name("snapreq_slot");
  Connection c(pg_test::dsn());
  table_and_publication(c, published, pub, cleanup);
  c.exec("CREATE TABLE " + other + " (id int PRIMARY KEY)");
  cleanup.sql.push_back("DROP TABLE IF EXISTS " + other);
  test_decoding_slot(slot, cleanup);
  CdcDaemon d(slot, pub);
  write_config(d);

  auto r = request(d, {"public." + published, "public." + other});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "heliosdb-cdc: snapshot request: table public." + other +
                       " is not in publication " + pub + " on " + server() +
                       ": the daemon streams and snapshots the publication's tables only (ALTER "
                       "PUBLICATION \"" +
                       pub + "\" ADD TABLE \"public\".\"" + other + "\")\n");
  expect_no_password(r);
  // Refused before anything was written, the published table's part too.
  EXPECT_TRUE(messages(slot).empty());
}

TEST(PostgresSnapshotCli, AMissingTableIsRefused) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string published = pg_test::unique_name("snapreq_pub_t");
  const std::string pub = pg_test::unique_name("snapreq_pub");
  const std::string slot = pg_test::unique_name("snapreq_slot");
  Connection c(pg_test::dsn());
  table_and_publication(c, published, pub, cleanup);
  test_decoding_slot(slot, cleanup);
  CdcDaemon d(slot, pub);
  write_config(d);

  // Names are taken as they are: "Public.X" is not public.x.
  for (const std::string& missing :
       std::vector<std::string>{"public.no_such_table_here", "Public." + published}) {
    auto r = request(d, {missing});
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_EQ(r.err, "heliosdb-cdc: snapshot request: table " + missing + " does not exist on " +
                         server() + "\n");
  }
  EXPECT_TRUE(messages(slot).empty());
}

TEST(PostgresSnapshotCli, AMissingSlotOrPublicationIsRefused) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string published = pg_test::unique_name("snapreq_pub_t");
  const std::string pub = pg_test::unique_name("snapreq_pub");
  const std::string slot = pg_test::unique_name("snapreq_noslot");
  Connection c(pg_test::dsn());
  table_and_publication(c, published, pub, cleanup);

  CdcDaemon no_slot(slot, pub);
  write_config(no_slot);
  auto r = request(no_slot, {"public." + published});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(r.err,
            "heliosdb-cdc: snapshot request: replication slot " + slot + " does not exist on " +
                server() +
                ": no daemon reads this pipeline yet, and a slot created later would not see the "
                "request. Start the daemon (its first start snapshots the tables itself unless "
                "[source.postgres] snapshot = \"never\"), then request again\n");

  test_decoding_slot(slot, cleanup);
  const std::string no_pub = pg_test::unique_name("snapreq_nopub");
  CdcDaemon d(slot, no_pub);
  write_config(d);
  r = request(d, {"public." + published});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(r.err, "heliosdb-cdc: snapshot request: publication " + no_pub + " does not exist on " +
                       server() + "\n");
  EXPECT_TRUE(messages(slot).empty());
}

}  // namespace
}  // namespace heliosdb::cdc
