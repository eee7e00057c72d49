// KafkaConnector driven directly (send_batch / drain) against a real Apache
// Kafka broker (KRaft, started by scripts/services/kafka.sh through the ctest
// fixture kafka_broker), read back by an independent librdkafka consumer.
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include <gtest/gtest.h>

#include "heliosdb/cdc/kafka.h"
#include "heliosdb/cdc/serialization.h"
#include "kafka_test_util.h"
#include "testing/ack_recorder.h"
#include "testing/event_factory.h"

namespace heliosdb::cdc {
namespace {

using namespace std::chrono_literals;
using kafka_test::Message;

std::vector<CdcEvent> make_events(size_t n, uint64_t first_seq,
                                  const std::vector<std::string>& tables, size_t keys = 17) {
  return testing::make_events({.count = n,
                               .first_seq = first_seq,
                               .database = "shop",
                               .tables = tables,
                               .keys = keys,
                               .key_prefix = std::string("k\0", 2),  // binary-safe keys
                               .first_timestamp = 1764000000000,
                               .shape = [](size_t i, CdcEvent& e) {
                                 e.operation =
                                     i % 5 == 4 ? OperationType::Update : OperationType::Insert;
                                 e.value = "{\"n\":" + std::to_string(i) + "}";
                                 if (e.operation == OperationType::Update)
                                   e.old_value = "{\"old\":true}";
                                 e.transaction_id = "txn_" + std::to_string(i / 10);
                                 e.metadata["source"] = "it";
                               }});
}

KafkaOptions options_for(const std::string& topic) {
  KafkaOptions o;
  o.brokers = kafka_test::brokers();
  o.topic = topic;
  o.startup_timeout = 10s;
  return o;
}

class KafkaSinkIT : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(kafka_test::require_broker()); }
};

// Checks the messages are exactly `events` (each once), with key, value bytes
// and headers, and per-key order; returns partition by key.
void expect_exactly(const std::vector<CdcEvent>& events, const std::vector<Message>& msgs) {
  std::map<std::string, const CdcEvent*> by_id;
  for (const auto& e : events) by_id[e.event_id] = &e;
  std::map<std::string, int> seen;
  std::map<std::string, int32_t> partition_of_key;
  std::map<std::string, uint64_t> last_seq_of_key;
  // Messages come per partition in offset order from consume_all.
  std::map<std::pair<int32_t, int64_t>, const Message*> ordered;
  for (const auto& m : msgs) ordered[{m.partition, m.offset}] = &m;
  for (const auto& [pos, m] : ordered) {
    auto id_it = m->headers.find("event_id");
    ASSERT_NE(id_it, m->headers.end()) << "message without event_id header";
    auto it = by_id.find(id_it->second);
    ASSERT_NE(it, by_id.end()) << "unexpected event " << id_it->second;
    const CdcEvent& e = *it->second;
    ++seen[e.event_id];
    EXPECT_TRUE(m->has_key);
    EXPECT_EQ(m->key, e.key) << e.event_id;
    EXPECT_EQ(m->value, event_to_json(e)) << e.event_id;
    EXPECT_EQ(m->headers.at("operation"), operation_name(e.operation));
    EXPECT_EQ(m->headers.at("database"), e.database);
    EXPECT_EQ(m->headers.at("table"), e.table);
    EXPECT_EQ(m->headers.at("sequence"), std::to_string(e.sequence));
    auto [pit, fresh] = partition_of_key.emplace(e.key, m->partition);
    EXPECT_EQ(pit->second, m->partition) << "key split over partitions";
    auto [sit, first] = last_seq_of_key.emplace(e.key, e.sequence);
    if (!first) {
      EXPECT_LT(sit->second, e.sequence) << "per-key order broken at " << e.event_id;
      sit->second = e.sequence;
    }
  }
  for (const auto& e : events) {
    EXPECT_EQ(seen[e.event_id], 1) << e.event_id << " delivered " << seen[e.event_id] << " times";
  }
}

TEST_F(KafkaSinkIT, DeliversEveryEventOnceWithKeyValueHeadersAndPerKeyOrder) {
  std::string topic = kafka_test::unique_name("it-sink");
  kafka_test::create_topic(topic, 3);
  auto k = KafkaConnector::create(options_for(topic));
  ASSERT_TRUE(k.is_ok()) << k.status().to_string();
  ASSERT_TRUE((*k)->open().is_ok());
  auto events = make_events(3000, 1, {"orders"});
  testing::AckRecorder acks;
  auto wall_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before_ms = wall_ms();
  for (size_t i = 0; i < events.size(); i += 250) {
    EventBatch b{std::span<const CdcEvent>(events.data() + i, 250), i};
    ASSERT_TRUE((*k)->send_batch(b, acks).is_ok());
    ASSERT_TRUE((*k)->poll(0ms).is_ok());
  }
  const int64_t after_ms = wall_ms();
  ASSERT_TRUE((*k)->drain(30s).is_ok());
  EXPECT_EQ(acks.acked_count(), events.size());
  EXPECT_TRUE(acks.failed().empty());
  auto msgs = kafka_test::consume_all(topic, events.size());
  ASSERT_EQ(msgs.size(), events.size());
  expect_exactly(events, msgs);
  std::set<int32_t> partitions;
  for (const auto& m : msgs) {
    partitions.insert(m.partition);
    // CreateTime is when the event was produced (stamped once per batch).
    EXPECT_EQ(m.timestamp_type, RD_KAFKA_TIMESTAMP_CREATE_TIME);
    EXPECT_GE(m.timestamp_ms, before_ms);
    EXPECT_LE(m.timestamp_ms, after_ms);
  }
  EXPECT_EQ(partitions.size(), 3u) << "17 keys should spread over the 3 partitions";
  EXPECT_TRUE((*k)->close().is_ok());
}

TEST_F(KafkaSinkIT, HeadersCanBeTurnedOff) {
  std::string topic = kafka_test::unique_name("it-nohdr");
  kafka_test::create_topic(topic, 1);
  KafkaOptions o = options_for(topic);
  o.headers = false;
  auto k = KafkaConnector::create(o);
  ASSERT_TRUE(k.is_ok()) << k.status().to_string();
  ASSERT_TRUE((*k)->open().is_ok());
  auto events = make_events(20, 1, {"orders"});
  testing::AckRecorder acks;
  ASSERT_TRUE((*k)->send_batch({events, 0}, acks).is_ok());
  ASSERT_TRUE((*k)->drain(30s).is_ok());
  auto msgs = kafka_test::consume_all(topic, events.size());
  ASSERT_EQ(msgs.size(), events.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_TRUE(msgs[i].headers.empty());
    EXPECT_EQ(msgs[i].key, events[i].key);
    EXPECT_EQ(msgs[i].value, event_to_json(events[i]));
  }
}

TEST_F(KafkaSinkIT, TopicTemplateRoutesEachTableToItsTopic) {
  std::string prefix = kafka_test::unique_name("it-tmpl");
  kafka_test::create_topic(prefix + ".shop.users", 1);
  kafka_test::create_topic(prefix + ".shop.orders", 2);
  auto k = KafkaConnector::create(options_for(prefix + ".{database}.{table}"));
  ASSERT_TRUE(k.is_ok()) << k.status().to_string();
  ASSERT_TRUE((*k)->open().is_ok());
  auto events = make_events(400, 1, {"users", "orders"});
  testing::AckRecorder acks;
  ASSERT_TRUE((*k)->send_batch({events, 0}, acks).is_ok());
  ASSERT_TRUE((*k)->drain(30s).is_ok());
  EXPECT_EQ(acks.acked_count(), events.size());
  std::vector<CdcEvent> users, orders;
  for (const auto& e : events) (e.table == "users" ? users : orders).push_back(e);
  auto u = kafka_test::consume_all(prefix + ".shop.users", users.size());
  auto o = kafka_test::consume_all(prefix + ".shop.orders", orders.size());
  ASSERT_EQ(u.size(), users.size());
  ASSERT_EQ(o.size(), orders.size());
  expect_exactly(users, u);
  expect_exactly(orders, o);
}

TEST_F(KafkaSinkIT, MissingTopicFailsOpenWithClearMessage) {
  std::string topic = kafka_test::unique_name("it-missing");
  auto k = KafkaConnector::create(options_for(topic));
  ASSERT_TRUE(k.is_ok());
  Status st = (*k)->open();
  ASSERT_EQ(st.code(), ErrorCode::kNotFound) << st.to_string();
  EXPECT_NE(st.message().find("Kafka topic '" + topic + "' does not exist"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("auto.create.topics.enable is off"), std::string::npos);
}

TEST_F(KafkaSinkIT, MissingTemplateTopicFailsTheEventNotTheWholeRun) {
  std::string prefix = kafka_test::unique_name("it-tmiss");
  kafka_test::create_topic(prefix + ".shop.users", 1);
  auto k = KafkaConnector::create(options_for(prefix + ".{database}.{table}"));
  ASSERT_TRUE(k.is_ok());
  ASSERT_TRUE((*k)->open().is_ok());
  auto events = make_events(2, 1, {"users", "ghosts"});
  testing::AckRecorder acks;
  Status st = (*k)->send_batch({events, 0}, acks);
  ASSERT_EQ(st.code(), ErrorCode::kNotFound) << st.to_string();
  EXPECT_NE(st.message().find(prefix + ".shop.ghosts"), std::string::npos) << st.message();
  ASSERT_TRUE((*k)->drain(30s).is_ok());
  EXPECT_EQ(acks.acked_count(), 1u);  // the users event before it was delivered
  EXPECT_EQ(acks.failed().count(1), 1u);
}

TEST_F(KafkaSinkIT, UnreachableBrokersFailOpenWithClearMessage) {
  KafkaOptions o = options_for("whatever");
  o.brokers = "127.0.0.1:19099";  // nothing listens there
  o.startup_timeout = 2s;
  o.properties["log_level"] = "0";
  auto k = KafkaConnector::create(o);
  ASSERT_TRUE(k.is_ok());
  Status st = (*k)->open();
  ASSERT_EQ(st.code(), ErrorCode::kUnavailable) << st.to_string();
  EXPECT_NE(st.message().find("cannot reach Kafka brokers '127.0.0.1:19099'"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("Connection refused"), std::string::npos) << st.message();
}

KafkaOptions sasl_options(const std::string& topic, const std::string& password) {
  KafkaOptions o = options_for(topic);
  o.brokers = kafka_test::sasl_brokers();
  o.properties["security.protocol"] = "SASL_PLAINTEXT";
  o.properties["sasl.mechanism"] = "PLAIN";
  o.properties["sasl.username"] = "heliosdb";
  o.properties["sasl.password"] = password;
  o.properties["log_level"] = "0";
  return o;
}

TEST_F(KafkaSinkIT, BadCredentialsFailOpenWithClearMessage) {
  std::string topic = kafka_test::unique_name("it-sasl");
  kafka_test::create_topic(topic, 1);
  auto k = KafkaConnector::create(sasl_options(topic, "wrong-password"));
  ASSERT_TRUE(k.is_ok());
  auto t0 = std::chrono::steady_clock::now();
  Status st = (*k)->open();
  ASSERT_EQ(st.code(), ErrorCode::kPermissionDenied) << st.to_string();
  EXPECT_NE(st.message().find("authentication with Kafka brokers"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("Invalid username or password"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("wrong-password"), std::string::npos) << "secret leaked";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s) << "should fail fast, not time out";
}

TEST_F(KafkaSinkIT, GoodCredentialsDeliver) {
  std::string topic = kafka_test::unique_name("it-sasl-ok");
  kafka_test::create_topic(topic, 1);
  auto k = KafkaConnector::create(sasl_options(topic, "heliosdb-secret"));
  ASSERT_TRUE(k.is_ok());
  ASSERT_TRUE((*k)->open().is_ok());
  auto events = make_events(10, 1, {"users"});
  testing::AckRecorder acks;
  ASSERT_TRUE((*k)->send_batch({events, 0}, acks).is_ok());
  ASSERT_TRUE((*k)->drain(30s).is_ok());
  EXPECT_EQ(acks.acked_count(), 10u);
  EXPECT_EQ(kafka_test::consume_all(topic, 10).size(), 10u);
}

TEST_F(KafkaSinkIT, MessageLargerThanTopicAllowsStopsByDefault) {
  std::string topic = kafka_test::unique_name("it-large");
  kafka_test::create_topic(topic, 1);
  // Producer allows 2 MB, the broker's default max.message.bytes is ~1 MB.
  KafkaOptions o = options_for(topic);
  o.properties["message.max.bytes"] = "3000000";
  o.compression = "none";
  auto k = KafkaConnector::create(o);
  ASSERT_TRUE(k.is_ok()) << k.status().to_string();
  ASSERT_TRUE((*k)->open().is_ok());
  auto events = make_events(1, 1, {"blobs"});
  events[0].value = std::string(1500000, 'x');
  testing::AckRecorder acks;
  ASSERT_TRUE((*k)->send_batch({events, 0}, acks).is_ok());
  (*k)->drain(30s).is_ok();
  auto failed = acks.failed();
  ASSERT_EQ(failed.count(0), 1u);
  EXPECT_NE(failed.at(0).message().find("larger than Kafka accepts"), std::string::npos)
      << failed.at(0).message();
  EXPECT_EQ(acks.acked_count(), 0u);
}

TEST_F(KafkaSinkIT, BrokerKilledAndRestartedMidStreamLosesNothing) {
  std::string topic = kafka_test::unique_name("it-restart");
  kafka_test::create_topic(topic, 3);
  auto k = KafkaConnector::create(options_for(topic));
  ASSERT_TRUE(k.is_ok());
  ASSERT_TRUE((*k)->open().is_ok());
  auto events = make_events(6000, 1, {"orders"});
  testing::AckRecorder acks;
  size_t sent = 0;
  auto send_some = [&](size_t n) {
    for (size_t end = std::min(events.size(), sent + n); sent < end; sent += 200) {
      EventBatch b{std::span<const CdcEvent>(events.data() + sent, 200), sent};
      ASSERT_TRUE((*k)->send_batch(b, acks).is_ok());
      ASSERT_TRUE((*k)->poll(1ms).is_ok());
    }
  };
  send_some(2000);
  ASSERT_EQ(kafka_test::service("kill"), 0);  // SIGKILL the broker mid-stream
  send_some(2000);                            // produced while it is down
  Status st = (*k)->drain(1s);
  EXPECT_EQ(st.code(), ErrorCode::kTimeout) << st.to_string();
  EXPECT_TRUE(acks.failed().empty()) << "a broker outage must not fail events";
  ASSERT_EQ(kafka_test::service("start"), 0);
  send_some(2000);
  ASSERT_TRUE((*k)->drain(60s).is_ok());
  EXPECT_EQ(acks.acked_count(), events.size()) << "lag must recover";
  EXPECT_TRUE(acks.failed().empty());
  auto msgs = kafka_test::consume_all(topic, events.size(), 90s);
  std::map<std::string, int> count;
  for (const auto& m : msgs) ++count[m.headers.at("event_id")];
  size_t lost = 0, dup = 0;
  for (const auto& e : events) {
    if (count[e.event_id] == 0) ++lost;
    if (count[e.event_id] > 1) ++dup;
  }
  EXPECT_EQ(lost, 0u) << "events lost across the broker restart";
  // The idempotent producer also prevents duplicates from its own retries.
  EXPECT_EQ(dup, 0u) << "duplicates despite enable_idempotence";
}

}  // namespace
}  // namespace heliosdb::cdc
