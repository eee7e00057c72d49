// One set of properties every sink keeps, run against each of them: the file
// sink, Kafka on the real broker, Kinesis on kinesis-mock and the example's
// custom sink (examples/printing_sink.h). Per sink:
//  * every ticket is acknowledged or failed exactly once (AckRecorder fails
//    the test on a second report) and all of a healthy run's are acknowledged;
//  * events of one key reach the destination in source order;
//  * where the destination can be made to reject an event, that event is
//    failed and the checkpoint the processor would take never passes it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "heliosdb/cdc/kafka.h"
#include "heliosdb/cdc/kinesis.h"
#include "heliosdb/cdc/serialization.h"
#include "kafka_test_util.h"
#include "kinesis_test_util.h"
#include "printing_sink.h"
#include "sink/file_sink.h"
#include "sink/kinesis_records.h"
#include "testing/ack_recorder.h"
#include "testing/event_factory.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using namespace std::chrono_literals;

// A sink and a way to read back what reached its destination.
class SinkUnderTest {
 public:
  virtual ~SinkUnderTest() = default;
  virtual std::unique_ptr<EventSink> make() = 0;
  // What reached the destination, each key's payloads in destination order.
  virtual std::vector<std::string> read_back(size_t expected) = 0;
  // The payload the destination holds for `e`.
  virtual std::string render(const CdcEvent& e) { return event_to_json(e); }
  // A sink whose destination rejects events[bad] (the events may be changed
  // to aim it somewhere missing); nullptr if this sink cannot be made to fail.
  virtual std::unique_ptr<EventSink> make_failing(std::vector<CdcEvent>& events, size_t bad) {
    (void)events;
    (void)bad;
    return nullptr;
  }
  // The payloads are not unique per event (only the whole order can be checked).
  virtual bool payloads_unique() const { return true; }
};

class FileUnderTest : public SinkUnderTest {
 public:
  std::unique_ptr<EventSink> make() override {
    FileSinkOptions o;
    o.path = dir_.file("out.jsonl");
    return make_file_sink(o);
  }
  std::vector<std::string> read_back(size_t) override {
    return testing::read_lines(dir_.file("out.jsonl"));
  }
  // A file that cannot take a write: /dev/full fails every write with ENOSPC.
  std::unique_ptr<EventSink> make_failing(std::vector<CdcEvent>&, size_t) override {
    FileSinkOptions o;
    o.path = "/dev/full";
    return make_file_sink(o);
  }

 private:
  testing::TempDir dir_;
};

class KafkaUnderTest : public SinkUnderTest {
 public:
  KafkaUnderTest() {
    kafka_test::require_broker();
    topic_ = kafka_test::unique_name("conf");
    kafka_test::create_topic(topic_, 3);
  }
  std::unique_ptr<EventSink> make() override { return create(topic_); }
  std::vector<std::string> read_back(size_t expected) override {
    auto msgs = kafka_test::consume_all(topic_, expected);
    // A key lives in one partition; within it, offset order is delivery order.
    std::map<std::pair<int32_t, int64_t>, std::string> ordered;
    for (auto& m : msgs) ordered[{m.partition, m.offset}] = m.value;
    std::vector<std::string> out;
    for (auto& [pos, v] : ordered) out.push_back(v);
    return out;
  }
  // A topic per table, the rejected event's table has none.
  std::unique_ptr<EventSink> make_failing(std::vector<CdcEvent>& events, size_t bad) override {
    std::string prefix = kafka_test::unique_name("conf-miss");
    kafka_test::create_topic(prefix + "." + events[0].database + "." + events[0].table, 1);
    events[bad].table = "ghosts";
    return create(prefix + ".{database}.{table}");
  }

 private:
  static std::unique_ptr<EventSink> create(const std::string& topic) {
    KafkaOptions o;
    o.brokers = kafka_test::brokers();
    o.topic = topic;
    o.startup_timeout = 10s;
    auto k = KafkaConnector::create(o);
    EXPECT_TRUE(k.is_ok()) << k.status().to_string();
    return k.is_ok() ? std::move(k).value() : nullptr;
  }
  std::string topic_;
};

class KinesisUnderTest : public SinkUnderTest {
 public:
  KinesisUnderTest() {
    kinesis_test::require_service();
    kinesis_test::proxy("/__reset");
    stream_ = kinesis_test::unique_name("conf");
    kinesis_test::create_stream(stream_, 2);
  }
  ~KinesisUnderTest() override { kinesis_test::proxy("/__reset"); }
  std::unique_ptr<EventSink> make() override {
    return create(kinesis_test::options(stream_, kinesis_test::kPlainEndpoint));
  }
  std::vector<std::string> read_back(size_t expected) override {
    std::vector<std::string> out;  // read_all keeps each shard's order
    for (auto& r : kinesis_test::read_all(stream_, expected)) out.push_back(r.data);
    return out;
  }
  // The fault proxy throttles every record of the rejected event's key until
  // the sink gives up.
  std::unique_ptr<EventSink> make_failing(std::vector<CdcEvent>& events, size_t bad) override {
    std::string doomed = kinesis::partition_key_for(events[bad]);
    kinesis_test::proxy("/__fault", R"({"fail_key": ")" + doomed + R"("})");
    KinesisOptions o = kinesis_test::options(stream_, kinesis_test::kProxyEndpoint);
    o.max_retries = 2;
    return create(o);
  }

 private:
  static std::unique_ptr<EventSink> create(const KinesisOptions& o) {
    auto k = KinesisConnectorBuilder(o.region, o.stream_name).options(o).build();
    EXPECT_TRUE(k.is_ok()) << k.status().to_string();
    return k.is_ok() ? std::move(k).value() : nullptr;
  }
  std::string stream_;
};

// The example's PrintingSink writing into a file instead of stdout.
class CustomUnderTest : public SinkUnderTest {
 public:
  ~CustomUnderTest() override {
    if (out_) std::fclose(out_);
  }
  std::unique_ptr<EventSink> make() override {
    out_ = std::fopen(dir_.file("printed.txt").c_str(), "w");
    EXPECT_NE(out_, nullptr);
    return std::make_unique<PrintingSink>(out_);
  }
  std::vector<std::string> read_back(size_t expected) override {
    auto lines = testing::read_lines(dir_.file("printed.txt"));
    if (lines.size() > expected) lines.resize(expected);  // close() appends per-table counts
    return lines;
  }
  std::string render(const CdcEvent& e) override {
    return std::string(operation_name(e.operation)) + " " + e.database + "." + e.table +
           " key=" + std::to_string(e.key.size()) + " bytes";
  }
  bool payloads_unique() const override { return false; }

 private:
  testing::TempDir dir_;
  std::FILE* out_ = nullptr;
};

struct SinkParam {
  std::string name;
  std::function<std::unique_ptr<SinkUnderTest>()> make;
};

std::vector<CdcEvent> conformance_events(size_t n) {
  return testing::make_events({.count = n,
                               .database = "shop",
                               .tables = {"orders"},
                               .keys = 23,
                               .first_timestamp = 1764000000000,
                               .shape = [](size_t i, CdcEvent& e) {
                                 e.value = "{\"n\":" + std::to_string(i) + "}";
                                 e.transaction_id = "txn_" + std::to_string(i / 4);
                               }});
}

// Hands `events` over in batches (tickets from 0), letting the sink poll.
Status send_all(EventSink& sink, const std::vector<CdcEvent>& events, AckReceiver& acks,
                size_t chunk = 100) {
  for (size_t i = 0; i < events.size(); i += chunk) {
    size_t n = std::min(chunk, events.size() - i);
    HELIOSDB_RETURN_IF_ERROR(
        sink.send_batch({std::span<const CdcEvent>(events.data() + i, n), i}, acks));
    HELIOSDB_RETURN_IF_ERROR(sink.poll(0ms));
  }
  return Status::ok();
}

class SinkConformance : public ::testing::TestWithParam<SinkParam> {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(sut_ = GetParam().make());
    ASSERT_TRUE(sut_);
  }
  std::unique_ptr<SinkUnderTest> sut_;
};

TEST_P(SinkConformance, EveryTicketAcknowledgedExactlyOnce) {
  auto sink = sut_->make();
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->open().is_ok());
  auto events = conformance_events(1000);
  testing::AckRecorder acks;
  Status st = send_all(*sink, events, acks);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  st = sink->drain(60s);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  acks.expect_each_acknowledged_once(0, events.size());
  ASSERT_TRUE(sink->close().is_ok());
  acks.expect_each_acknowledged_once(0, events.size());  // close() reports nothing more
}

TEST_P(SinkConformance, PerKeyOrderKeptAndNothingLost) {
  auto sink = sut_->make();
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->open().is_ok());
  auto events = conformance_events(1000);
  testing::AckRecorder acks;
  ASSERT_TRUE(send_all(*sink, events, acks).is_ok());
  ASSERT_TRUE(sink->drain(60s).is_ok());
  ASSERT_TRUE(sink->close().is_ok());
  auto got = sut_->read_back(events.size());
  if (!sut_->payloads_unique()) {
    // Only the whole sequence identifies the events: it must be source order.
    ASSERT_EQ(got.size(), events.size());
    for (size_t i = 0; i < events.size(); ++i) ASSERT_EQ(got[i], sut_->render(events[i])) << i;
    return;
  }
  std::map<std::string, const CdcEvent*> by_payload;
  for (const auto& e : events) by_payload[sut_->render(e)] = &e;
  std::map<std::string, uint64_t> last_seq_of_key;
  std::map<uint64_t, int> seen;
  for (const auto& p : got) {
    auto it = by_payload.find(p);
    ASSERT_NE(it, by_payload.end()) << "unexpected payload " << p.substr(0, 200);
    const CdcEvent& e = *it->second;
    if (seen[e.sequence]++ > 0) continue;  // a redelivery (at least once) is not a reorder
    auto [lit, first] = last_seq_of_key.emplace(e.key, e.sequence);
    if (!first) {
      EXPECT_LT(lit->second, e.sequence) << "per-key order broken at " << e.event_id;
      lit->second = e.sequence;
    }
  }
  for (const auto& e : events) EXPECT_GE(seen[e.sequence], 1) << "lost " << e.event_id;
}

TEST_P(SinkConformance, FailedEventIsNeverCheckpointedPast) {
  auto events = conformance_events(200);
  const size_t bad = 3;
  auto sink = sut_->make_failing(events, bad);
  if (!sink) GTEST_SKIP() << GetParam().name << " cannot be made to reject an event";
  testing::AckRecorder acks;
  Status st = sink->open();
  if (st.is_ok()) st = send_all(*sink, events, acks);
  Status drained = sink->drain(60s);
  // The rejection shows: as an error of the sink, or as failed tickets.
  EXPECT_TRUE(!st.is_ok() || !drained.is_ok() || !acks.failed().empty())
      << "the rejected event went unnoticed";
  EXPECT_LE(acks.checkpoint(), bad) << "checkpoint passed the rejected event";
  for (const auto& [t, reason] : acks.failed()) {
    EXPECT_LE(acks.checkpoint(), t) << "checkpoint passed failed ticket " << t;
    EXPECT_FALSE(reason.is_ok()) << "ticket " << t << " failed without a reason";
  }
  (void)sink->close();  // a failed sink may also fail to close
}

INSTANTIATE_TEST_SUITE_P(
    AllSinks, SinkConformance,
    ::testing::Values(SinkParam{"file", [] { return std::make_unique<FileUnderTest>(); }},
                      SinkParam{"kafka", [] { return std::make_unique<KafkaUnderTest>(); }},
                      SinkParam{"kinesis", [] { return std::make_unique<KinesisUnderTest>(); }},
                      SinkParam{"custom", [] { return std::make_unique<CustomUnderTest>(); }}),
    [](const ::testing::TestParamInfo<SinkParam>& p) { return p.param.name; });

}  // namespace
}  // namespace heliosdb::cdc
