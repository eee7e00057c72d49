// End to end through the heliosdb-cdc binary: a generated WAL -> `run` with
// [sink] type = "kinesis" -> kinesis-mock (directly, or through the fault
// proxy), read back from every shard with GetShardIterator/GetRecords and
// compared with expectations computed here from the WAL itself.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "heliosdb/cdc/wal.h"
#include "kinesis_test_util.h"
#include "sink/aws/crypto.h"
#include "testing/test_util.h"
#include "testing/wal_changes.h"

namespace heliosdb::cdc {
namespace {

using namespace std::chrono_literals;
using kinesis_test::ReadRecord;
using testing::TempDir;
using testing::wait_exit;

// The expectation, from the WAL (testing/wal_changes.h), with the partition
// key docs/kinesis.md gives it.
struct Change : testing::CommittedChange {
  std::string partition_key;
};

std::vector<Change> committed_changes(const std::string& wal_dir, const std::string& database) {
  std::vector<Change> out;
  for (auto& c : testing::read_committed_changes(wal_dir, database)) {
    Change ch;
    ch.partition_key = kinesis_test::expected_partition_key(c.entry, database);
    static_cast<testing::CommittedChange&>(ch) = std::move(c);
    out.push_back(std::move(ch));
  }
  return out;
}

// `truncate_ratio` > 0 adds TRUNCATE changes (empty key: partition key
// "<database>.<table>").
void generate(const TempDir& dir, const std::string& database, int events, int seed,
              const std::string& truncate_ratio = "0") {
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
                             "--truncate-ratio",
                             truncate_ratio,
                             "--value-bytes",
                             "64",
                             "--seed",
                             std::to_string(seed)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::string write_config(const TempDir& dir, const std::string& stream, const std::string& endpoint,
                         const std::string& extra = "", const std::string& extra_cdc = "") {
  std::string path = dir.file("cdc.toml");
  testing::write_file(path, "[cdc]\nwal_path = \"" + dir.file("wal") +
                                "\"\ndatabase = \"shop\"\ncheckpoint_dir = \"" + dir.file("ckpt") +
                                "\"\nenable_metrics = false\n" + extra_cdc +
                                "\n[sink]\ntype = \"kinesis\"\n\n[sink.kinesis]\nstream_name = \"" +
                                stream + "\"\nendpoint = \"" + endpoint +
                                "\"\nverify_tls = false\naccess_key_id = \"AKIDTEST\"\n"
                                "secret_access_key = \"${HELIOSDB_TEST_AWS_SECRET}\"\n"
                                "retry_base_delay_ms = 5\nretry_max_delay_ms = 100\n" +
                                extra);
  return path;
}

struct Verdict {
  size_t lost = 0;
  size_t duplicates = 0;
};

Verdict check_records(const std::vector<Change>& expected, const std::vector<ReadRecord>& records) {
  std::map<std::string, const Change*> by_json;
  for (const auto& c : expected) by_json[c.json] = &c;
  std::map<std::string, int> seen;
  std::map<std::string, size_t> last_order_of_key;
  std::map<std::string, std::string> shard_of_key;
  for (const auto& r : records) {  // each shard in stream order
    auto it = by_json.find(r.data);
    EXPECT_NE(it, by_json.end()) << "unexpected record: " << r.data.substr(0, 300);
    if (it == by_json.end()) continue;
    const Change& c = *it->second;
    EXPECT_EQ(r.partition_key, c.partition_key) << c.json.substr(0, 60);
    auto [sit, fresh] = shard_of_key.emplace(r.partition_key, r.shard_id);
    EXPECT_EQ(sit->second, r.shard_id) << "key split over shards";
    if (seen[c.json]++ == 0) {
      auto [lit, first] = last_order_of_key.emplace(r.partition_key, c.order);
      if (!first) {
        EXPECT_LT(lit->second, c.order)
            << "per-key commit order broken at sequence " << c.entry.sequence;
        lit->second = c.order;
      }
    }
  }
  Verdict v;
  for (const auto& c : expected) {
    if (seen[c.json] == 0) ++v.lost;
    if (seen[c.json] > 1) v.duplicates += seen[c.json] - 1;
  }
  return v;
}

class KinesisEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(kinesis_test::require_service());
    kinesis_test::proxy("/__reset");
    setenv("HELIOSDB_TEST_AWS_SECRET", "e2e-secret-value", 1);
  }
  void TearDown() override { kinesis_test::proxy("/__reset"); }
};

TEST_F(KinesisEndToEnd, GeneratedWalArrivesCompleteByteExactWithKeysAndOrder) {
  TempDir dir;
  generate(dir, "shop", 1500, 1, "0.01");
  generate(dir, "other", 300, 2);  // another database: must not appear
  generate(dir, "shop", 500, 3);
  auto expected = committed_changes(dir.file("wal"), "shop");
  ASSERT_GT(expected.size(), 1000u);
  size_t truncates = 0;
  for (const auto& c : expected) truncates += c.entry.kind == WalEntryKind::Truncate;
  EXPECT_GT(truncates, 0u) << "the workload should include TRUNCATE (empty key)";
  std::string stream = kinesis_test::unique_name("e2e-clean");
  ASSERT_NO_FATAL_FAILURE(kinesis_test::create_stream(stream, 4));
  std::string config = write_config(dir, stream, kinesis_test::kTlsEndpoint);
  auto r = testing::run_cli({"run", "--config", config, "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("e2e-secret-value"), std::string::npos) << "secret printed";
  auto records = kinesis_test::read_all(stream, expected.size());
  EXPECT_EQ(records.size(), expected.size());
  Verdict v = check_records(expected, records);
  EXPECT_EQ(v.lost, 0u);
  EXPECT_EQ(v.duplicates, 0u);
  std::set<std::string> shards;
  for (const auto& rec : records) shards.insert(rec.shard_id);
  EXPECT_EQ(shards.size(), 4u);

  // A second run finds everything checkpointed and sends nothing.
  auto again = testing::run_cli({"run", "--config", config, "--once"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(kinesis_test::read_all(stream, expected.size()).size(), expected.size());
}

TEST_F(KinesisEndToEnd, InjectedPartialFailuresAndThrottlingLoseNothing) {
  TempDir dir;
  generate(dir, "shop", 1200, 4);
  auto expected = committed_changes(dir.file("wal"), "shop");
  std::string stream = kinesis_test::unique_name("e2e-faults");
  ASSERT_NO_FATAL_FAILURE(kinesis_test::create_stream(stream, 2));
  kinesis_test::proxy("/__fault",
                      R"({"fail_every": 6, "fail_calls": -1, "throttle_calls": 3,
                          "error_5xx_calls": 2})");
  std::string config =
      write_config(dir, stream, kinesis_test::kProxyEndpoint, "max_retries = 10\n");
  auto r = testing::run_cli({"run", "--config", config, "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(kinesis_test::proxy_stat("entries_failed"), 50u);
  EXPECT_EQ(kinesis_test::proxy_stat("calls_throttled"), 3u);
  auto records = kinesis_test::read_all(stream, expected.size());
  Verdict v = check_records(expected, records);
  EXPECT_EQ(v.lost, 0u);
  EXPECT_EQ(v.duplicates, 0u) << "only failed entries are resent, and they were never written";
}

TEST_F(KinesisEndToEnd, GivingUpExitsOneAndTheCheckpointStaysBeforeTheFailedRecord) {
  TempDir dir;
  generate(dir, "shop", 800, 5);
  auto expected = committed_changes(dir.file("wal"), "shop");
  std::string stream = kinesis_test::unique_name("e2e-giveup");
  ASSERT_NO_FATAL_FAILURE(kinesis_test::create_stream(stream, 1));
  // One key keeps failing: the run gives up after max_retries and exits 1.
  const Change& doomed = expected[expected.size() / 2];
  kinesis_test::proxy("/__fault", R"({"fail_key": ")" + doomed.partition_key + R"("})");
  std::string config = write_config(dir, stream, kinesis_test::kProxyEndpoint, "max_retries = 2\n");
  auto r = testing::run_cli({"run", "--config", config, "--once"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("max_retries = 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ProvisionedThroughputExceededException"), std::string::npos) << r.err;
  // The fault clears; the next run resumes from the checkpoint, which never
  // passed the failed record: everything arrives (some records twice).
  kinesis_test::proxy("/__reset");
  auto again = testing::run_cli({"run", "--config", config, "--once"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto records = kinesis_test::read_all(stream, expected.size());
  Verdict v = check_records(expected, records);
  EXPECT_EQ(v.lost, 0u) << "a change behind the failed record was skipped";
  std::cout << "changes: " << expected.size() << ", redelivered after give-up: " << v.duplicates
            << "\n";
}

TEST_F(KinesisEndToEnd, MissingStreamExitsOneWithClearError) {
  TempDir dir;
  generate(dir, "shop", 50, 9);
  auto r = testing::run_cli({"run", "--config",
                             write_config(dir, "e2e-no-such-stream", kinesis_test::kPlainEndpoint),
                             "--once"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("Kinesis stream 'e2e-no-such-stream' (region us-east-1, endpoint "
                       "http://127.0.0.1:14568) does not exist"),
            std::string::npos)
      << r.err;
}

TEST_F(KinesisEndToEnd, WrongEndpointExitsOneWithClearError) {
  TempDir dir;
  generate(dir, "shop", 50, 10);
  auto r = testing::run_cli(
      {"run", "--config",
       write_config(dir, "heliosdb-test-1", "http://127.0.0.1:14599", "max_retries = 1\n"),
       "--once"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot reach http://127.0.0.1:14599/"), std::string::npos) << r.err;
}

TEST_F(KinesisEndToEnd, NoCredentialsExitsOneWithClearError) {
  TempDir dir;
  generate(dir, "shop", 50, 11);
  std::string path = dir.file("cdc.toml");
  testing::write_file(path, "[cdc]\nwal_path = \"" + dir.file("wal") +
                                "\"\ndatabase = \"shop\"\ncheckpoint_dir = \"" + dir.file("ckpt") +
                                "\"\nenable_metrics = false\n[sink]\ntype = \"kinesis\"\n"
                                "[sink.kinesis]\nstream_name = \"heliosdb-test-1\"\n"
                                "endpoint = \"http://127.0.0.1:14568\"\n");
  std::map<std::string, std::string> saved;
  for (const char* v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                        "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "HOME"}) {
    if (const char* x = std::getenv(v)) saved[v] = x;
    unsetenv(v);
  }
  setenv("HOME", dir.path().c_str(), 1);
  auto r = testing::run_cli({"run", "--config", path, "--once"});
  unsetenv("HOME");
  for (const auto& [n, v] : saved) setenv(n.c_str(), v.c_str(), 1);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("no AWS credentials found"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace heliosdb::cdc
