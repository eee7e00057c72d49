// End to end through the heliosdb-cdc binary: a generated WAL -> `run` with
// [sink] type = "kafka" -> a real Apache Kafka broker, read back by an
// independent librdkafka consumer and compared with expectations computed here
// from the WAL itself (own transaction bookkeeping, base64 and JSON).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "heliosdb/cdc/wal.h"
#include "kafka_test_util.h"
#include "testing/test_util.h"
#include "testing/wal_changes.h"

namespace heliosdb::cdc {
namespace {

using namespace std::chrono_literals;
using kafka_test::Message;
using testing::TempDir;
using testing::wait_exit;

using Change = testing::CommittedChange;  // the expectation, from the WAL
const char* op_name(WalEntryKind k) { return testing::wal_operation_name(k); }
std::vector<Change> committed_changes(const std::string& wal_dir, const std::string& database) {
  return testing::read_committed_changes(wal_dir, database);
}

void generate(const TempDir& dir, const std::string& database, int events, int seed,
              const std::string& tables = "users,orders,payments") {
  auto r = testing::run_cli({"wal",
                             "generate",
                             "--dir",
                             dir.file("wal"),
                             "--database",
                             database,
                             "--events",
                             std::to_string(events),
                             "--tables",
                             tables,
                             "--txn-size",
                             "4",
                             "--abort-ratio",
                             "0.2",
                             "--value-bytes",
                             "64",
                             "--segment-bytes",
                             "1048576",
                             "--seed",
                             std::to_string(seed)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::string write_config(const TempDir& dir, const std::string& kafka_section,
                         const std::string& extra_cdc = "") {
  std::string path = dir.file("cdc.toml");
  testing::write_file(path, "[cdc]\nwal_path = \"" + dir.file("wal") +
                                "\"\ndatabase = \"shop\"\ncheckpoint_dir = \"" + dir.file("ckpt") +
                                "\"\nenable_metrics = false\n" + extra_cdc +
                                "\n[sink]\ntype = \"kafka\"\n\n[sink.kafka]\n" + kafka_section);
  return path;
}

std::string kafka_section(const std::string& topic, const std::string& extra = "") {
  return "brokers = \"" + kafka_test::brokers() + "\"\ntopic = \"" + topic + "\"\n" + extra;
}

struct Verdict {
  size_t lost = 0;
  size_t duplicates = 0;
};

// Every message is an exact expected event (value bytes, key, headers); per
// key, first deliveries follow commit order. Returns losses and duplicates.
Verdict check_messages(const std::vector<Change>& expected, const std::vector<Message>& msgs) {
  std::map<std::string, const Change*> by_id;
  for (const auto& c : expected) by_id[c.id] = &c;
  std::map<std::pair<int32_t, int64_t>, const Message*> ordered;
  for (const auto& m : msgs) ordered[{m.partition, m.offset}] = &m;
  std::map<std::string, int> seen;
  std::map<std::string, size_t> last_order_of_key;
  std::map<std::string, int32_t> partition_of_key;
  for (const auto& [pos, m] : ordered) {
    std::string id = m->headers.count("event_id") ? m->headers.at("event_id") : "";
    auto it = by_id.find(id);
    EXPECT_NE(it, by_id.end()) << "unexpected message (event_id '" << id << "')";
    if (it == by_id.end()) continue;
    const Change& c = *it->second;
    EXPECT_EQ(m->value, c.json) << id;
    EXPECT_EQ(m->key, c.entry.key) << id;
    EXPECT_EQ(m->headers.at("operation"), op_name(c.entry.kind)) << id;
    EXPECT_EQ(m->headers.at("database"), "shop") << id;
    EXPECT_EQ(m->headers.at("table"), c.entry.table) << id;
    EXPECT_EQ(m->headers.at("sequence"), std::to_string(c.entry.sequence)) << id;
    std::string key = c.entry.table + "/" + c.entry.key;
    auto [pit, fresh] = partition_of_key.emplace(m->topic + "/" + c.entry.key, m->partition);
    EXPECT_EQ(pit->second, m->partition) << "key " << key << " split over partitions";
    if (seen[id]++ == 0) {
      auto [lit, first] = last_order_of_key.emplace(key, c.order);
      if (!first) {
        EXPECT_LT(lit->second, c.order) << "per-key commit order broken at " << id;
        lit->second = c.order;
      }
    }
  }
  Verdict v;
  for (const auto& c : expected) {
    if (seen[c.id] == 0) ++v.lost;
    if (seen[c.id] > 1) v.duplicates += seen[c.id] - 1;
  }
  return v;
}

class KafkaEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(kafka_test::require_broker()); }
};

TEST_F(KafkaEndToEnd, CleanRunDeliversEveryCommittedChangeExactlyOnce) {
  TempDir dir;
  generate(dir, "shop", 6000, 1);
  generate(dir, "other", 1000, 2);  // another database: must not appear
  generate(dir, "shop", 3000, 3);
  auto expected = committed_changes(dir.file("wal"), "shop");
  ASSERT_GT(expected.size(), 6000u);
  std::string topic = kafka_test::unique_name("e2e-clean");
  kafka_test::create_topic(topic, 3);
  std::string config = write_config(dir, kafka_section(topic));
  auto r = testing::run_cli({"run", "--config", config, "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto msgs = kafka_test::consume_all(topic, expected.size());
  EXPECT_EQ(msgs.size(), expected.size());
  Verdict v = check_messages(expected, msgs);
  EXPECT_EQ(v.lost, 0u);
  EXPECT_EQ(v.duplicates, 0u);

  // A second run finds everything checkpointed and sends nothing.
  auto again = testing::run_cli({"run", "--config", config, "--once"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(kafka_test::consume_all(topic, expected.size()).size(), expected.size());
}

TEST_F(KafkaEndToEnd, TopicTemplateSendsEachTableToItsOwnTopic) {
  TempDir dir;
  generate(dir, "shop", 3000, 4, "users,orders");
  auto expected = committed_changes(dir.file("wal"), "shop");
  std::string prefix = kafka_test::unique_name("e2e-tmpl");
  kafka_test::create_topic(prefix + ".shop.users", 2);
  kafka_test::create_topic(prefix + ".shop.orders", 2);
  auto r = testing::run_cli({"run", "--config",
                             write_config(dir, kafka_section(prefix + ".{database}.{table}")),
                             "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (std::string table : {"users", "orders"}) {
    std::vector<Change> mine;
    for (const auto& c : expected) {
      if (c.entry.table == table) mine.push_back(c);
    }
    ASSERT_FALSE(mine.empty());
    auto msgs = kafka_test::consume_all(prefix + ".shop." + table, mine.size());
    EXPECT_EQ(msgs.size(), mine.size()) << table;
    Verdict v = check_messages(mine, msgs);
    EXPECT_EQ(v.lost, 0u) << table;
    EXPECT_EQ(v.duplicates, 0u) << table;
  }
}

TEST_F(KafkaEndToEnd, BrokerKilledAndRestartedMidStreamLosesNothingAndLagRecovers) {
  TempDir dir;
  generate(dir, "shop", 20000, 5);
  std::string topic = kafka_test::unique_name("e2e-broker-restart");
  kafka_test::create_topic(topic, 3);
  std::string config = write_config(dir, kafka_section(topic), "batch_size = 200\n");
  pid_t daemon = testing::spawn_with_log({testing::cli_path(), "run", "--config", config},
                                         dir.file("daemon.log"));
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(kafka_test::service("kill"), 0);
  // More changes arrive while the broker is down.
  pid_t gen = testing::spawn_with_log(
      {testing::cli_path(), "wal", "generate", "--dir", dir.file("wal"), "--database", "shop",
       "--events", "10000", "--tables", "users,orders,payments", "--txn-size", "4", "--abort-ratio",
       "0.2", "--value-bytes", "64", "--seed", "6"},
      dir.file("generator.log"));
  ASSERT_EQ(wait_exit(gen), 0) << testing::read_file(dir.file("generator.log"));
  std::this_thread::sleep_for(2s);
  ASSERT_EQ(kafka_test::service("start"), 0);
  auto expected = committed_changes(dir.file("wal"), "shop");
  auto msgs = kafka_test::consume_all(topic, expected.size(), 120s, 1500ms);
  ASSERT_EQ(kill(daemon, SIGTERM), 0);
  EXPECT_EQ(wait_exit(daemon), 0) << testing::read_file(dir.file("daemon.log"));
  Verdict v = check_messages(expected, msgs);
  EXPECT_EQ(v.lost, 0u) << "changes lost across the broker restart";
  std::cout << "changes: " << expected.size() << ", messages: " << msgs.size()
            << ", duplicates: " << v.duplicates << "\n";
}

// SIGTERM while the brokers are down and the pipeline is stalled on
// backpressure must still end the daemon within the drain bound (30 s), and
// nothing undelivered may be checkpointed.
TEST_F(KafkaEndToEnd, SigtermWhileBrokerIsDownExitsWithinTheDrainBoundAndResumesLater) {
  TempDir dir;
  generate(dir, "shop", 20000, 13);
  std::string topic = kafka_test::unique_name("e2e-sigterm-down");
  kafka_test::create_topic(topic, 3);
  std::string config = write_config(dir, kafka_section(topic), "batch_size = 200\n");
  pid_t daemon = testing::spawn_with_log({testing::cli_path(), "run", "--config", config},
                                         dir.file("daemon.log"));
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(kafka_test::service("kill"), 0);
  // Keep the WAL growing so the daemon has undelivered events when told to stop.
  generate(dir, "shop", 5000, 14);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(daemon, SIGTERM), 0);
  int rc = wait_exit(daemon);
  auto took = std::chrono::steady_clock::now() - t0;
  std::string log = testing::read_file(dir.file("daemon.log"));
  ASSERT_EQ(kafka_test::service("start"), 0);
  EXPECT_LT(took, 45s) << "SIGTERM must not wait for an unreachable broker forever; log:\n" << log;
  EXPECT_NE(rc, 128 + SIGKILL) << log;
  // Whatever was not delivered is not checkpointed: a restart delivers it.
  auto r = testing::run_cli({"run", "--config", config, "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto expected = committed_changes(dir.file("wal"), "shop");
  auto msgs = kafka_test::consume_all(topic, expected.size(), 120s);
  Verdict v = check_messages(expected, msgs);
  EXPECT_EQ(v.lost, 0u) << "changes lost after SIGTERM with the broker down";
  std::cout << "SIGTERM with broker down: exit " << rc << " after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms; changes " << expected.size() << ", messages " << msgs.size() << "\n";
}

TEST_F(KafkaEndToEnd, MissingTopicExitsOneWithClearError) {
  TempDir dir;
  generate(dir, "shop", 100, 8);
  std::string topic = kafka_test::unique_name("e2e-missing");
  auto r = testing::run_cli({"run", "--config", write_config(dir, kafka_section(topic)), "--once"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("Kafka topic '" + topic + "' does not exist"), std::string::npos) << r.err;
}

TEST_F(KafkaEndToEnd, UnreachableBrokersExitOneWithClearError) {
  TempDir dir;
  generate(dir, "shop", 100, 9);
  auto r = testing::run_cli(
      {"run", "--config",
       write_config(dir,
                    "brokers = \"127.0.0.1:19099\"\ntopic = \"t\"\nstartup_timeout_ms = 2000\n"),
       "--once"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot reach Kafka brokers '127.0.0.1:19099' within 2000 ms"),
            std::string::npos)
      << r.err;
}

TEST_F(KafkaEndToEnd, BadCredentialsExitOneWithClearErrorAndNoSecretInOutput) {
  TempDir dir;
  generate(dir, "shop", 100, 10);
  std::string topic = kafka_test::unique_name("e2e-sasl");
  kafka_test::create_topic(topic, 1);
  setenv("HELIOSDB_TEST_KAFKA_PASSWORD", "not-the-password", 1);
  std::string section = "brokers = \"" + kafka_test::sasl_brokers() + "\"\ntopic = \"" + topic +
                        "\"\n[sink.kafka.properties]\n\"security.protocol\" = "
                        "\"SASL_PLAINTEXT\"\n\"sasl.mechanism\" = \"PLAIN\"\n"
                        "\"sasl.username\" = \"heliosdb\"\n"
                        "\"sasl.password\" = \"${HELIOSDB_TEST_KAFKA_PASSWORD}\"\n";
  std::string config = write_config(dir, section);
  auto r = testing::run_cli({"run", "--config", config, "--once"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("authentication with Kafka brokers"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("not-the-password"), std::string::npos) << "secret printed";
  auto check = testing::run_cli({"config", "check", config});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check.out.find("not-the-password"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("sink.kafka.properties.sasl.password = \"<redacted>\""),
            std::string::npos)
      << check.out;

  // The right password through the same variable delivers.
  setenv("HELIOSDB_TEST_KAFKA_PASSWORD", "heliosdb-secret", 1);
  auto ok = testing::run_cli({"run", "--config", config, "--once"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto expected = committed_changes(dir.file("wal"), "shop");
  EXPECT_EQ(kafka_test::consume_all(topic, expected.size()).size(), expected.size());
}

}  // namespace
}  // namespace heliosdb::cdc
