// End to end through the heliosdb-cdc binary: generated WAL -> run -> file
// sink, compared with expectations computed independently from the WAL
// (this file's own transaction bookkeeping, base64 and JSON).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "heliosdb/cdc/wal.h"
#include "pipeline/checkpoint_store.h"
#include "testing/checkpoint_util.h"
#include "testing/test_util.h"
#include "testing/wal_changes.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;
size_t complete_lines(const std::string& path) { return testing::count_complete_lines(path); }

using Change = testing::CommittedChange;  // the expectation, from the WAL
std::vector<Change> committed_changes(const std::string& wal_dir, const std::string& database,
                                      uint64_t* aborted_changes = nullptr) {
  return testing::read_committed_changes(wal_dir, database, aborted_changes);
}

std::string write_config(const TempDir& dir, const std::string& extra_cdc = "") {
  std::string path = dir.file("cdc.toml");
  testing::write_file(path, "[cdc]\nwal_path = \"" + dir.file("wal") + "\"\ndatabase = \"shop\"\n" +
                                "checkpoint_dir = \"" + dir.file("ckpt") +
                                "\"\nenable_metrics = false\n" + extra_cdc +
                                "\n[sink]\ntype = \"file\"\n\n[sink.file]\npath = \"" +
                                dir.file("out.jsonl") + "\"\n");
  return path;
}

void generate(const TempDir& dir, const std::string& database, int events, int seed) {
  auto r = testing::run_cli({"wal",
                             "generate",
                             "--dir",
                             dir.file("wal"),
                             "--database",
                             database,
                             "--events",
                             std::to_string(events),
                             "--tables",
                             "users,orders,payments",
                             "--txn-size",
                             "4",
                             "--abort-ratio",
                             "0.2",
                             "--value-bytes",
                             "64",
                             "--segment-bytes",
                             "262144",
                             "--seed",
                             std::to_string(seed)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST(PipelineEndToEnd, RunOnceWritesExactlyTheCommittedChangesOfTheDatabaseInCommitOrder) {
  TempDir dir;
  generate(dir, "shop", 5000, 1);
  generate(dir, "other", 1000, 2);
  generate(dir, "shop", 3000, 3);
  uint64_t aborted = 0;
  auto expected = committed_changes(dir.file("wal"), "shop", &aborted);
  ASSERT_GT(expected.size(), 5000u);
  ASSERT_GT(aborted, 0u) << "the workload should contain aborted transactions";

  auto r = testing::run_cli({"run", "--config", write_config(dir), "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = testing::read_lines(dir.file("out.jsonl"));
  ASSERT_EQ(lines.size(), expected.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(lines[i], expected[i].json) << "line " << i;
  }
  EXPECT_NE(r.err.find(std::to_string(aborted) + " aborted changes dropped"), std::string::npos)
      << r.err;

  // A second run resends nothing.
  auto again = testing::run_cli({"run", "--config", write_config(dir), "--once"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(testing::read_lines(dir.file("out.jsonl")).size(), expected.size());
}

TEST(PipelineEndToEnd, CustomSinkExampleRunsAgainstAGeneratedWal) {
  TempDir dir;
  generate(dir, "shop", 500, 4);
  auto expected = committed_changes(dir.file("wal"), "shop");
  auto r = testing::run_command({CUSTOM_SINK_EXAMPLE, dir.file("wal"), "shop", dir.file("ckpt")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t printed = 0;
  for (size_t pos = 0; (pos = r.out.find(" shop.", pos)) != std::string::npos; ++pos) ++printed;
  EXPECT_EQ(printed, expected.size());
  EXPECT_NE(r.out.find("table users: "), std::string::npos);
}

TEST(PipelineEndToEnd, BadConfigsExitTwoNamingKeyAndLine) {
  TempDir dir;
  struct Case {
    std::string toml;
    std::string expect;
  } cases[] = {
      {"[cdc]\ndatabase = \"d\"\nbatchsize = 5\n", ":3: cdc.batchsize: unknown key"},
      {"[cdc]\ndatabase = \"d\"\nbatch_size = \"big\"\n",
       ":3: cdc.batch_size: expected an integer, got a string"},
      {"[cdc]\ndatabase = \"d\"\nbatch_size = 0\n", ":3: cdc.batch_size: value 0 is out of range"},
      {"[cdc]\nwal_path = \"/x\"\n", ":1: cdc.database: must be set"},
      {"[cdc]\ndatabase = \"d\"\n[sink]\ntype = \"carrier-pigeon\"\n",
       ":4: sink.type: \"carrier-pigeon\" is not one of"},
      {"[cdc]\ndatabase = \"${HELIOSDB_CDC_TEST_UNSET_VAR}\"\n",
       ":2: cdc.database: environment variable HELIOSDB_CDC_TEST_UNSET_VAR is not set"},
      {"[cdc\ndatabase = \"d\"\n", ":1:"},
      {"[cdc]\ndatabase = \"d\"\n[sink]\ntype = \"kafka\"\n[sink.kafka]\nformat = \"avro\"\n",
       ":6: sink.kafka.format:"},
  };
  for (const auto& c : cases) {
    testing::write_file(dir.file("bad.toml"), c.toml);
    auto r = testing::run_cli({"run", "--config", dir.file("bad.toml"), "--once"});
    EXPECT_EQ(r.exit_code, 2) << c.toml;
    EXPECT_NE(r.err.find(dir.file("bad.toml") + c.expect), std::string::npos)
        << "for:\n"
        << c.toml << "\nstderr:\n"
        << r.err;
    auto check = testing::run_cli({"config", "check", dir.file("bad.toml")});
    EXPECT_EQ(check.exit_code, 2) << c.toml;
  }
  auto missing = testing::run_cli({"run", "--config", dir.file("nope.toml")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.toml"), std::string::npos);
  auto no_flag = testing::run_cli({"run"});
  EXPECT_EQ(no_flag.exit_code, 2);
}

TEST(PipelineEndToEnd, ConfigCheckPrintsResolvedOptionsWithSecretsRedacted) {
  TempDir dir;
  setenv("HELIOSDB_CDC_TEST_DB", "shop", 1);
  testing::write_file(dir.file("c.toml"),
                      "[cdc]\ndatabase = \"${HELIOSDB_CDC_TEST_DB}\"\nbatch_size = 50\n"
                      "[sink]\ntype = \"file\"\n[sink.file]\npath = \"/tmp/x.jsonl\"\n"
                      "[schema_registry]\nurl = \"http://127.0.0.1:1\"\nusername = \"u\"\n"
                      "password = \"hunter2-secret\"\n");
  auto r = testing::run_cli({"config", "check", dir.file("c.toml")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("cdc.database = \"shop\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cdc.batch_size = 50\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cdc.checkpoint_interval = 1000  # default"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sink.file.path = \"/tmp/x.jsonl\""), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<redacted>"), std::string::npos) << r.out;
}

TEST(PipelineEndToEnd, CheckpointBeyondTheWalExitsOneWithBothSequences) {
  TempDir dir;
  generate(dir, "shop", 200, 5);
  ASSERT_TRUE(
      testing::save_wal_checkpoint(dir.file("ckpt"), "shop", dir.file("wal"), {1, 999999, 999999})
          .is_ok());
  auto r = testing::run_cli({"run", "--config", write_config(dir), "--once"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("999999"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("beyond the end of the WAL"), std::string::npos) << r.err;
}

// ---- crash safety ---------------------------------------------------------

// SIGKILL mid-stream: tests/integration/sink_conformance_test.cc
// (SinkConformance.SigkillMidStreamLosesNothing), for every sink.

TEST(PipelineEndToEnd, SigtermFlushesCheckpointsAndExitsZero) {
  TempDir dir;
  generate(dir, "shop", 3000, 21);
  auto expected = committed_changes(dir.file("wal"), "shop");
  std::string config = write_config(dir, "checkpoint_interval = 1000000\n");
  for (int sig : {SIGTERM, SIGINT}) {
    std::filesystem::remove(dir.file("daemon.log"));
    pid_t daemon = testing::spawn_with_log({testing::cli_path(), "run", "--config", config},
                                           dir.file("daemon.log"));
    // Wait until it runs (its handlers are installed once it has read the
    // checkpoint) and everything is written, then ask it to stop.
    auto started = [&] {
      std::string log = testing::read_file(dir.file("daemon.log"));
      return log.find("resuming") != std::string::npos ||
             log.find("no checkpoint") != std::string::npos;
    };
    for (int i = 0;
         i < 1000 && (!started() || complete_lines(dir.file("out.jsonl")) < expected.size()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(kill(daemon, sig), 0);
    int status = 0;
    waitpid(daemon, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "signal " << WTERMSIG(status) << "\n"
                                   << testing::read_file(dir.file("daemon.log"));
    EXPECT_EQ(WEXITSTATUS(status), 0) << testing::read_file(dir.file("daemon.log"));
    // The final checkpoint covers everything delivered: nothing is resent.
    auto ckpt = testing::load_wal_checkpoint(dir.file("ckpt"), "shop");
    ASSERT_TRUE(ckpt);
    EXPECT_TRUE(ckpt->covers(expected.back().commit_sequence, expected.back().entry.sequence));
    EXPECT_EQ(complete_lines(dir.file("out.jsonl")), expected.size());
  }
}

}  // namespace
}  // namespace heliosdb::cdc
