// The Kafka sink against librdkafka's in-process mock cluster (rdkafka_mock.h):
// error injection the real broker cannot easily do. The same behaviours
// against a real Apache Kafka broker are in tests/integration/kafka_*_test.cc.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "heliosdb/cdc/kafka.h"
#include "options/config_section.h"
#include "sink/kafka_config.h"
#include "sink/kafka_encoder.h"
#include "sink/kafka_topic.h"
#include "sink/sink_registry.h"
#include "testing/ack_recorder.h"
#include "testing/event_factory.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
SinkType kafka_sink_type();
namespace {

using namespace std::chrono_literals;
using kafka::TopicTemplate;

// Kafka protocol API keys (not in librdkafka's public headers).
constexpr int16_t kApiProduce = 0;
constexpr int16_t kApiInitProducerId = 22;

std::vector<CdcEvent> make_events(size_t n, uint64_t first_seq = 1, std::string table = "users",
                                  size_t value_size = 20) {
  return testing::make_events(
      {.count = n,
       .first_seq = first_seq,
       .database = "mydb",
       .tables = {table},
       .keys = 7,
       .key_prefix = "user",
       .first_timestamp = 1700000000000,
       .shape = [&](size_t, CdcEvent& e) { e.value = std::string(value_size, 'v'); }});
}

std::set<uint64_t> range(uint64_t first, uint64_t count) {
  std::set<uint64_t> s;
  for (uint64_t t = first; t < first + count; ++t) s.insert(t);
  return s;
}

// A mock cluster of `brokers` brokers, owned by a dummy producer handle.
class MockCluster {
 public:
  explicit MockCluster(int brokers = 1) {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    cluster_ = rd_kafka_mock_cluster_new(owner_, brokers);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(owner_);
  }
  rd_kafka_mock_cluster_t* get() { return cluster_; }
  std::string bootstraps() { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void create_topic(const std::string& name, int partitions = 3) {
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }

 private:
  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

KafkaOptions mock_options(MockCluster& mock, std::string topic = "events") {
  KafkaOptions o;
  o.brokers = mock.bootstraps();
  o.topic = std::move(topic);
  o.startup_timeout = 5000ms;
  o.properties["log_level"] = "3";
  return o;
}

std::unique_ptr<KafkaConnector> connect(KafkaOptions o) {
  auto k = KafkaConnector::create(std::move(o));
  EXPECT_TRUE(k.is_ok()) << k.status().to_string();
  return k.is_ok() ? std::move(k).value() : nullptr;
}

// ---- topic names and templates ----------------------------------------------

TEST(KafkaTopicTemplate, FixedNameRendersItself) {
  auto t = TopicTemplate::parse("heliosdb-cdc");
  ASSERT_TRUE(t.is_ok());
  EXPECT_TRUE(t->is_fixed());
  std::string out;
  t->render(make_events(1)[0], out);
  EXPECT_EQ(out, "heliosdb-cdc");
}

TEST(KafkaTopicTemplate, DatabaseAndTablePlaceholders) {
  auto t = TopicTemplate::parse("cdc.{database}.{table}");
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_FALSE(t->is_fixed());
  std::string out;
  t->render(make_events(1, 1, "orders")[0], out);
  EXPECT_EQ(out, "cdc.mydb.orders");
}

TEST(KafkaTopicTemplate, UnknownPlaceholderIsNamed) {
  auto t = TopicTemplate::parse("{database}.{tabel}");
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.status().message().find("unknown placeholder {tabel}"), std::string::npos)
      << t.status().message();
}

TEST(KafkaTopicTemplate, UnclosedBraceIsAnError) {
  auto t = TopicTemplate::parse("cdc.{database");
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.status().message().find("never closed"), std::string::npos);
}

TEST(KafkaTopicTemplate, IllegalCharacterInFixedName) {
  auto t = TopicTemplate::parse("my topic");
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.status().message().find("contains ' '"), std::string::npos) << t.status().message();
}

TEST(KafkaTopicTemplate, NameLongerThan249IsRejected) {
  EXPECT_FALSE(kafka::validate_topic_name(std::string(250, 'a')).is_ok());
  EXPECT_TRUE(kafka::validate_topic_name(std::string(249, 'a')).is_ok());
}

// ---- [sink.kafka] config ------------------------------------------------------

struct Parsed {
  std::shared_ptr<config::ConfigReport> report;
  SinkCreator creator;
};

Parsed parse_kafka_section(const std::string& toml_text) {
  auto doc = config::parse_toml_string(toml_text, "test.toml");
  EXPECT_TRUE(doc.is_ok()) << doc.status().to_string();
  static toml::table keep;  // the section points into the table
  keep = std::move(doc).value();
  auto report = std::make_shared<config::ConfigReport>();
  report->file = "test.toml";
  const toml::table* sink = keep["sink"].as_table();
  const toml::table* kafka = sink ? (*sink)["kafka"].as_table() : nullptr;
  config::ConfigSection section(kafka, "sink.kafka", report);
  SinkSettings settings;
  settings.database = "mydb";
  SinkCreator creator = kafka_sink_type().parse(section, settings);
  section.finish();
  return {report, creator};
}

std::string resolved(const config::ConfigReport& r, const std::string& key) {
  for (const auto& v : r.resolved) {
    if (v.key == key) return v.value;
  }
  return "<absent>";
}

std::string all_errors(const config::ConfigReport& r) {
  std::string s;
  for (const auto& e : r.errors) s += e + "\n";
  return s;
}

TEST(KafkaSinkConfig, SeedDefaults) {
  Parsed p = parse_kafka_section("[sink]\ntype = \"kafka\"\n[sink.kafka]\n");
  ASSERT_TRUE(p.report->ok()) << all_errors(*p.report);
  EXPECT_NE(resolved(*p.report, "sink.kafka.brokers").find("localhost:9092"), std::string::npos);
  EXPECT_NE(resolved(*p.report, "sink.kafka.topic").find("heliosdb-cdc"), std::string::npos);
  EXPECT_NE(resolved(*p.report, "sink.kafka.compression").find("snappy"), std::string::npos);
  EXPECT_NE(resolved(*p.report, "sink.kafka.batch_size").find("1048576"), std::string::npos);
  EXPECT_NE(resolved(*p.report, "sink.kafka.enable_idempotence").find("true"), std::string::npos);
  EXPECT_NE(resolved(*p.report, "sink.kafka.headers").find("true"), std::string::npos);
  EXPECT_NE(resolved(*p.report, "sink.kafka.on_message_too_large").find("stop"), std::string::npos);
}

TEST(KafkaSinkConfig, UnknownKeyIsRejectedWithLine) {
  Parsed p = parse_kafka_section("[sink.kafka]\nbrokers = \"b:1\"\nbrokerz = \"x\"\n");
  ASSERT_FALSE(p.report->ok());
  std::string errs = all_errors(*p.report);
  EXPECT_NE(errs.find("test.toml:3"), std::string::npos) << errs;
  EXPECT_NE(errs.find("sink.kafka.brokerz"), std::string::npos) << errs;
}

TEST(KafkaSinkConfig, BadCompressionIsRejected) {
  Parsed p = parse_kafka_section("[sink.kafka]\ncompression = \"brotli\"\n");
  ASSERT_FALSE(p.report->ok());
  EXPECT_NE(all_errors(*p.report).find("sink.kafka.compression"), std::string::npos);
}

TEST(KafkaSinkConfig, BadTopicTemplateIsRejected) {
  Parsed p = parse_kafka_section("[sink.kafka]\ntopic = \"{db}.{table}\"\n");
  ASSERT_FALSE(p.report->ok());
  std::string errs = all_errors(*p.report);
  EXPECT_NE(errs.find("sink.kafka.topic"), std::string::npos) << errs;
  EXPECT_NE(errs.find("{db}"), std::string::npos) << errs;
}

TEST(KafkaSinkConfig, MisspeltLibrdkafkaPropertyIsRejectedWithLine) {
  Parsed p = parse_kafka_section(
      "[sink.kafka]\nbrokers = \"b:1\"\n[sink.kafka.properties]\n\"linger.ms\" = 10\n"
      "\"lingr.ms\" = 5\n");
  ASSERT_FALSE(p.report->ok());
  std::string errs = all_errors(*p.report);
  EXPECT_NE(errs.find("test.toml:5"), std::string::npos) << errs;
  EXPECT_NE(errs.find("sink.kafka.properties.lingr.ms"), std::string::npos) << errs;
  EXPECT_NE(errs.find("No such configuration property"), std::string::npos) << errs;
}

TEST(KafkaSinkConfig, PropertyDuplicatingANamedOptionIsRejected) {
  Parsed p = parse_kafka_section(
      "[sink.kafka]\n[sink.kafka.properties]\n\"compression.type\" = \"lz4\"\n");
  ASSERT_FALSE(p.report->ok());
  std::string errs = all_errors(*p.report);
  EXPECT_NE(errs.find("use that instead"), std::string::npos) << errs;
  EXPECT_NE(errs.find("'compression'"), std::string::npos) << errs;
}

TEST(KafkaSinkConfig, SecretFromEnvironmentIsExpandedAndRedacted) {
  setenv("HELIOSDB_TEST_KAFKA_PASSWORD", "hunter2", 1);
  Parsed p = parse_kafka_section(
      "[sink.kafka]\n[sink.kafka.properties]\n\"security.protocol\" = \"SASL_PLAINTEXT\"\n"
      "\"sasl.mechanism\" = \"PLAIN\"\n\"sasl.username\" = \"u\"\n"
      "\"sasl.password\" = \"${HELIOSDB_TEST_KAFKA_PASSWORD}\"\n");
  ASSERT_TRUE(p.report->ok()) << all_errors(*p.report);
  std::string shown = resolved(*p.report, "sink.kafka.properties.sasl.password");
  EXPECT_EQ(shown.find("hunter2"), std::string::npos) << shown;
  EXPECT_NE(shown.find("redacted"), std::string::npos) << shown;
  for (const auto& r : p.report->resolved) {
    EXPECT_EQ(r.value.find("hunter2"), std::string::npos) << r.key;
  }
}

TEST(KafkaSinkConfig, UnsetEnvironmentVariableIsAnError) {
  unsetenv("HELIOSDB_TEST_KAFKA_UNSET");
  Parsed p = parse_kafka_section(
      "[sink.kafka]\n[sink.kafka.properties]\n\"sasl.password\" = "
      "\"${HELIOSDB_TEST_KAFKA_UNSET}\"\n");
  ASSERT_FALSE(p.report->ok());
  EXPECT_NE(all_errors(*p.report).find("HELIOSDB_TEST_KAFKA_UNSET"), std::string::npos);
}

TEST(KafkaSinkConfig, OptionsMapOntoProducerConf) {
  KafkaOptions o;
  o.brokers = "b1:9092,b2:9092";
  o.compression = "zstd";
  o.batch_size = 65536;
  o.properties["linger.ms"] = "20";
  auto conf = kafka::build_producer_conf(o);
  ASSERT_TRUE(conf.is_ok()) << conf.status().to_string();
  auto get = [&](const char* k) {
    char buf[256];
    size_t n = sizeof buf;
    EXPECT_EQ(rd_kafka_conf_get(conf->get(), k, buf, &n), RD_KAFKA_CONF_OK) << k;
    return std::string(buf);
  };
  EXPECT_EQ(get("bootstrap.servers"), "b1:9092,b2:9092");
  EXPECT_EQ(get("compression.codec"), "zstd");
  EXPECT_EQ(get("batch.size"), "65536");
  EXPECT_EQ(get("enable.idempotence"), "true");
  EXPECT_EQ(get("linger.ms"), "20");                // user's passthrough wins
  EXPECT_EQ(get("message.timeout.ms"), "0");        // our default: never give up locally
  EXPECT_EQ(get("partitioner"), "murmur2_random");  // Java-compatible key placement
}

TEST(KafkaSinkConfig, CreateRejectsBadOptions) {
  KafkaOptions o;
  o.compression = "brotli";
  auto k = KafkaConnector::create(o);
  ASSERT_FALSE(k.is_ok());
  EXPECT_NE(k.status().message().find("compression"), std::string::npos);
}

// ---- the encoder ----------------------------------------------------------------

// The value of one header, or "<absent>".
std::string header_value(rd_kafka_headers_t* hdrs, const char* name) {
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(hdrs, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return "<absent>";
  }
  return std::string(static_cast<const char*>(value), size);
}

// A PostgreSQL snapshot row (READ, transaction_id null, metadata.snapshot):
// the value is the serializer's bytes, the operation header says READ.
TEST(KafkaEncoder, SnapshotReadRowValueAndHeaders) {
  CdcEvent e = testing::snapshot_read_event();
  kafka::KafkaEncoder enc;
  enc.init(make_json_serializer(), true);
  ASSERT_TRUE(enc.encode_value(e, "cdc.users").is_ok());
  EXPECT_EQ(enc.value(), event_to_json(e));
  EXPECT_NE(enc.value().find(R"("operation":"READ")"), std::string::npos) << enc.value();
  EXPECT_NE(enc.value().find(R"("transaction_id":null,"metadata":{"snapshot":"true"})"),
            std::string::npos)
      << enc.value();
  kafka::SequenceText seq(e.sequence);
  rd_kafka_headers_t* hdrs = enc.headers(e, seq.view());
  ASSERT_NE(hdrs, nullptr);
  EXPECT_EQ(rd_kafka_header_cnt(hdrs), 5u);
  EXPECT_EQ(header_value(hdrs, "operation"), "READ");
  EXPECT_EQ(header_value(hdrs, "database"), "x");
  EXPECT_EQ(header_value(hdrs, "table"), "public.users");
  EXPECT_EQ(header_value(hdrs, "sequence"), "7");
  EXPECT_EQ(header_value(hdrs, "event_id"), "evt_x_snap_1_abc");
  rd_kafka_headers_destroy(hdrs);
}

// ---- delivery against the mock cluster ----------------------------------------

TEST(KafkaSinkMock, EveryEventAcknowledgedExactlyOnceFromDeliveryReports) {
  MockCluster mock;
  mock.create_topic("events", 3);
  auto k = connect(mock_options(mock));
  ASSERT_TRUE(k);
  ASSERT_TRUE(k->open().is_ok());
  testing::AckRecorder acks;
  auto events = make_events(1000);
  for (size_t i = 0; i < events.size(); i += 100) {
    EventBatch b{std::span<const CdcEvent>(events.data() + i, 100), 500 + i};
    ASSERT_TRUE(k->send_batch(b, acks).is_ok());
  }
  ASSERT_TRUE(k->drain(10s).is_ok());
  EXPECT_EQ(acks.acked(), range(500, 1000));
  EXPECT_TRUE(acks.failed().empty());
  EXPECT_LT(acks.ack_calls(), 1000u) << "consecutive deliveries should be coalesced";
  KafkaStats s = k->stats();
  EXPECT_EQ(s.produced, 1000u);
  EXPECT_EQ(s.delivered, 1000u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_TRUE(k->close().is_ok());
}

TEST(KafkaSinkMock, NothingIsAcknowledgedBeforeTheDeliveryReport) {
  MockCluster mock;
  mock.create_topic("events", 1);
  auto o = mock_options(mock);
  o.properties["linger.ms"] = "1000";  // hold the batch in librdkafka
  auto k = connect(o);
  ASSERT_TRUE(k->open().is_ok());
  testing::AckRecorder acks;
  auto events = make_events(10);
  ASSERT_TRUE(k->send_batch({events, 0}, acks).is_ok());
  ASSERT_TRUE(k->poll(50ms).is_ok());
  EXPECT_TRUE(acks.acked().empty()) << "acknowledged before the broker had it";
  ASSERT_TRUE(k->drain(10s).is_ok());
  EXPECT_EQ(acks.acked(), range(0, 10));
}

TEST(KafkaSinkMock, RetriableProduceErrorsAreRetriedWithoutLossOrDuplicateAcks) {
  MockCluster mock;
  mock.create_topic("events", 1);
  auto k = connect(mock_options(mock));
  ASSERT_TRUE(k->open().is_ok());
  rd_kafka_mock_push_request_errors(
      mock.get(), kApiProduce, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
      RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
  testing::AckRecorder acks;
  auto events = make_events(200);
  ASSERT_TRUE(k->send_batch({events, 0}, acks).is_ok());
  ASSERT_TRUE(k->drain(20s).is_ok());
  EXPECT_EQ(acks.acked(), range(0, 200));
  EXPECT_TRUE(acks.failed().empty());
}

TEST(KafkaSinkMock, TopicAuthorizationFailureFailsTheEventWithClearMessage) {
  MockCluster mock;
  mock.create_topic("events", 1);
  auto k = connect(mock_options(mock));
  ASSERT_TRUE(k->open().is_ok());
  rd_kafka_mock_push_request_errors(mock.get(), kApiProduce, 1,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  testing::AckRecorder acks;
  auto events = make_events(1);
  ASSERT_TRUE(k->send_batch({events, 7}, acks).is_ok());
  k->drain(10s).is_ok();
  auto failed = acks.failed();
  ASSERT_EQ(failed.count(7), 1u);
  const Status& st = failed.at(7);
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(st.message().find("not authorized to write event evt_mydb_1 (sequence 1)"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("'events'"), std::string::npos) << st.message();
  EXPECT_TRUE(acks.acked().empty());
}

TEST(KafkaSinkMock, BrokerRejectsTooLargeMessageStopPolicyFailsTheEvent) {
  MockCluster mock;
  mock.create_topic("events", 1);
  auto k = connect(mock_options(mock));
  ASSERT_TRUE(k->open().is_ok());
  rd_kafka_mock_push_request_errors(mock.get(), kApiProduce, 1,
                                    RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  testing::AckRecorder acks;
  auto events = make_events(1);
  ASSERT_TRUE(k->send_batch({events, 0}, acks).is_ok());
  k->drain(10s).is_ok();
  auto failed = acks.failed();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed.at(0).message().find("larger than Kafka accepts"), std::string::npos)
      << failed.at(0).message();
  EXPECT_NE(failed.at(0).message().find("on_message_too_large"), std::string::npos);
  EXPECT_EQ(k->stats().failed, 1u);
}

TEST(KafkaSinkMock, BrokerRejectsTooLargeMessageSkipPolicyAcknowledgesAndCounts) {
  MockCluster mock;
  mock.create_topic("events", 1);
  auto o = mock_options(mock);
  o.on_message_too_large = MessageTooLargePolicy::kSkip;
  auto k = connect(o);
  ASSERT_TRUE(k->open().is_ok());
  rd_kafka_mock_push_request_errors(mock.get(), kApiProduce, 1,
                                    RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  testing::AckRecorder acks;
  auto events = make_events(1);
  ASSERT_TRUE(k->send_batch({events, 0}, acks).is_ok());
  ASSERT_TRUE(k->drain(10s).is_ok());
  EXPECT_EQ(acks.acked(), range(0, 1));
  EXPECT_EQ(k->stats().skipped_too_large, 1u);
}

TEST(KafkaSinkMock, LocallyTooLargeMessageStopPolicyReturnsError) {
  MockCluster mock;
  mock.create_topic("events", 1);
  auto o = mock_options(mock);
  o.properties["message.max.bytes"] = "2000";
  o.batch_size = 1000;
  auto k = connect(o);
  ASSERT_TRUE(k->open().is_ok());
  testing::AckRecorder acks;
  auto small = make_events(2, 1, "users", 10);
  auto big = make_events(1, 3, "users", 5000);
  std::vector<CdcEvent> events = {small[0], big[0], small[1]};
  Status st = k->send_batch({events, 0}, acks);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("evt_mydb_3"), std::string::npos) << st.message();
  k->drain(10s).is_ok();
  EXPECT_EQ(acks.acked(), range(0, 1));  // the event before it still counts
  EXPECT_EQ(acks.failed().count(1), 1u);
}

TEST(KafkaSinkMock, LocallyTooLargeMessageSkipPolicyGoesOn) {
  MockCluster mock;
  mock.create_topic("events", 1);
  auto o = mock_options(mock);
  o.properties["message.max.bytes"] = "2000";
  o.batch_size = 1000;
  o.on_message_too_large = MessageTooLargePolicy::kSkip;
  auto k = connect(o);
  ASSERT_TRUE(k->open().is_ok());
  testing::AckRecorder acks;
  auto small = make_events(2, 1, "users", 10);
  auto big = make_events(1, 3, "users", 5000);
  std::vector<CdcEvent> events = {small[0], big[0], small[1]};
  ASSERT_TRUE(k->send_batch({events, 0}, acks).is_ok());
  ASSERT_TRUE(k->drain(10s).is_ok());
  EXPECT_EQ(acks.acked(), range(0, 3));
  EXPECT_EQ(k->stats().skipped_too_large, 1u);
}

TEST(KafkaSinkMock, BrokerDownMeansTimeoutNotLossAndRecoversWhenBack) {
  MockCluster mock;
  mock.create_topic("events", 1);
  auto k = connect(mock_options(mock));
  ASSERT_TRUE(k->open().is_ok());
  rd_kafka_mock_broker_set_down(mock.get(), 1);
  testing::AckRecorder acks;
  auto events = make_events(50);
  ASSERT_TRUE(k->send_batch({events, 0}, acks).is_ok());
  Status st = k->drain(1500ms);
  EXPECT_EQ(st.code(), ErrorCode::kTimeout) << st.to_string();
  EXPECT_NE(st.message().find("not yet delivered"), std::string::npos) << st.message();
  EXPECT_TRUE(acks.acked().empty());
  EXPECT_TRUE(acks.failed().empty()) << "a broker outage must not fail events";
  rd_kafka_mock_broker_set_up(mock.get(), 1);
  ASSERT_TRUE(k->drain(20s).is_ok());
  EXPECT_EQ(acks.acked(), range(0, 50));
}

TEST(KafkaSinkMock, FullQueueIsBackpressureNotFailure) {
  MockCluster mock;
  mock.create_topic("events", 1);
  auto o = mock_options(mock);
  o.properties["queue.buffering.max.messages"] = "100";
  auto k = connect(o);
  ASSERT_TRUE(k->open().is_ok());
  testing::AckRecorder acks;
  auto events = make_events(2000);
  ASSERT_TRUE(k->send_batch({events, 0}, acks).is_ok());
  ASSERT_TRUE(k->drain(20s).is_ok());
  EXPECT_EQ(acks.acked(), range(0, 2000));
  EXPECT_GT(k->stats().queue_full_waits, 0u);
}

TEST(KafkaSinkMock, InterruptReleasesASendBatchBlockedOnAFullQueue) {
  MockCluster mock;
  mock.create_topic("events", 1);
  auto o = mock_options(mock);
  o.properties["queue.buffering.max.messages"] = "10";
  auto k = connect(o);
  ASSERT_TRUE(k->open().is_ok());
  rd_kafka_mock_broker_set_down(mock.get(), 1);
  testing::AckRecorder acks;
  auto events = make_events(100);
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    k->interrupt();
  });
  Status st = k->send_batch({events, 0}, acks);
  stopper.join();
  EXPECT_EQ(st.code(), ErrorCode::kCancelled) << st.to_string();
  EXPECT_TRUE(acks.acked().empty());
}

TEST(KafkaSinkMock, OpenFailsClearlyWhenFixedTopicIsMissing) {
  MockCluster mock;
  mock.create_topic("events", 1);
  rd_kafka_mock_topic_set_error(mock.get(), "missing-topic",
                                RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  auto k = connect(mock_options(mock, "missing-topic"));
  auto t0 = std::chrono::steady_clock::now();
  Status st = k->open();
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(st.code(), ErrorCode::kNotFound) << st.to_string();
  EXPECT_NE(st.message().find("Kafka topic 'missing-topic' does not exist"), std::string::npos)
      << st.message();
  // Asked again for 2 s (a topic being created), not for the whole startup_timeout.
  EXPECT_GE(took, 2s);
  EXPECT_LT(took, 5s);
}

TEST(KafkaSinkMock, OpenFindsATopicCreatedWhileItWaits) {
  MockCluster mock;
  mock.create_topic("events", 1);
  rd_kafka_mock_topic_set_error(mock.get(), "late-topic", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  auto k = connect(mock_options(mock, "late-topic"));
  std::thread creator([&] {
    std::this_thread::sleep_for(500ms);
    // The mock holds the topic since set_error(); answering without the
    // error is "created" as far as the client can tell.
    rd_kafka_mock_topic_set_error(mock.get(), "late-topic", RD_KAFKA_RESP_ERR_NO_ERROR);
  });
  Status st = k->open();
  creator.join();
  EXPECT_TRUE(st.is_ok()) << st.to_string();
}

TEST(KafkaSinkMock, OpenFailsClearlyWhenBrokersAreUnreachable) {
  KafkaOptions o;
  o.brokers = "127.0.0.1:1";
  o.topic = "events";
  o.startup_timeout = 1500ms;
  o.properties["log_level"] = "0";
  auto k = connect(o);
  auto t0 = std::chrono::steady_clock::now();
  Status st = k->open();
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(st.code(), ErrorCode::kUnavailable) << st.to_string();
  EXPECT_NE(st.message().find("cannot reach Kafka brokers '127.0.0.1:1' within 1500 ms"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("Connection refused"), std::string::npos) << st.message();
  EXPECT_LT(took, 5s);
}

TEST(KafkaSinkMock, FatalIdempotentProducerErrorStopsWithClearMessage) {
  MockCluster mock;
  mock.create_topic("events", 1);
  auto k = connect(mock_options(mock));
  // The broker refuses the idempotent producer id: librdkafka raises a fatal error.
  rd_kafka_mock_push_request_errors(mock.get(), kApiInitProducerId, 1,
                                    RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED);
  testing::AckRecorder acks;
  auto events = make_events(5);
  Status st = k->open();
  if (st.is_ok()) st = k->send_batch({events, 0}, acks);
  if (st.is_ok()) st = k->drain(10s);
  ASSERT_FALSE(st.is_ok());
  // Depending on timing librdkafka reports it through the error callback or
  // to the produce call; both messages name the fatal error and the way out.
  EXPECT_NE(st.message().find("fatal"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("restart resumes from the last checkpoint"), std::string::npos)
      << st.message();
  EXPECT_TRUE(acks.acked().empty());
}

TEST(KafkaSinkMock, TemplateTopicsRouteByTable) {
  MockCluster mock;
  mock.create_topic("mydb.users", 1);
  mock.create_topic("mydb.orders", 1);
  auto k = connect(mock_options(mock, "{database}.{table}"));
  ASSERT_TRUE(k->open().is_ok());
  testing::AckRecorder acks;
  auto users = make_events(3, 1, "users");
  auto orders = make_events(3, 4, "orders");
  std::vector<CdcEvent> events = users;
  events.insert(events.end(), orders.begin(), orders.end());
  ASSERT_TRUE(k->send_batch({events, 0}, acks).is_ok());
  ASSERT_TRUE(k->drain(10s).is_ok());
  EXPECT_EQ(acks.acked(), range(0, 6));
}

TEST(KafkaSinkMock, TemplateTopicThatDoesNotExistFailsTheEvent) {
  MockCluster mock;
  mock.create_topic("mydb.users", 1);
  rd_kafka_mock_topic_set_error(mock.get(), "mydb.ghosts", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  auto k = connect(mock_options(mock, "{database}.{table}"));
  ASSERT_TRUE(k->open().is_ok());
  testing::AckRecorder acks;
  auto events = make_events(1, 1, "ghosts");
  Status st = k->send_batch({events, 0}, acks);
  ASSERT_EQ(st.code(), ErrorCode::kNotFound) << st.to_string();
  EXPECT_NE(st.message().find("'mydb.ghosts' does not exist"), std::string::npos);
  EXPECT_EQ(acks.failed().count(0), 1u);
}

TEST(KafkaSinkMock, TemplateGivingAnIllegalTopicNameFailsTheEvent) {
  MockCluster mock;
  auto k = connect(mock_options(mock, "{database}.{table}"));
  ASSERT_TRUE(k->open().is_ok());
  testing::AckRecorder acks;
  auto events = make_events(1, 1, "weird table");
  Status st = k->send_batch({events, 0}, acks);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("gives an invalid name"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'weird table'"), std::string::npos) << st.message();
}

TEST(KafkaSinkMock, SeedSendAndFlushInterface) {
  MockCluster mock;
  mock.create_topic("events", 1);
  auto k = KafkaConnector::create(mock.bootstraps(), "events");
  ASSERT_TRUE(k.is_ok()) << k.status().to_string();
  ASSERT_TRUE((*k)->open().is_ok());
  for (const CdcEvent& e : make_events(20)) ASSERT_TRUE((*k)->send(e).is_ok());
  ASSERT_TRUE((*k)->flush().is_ok());
  EXPECT_EQ((*k)->stats().delivered, 20u);
  EXPECT_EQ((*k)->name(), "kafka");
  EXPECT_TRUE((*k)->close().is_ok());
}

// A message larger than Kafka accepts stops the daemon as a runtime failure:
// exit 1 naming the event (the docs' promise), not 2, which means bad usage
// or configuration found before the pipeline runs.
TEST(KafkaSinkMock, OversizedMessageStopsTheDaemonWithExit1NotTheConfigurationCode2) {
  MockCluster mock;
  mock.create_topic("events", 1);
  testing::TempDir dir;
  auto gen = testing::run_cli({"wal", "generate", "--dir", dir.file("wal"), "--database", "mydb",
                               "--events", "5", "--value-bytes", "5000", "--seed", "1"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  std::string config = dir.file("cdc.toml");
  testing::write_file(config, "[cdc]\nwal_path = \"" + dir.file("wal") +
                                  "\"\ndatabase = \"mydb\"\ncheckpoint_dir = \"" +
                                  dir.file("ckpt") +
                                  "\"\nenable_metrics = false\n"
                                  "[sink]\ntype = \"kafka\"\n[sink.kafka]\nbrokers = \"" +
                                  mock.bootstraps() +
                                  "\"\ntopic = \"events\"\nbatch_size = 1000\n"
                                  "[sink.kafka.properties]\n\"message.max.bytes\" = 2000\n");
  auto r = testing::run_cli({"run", "--config", config, "--once"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("larger than Kafka accepts"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("ckpt/mydb.checkpoint")))
      << "checkpointed past the event that was not delivered";
}

// sink.h: every ticket acknowledged or failed exactly once. An event the
// sink gives up on part way through a batch must not strand the events after
// it, which never reach librdkafka and so never get a delivery report.
TEST(KafkaSinkMock, EventsAfterOneThatFailsLocallyAreFailedNotStranded) {
  MockCluster mock;
  mock.create_topic("events", 1);
  auto o = mock_options(mock);
  o.properties["message.max.bytes"] = "2000";
  o.batch_size = 1000;
  auto k = connect(o);
  ASSERT_TRUE(k->open().is_ok());
  testing::AckRecorder acks;
  auto small = make_events(3, 1, "users", 10);
  auto big = make_events(1, 4, "users", 5000);
  std::vector<CdcEvent> events = {small[0], big[0], small[1], small[2]};
  Status st = k->send_batch({events, 10}, acks);
  ASSERT_FALSE(st.is_ok());
  k->drain(10s).is_ok();
  EXPECT_EQ(acks.acked(), range(10, 1));
  auto failed = acks.failed();
  ASSERT_EQ(failed.size(), 3u) << "tickets 12 and 13 were neither acknowledged nor failed";
  EXPECT_NE(failed.at(11).message().find("evt_mydb_4"), std::string::npos)
      << failed.at(11).message();
  for (uint64_t t : {12u, 13u}) {
    EXPECT_NE(failed.at(t).message().find("not sent"), std::string::npos) << failed.at(t).message();
    EXPECT_NE(failed.at(t).message().find("evt_mydb_4"), std::string::npos)
        << "names the event that stopped the sink: " << failed.at(t).message();
  }
}

TEST(KafkaSinkMock, EventsAfterAnIllegalTemplateTopicAreFailedNotStranded) {
  MockCluster mock;
  mock.create_topic("mydb.users", 1);
  auto k = connect(mock_options(mock, "{database}.{table}"));
  ASSERT_TRUE(k->open().is_ok());
  testing::AckRecorder acks;
  auto users = make_events(2, 1, "users");
  auto weird = make_events(1, 3, "weird table");
  std::vector<CdcEvent> events = {users[0], weird[0], users[1]};
  Status st = k->send_batch({events, 0}, acks);
  ASSERT_FALSE(st.is_ok());
  k->drain(10s).is_ok();
  std::set<uint64_t> settled = acks.acked();
  for (const auto& [t, reason] : acks.failed()) settled.insert(t);
  EXPECT_EQ(settled, range(0, 3)) << "every ticket acknowledged or failed";
  EXPECT_EQ(acks.failed().count(1), 1u);
  EXPECT_EQ(acks.failed().count(2), 1u);
}

}  // namespace
}  // namespace heliosdb::cdc
