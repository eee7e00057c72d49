// One set of properties every sink keeps, run against each of them: the file
// and stdout sinks, Kafka on the real broker, Kinesis on kinesis-mock and the
// example's custom sink (examples/printing_sink.h). Per sink:
//  * every ticket is acknowledged or failed exactly once (AckRecorder fails
//    the test on a second report) and all of a healthy run's are acknowledged;
//  * events of one key reach the destination in source order;
//  * the destination made to reject an event: that event is failed (or the
//    sink stops with an error) and the checkpoint the processor would take
//    never passes it;
//  * SIGKILL mid-stream loses nothing: the daemon (for the custom sink, a
//    program embedding the library: conformance_custom_sink.cc) is killed
//    several times while HeliosDB writes (testing/sigkill_restart.h), then
//    catches up; every committed change is at the destination, exactly as
//    expected, each key's first deliveries in commit order, each key's last
//    delivery its last committed change, and (single-stream sinks) an event
//    is redelivered only if the checkpoint in force at the restart did not
//    cover it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "heliosdb/cdc/kafka.h"
#include "heliosdb/cdc/kinesis.h"
#include "heliosdb/cdc/serialization.h"
#include "kafka_test_util.h"
#include "kinesis_test_util.h"
#include "printing_sink_harness.h"
#include "sink/file_sink.h"
#include "sink/kinesis_records.h"
#include "testing/ack_recorder.h"
#include "testing/checkpoint_util.h"
#include "testing/event_factory.h"
#include "testing/sigkill_restart.h"
#include "testing/test_util.h"
#include "testing/wal_changes.h"

namespace heliosdb::cdc {
namespace {

using namespace std::chrono_literals;
using testing::CommittedChange;
using testing::TempDir;

// One event as the destination holds it, for the SIGKILL scenario.
struct Delivery {
  std::string domain;   // where order is kept: a partition, a shard; "" for one stream
  std::string id;       // its event_id; "" for a line a kill cut short
  std::string payload;  // the bytes the destination holds
  std::map<std::string, std::string> attributes;  // Kafka key and headers, Kinesis partition key
};

// How the SIGKILL scenario paces one sink: the generator's rate, the kills,
// how long each run lasts, and the [cdc] batching.
struct SigkillPace {
  int rate = 5000;
  int kills = 10;
  std::function<std::chrono::milliseconds(int)> run_for;
  std::string cdc_extra = "batch_size = 50\ncheckpoint_interval = 500\n";
};

// The lines of `path` as deliveries; `marker` starts each delivery's line
// and `id_of` reads its event id. A line a SIGKILL cut short has no newline:
// the next run appends its first line to it, so a line is split at its last
// marker into a torn part (id "") and a delivery. A last line without newline
// counts as torn when `partial_tail` (else it is left out). Lines `skip`
// says are not deliveries are left out.
std::vector<Delivery> line_deliveries(const std::string& path, const std::string& marker,
                                      const std::function<std::string(const std::string&)>& id_of,
                                      bool partial_tail,
                                      const std::function<bool(const std::string&)>& skip = {}) {
  std::string text = testing::read_file(path);
  std::vector<Delivery> out;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t nl = text.find('\n', begin);
    if (nl == std::string::npos) {
      if (partial_tail) out.push_back({"", "", text.substr(begin), {}});
      break;
    }
    std::string line = text.substr(begin, nl - begin);
    begin = nl + 1;
    if (skip && skip(line)) continue;
    size_t at = line.rfind(marker);
    if (at == std::string::npos) {
      out.push_back({"", "", line, {}});
      continue;
    }
    if (at > 0) out.push_back({"", "", line.substr(0, at), {}});
    std::string payload = line.substr(at);
    out.push_back({"", id_of(payload), payload, {}});
  }
  return out;
}

std::string json_event_id(const std::string& line) {
  const std::string marker = "{\"event_id\":\"";
  if (line.rfind(marker, 0) != 0) return "";
  size_t end = line.find('"', marker.size());
  return end == std::string::npos ? "" : line.substr(marker.size(), end - marker.size());
}

// The [cdc] section of a daemon config for the SIGKILL scenario.
std::string cdc_section(const TempDir& dir, const std::string& extra) {
  return "[cdc]\nwal_path = \"" + dir.file("wal") + "\"\ndatabase = \"shop\"\ncheckpoint_dir = \"" +
         dir.file("ckpt") + "\"\nenable_metrics = false\n" + extra + "\n";
}

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
  // to aim it somewhere missing).
  virtual std::unique_ptr<EventSink> make_failing(std::vector<CdcEvent>& events, size_t bad) = 0;
  // The payloads are not unique per event (only the whole order can be checked).
  virtual bool payloads_unique() const { return true; }
  // The sink has written all it will (the stdout sink's fd 1 goes back to
  // the test's, so that failures print).
  virtual void done_writing() {}

  // --- SIGKILL mid-stream (a daemon writing to this sink's destination) ---
  // The [sink] part of the daemon's config.
  virtual std::string sink_section(const TempDir& dir) = 0;
  // The program to kill, and its catch-up run; empty: heliosdb-cdc run.
  virtual std::vector<std::string> daemon_argv(const TempDir& dir, bool once) { return {}; }
  // Where the daemon's stdout goes; empty: its log.
  virtual std::string daemon_stdout(const TempDir& dir) { return ""; }
  // Everything at the destination, each domain in destination order;
  // waits for at least `expected` when the destination is remote.
  virtual std::vector<Delivery> deliveries(const TempDir& dir, size_t expected) = 0;
  // What the destination holds for `c`.
  virtual std::string expected_payload(const CommittedChange& c) { return c.json; }
  // Checks the rest of what the destination holds for `c` (keys, headers).
  virtual void check_attributes(const Delivery& d, const CommittedChange& c) {}
  // One destination order for all events (a file, a stream): redeliveries
  // can be checked against the checkpoint in force at each restart.
  virtual bool single_stream() const { return false; }
  // A kill may leave a line cut short (written without fsync or with
  // partial writes and no repair on restart, unlike the file sink).
  virtual bool may_tear_lines() const { return false; }
  virtual SigkillPace sigkill_pace() = 0;
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
  std::string sink_section(const TempDir& dir) override {
    return "[sink]\ntype = \"file\"\n\n[sink.file]\npath = \"" + dir.file("out.jsonl") + "\"\n";
  }
  // The sink cuts a torn last line off when it opens: only complete lines count.
  std::vector<Delivery> deliveries(const TempDir& dir, size_t) override {
    return line_deliveries(dir.file("out.jsonl"), "{\"event_id\":\"", json_event_id, false);
  }
  bool single_stream() const override { return true; }
  SigkillPace sigkill_pace() override {
    return {.rate = 5000,
            .kills = 20,
            .run_for = [this](int) { return std::chrono::milliseconds(150 + rng_() % 500); },
            .cdc_extra = "checkpoint_interval = 500\nbatch_size = 50\n"};
  }

 private:
  testing::TempDir dir_;
  std::mt19937 rng_{20261125};
};

// The stdout sink with file descriptor 1 pointed at a file while the sink
// writes (put back before the destination is read and at the end).
class StdoutUnderTest : public SinkUnderTest {
 public:
  ~StdoutUnderTest() override { restore(); }
  std::unique_ptr<EventSink> make() override { return redirect(dir_.file("stdout.jsonl")); }
  std::vector<std::string> read_back(size_t) override {
    restore();
    return testing::read_lines(dir_.file("stdout.jsonl"));
  }
  void done_writing() override { restore(); }
  // A stdout that cannot take a write: /dev/full.
  std::unique_ptr<EventSink> make_failing(std::vector<CdcEvent>&, size_t) override {
    return redirect("/dev/full");
  }
  std::string sink_section(const TempDir&) override { return "[sink]\ntype = \"stdout\"\n"; }
  std::string daemon_stdout(const TempDir& dir) override { return dir.file("stdout.jsonl"); }
  std::vector<Delivery> deliveries(const TempDir& dir, size_t) override {
    return line_deliveries(dir.file("stdout.jsonl"), "{\"event_id\":\"", json_event_id, true);
  }
  bool single_stream() const override { return true; }
  bool may_tear_lines() const override { return true; }
  SigkillPace sigkill_pace() override {
    return {.rate = 5000, .kills = 10, .run_for = [this](int) {
              return std::chrono::milliseconds(150 + rng_() % 500);
            }};
  }

 private:
  std::unique_ptr<EventSink> redirect(const std::string& path) {
    restore();
    std::fflush(stdout);
    saved_stdout_ = ::dup(1);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0) << path;
    ::dup2(fd, 1);
    ::close(fd);
    return make_stdout_sink();
  }
  void restore() {
    if (saved_stdout_ < 0) return;
    std::fflush(stdout);
    ::dup2(saved_stdout_, 1);
    ::close(saved_stdout_);
    saved_stdout_ = -1;
  }
  testing::TempDir dir_;
  int saved_stdout_ = -1;
  std::mt19937 rng_{20261202};
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
  std::string sink_section(const TempDir&) override {
    return "[sink]\ntype = \"kafka\"\n\n[sink.kafka]\nbrokers = \"" + kafka_test::brokers() +
           "\"\ntopic = \"" + topic_ + "\"\n";
  }
  // Each partition in offset order.
  std::vector<Delivery> deliveries(const TempDir&, size_t expected) override {
    auto msgs = kafka_test::consume_all(topic_, expected, 120s);
    std::map<std::pair<int32_t, int64_t>, const kafka_test::Message*> ordered;
    for (const auto& m : msgs) ordered[{m.partition, m.offset}] = &m;
    std::vector<Delivery> out;
    for (const auto& [pos, m] : ordered) {
      Delivery d{std::to_string(m->partition), "", m->value, m->headers};
      if (m->headers.count("event_id")) d.id = m->headers.at("event_id");
      d.attributes["key"] = m->key;
      out.push_back(std::move(d));
    }
    return out;
  }
  void check_attributes(const Delivery& d, const CommittedChange& c) override {
    auto attr = [&](const std::string& name) {
      auto it = d.attributes.find(name);
      return it == d.attributes.end() ? std::string("<missing>") : it->second;
    };
    EXPECT_EQ(attr("key"), c.entry.key) << c.id;
    EXPECT_EQ(attr("operation"), testing::wal_operation_name(c.entry.kind)) << c.id;
    EXPECT_EQ(attr("database"), "shop") << c.id;
    EXPECT_EQ(attr("table"), c.entry.table) << c.id;
    EXPECT_EQ(attr("sequence"), std::to_string(c.entry.sequence)) << c.id;
  }
  SigkillPace sigkill_pace() override {
    return {.rate = 20000,
            .kills = 5,
            .run_for = [](int i) { return std::chrono::milliseconds(300 + 200 * i); },
            .cdc_extra = "batch_size = 100\ncheckpoint_interval = 500\n"};
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
  std::string sink_section(const TempDir&) override {
    setenv("HELIOSDB_TEST_AWS_SECRET", "conformance-secret", 1);
    return "[sink]\ntype = \"kinesis\"\n\n[sink.kinesis]\nstream_name = \"" + stream_ +
           "\"\nendpoint = \"" + kinesis_test::kPlainEndpoint +
           "\"\nverify_tls = false\naccess_key_id = \"AKIDTEST\"\n"
           "secret_access_key = \"${HELIOSDB_TEST_AWS_SECRET}\"\n"
           "retry_base_delay_ms = 5\nretry_max_delay_ms = 100\n";
  }
  // Each shard in stream order; the payload identifies the event.
  std::vector<Delivery> deliveries(const TempDir&, size_t expected) override {
    std::vector<Delivery> out;
    for (auto& r : kinesis_test::read_all(stream_, expected, 60s)) {
      Delivery d{r.shard_id, json_event_id(r.data), r.data, {}};
      d.attributes["partition_key"] = r.partition_key;
      out.push_back(std::move(d));
    }
    return out;
  }
  void check_attributes(const Delivery& d, const CommittedChange& c) override {
    EXPECT_EQ(d.attributes.at("partition_key"),
              kinesis_test::expected_partition_key(c.entry, "shop"))
        << c.id;
  }
  SigkillPace sigkill_pace() override {
    return {.rate = 400,
            .kills = 4,
            .run_for = [](int i) { return std::chrono::milliseconds(800 + 300 * i); },
            .cdc_extra = "batch_size = 50\ncheckpoint_interval = 100\n"};
  }

 private:
  static std::unique_ptr<EventSink> create(const KinesisOptions& o) {
    auto k = KinesisConnectorBuilder(o.region, o.stream_name).options(o).build();
    EXPECT_TRUE(k.is_ok()) << k.status().to_string();
    return k.is_ok() ? std::move(k).value() : nullptr;
  }
  std::string stream_;
};

// The example's PrintingSink writing into a file instead of stdout. Its
// lines do not name the event; the SIGKILL scenario runs it in
// conformance_custom_sink (IdentifiedPrintingSink: "<event_id> " first).
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
  // Its destination refuses events[bad] (RejectingPrintingSink).
  std::unique_ptr<EventSink> make_failing(std::vector<CdcEvent>& events, size_t bad) override {
    out_ = std::fopen(dir_.file("printed.txt").c_str(), "w");
    EXPECT_NE(out_, nullptr);
    return std::make_unique<conformance::RejectingPrintingSink>(out_, events[bad].sequence);
  }

  std::string sink_section(const TempDir&) override { return ""; }
  std::vector<std::string> daemon_argv(const TempDir& dir, bool once) override {
    std::vector<std::string> argv = {CONFORMANCE_CUSTOM_SINK, dir.file("wal"), "shop",
                                     dir.file("ckpt"), dir.file("printed.txt")};
    if (once) argv.push_back("--once");
    return argv;
  }
  std::vector<Delivery> deliveries(const TempDir& dir, size_t) override {
    return line_deliveries(
        dir.file("printed.txt"), "evt_",
        [](const std::string& line) { return line.substr(0, line.find(' ')); }, true,
        [](const std::string& line) { return line.rfind("table ", 0) == 0; });  // close()'s counts
  }
  std::string expected_payload(const CommittedChange& c) override {
    return c.id + " " + testing::wal_operation_name(c.entry.kind) + " shop." + c.entry.table +
           " key=" + std::to_string(c.entry.key.size()) + " bytes";
  }
  bool single_stream() const override { return true; }
  bool may_tear_lines() const override { return true; }  // stdio writes whole buffers
  SigkillPace sigkill_pace() override {
    return {.rate = 5000, .kills = 10, .run_for = [this](int) {
              return std::chrono::milliseconds(150 + rng_() % 500);
            }};
  }

 private:
  testing::TempDir dir_;
  std::FILE* out_ = nullptr;
  std::mt19937 rng_{20261203};
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
  sut_->done_writing();
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
  ASSERT_TRUE(sink) << GetParam().name << " cannot be made to reject an event";
  testing::AckRecorder acks;
  Status st = sink->open();
  if (st.is_ok()) st = send_all(*sink, events, acks);
  Status drained = sink->drain(60s);
  sut_->done_writing();
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

// The daemon killed with SIGKILL at moments chosen by the sink's pace while
// HeliosDB writes, then one catch-up run: nothing committed is lost.
TEST_P(SinkConformance, SigkillMidStreamLosesNothing) {
  TempDir dir;
  const SigkillPace pace = sut_->sigkill_pace();
  auto history =
      testing::run_cli({"wal", "generate", "--dir", dir.file("wal"), "--database", "shop",
                        "--events", "2000", "--tables", "users,orders", "--txn-size", "3",
                        "--abort-ratio", "0.15", "--value-bytes", "48", "--seed", "11"});
  ASSERT_EQ(history.exit_code, 0) << history.err;  // some history before the first start
  std::string config = dir.file("cdc.toml");
  testing::write_file(config, cdc_section(dir, pace.cdc_extra) + sut_->sink_section(dir));
  struct Restart {
    DeliveryPosition checkpoint;
    size_t deliveries_before;
  };
  std::vector<Restart> restarts;
  ASSERT_NO_FATAL_FAILURE(testing::run_sigkill_restarts(
      {.wal_dir = dir.file("wal"),
       .config = config,
       .log_dir = dir.path(),
       .daemon = sut_->daemon_argv(dir, false),
       .catch_up = sut_->daemon_argv(dir, true),
       .stdout_path = sut_->daemon_stdout(dir),
       .rate = pace.rate,
       .seed = 12,
       .kills = pace.kills,
       .run_for = pace.run_for,
       .after_kill = [&](int) {
         if (!sut_->single_stream()) return;
         auto ckpt = testing::load_wal_checkpoint(dir.file("ckpt"), "shop");
         restarts.push_back({ckpt.value_or(DeliveryPosition{}), sut_->deliveries(dir, 0).size()});
       }}));

  auto expected = testing::read_committed_changes(dir.file("wal"), "shop");
  ASSERT_FALSE(expected.empty());
  auto got = sut_->deliveries(dir, expected.size());
  std::map<std::string, const CommittedChange*> by_id;
  std::map<std::string, const CommittedChange*> last_of_key;  // "table/key" -> its last change
  for (const auto& c : expected) {
    by_id[c.id] = &c;
    last_of_key[c.entry.table + "/" + c.entry.key] = &c;
  }
  // Every delivery is an exact expected event; per key, one domain, first
  // deliveries in commit order; the last delivery is the last change.
  std::map<std::string, size_t> first_seen;
  std::map<std::string, size_t> last_order_of_key;
  std::map<std::string, std::string> domain_of_key;
  std::map<std::string, const CommittedChange*> last_delivered_of_key;
  size_t torn = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const Delivery& d = got[i];
    if (d.id.empty() && sut_->may_tear_lines()) {
      ++torn;
      continue;
    }
    auto it = by_id.find(d.id);
    ASSERT_NE(it, by_id.end()) << "unexpected delivery " << i << ": " << d.payload.substr(0, 300);
    const CommittedChange& c = *it->second;
    ASSERT_EQ(d.payload, sut_->expected_payload(c)) << "delivery " << i;
    sut_->check_attributes(d, c);
    std::string key = c.entry.table + "/" + c.entry.key;
    auto [dit, fresh_domain] = domain_of_key.emplace(key, d.domain);
    EXPECT_EQ(dit->second, d.domain)
        << "key " << key << " split over " << dit->second << " and " << d.domain;
    last_delivered_of_key[key] = &c;
    if (first_seen.emplace(d.id, i).second) {
      auto [lit, first] = last_order_of_key.emplace(key, c.order);
      if (!first) {
        EXPECT_LT(lit->second, c.order) << "per-key commit order broken at " << d.id;
        lit->second = c.order;
      }
    }
  }
  EXPECT_LE(torn, static_cast<size_t>(pace.kills)) << "more torn lines than kills";
  size_t lost = 0;
  for (const auto& c : expected) lost += first_seen.count(c.id) == 0;
  EXPECT_EQ(lost, 0u) << "committed changes lost after SIGKILL";
  for (const auto& [key, last] : last_of_key) {
    EXPECT_EQ(last_delivered_of_key[key], last)
        << "a consumer applying " << key << " in order does not end with its last change "
        << last->id;
  }
  // Single stream: duplicates only after the checkpoint in force at the restart.
  size_t duplicates = got.size() - torn - first_seen.size();
  if (sut_->single_stream()) {
    ASSERT_FALSE(restarts.empty());
    ASSERT_GT(restarts.back().checkpoint.commit_sequence, 0u) << "no checkpoint was ever written";
    for (size_t r = 0; r < restarts.size(); ++r) {
      size_t begin = restarts[r].deliveries_before;
      size_t end = r + 1 < restarts.size() ? restarts[r + 1].deliveries_before : got.size();
      for (size_t i = begin; i < end && i < got.size(); ++i) {
        if (got[i].id.empty() || first_seen[got[i].id] >= begin) continue;
        const CommittedChange* c = by_id[got[i].id];
        EXPECT_FALSE(restarts[r].checkpoint.covers(c->commit_sequence, c->entry.sequence))
            << c->id << " was redelivered although checkpoint (commit "
            << restarts[r].checkpoint.commit_sequence << ", event "
            << restarts[r].checkpoint.event_sequence << ") covered it";
      }
    }
  }
  std::cout << GetParam().name << ": changes " << expected.size() << ", deliveries " << got.size()
            << ", redelivered after SIGKILL " << duplicates << ", torn lines " << torn << "\n";
}

INSTANTIATE_TEST_SUITE_P(
    AllSinks, SinkConformance,
    ::testing::Values(SinkParam{"file", [] { return std::make_unique<FileUnderTest>(); }},
                      SinkParam{"stdout", [] { return std::make_unique<StdoutUnderTest>(); }},
                      SinkParam{"kafka", [] { return std::make_unique<KafkaUnderTest>(); }},
                      SinkParam{"kinesis", [] { return std::make_unique<KinesisUnderTest>(); }},
                      SinkParam{"custom", [] { return std::make_unique<CustomUnderTest>(); }}),
    [](const ::testing::TestParamInfo<SinkParam>& p) { return p.param.name; });

}  // namespace
}  // namespace heliosdb::cdc
