// `heliosdb-cdc snapshot status` and `snapshot request` through the binary,
// without a PostgreSQL server: status against checkpoint files written
// here, request's refusals that come before (or instead of) the server.
// Against the real server: tests/integration/postgres_snapshot_cli_test.cc.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "pipeline/checkpoint_store.h"
#include "source/postgres/postgres_source.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::run_cli;
using testing::TempDir;
using testing::write_file;

// 2025-11-25T14:40:00.123Z
constexpr int64_t kWrittenAt = 1764081600123;

// A PostgreSQL config on `port` (nothing listens there in these tests),
// database shop, checkpoints in dir/ckpt.
std::string write_pg_config(const TempDir& dir, int port = 1) {
  const std::string path = dir.file("cdc.toml");
  write_file(path,
             "[source]\ntype = \"postgres\"\n\n[source.postgres]\ndsn = \"host=127.0.0.1 port=" +
                 std::to_string(port) +
                 " dbname=shop user=cdc password=hunter2-secret connect_timeout=5\"\n"
                 "slot = \"shop_slot\"\npublication = \"shop_pub\"\n\n[cdc]\n"
                 "checkpoint_dir = \"" +
                 dir.file("ckpt") +
                 "\"\nenable_metrics = false\n\n[sink]\ntype = \"file\"\n\n[sink.file]\n"
                 "path = \"" +
                 dir.file("out.jsonl") + "\"\n");
  return path;
}

std::string write_wal_config(const TempDir& dir) {
  const std::string path = dir.file("wal.toml");
  write_file(path, "[cdc]\nwal_path = \"" + dir.file("wal") +
                       "\"\ndatabase = \"shop\"\ncheckpoint_dir = \"" + dir.file("ckpt") +
                       "\"\nenable_metrics = false\n\n[sink]\ntype = \"file\"\n\n[sink.file]\n"
                       "path = \"" +
                       dir.file("out.jsonl") + "\"\n");
  return path;
}

std::string checkpoint_path(const TempDir& dir) { return dir.file("ckpt") + "/shop.checkpoint"; }

// Writes the checkpoint file a PostgreSQL pipeline of database shop would.
void write_pg_checkpoint(const TempDir& dir, const std::string& position,
                         const std::string& source_type = "postgres") {
  std::filesystem::create_directories(dir.file("ckpt"));
  Checkpoint c;
  c.pipeline = "shop";
  c.source = {source_type, "7301234567890123456/shop_slot", position};
  c.updated_at_ms = kWrittenAt;
  write_file(checkpoint_path(dir), format_checkpoint(c));
}

pg::SnapshotState three_tables() {
  pg::SnapshotState s;
  s.run = 2;
  s.last_request = 0x1700000;
  s.tables = {{"public.users", pg::SnapshotTableState::Phase::kDone, 1000, {}},
              {"public.orders", pg::SnapshotTableState::Phase::kRunning, 420, {"42", "a, b"}},
              {"public.items", pg::SnapshotTableState::Phase::kPending, 0, {}}};
  return s;
}

// ---- status ----------------------------------------------------------------------

TEST(SnapshotStatusCli, NoCheckpointYetSaysSoAndExitsZero) {
  TempDir dir;
  const std::string config = write_pg_config(dir);
  auto r = run_cli({"snapshot", "status", "--config", config});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "no checkpoint yet at " + checkpoint_path(dir) +
                       ": the daemon has not delivered anything, and no snapshot has run\n");
  EXPECT_EQ(r.err, "");
  auto j = run_cli({"snapshot", "status", "--config", config, "--json"});
  EXPECT_EQ(j.exit_code, 0) << j.err;
  EXPECT_EQ(j.out, "{\"checkpoint\":\"" + checkpoint_path(dir) + "\",\"found\":false}\n");
}

TEST(SnapshotStatusCli, AStreamOnlyCheckpointSaysNoSnapshotHasRun) {
  TempDir dir;
  const std::string config = write_pg_config(dir);
  write_pg_checkpoint(dir, pg::encode_postgres_position({0x16B3748, 0x16B3700, 0x16B3700}));
  auto r = run_cli({"snapshot", "status", "--config", config});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "checkpoint " + checkpoint_path(dir) +
                       ", written 2025-11-25T14:40:00.123Z\n"
                       "stream: delivered through the transaction committed at 0/16B3700; "
                       "reading resumes at 0/16B3748\n"
                       "no snapshot has run\n");
  auto j = run_cli({"snapshot", "status", "--config", config, "--json"});
  EXPECT_EQ(j.exit_code, 0) << j.err;
  EXPECT_EQ(j.out, "{\"checkpoint\":\"" + checkpoint_path(dir) +
                       "\",\"found\":true,\"updated_at_ms\":1764081600123,\"stream\":{"
                       "\"restart_lsn\":\"0/16B3748\",\"commit_lsn\":\"0/16B3700\",\"event\":"
                       "23803648},\"snapshot\":null}\n");
}

TEST(SnapshotStatusCli, ShowsEachTablesPhaseRowsAndResumeKey) {
  TempDir dir;
  const std::string config = write_pg_config(dir);
  write_pg_checkpoint(dir, pg::encode_postgres_position({0x2000028, 0x2000020, 3}, three_tables()));
  auto r = run_cli({"snapshot", "status", "--config", config});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "checkpoint " + checkpoint_path(dir) +
                       ", written 2025-11-25T14:40:00.123Z\n"
                       "stream: delivered through change 3 of the transaction committed at "
                       "0/2000020; reading resumes at 0/2000028\n"
                       "snapshot run 2 (last request taken at 0/1700000)\n"
                       "  public.users   done     1000 rows\n"
                       "  public.orders  running  420 rows, resumes after key (42, \"a, b\")\n"
                       "  public.items   pending  0 rows\n"
                       "1 of 3 tables done, 1 running, 1 pending\n");
  EXPECT_EQ(r.err, "");
}

TEST(SnapshotStatusCli, JsonIsOneObjectWithEveryTable) {
  TempDir dir;
  const std::string config = write_pg_config(dir);
  write_pg_checkpoint(dir, pg::encode_postgres_position({0x2000028, 0x2000020, 3}, three_tables()));
  auto r = run_cli({"snapshot", "status", "--config", config, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"checkpoint\":\"" + checkpoint_path(dir) +
                "\",\"found\":true,\"updated_at_ms\":1764081600123,\"stream\":{\"restart_lsn\":"
                "\"0/2000028\",\"commit_lsn\":\"0/2000020\",\"event\":3},\"snapshot\":{\"run\":2,"
                "\"last_request_lsn\":\"0/1700000\",\"tables\":["
                "{\"table\":\"public.users\",\"phase\":\"done\",\"rows\":1000,\"after\":[]},"
                "{\"table\":\"public.orders\",\"phase\":\"running\",\"rows\":420,\"after\":["
                "\"42\",\"a, b\"]},"
                "{\"table\":\"public.items\",\"phase\":\"pending\",\"rows\":0,\"after\":[]}],"
                "\"done\":1,\"running\":1,\"pending\":1}}\n");
}

TEST(SnapshotStatusCli, ARunningTableWithoutAKeyResumesFromTheStartAndKeysAreQuotedWhenNeeded) {
  TempDir dir;
  const std::string config = write_pg_config(dir);
  pg::SnapshotState s;
  s.run = 1;
  s.tables = {{"public.a", pg::SnapshotTableState::Phase::kRunning, 0, {}},
              {"public.b", pg::SnapshotTableState::Phase::kDone, 1, {}}};
  write_pg_checkpoint(dir, pg::encode_postgres_position({0x28, 0, 0}, s));
  auto r = run_cli({"snapshot", "status", "--config", config});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "checkpoint " + checkpoint_path(dir) +
                       ", written 2025-11-25T14:40:00.123Z\n"
                       "stream: nothing delivered yet; reading resumes at 0/28\n"
                       "snapshot run 1\n"
                       "  public.a  running  0 rows, resumes from the start\n"
                       "  public.b  done     1 row\n"
                       "1 of 2 tables done, 1 running, 0 pending\n");

  s.tables = {{"public.k",
               pg::SnapshotTableState::Phase::kRunning,
               7,
               {"", "say \"hi\"", "caf\xC3\xA9", "tab\tnl\n", "x)"}}};
  write_pg_checkpoint(dir, pg::encode_postgres_position({0x28, 0, 0}, s));
  r = run_cli({"snapshot", "status", "--config", config});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("  public.k  running  7 rows, resumes after key (\"\", \"say \\\"hi\\\"\", "
                       "caf\xC3\xA9, \"tab\\tnl\\n\", \"x)\")\n"
                       "0 of 1 table done, 1 running, 0 pending\n"),
            std::string::npos)
      << r.out;
}

TEST(SnapshotStatusCli, ADamagedCheckpointFileExitsOneNamingIt) {
  TempDir dir;
  const std::string config = write_pg_config(dir);
  write_pg_checkpoint(dir, pg::encode_postgres_position({0x28, 0x20, 1}, three_tables()));
  std::string text = testing::read_file(checkpoint_path(dir));
  text[text.find("public.users")] = 'P';  // the CRC no longer matches
  write_file(checkpoint_path(dir), text);
  auto r = run_cli({"snapshot", "status", "--config", config});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "heliosdb-cdc: snapshot status: checkpoint file " + checkpoint_path(dir) +
                       " is damaged: checksum mismatch (delete it to start from the oldest WAL "
                       "entry)\n");
}

// The file's checksum is right but the position in it is not one: the
// damage is named with the file and what is wrong.
TEST(SnapshotStatusCli, ACheckpointWithADamagedSnapshotPartExitsOneSayingWhat) {
  TempDir dir;
  const std::string config = write_pg_config(dir);
  write_pg_checkpoint(dir, "pg1 0/28 0/20 1 run=2;req=0/0;t=public.users:finished:1:");
  auto r = run_cli({"snapshot", "status", "--config", config});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "heliosdb-cdc: snapshot status: checkpoint file " + checkpoint_path(dir) +
                       " is damaged: not a PostgreSQL position: snapshot progress "
                       "'run=2;req=0/0;t=public.users:finished:1:': unknown phase 'finished'\n");
}

TEST(SnapshotStatusCli, ACheckpointOfAnotherSourceExitsOne) {
  TempDir dir;
  const std::string config = write_pg_config(dir);
  write_pg_checkpoint(dir, "restart 1 commit 2 event 2", "heliosdb-wal");
  auto r = run_cli({"snapshot", "status", "--config", config});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "heliosdb-cdc: snapshot status: checkpoint file " + checkpoint_path(dir) +
                       " was written by a \"heliosdb-wal\" source, not by the PostgreSQL source "
                       "(\"postgres\")\n");
}

TEST(SnapshotStatusCli, AConfigWhoseSourceIsNotPostgresExitsTwo) {
  TempDir dir;
  auto r = run_cli({"snapshot", "status", "--config", write_wal_config(dir)});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "heliosdb-cdc: snapshot status: " + dir.file("wal.toml") +
                       " reads [source] type = \"heliosdb_wal\"; snapshots are of the PostgreSQL "
                       "source only ([source] type = \"postgres\")\n");
}

TEST(SnapshotStatusCli, AnInvalidConfigExitsTwo) {
  TempDir dir;
  write_file(dir.file("bad.toml"), "[source]\ntype = \"postgres\"\n");
  auto r = run_cli({"snapshot", "status", "--config", dir.file("bad.toml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("invalid configuration"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("source.postgres.dsn: must not be empty"), std::string::npos) << r.err;
}

// ---- request ---------------------------------------------------------------------

TEST(SnapshotRequestCli, AConfigWhoseSourceIsNotPostgresExitsTwo) {
  TempDir dir;
  auto r = run_cli(
      {"snapshot", "request", "--config", write_wal_config(dir), "--table", "public.users"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "heliosdb-cdc: snapshot request: " + dir.file("wal.toml") +
                       " reads [source] type = \"heliosdb_wal\"; snapshots are of the PostgreSQL "
                       "source only ([source] type = \"postgres\")\n");
}

TEST(SnapshotRequestCli, ATableThatIsNotSchemaDotTableExitsTwo) {
  TempDir dir;
  const std::string config = write_pg_config(dir);
  for (const std::string bad : {"users", ".users", "public.", "a.b.c"}) {
    auto r = run_cli(
        {"snapshot", "request", "--config", config, "--table", "public.ok", "--table", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_EQ(r.err, "heliosdb-cdc: snapshot request: --table '" + bad +
                         "' is not schema.table (e.g. public.users)\n");
  }
}

TEST(SnapshotRequestCli, WithoutATableIsAUsageError) {
  TempDir dir;
  auto r = run_cli({"snapshot", "request", "--config", write_pg_config(dir)});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--table is required"), std::string::npos) << r.err;
}

// Nothing listens on the port: exit 1 naming the server, never the DSN's
// password.
TEST(SnapshotRequestCli, AnUnreachableServerExitsOneWithoutThePassword) {
  TempDir dir;
  const int port = testing::free_loopback_port();
  auto r = run_cli(
      {"snapshot", "request", "--config", write_pg_config(dir, port), "--table", "public.users"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(
      r.err.rfind("heliosdb-cdc: snapshot request: cannot connect to PostgreSQL at 127.0.0.1:" +
                      std::to_string(port) + ", database shop, user cdc: ",
                  0),
      0u)
      << r.err;
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
}

TEST(SnapshotCli, HelpDescribesBothCommands) {
  auto request = run_cli({"snapshot", "request", "--help"});
  EXPECT_EQ(request.exit_code, 0);
  EXPECT_NE(request.out.find("--table SCHEMA.TABLE"), std::string::npos) << request.out;
  EXPECT_NE(request.out.find("pg_logical_emit_message"), std::string::npos) << request.out;
  auto status = run_cli({"snapshot", "status", "--help"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find("--json"), std::string::npos) << status.out;
  auto top = run_cli({"--help"});
  EXPECT_NE(top.out.find("snapshot"), std::string::npos) << top.out;
}

}  // namespace
}  // namespace heliosdb::cdc
