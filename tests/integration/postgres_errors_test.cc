// The PostgreSQL source's errors, from the real `heliosdb-cdc run --once`
// against the test server (ctest fixture postgres_server): each fails with
// exit 1 or 2 and a message naming the server and what to do, and the
// password never appears in stdout or stderr. Config mistakes are exit 2
// before anything connects.
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "postgres_cdc_util.h"
#include "postgres_test_util.h"

namespace heliosdb::cdc {
namespace {

using pg_test::Cleanup;
using pg_test::table_and_publication;

using pg_test::CdcDaemon;
using pg_test::Connection;
using pg_test::contains;
using pg_test::describe;
using pg_test::dsn;

constexpr int kReplicaPort = 15442;

// A DSN with the password written in it (so the test can check it is never
// printed).
std::string literal_dsn(const std::string& user, const std::string& password, int port) {
  return "host=127.0.0.1 port=" + std::to_string(port) + " dbname=heliosdb_test user=" + user +
         " password=" + password + " sslmode=disable connect_timeout=5";
}

// The run failed with exit 1 or 2 and printed `needle`, and no password.
void expect_failure(const testing::CommandResult& r, const std::string& needle,
                    const std::string& password) {
  EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 2) << describe(r);
  EXPECT_TRUE(contains(r.out + r.err, needle)) << "wanted: " << needle << "\n" << describe(r);
  if (!password.empty()) {
    EXPECT_FALSE(contains(r.out + r.err, password)) << "the password was printed\n" << describe(r);
  }
  for (const std::string& role : {"heliosdb_repl", "heliosdb_norepl", "postgres"}) {
    EXPECT_FALSE(contains(r.out + r.err, pg_test::password_of(role))) << "a password was printed\n"
                                                                      << describe(r);
  }
}

std::string server_at(int port) { return "PostgreSQL at 127.0.0.1:" + std::to_string(port); }

TEST(PostgresErrors, UnreachableServer) {
  const int port = testing::free_loopback_port();
  CdcDaemon d(pg_test::unique_name("err_unreach"), "err_unreach_pub");
  d.set_dsn(literal_dsn("heliosdb_repl", "unreachable-secret-pw", port));
  auto r = d.run_once();
  expect_failure(r, "cannot connect to " + server_at(port), "unreachable-secret-pw");
  EXPECT_TRUE(contains(r.err, "database heliosdb_test, user heliosdb_repl")) << describe(r);
}

TEST(PostgresErrors, WrongPassword) {
  pg_test::require_server();
  CdcDaemon d(pg_test::unique_name("err_pw"), "err_pw_pub");
  d.set_dsn(literal_dsn("heliosdb_repl", "wrong-secret-pw-4711", pg_test::port()));
  auto r = d.run_once();
  expect_failure(r, "authentication failed for " + server_at(pg_test::port()),
                 "wrong-secret-pw-4711");
  EXPECT_TRUE(contains(r.err, "user heliosdb_repl")) << describe(r);
}

TEST(PostgresErrors, WalLevelReplica) {
  pg_test::require_server();
  testing::TempDir home;
  const std::string env =
      "PG_HOME=" + home.path() + " PG_PORT=" + std::to_string(kReplicaPort) + " ";
  struct Reset {
    std::string env;
    ~Reset() { std::system((env + pg_test::service_script() + " reset >&2").c_str()); }
  } reset{env};
  ASSERT_EQ(std::system(
                (env + "PG_WAL_LEVEL=replica " + pg_test::service_script() + " start >&2").c_str()),
            0);
  CdcDaemon d(pg_test::unique_name("err_wal"), "err_wal_pub");
  d.set_dsn(literal_dsn("heliosdb_repl", pg_test::password_of("heliosdb_repl"), kReplicaPort));
  auto r = d.run_once();
  expect_failure(r, "wal_level is 'replica' on " + server_at(kReplicaPort), "");
  EXPECT_TRUE(contains(r.err, "wal_level = logical")) << describe(r);
}

TEST(PostgresErrors, RoleWithoutReplicationPrivilege) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string table = pg_test::unique_name("err_norepl");
  const std::string pub = pg_test::unique_name("err_norepl_pub");
  Connection c(dsn());
  table_and_publication(c, table, pub, cleanup);
  c.exec("GRANT SELECT ON " + table + " TO heliosdb_norepl");
  CdcDaemon d(pg_test::unique_name("err_norepl_slot"), pub);
  d.set_dsn(
      literal_dsn("heliosdb_norepl", pg_test::password_of("heliosdb_norepl"), pg_test::port()));
  auto r = d.run_once();
  expect_failure(r, "REPLICATION privilege", "");
  EXPECT_TRUE(contains(r.err, "role heliosdb_norepl has no REPLICATION privilege") ||
              contains(r.err, "the role has no REPLICATION privilege"))
      << describe(r);
  EXPECT_TRUE(contains(r.err, server_at(pg_test::port()))) << describe(r);
}

TEST(PostgresErrors, SlotInUseByAnotherConnection) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string table = pg_test::unique_name("err_inuse");
  const std::string pub = pg_test::unique_name("err_inuse_pub");
  const std::string slot = pg_test::unique_name("err_inuse_slot");
  Connection c(dsn());
  table_and_publication(c, table, pub, cleanup);
  c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {slot});
  cleanup.slots.push_back(slot);

  testing::TempDir dir;
  pg_test::write_passfile(dir.file("pgpass"));
  pid_t holder =
      testing::spawn_with_log({pg_test::pg_bin("pg_recvlogical"), "-d",
                               pg_test::dsn_without_password() + " passfile=" + dir.file("pgpass"),
                               "--slot", slot, "--start", "--no-loop", "-o", "proto_version=1",
                               "-o", "publication_names=" + pub, "-f", "/dev/null"},
                              dir.file("recvlogical.log"));
  struct Stop {
    pid_t pid;
    ~Stop() {
      ::kill(pid, SIGTERM);
      testing::wait_exit(pid);
    }
  } stop{holder};
  Connection su = pg_test::superuser();
  std::string pid;
  for (int i = 0; i < 200 && pid.empty(); ++i) {
    auto rows = su.query(
        "SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = $1 AND active",
        {slot});
    if (!rows.empty() && rows[0][0]) pid = *rows[0][0];
    if (pid.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(pid.empty()) << testing::read_file(dir.file("recvlogical.log"));

  CdcDaemon d(slot, pub);
  auto r = d.run_once();
  expect_failure(r, "is in use by another connection (pid " + pid + ")", "");
  EXPECT_TRUE(contains(r.err, "replication slot " + slot + " on " + server_at(pg_test::port())))
      << describe(r);
}

TEST(PostgresErrors, MissingPublicationWithCreatePublicationOff) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string slot = pg_test::unique_name("err_nopub_slot");
  const std::string pub = pg_test::unique_name("err_nopub");
  cleanup.slots.push_back(slot);
  CdcDaemon d(slot, pub, {"public.whatever"});
  d.add_source_option("create_publication = false");
  auto r = d.run_once();
  expect_failure(r, "publication " + pub + " does not exist on " + server_at(pg_test::port()), "");
  // Nothing was created.
  Connection c(dsn());
  EXPECT_TRUE(c.query("SELECT 1 FROM pg_publication WHERE pubname = $1", {pub}).empty());
}

TEST(PostgresErrors, PublishedTableWithoutPrimaryKeyIsAWarning) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string keyed = pg_test::unique_name("err_keyed");
  const std::string keyless = pg_test::unique_name("err_keyless");
  const std::string pub = pg_test::unique_name("err_keyless_pub");
  const std::string slot = pg_test::unique_name("err_keyless_slot");
  cleanup.slots.push_back(slot);
  Connection c(dsn());
  c.exec("CREATE TABLE " + keyed + " (id int PRIMARY KEY)");
  cleanup.sql.push_back("DROP TABLE IF EXISTS " + keyed);
  c.exec("CREATE TABLE " + keyless + " (v text)");
  cleanup.sql.push_back("DROP TABLE IF EXISTS " + keyless);
  cleanup.sql.push_back("DROP PUBLICATION IF EXISTS " + pub);
  CdcDaemon d(slot, pub, {"public." + keyed, "public." + keyless});
  auto r = d.run_once();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "table public." + keyless + " of publication " + pub +
                                  " has no primary key and no replica identity"))
      << describe(r);
  EXPECT_FALSE(contains(r.err, "table public." + keyed + " of publication")) << describe(r);
  // Its inserts still come, with an empty key.
  c.exec("INSERT INTO " + keyless + " VALUES ('k')");
  r = d.run_once();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto events = pg_test::of_table(d.events(), "public." + keyless);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].key, "");
  EXPECT_EQ(events[0].value, R"({"v":"k"})");
}

TEST(PostgresErrors, MissingSlotWithCreateSlotOff) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string table = pg_test::unique_name("err_noslot");
  const std::string pub = pg_test::unique_name("err_noslot_pub");
  const std::string slot = pg_test::unique_name("err_noslot_slot");
  cleanup.slots.push_back(slot);
  Connection c(dsn());
  table_and_publication(c, table, pub, cleanup);
  CdcDaemon d(slot, pub);
  d.add_source_option("create_slot = false");
  auto r = d.run_once();
  expect_failure(r, "replication slot " + slot + " does not exist on " + server_at(pg_test::port()),
                 "");
  EXPECT_TRUE(contains(r.err, "create_slot = true")) << describe(r);
  EXPECT_TRUE(c.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", {slot}).empty());
}

TEST(PostgresErrors, SlotDroppedWhileACheckpointExists) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string table = pg_test::unique_name("err_dropped");
  const std::string pub = pg_test::unique_name("err_dropped_pub");
  const std::string slot = pg_test::unique_name("err_dropped_slot");
  cleanup.slots.push_back(slot);
  Connection c(dsn());
  table_and_publication(c, table, pub, cleanup);
  // The slot before the row, so the first run delivers it and checkpoints
  // (a run that delivers nothing writes no checkpoint).
  c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {slot});
  CdcDaemon d(slot, pub);
  c.exec("INSERT INTO " + table + " VALUES (1)");
  auto r = d.run_once();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto pos = d.checkpoint_position();
  ASSERT_FALSE(pos.restart.empty()) << testing::read_file(d.checkpoint_path());

  pg_test::drop_slot_if_exists(slot);
  c.exec("INSERT INTO " + table + " VALUES (2)");
  r = d.run_once();
  expect_failure(r,
                 "replication slot " + slot + " on " + server_at(pg_test::port()) +
                     ", database heliosdb_test, user heliosdb_repl does not exist (it was "
                     "dropped), but checkpoint " +
                     d.checkpoint_path() + " is at LSN " + pos.restart,
                 "");
  // How to recover, both ways.
  EXPECT_TRUE(contains(r.err, "set [source.postgres] on_slot_lost = \"recreate\"")) << describe(r);
  EXPECT_TRUE(contains(r.err, "drop the slot and delete the checkpoint")) << describe(r);
  // It did not quietly create a new slot.
  EXPECT_TRUE(c.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", {slot}).empty());
}

// on_slot_lost = "recreate" at start: a new slot, and a snapshot of the
// published table through it, so the row inserted while there was no slot
// is delivered (as a READ, with the row before it); the run then ends.
TEST(PostgresErrors, SlotDroppedWhileACheckpointExistsWithRecreateSnapshotsTheTableAgain) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string table = pg_test::unique_name("err_recreate");
  const std::string pub = pg_test::unique_name("err_recreate_pub");
  const std::string slot = pg_test::unique_name("err_recreate_slot");
  cleanup.slots.push_back(slot);
  Connection c(dsn());
  table_and_publication(c, table, pub, cleanup);
  c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {slot});
  CdcDaemon d(slot, pub);
  d.add_source_option("on_slot_lost = \"recreate\"");
  c.exec("INSERT INTO " + table + " VALUES (1)");
  auto r = d.run_once();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_EQ(pg_test::of_table(d.events(), "public." + table).size(), 1u);

  pg_test::drop_slot_if_exists(slot);
  c.exec("INSERT INTO " + table + " VALUES (2)");  // while there is no slot
  r = d.run_once();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "does not exist (it was dropped)")) << describe(r);
  EXPECT_TRUE(contains(r.err, "on_slot_lost = \"recreate\": creating the slot again"))
      << describe(r);
  const auto events = pg_test::of_table(d.events(), "public." + table);
  ASSERT_EQ(events.size(), 3u) << describe(r);  // the INSERT, then a READ per row
  EXPECT_EQ(events[0].operation, "INSERT");
  EXPECT_EQ(events[1].operation, "READ");
  EXPECT_EQ(events[2].operation, "READ");
  EXPECT_EQ(events[1].value_json.get_integer("id"), 1) << events[1].line;
  EXPECT_EQ(events[2].value_json.get_integer("id"), 2) << events[2].line;
  EXPECT_FALSE(c.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", {slot}).empty());
}

TEST(PostgresErrors, SlotDroppedAndCreatedAgainIsAGap) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string table = pg_test::unique_name("err_recreated");
  const std::string pub = pg_test::unique_name("err_recreated_pub");
  const std::string slot = pg_test::unique_name("err_recreated_slot");
  cleanup.slots.push_back(slot);
  Connection c(dsn());
  table_and_publication(c, table, pub, cleanup);
  c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {slot});
  CdcDaemon d(slot, pub);
  c.exec("INSERT INTO " + table + " VALUES (1)");
  auto r = d.run_once();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto pos = d.checkpoint_position();
  ASSERT_FALSE(pos.restart.empty()) << testing::read_file(d.checkpoint_path());

  pg_test::drop_slot_if_exists(slot);
  c.exec("INSERT INTO " + table + " VALUES (2)");  // lost with the old slot
  c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {slot});
  const std::string recreated = pg_test::confirmed_flush_lsn(slot);
  ASSERT_GT(pg_test::parse_lsn(recreated), pg_test::parse_lsn(pos.restart));
  r = d.run_once();
  expect_failure(r,
                 "has confirmed_flush_lsn " + recreated + ", past LSN " + pos.restart +
                     " of checkpoint " + d.checkpoint_path(),
                 "");
  EXPECT_EQ(pg_test::of_table(d.events(), "public." + table).size(), 1u);
}

// The first run creates the slot and finds nothing to deliver. If the slot
// is then dropped and created again, the changes in between are gone: the
// next run must not start silently from the new slot.
TEST(PostgresErrors, SlotCreatedByAnIdleFirstRunThenDroppedAndCreatedAgainIsAGap) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string table = pg_test::unique_name("err_idle_first");
  const std::string pub = pg_test::unique_name("err_idle_first_pub");
  const std::string slot = pg_test::unique_name("err_idle_first_slot");
  cleanup.slots.push_back(slot);
  Connection c(dsn());
  table_and_publication(c, table, pub, cleanup);
  CdcDaemon d(slot, pub);
  auto r = d.run_once();  // creates the slot; nothing to deliver
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const std::string created = pg_test::confirmed_flush_lsn(slot);

  pg_test::drop_slot_if_exists(slot);
  c.exec("INSERT INTO " + table + " VALUES (1)");  // lost with the old slot
  c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {slot});
  r = d.run_once();
  EXPECT_EQ(pg_test::of_table(d.events(), "public." + table).size(), 0u);
  expect_failure(r, "past LSN " + created, "");
}

TEST(PostgresErrors, SlotAdvancedPastTheCheckpoint) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string table = pg_test::unique_name("err_ahead");
  const std::string pub = pg_test::unique_name("err_ahead_pub");
  const std::string slot = pg_test::unique_name("err_ahead_slot");
  cleanup.slots.push_back(slot);
  Connection c(dsn());
  table_and_publication(c, table, pub, cleanup);
  // The slot before the row, so the first run delivers it and checkpoints
  // (a run that delivers nothing writes no checkpoint).
  c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {slot});
  CdcDaemon d(slot, pub);
  c.exec("INSERT INTO " + table + " VALUES (1)");
  auto r = d.run_once();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto pos = d.checkpoint_position();
  ASSERT_FALSE(pos.restart.empty()) << testing::read_file(d.checkpoint_path());

  c.exec("INSERT INTO " + table + " SELECT g FROM generate_series(2, 100) AS g");
  Connection su = pg_test::superuser();
  su.query("SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())", {slot});
  const std::string advanced = pg_test::confirmed_flush_lsn(slot);
  ASSERT_GT(pg_test::parse_lsn(advanced), pg_test::parse_lsn(pos.restart));

  r = d.run_once();
  expect_failure(r,
                 "replication slot " + slot + " on " + server_at(pg_test::port()) +
                     ", database heliosdb_test, user heliosdb_repl has confirmed_flush_lsn " +
                     advanced + ", past LSN " + pos.restart + " of checkpoint " +
                     d.checkpoint_path(),
                 "");
  // The slot stays where it was put: the daemon confirmed nothing.
  EXPECT_EQ(pg_test::confirmed_flush_lsn(slot), advanced);
}

TEST(PostgresErrors, WalPathWithThePostgresSourceIsAConfigError) {
  CdcDaemon d(pg_test::unique_name("err_walpath"), "err_walpath_pub");
  d.add_cdc_option("wal_path = \"/tmp/heliosdb-no-such-wal\"");
  auto r = d.run_once();
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_TRUE(contains(r.out + r.err, "wal_path")) << describe(r);
  EXPECT_FALSE(contains(r.out + r.err, pg_test::password_of("heliosdb_repl"))) << describe(r);
}

TEST(PostgresErrors, BadSlotNameIsAConfigError) {
  CdcDaemon d("Bad-Slot", "err_badslot_pub");
  auto r = d.run_once();
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_TRUE(contains(r.out + r.err, "slot")) << describe(r);
  EXPECT_TRUE(contains(r.out + r.err, "lower-case letters, digits or underscores")) << describe(r);
  EXPECT_FALSE(contains(r.out + r.err, pg_test::password_of("heliosdb_repl"))) << describe(r);
}

}  // namespace
}  // namespace heliosdb::cdc
