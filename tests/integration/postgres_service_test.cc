// The PostgreSQL test service itself (scripts/services/postgres.sh, ctest
// fixture postgres_server): what the PostgreSQL source's tests rely on is
// really there. wal_level logical; password authentication over TCP that
// refuses a wrong password, the superuser included; a role without
// REPLICATION refused a replication connection; a pgoutput slot that
// Debian's own pg_recvlogical drains (the baseline tool); restart and crash
// keep committed data; the wal_level=replica variant on a second port.
#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "postgres_test_util.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using pg_test::Connection;
using pg_test::dsn;
using testing::TempDir;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(PostgresService, ReplRoleConnectsOverTcpWithPasswordAndWalLevelIsLogical) {
  pg_test::require_server();
  Connection c(dsn());
  EXPECT_EQ(c.scalar("SHOW wal_level"), "logical");
  EXPECT_EQ(c.scalar("SELECT current_user"), "heliosdb_repl");
  EXPECT_EQ(c.scalar("SELECT current_database()"), "heliosdb_test");
  EXPECT_EQ(c.scalar("SELECT rolreplication::text FROM pg_roles WHERE rolname = current_user"),
            "true");
  // The connection really went over TCP, authenticated by SCRAM.
  EXPECT_EQ(c.scalar("SELECT inet_server_addr()::text"), "127.0.0.1/32");
  EXPECT_EQ(c.scalar("SHOW password_encryption"), "scram-sha-256");
  // Stored as a SCRAM verifier (pg_authid is the superuser's to read).
  EXPECT_EQ(pg_test::superuser().scalar(
                "SELECT left(rolpassword, 13) FROM pg_authid WHERE rolname = 'heliosdb_repl'"),
            "SCRAM-SHA-256");
}

TEST(PostgresService, WrongPasswordIsRefusedWithAnAuthenticationError) {
  pg_test::require_server();
  for (const std::string role : {"heliosdb_repl", "postgres"}) {
    std::string conninfo = pg_test::dsn_without_password(role) + " password='not-the-password'";
    std::string error;
    auto c = Connection::try_connect(conninfo, &error);
    EXPECT_FALSE(c.has_value()) << role << " connected with a wrong password";
    EXPECT_TRUE(contains(error, "password authentication failed for user \"" + role + "\""))
        << error;
  }
  // No password at all: TCP does not trust even the superuser.
  std::string error;
  auto c = Connection::try_connect(
      pg_test::dsn_without_password("postgres") + " passfile=/dev/null", &error);
  EXPECT_FALSE(c.has_value());
  EXPECT_TRUE(contains(error, "no password supplied")) << error;
}

TEST(PostgresService, RoleWithoutReplicationPrivilegeCannotOpenAReplicationConnection) {
  pg_test::require_server();
  std::string error;
  auto c = Connection::try_connect(dsn("heliosdb_norepl", "heliosdb_test", "replication=database"),
                                   &error);
  if (c) {
    try {
      c->exec("IDENTIFY_SYSTEM");
      ADD_FAILURE() << "IDENTIFY_SYSTEM succeeded for heliosdb_norepl";
    } catch (const pg_test::PgError& e) {
      error = e.what();
    }
  }
  EXPECT_TRUE(contains(error, "replication role")) << error;
  // The same role may connect normally; the REPLICATION role may replicate.
  EXPECT_EQ(Connection(dsn("heliosdb_norepl")).scalar("SELECT 1"), "1");
  Connection repl(dsn("heliosdb_repl", "heliosdb_test", "replication=database"));
  pg_test::Rows id = repl.query("IDENTIFY_SYSTEM");
  ASSERT_EQ(id.size(), 1u);
  ASSERT_EQ(id[0].size(), 4u);  // systemid, timeline, xlogpos, dbname
  EXPECT_EQ(id[0][3].value_or(""), "heliosdb_test");
}

TEST(PostgresService, PgRecvlogicalDrainsAPgoutputSlot) {
  pg_test::require_server();
  const std::string table = pg_test::unique_name("svc_rows");
  const std::string pub = pg_test::unique_name("svc_pub");
  const std::string slot = pg_test::unique_name("svc_slot");
  Connection c(dsn());
  c.exec("CREATE TABLE " + table + " (id int PRIMARY KEY, payload text NOT NULL)");
  c.exec("CREATE PUBLICATION " + pub + " FOR TABLE " + table);
  const std::string created =
      c.scalar("SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')", {slot});
  c.exec("INSERT INTO " + table + " SELECT g, 'row-' || g FROM generate_series(1, 100) AS g");
  c.exec("UPDATE " + table + " SET payload = 'changed-7' WHERE id = 7");
  c.exec("DELETE FROM " + table + " WHERE id = 9");
  const std::string endpos = pg_test::current_wal_lsn();

  TempDir dir;
  pg_test::write_passfile(dir.file("pgpass"));
  auto r = testing::run_command(
      {pg_test::pg_bin("pg_recvlogical"), "-d",
       pg_test::dsn_without_password() + " passfile=" + dir.file("pgpass"), "--slot", slot,
       "--start", "--no-loop", "-o", "proto_version=1", "-o", "publication_names=" + pub,
       "--endpos", endpos, "-f", dir.file("out.bin")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string out = testing::read_file(dir.file("out.bin"));
  // pgoutput v1: a Relation message naming the table, then the row data as text.
  EXPECT_TRUE(contains(out, table)) << out.size() << " bytes";
  EXPECT_TRUE(contains(out, "row-1")) << out.size() << " bytes";
  EXPECT_TRUE(contains(out, "row-100")) << out.size() << " bytes";
  EXPECT_TRUE(contains(out, "changed-7")) << out.size() << " bytes";
  // pg_recvlogical confirmed what it received: the slot moved past its start.
  EXPECT_GT(pg_test::parse_lsn(pg_test::confirmed_flush_lsn(slot)), pg_test::parse_lsn(created));

  pg_test::drop_slot_if_exists(slot);
  EXPECT_TRUE(c.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", {slot}).empty());
  pg_test::drop_slot_if_exists(slot);  // absent: nothing to do
  c.exec("DROP PUBLICATION " + pub);
  c.exec("DROP TABLE " + table);
}

TEST(PostgresService, DropSlotTerminatesTheWalsenderStreamingFromIt) {
  pg_test::require_server();
  const std::string slot = pg_test::unique_name("svc_active");
  Connection(dsn()).exec("SELECT pg_create_logical_replication_slot('" + slot +
                         "', 'test_decoding')");
  TempDir dir;
  pg_test::write_passfile(dir.file("pgpass"));
  // pg_recvlogical follows the slot until it is killed (no --endpos).
  pid_t pid =
      testing::spawn_with_log({pg_test::pg_bin("pg_recvlogical"), "-d",
                               pg_test::dsn_without_password() + " passfile=" + dir.file("pgpass"),
                               "--slot", slot, "--start", "--no-loop", "-f", "/dev/null"},
                              dir.file("recvlogical.log"));
  Connection su = pg_test::superuser();
  bool active = false;
  for (int i = 0; i < 200 && !active; ++i) {
    active = su.scalar("SELECT active::text FROM pg_replication_slots WHERE slot_name = $1",
                       {slot}) == "true";
    if (!active) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(active) << testing::read_file(dir.file("recvlogical.log"));
  pg_test::drop_slot_if_exists(slot);
  EXPECT_TRUE(su.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", {slot}).empty());
  // Its walsender gone, pg_recvlogical exits with an error (--no-loop).
  EXPECT_NE(testing::wait_exit(pid), 0);
}

TEST(PostgresService, StartTwiceRestartAndCrashKeepCommittedRows) {
  pg_test::require_server();
  const std::string table = pg_test::unique_name("svc_keep");
  {
    Connection c(dsn());
    c.exec("CREATE TABLE " + table + " (id int PRIMARY KEY)");
    c.exec("INSERT INTO " + table + " VALUES (1)");
  }
  ASSERT_EQ(pg_test::service("start"), 0);  // already running: returns at once
  ASSERT_EQ(pg_test::service("start"), 0);

  Connection before(dsn());
  ASSERT_EQ(pg_test::service("restart"), 0);
  EXPECT_THROW(before.exec("SELECT 1"), pg_test::PgError) << "a connection survived the restart";
  {
    Connection c(dsn());
    EXPECT_EQ(c.scalar("SELECT count(*) FROM " + table), "1");
    c.exec("INSERT INTO " + table + " VALUES (2)");  // committed (synchronous_commit = on)
  }
  ASSERT_EQ(pg_test::service("kill"), 0);  // immediate: crash recovery at the next start
  EXPECT_NE(pg_test::service("status"), 0);
  ASSERT_EQ(pg_test::service("start"), 0);
  Connection c(dsn());
  EXPECT_EQ(c.scalar("SELECT string_agg(id::text, ',' ORDER BY id) FROM " + table), "1,2");
  EXPECT_EQ(c.scalar("SHOW wal_level"), "logical");
  c.exec("DROP TABLE " + table);
}

TEST(PostgresService, ReplicaVariantOnItsOwnPortRefusesLogicalDecoding) {
  pg_test::require_server();
  TempDir home;  // mode 0700: the script makes it enterable for the postgres user
  const std::string env = "PG_HOME=" + home.path() + " PG_PORT=15433 ";
  ASSERT_EQ(std::system(
                (env + "PG_WAL_LEVEL=replica " + pg_test::service_script() + " start >&2").c_str()),
            0);
  std::string error;
  {
    Connection c(
        "host=127.0.0.1 port=15433 dbname=heliosdb_test user=heliosdb_repl "
        "password=" +
        pg_test::conninfo_quote(pg_test::password_of("heliosdb_repl")) +
        " sslmode=disable connect_timeout=10");
    EXPECT_EQ(c.scalar("SHOW wal_level"), "replica");
    try {
      c.exec("SELECT pg_create_logical_replication_slot('never', 'pgoutput')");
    } catch (const pg_test::PgError& e) {
      error = e.what();
    }
  }
  EXPECT_EQ(std::system((env + pg_test::service_script() + " reset >&2").c_str()), 0);
  EXPECT_TRUE(contains(error, "logical decoding requires wal_level >= logical")) << error;
  // The suite's own server is untouched.
  EXPECT_EQ(Connection(dsn()).scalar("SHOW wal_level"), "logical");
}

}  // namespace
}  // namespace heliosdb::cdc
