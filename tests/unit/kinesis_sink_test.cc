// The Kinesis sink's batching, retry, ordering and acknowledgement logic,
// with a scripted fake KinesisApi behind it (no network). The real client is
// covered against kinesis-mock in tests/integration/kinesis_sink_test.cc.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <random>
#include <set>

#include "heliosdb/cdc/kinesis.h"
#include "options/config_section.h"
#include "sink/kinesis_connector.h"
#include "sink/kinesis_encoder.h"
#include "sink/kinesis_records.h"
#include "sink/sink_registry.h"
#include "testing/ack_recorder.h"
#include "testing/event_factory.h"

namespace heliosdb::cdc {
SinkType kinesis_sink_type();
namespace kinesis {
namespace {

using namespace std::chrono_literals;

// Writes "<sequence>|<value>" so tests can see which event a record is.
class TestSerializer : public EventSerializer {
 public:
  SerializationFormat format() const override { return SerializationFormat::Json; }
  Status serialize(const CdcEvent& e, std::string_view, std::string& out) override {
    out += std::to_string(e.sequence);
    out += "|";
    out += e.value.value_or("");
    return Status::ok();
  }
};

struct SentEntry {
  std::string data;
  std::string partition_key;
};

// Shared state of all fake clients (one per lane).
struct FakeKinesis {
  std::mutex mu;
  std::vector<std::vector<SentEntry>> calls;  // every PutRecords call
  std::vector<SentEntry> written;             // accepted, in acceptance order
  // Per call (0-based call index): whole-call error, or nullopt.
  std::function<std::optional<Status>(size_t call)> call_error;
  // Per entry: error code or "" for success.
  std::function<std::string(size_t call, size_t index, const SentEntry&)> entry_error;
  std::optional<Status> describe_error;
  std::string stream_status = "ACTIVE";
  int describe_calls = 0;
};

class FakeApi : public KinesisApi {
 public:
  explicit FakeApi(std::shared_ptr<FakeKinesis> k) : k_(std::move(k)) {}
  Result<StreamSummary> describe_stream_summary(const std::string&) override {
    std::lock_guard lock(k_->mu);
    k_->describe_calls++;
    if (k_->describe_error) return *k_->describe_error;
    return StreamSummary{k_->stream_status, 1};
  }
  Result<std::vector<PutRecordResult>> put_records(
      const std::string&, std::span<const PutRecordsEntry> entries) override {
    std::lock_guard lock(k_->mu);
    size_t call = k_->calls.size();
    std::vector<SentEntry> sent;
    for (const auto& e : entries)
      sent.push_back({std::string(e.data), std::string(e.partition_key)});
    k_->calls.push_back(sent);
    if (k_->call_error) {
      if (auto err = k_->call_error(call)) return *err;
    }
    std::vector<PutRecordResult> out(entries.size());
    for (size_t i = 0; i < sent.size(); ++i) {
      std::string code = k_->entry_error ? k_->entry_error(call, i, sent[i]) : "";
      if (code.empty()) {
        out[i].ok = true;
        out[i].sequence_number = std::to_string(k_->written.size());
        out[i].shard_id = "shardId-000000000000";
        k_->written.push_back(sent[i]);
      } else {
        out[i].error_code = code;
        out[i].error_message = "injected";
      }
    }
    return out;
  }

 private:
  std::shared_ptr<FakeKinesis> k_;
};

std::vector<CdcEvent> make_events(size_t n, size_t keys, size_t value_size = 16,
                                  uint64_t first_seq = 1) {
  return testing::make_events(
      {.count = n, .first_seq = first_seq, .keys = keys, .shape = [&](size_t i, CdcEvent& e) {
         e.value = std::string(value_size, static_cast<char>('a' + i % 26));
       }});
}

KinesisOptions fast_options() {
  KinesisOptions o;
  o.stream_name = "test";
  o.retry_base_delay = 1ms;
  o.retry_max_delay = 5ms;
  o.max_in_flight = 4;
  return o;
}

struct Harness {
  std::shared_ptr<FakeKinesis> fake = std::make_shared<FakeKinesis>();
  std::unique_ptr<KinesisConnector> sink;

  explicit Harness(KinesisOptions o = fast_options()) {
    ConnectorParts parts;
    parts.serializer = std::make_unique<TestSerializer>();
    auto f = fake;
    parts.api_factory = [f]() -> Result<std::unique_ptr<KinesisApi>> {
      return std::unique_ptr<KinesisApi>(new FakeApi(f));
    };
    parts.jitter_seed = 42;
    auto s = make_kinesis_connector(std::move(o), std::move(parts));
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    sink = std::move(s).value();
  }

  Status send(const std::vector<CdcEvent>& events, AckReceiver& acks, uint64_t first_ticket = 0,
              size_t chunk = 100) {
    for (size_t i = 0; i < events.size(); i += chunk) {
      size_t n = std::min(chunk, events.size() - i);
      EventBatch b{std::span<const CdcEvent>(events.data() + i, n), first_ticket + i};
      HELIOSDB_RETURN_IF_ERROR(sink->send_batch(b, acks));
    }
    return Status::ok();
  }
};

uint64_t seq_of(const std::string& data) { return std::stoull(data.substr(0, data.find('|'))); }

TEST(KinesisSinkTest, EveryRecordSentOnceAndAcknowledged) {
  Harness h;
  ASSERT_TRUE(h.sink->open().is_ok());
  testing::AckRecorder acks;
  auto events = make_events(2000, 300);
  ASSERT_TRUE(h.send(events, acks).is_ok());
  ASSERT_TRUE(h.sink->drain(10s).is_ok());
  EXPECT_EQ(acks.acked_count(), 2000u);
  EXPECT_EQ(acks.checkpoint(), 2000u);
  std::set<uint64_t> seen;
  for (const auto& w : h.fake->written) EXPECT_TRUE(seen.insert(seq_of(w.data)).second);
  EXPECT_EQ(seen.size(), 2000u);
  EXPECT_EQ(h.fake->written.size(), 2000u);  // no duplicates without failures
  auto st = h.sink->stats();
  EXPECT_EQ(st.records_acked, 2000u);
  EXPECT_EQ(st.records_retried, 0u);
  EXPECT_TRUE(h.sink->close().is_ok());
}

TEST(KinesisSinkTest, CallsStayWithinRecordAndKeyLimits) {
  KinesisOptions o = fast_options();
  o.batch_size = 500;
  o.max_in_flight = 1;
  Harness h(o);
  ASSERT_TRUE(h.sink->open().is_ok());
  testing::AckRecorder acks;
  // 1500 distinct keys, then 40 events of ~300 KiB: 5 MiB per call binds.
  auto small = make_events(1500, 1500);
  ASSERT_TRUE(h.send(small, acks, 0, 1500).is_ok());
  auto big = make_events(40, 40, 300 * 1024, 10000);
  for (auto& e : big) e.key = "big-" + std::to_string(e.sequence);
  ASSERT_TRUE(h.send(big, acks, 1500, 40).is_ok());
  ASSERT_TRUE(h.sink->drain(10s).is_ok());
  EXPECT_EQ(acks.acked_count(), 1540u);
  for (const auto& call : h.fake->calls) {
    EXPECT_LE(call.size(), kMaxRecordsPerCall);
    size_t bytes = 0;
    std::set<std::string> keys;
    for (const auto& e : call) {
      bytes += e.data.size() + e.partition_key.size();
      EXPECT_TRUE(keys.insert(e.partition_key).second) << "two records of one key in a call";
      EXPECT_GE(e.partition_key.size(), 1u);
      EXPECT_LE(e.partition_key.size(), kMaxPartitionKeyLength);
    }
    EXPECT_LE(bytes, kMaxBytesPerCall);
  }
  // The 500-record limit was reached at least once (the batches were full).
  size_t max_records = 0;
  for (const auto& call : h.fake->calls) max_records = std::max(max_records, call.size());
  EXPECT_EQ(max_records, 500u);
}

TEST(KinesisSinkTest, BatchSizeOptionCapsRecordsPerCall) {
  KinesisOptions o = fast_options();
  o.batch_size = 7;
  Harness h(o);
  testing::AckRecorder acks;
  ASSERT_TRUE(h.send(make_events(100, 100), acks).is_ok());  // open() implicitly
  ASSERT_TRUE(h.sink->drain(10s).is_ok());
  EXPECT_EQ(acks.acked_count(), 100u);
  for (const auto& call : h.fake->calls) EXPECT_LE(call.size(), 7u);
}

TEST(KinesisSinkTest, PartialFailureResendsOnlyTheFailedEntriesByIndex) {
  KinesisOptions o = fast_options();
  o.max_in_flight = 1;
  Harness h(o);
  h.fake->entry_error = [](size_t call, size_t i, const SentEntry&) -> std::string {
    return call == 0 && (i == 1 || i == 3) ? "ProvisionedThroughputExceededException" : "";
  };
  testing::AckRecorder acks;
  ASSERT_TRUE(h.send(make_events(5, 5), acks, 0, 5).is_ok());
  ASSERT_TRUE(h.sink->drain(10s).is_ok());
  ASSERT_EQ(h.fake->calls.size(), 2u);
  EXPECT_EQ(h.fake->calls[0].size(), 5u);
  ASSERT_EQ(h.fake->calls[1].size(), 2u);
  EXPECT_EQ(seq_of(h.fake->calls[1][0].data), 2u);
  EXPECT_EQ(seq_of(h.fake->calls[1][1].data), 4u);
  EXPECT_EQ(acks.acked_count(), 5u);
  EXPECT_EQ(h.fake->written.size(), 5u);  // nothing written twice
  EXPECT_EQ(h.sink->stats().records_retried, 2u);
}

TEST(KinesisSinkTest, GivesUpAfterMaxRetriesFailsTheRecordAndNeverCheckpointsPastIt) {
  KinesisOptions o = fast_options();
  o.max_retries = 2;
  Harness h(o);
  h.fake->entry_error = [](size_t, size_t, const SentEntry& e) -> std::string {
    return e.partition_key == "key-7" ? "ProvisionedThroughputExceededException" : "";
  };
  testing::AckRecorder acks;
  auto events = make_events(50, 10);  // key-7 at tickets 7, 17, 27, ...
  Status sent = h.send(events, acks, 0, 50);
  EXPECT_TRUE(sent.is_ok());
  Status drained = h.sink->drain(10s);
  EXPECT_FALSE(drained.is_ok());
  EXPECT_NE(drained.message().find("after 3 attempts (max_retries = 2)"), std::string::npos)
      << drained.message();
  EXPECT_NE(drained.message().find("ProvisionedThroughputExceededException"), std::string::npos);
  EXPECT_EQ(acks.fate(7), std::optional<bool>(false));
  EXPECT_NE(acks.reason(7).message().find("sequence 8"), std::string::npos)
      << acks.reason(7).message();
  EXPECT_LE(acks.checkpoint(), 7u);
  // key-7's record was sent exactly 1 + max_retries times; its later events never.
  size_t sends = 0;
  for (const auto& call : h.fake->calls)
    for (const auto& e : call) sends += seq_of(e.data) == 8;
  EXPECT_EQ(sends, 3u);
  for (const auto& w : h.fake->written) EXPECT_NE(w.partition_key, "key-7");
  // Every ticket resolved exactly once; later sends fail at once.
  EXPECT_EQ(acks.resolved(), 50u);
  auto more = make_events(1, 1, 4, 100);
  Status after = h.send(more, acks, 50, 1);
  EXPECT_FALSE(after.is_ok());
  EXPECT_EQ(acks.fate(50), std::optional<bool>(false));
  EXPECT_FALSE(h.sink->poll(0ms).is_ok());
}

TEST(KinesisSinkTest, RetryPolicyKeepsRetryingPastMaxRetries) {
  KinesisOptions o = fast_options();
  o.max_retries = 1;
  o.on_failure = KinesisFailurePolicy::kRetry;
  Harness h(o);
  h.fake->entry_error = [](size_t call, size_t, const SentEntry&) -> std::string {
    return call < 6 ? "InternalFailure" : "";
  };
  o.max_in_flight = 1;
  testing::AckRecorder acks;
  ASSERT_TRUE(h.send(make_events(3, 3), acks, 0, 3).is_ok());
  ASSERT_TRUE(h.sink->drain(10s).is_ok());
  EXPECT_EQ(acks.acked_count(), 3u);
  EXPECT_GE(h.fake->calls.size(), 7u);
}

TEST(KinesisSinkTest, PerKeyOrderHoldsUnderRandomPartialFailures) {
  KinesisOptions o = fast_options();
  o.max_retries = 50;
  o.batch_size = 50;
  Harness h(o);
  auto rng = std::make_shared<std::mt19937>(1234);
  h.fake->entry_error = [rng](size_t, size_t, const SentEntry&) -> std::string {
    return (*rng)() % 4 == 0 ? "ProvisionedThroughputExceededException" : "";
  };
  testing::AckRecorder acks;
  auto events = make_events(3000, 37);
  ASSERT_TRUE(h.send(events, acks, 0, 250).is_ok());
  ASSERT_TRUE(h.sink->drain(30s).is_ok());
  EXPECT_EQ(acks.acked_count(), 3000u);
  std::map<std::string, uint64_t> last;
  for (const auto& w : h.fake->written) {
    uint64_t s = seq_of(w.data);
    auto it = last.find(w.partition_key);
    if (it != last.end()) EXPECT_LT(it->second, s) << "key " << w.partition_key << " reordered";
    last[w.partition_key] = s;
  }
  EXPECT_EQ(h.fake->written.size(), 3000u);  // failed entries were never written: no duplicates
  EXPECT_GT(h.sink->stats().records_retried, 0u);
}

TEST(KinesisSinkTest, ThrottledAndServerErrorCallsAreRetriedWhole) {
  KinesisOptions o = fast_options();
  o.max_in_flight = 1;
  Harness h(o);
  h.fake->call_error = [](size_t call) -> std::optional<Status> {
    if (call == 0)
      return Status(ErrorCode::kUnavailable, "HTTP 400 ProvisionedThroughputExceededException");
    if (call == 1) return Status(ErrorCode::kUnavailable, "HTTP 500 InternalFailure");
    if (call == 2) return Status(ErrorCode::kTimeout, "timed out");
    return std::nullopt;
  };
  testing::AckRecorder acks;
  ASSERT_TRUE(h.send(make_events(10, 10), acks, 0, 10).is_ok());
  ASSERT_TRUE(h.sink->drain(10s).is_ok());
  EXPECT_EQ(acks.acked_count(), 10u);
  EXPECT_EQ(h.fake->calls.size(), 4u);
  EXPECT_EQ(h.sink->stats().calls_retried, 3u);
  EXPECT_EQ(h.fake->written.size(), 10u);
}

TEST(KinesisSinkTest, AuthErrorStopsAtOnceWithoutRetry) {
  KinesisOptions o = fast_options();
  o.max_in_flight = 1;
  Harness h(o);
  h.fake->call_error = [](size_t) -> std::optional<Status> {
    return Status(ErrorCode::kPermissionDenied,
                  "Kinesis PutRecords failed: HTTP 400 UnrecognizedClientException: bad token");
  };
  testing::AckRecorder acks;
  ASSERT_TRUE(h.send(make_events(10, 10), acks, 0, 10).is_ok());
  Status st = h.sink->drain(10s);
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(st.message().find("UnrecognizedClientException"), std::string::npos);
  EXPECT_EQ(h.fake->calls.size(), 1u);
  EXPECT_EQ(acks.acked_count(), 0u);
  EXPECT_EQ(acks.resolved(), 10u);
}

TEST(KinesisSinkTest, NonRetriableRecordErrorStops) {
  KinesisOptions o = fast_options();
  o.max_in_flight = 1;
  Harness h(o);
  h.fake->entry_error = [](size_t, size_t i, const SentEntry&) -> std::string {
    return i == 2 ? "KMSAccessDeniedException" : "";
  };
  testing::AckRecorder acks;
  ASSERT_TRUE(h.send(make_events(5, 5), acks, 0, 5).is_ok());
  Status st = h.sink->drain(10s);
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("KMSAccessDeniedException"), std::string::npos);
  EXPECT_EQ(acks.fate(2), std::optional<bool>(false));
  EXPECT_EQ(acks.checkpoint(), 2u);
  EXPECT_EQ(h.fake->calls.size(), 1u);
}

TEST(KinesisSinkTest, RecordOverOneMebibyteFailsClearly) {
  Harness h;
  testing::AckRecorder acks;
  auto events = make_events(3, 3, 1024 * 1024);
  Status st = h.send(events, acks, 0, 3);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(st.message().find("at most 1 MiB"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("evt_db_1"), std::string::npos) << st.message();
  EXPECT_EQ(acks.resolved(), 3u);
  EXPECT_EQ(acks.acked_count(), 0u);
}

TEST(KinesisSinkTest, RecordOfExactlyOneMebibyteWithKeyIsAccepted) {
  Harness h;
  testing::AckRecorder acks;
  auto events = make_events(1, 1);
  const std::string pk = partition_key_for(events[0]);
  std::string prefix = std::to_string(events[0].sequence) + "|";
  events[0].value = std::string(kMaxBytesPerRecord - pk.size() - prefix.size(), 'x');
  ASSERT_TRUE(h.send(events, acks, 0, 1).is_ok());
  ASSERT_TRUE(h.sink->drain(10s).is_ok());
  EXPECT_EQ(acks.acked_count(), 1u);
}

TEST(KinesisSinkTest, OpenReportsMissingStreamClearly) {
  Harness h;
  h.fake->describe_error = Status(ErrorCode::kNotFound,
                                  "Kinesis DescribeStreamSummary failed: HTTP 400 "
                                  "ResourceNotFoundException: Stream test not found");
  Status st = h.sink->open();
  EXPECT_EQ(st.code(), ErrorCode::kNotFound);
  EXPECT_NE(st.message().find("Kinesis stream 'test'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("does not exist"), std::string::npos) << st.message();
}

TEST(KinesisSinkTest, OpenRetriesUnreachableEndpointThenFails) {
  KinesisOptions o = fast_options();
  o.max_retries = 2;
  Harness h(o);
  h.fake->describe_error = Status(ErrorCode::kUnavailable, "cannot reach http://x: refused");
  Status st = h.sink->open();
  EXPECT_EQ(st.code(), ErrorCode::kUnavailable);
  EXPECT_NE(st.message().find("cannot check Kinesis stream 'test'"), std::string::npos);
  EXPECT_EQ(h.fake->describe_calls, 3);
}

// A stop during start-up must be prompt: with an endpoint that cannot be
// reached, open() retries with backoff (here up to 1000 times, 1 s apart);
// interrupt() from another thread ends it at once with kCancelled.
TEST(KinesisSinkTest, InterruptEndsAnOpenThatRetriesAnUnreachableEndpoint) {
  KinesisOptions o = fast_options();
  o.max_retries = 1000;
  o.retry_base_delay = 1000ms;
  o.retry_max_delay = 1000ms;
  Harness h(o);
  h.fake->describe_error = Status(ErrorCode::kUnavailable, "cannot reach http://x: refused");
  Status st;
  auto t0 = std::chrono::steady_clock::now();
  std::thread opener([&] { st = h.sink->open(); });
  std::this_thread::sleep_for(200ms);
  h.sink->interrupt();
  opener.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(st.code(), ErrorCode::kCancelled) << st.to_string();
  EXPECT_NE(st.message().find("interrupted while checking Kinesis stream 'test'"),
            std::string::npos)
      << st.message();
}

TEST(KinesisSinkTest, OpenRefusesDeletingStream) {
  Harness h;
  h.fake->stream_status = "DELETING";
  Status st = h.sink->open();
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("being deleted"), std::string::npos);
}

TEST(KinesisSinkTest, SeedSendAndFlushInterface) {
  Harness h;
  for (const auto& e : make_events(20, 5)) ASSERT_TRUE(h.sink->send(e).is_ok());
  EXPECT_TRUE(h.sink->flush().is_ok());
  EXPECT_EQ(h.fake->written.size(), 20u);
  EXPECT_EQ(h.sink->name(), "kinesis");
  EXPECT_TRUE(h.sink->close().is_ok());
}

TEST(KinesisSinkTest, BackpressureBoundsQueuedRecords) {
  KinesisOptions o = fast_options();
  o.max_in_flight = 1;
  o.batch_size = 10;  // bound: 1 * 10 * 4 = 40 queued records
  Harness h(o);
  auto gate = std::make_shared<std::atomic<bool>>(false);
  h.fake->call_error = [gate](size_t) -> std::optional<Status> {
    while (!gate->load()) std::this_thread::sleep_for(1ms);
    return std::nullopt;
  };
  testing::AckRecorder acks;
  ASSERT_TRUE(h.sink->open().is_ok());
  auto events = make_events(100, 100);
  std::atomic<size_t> handed{0};
  std::thread producer([&] {
    for (size_t i = 0; i < 100; i += 10) {
      EventBatch b{std::span<const CdcEvent>(events.data() + i, 10), i};
      ASSERT_TRUE(h.sink->send_batch(b, acks).is_ok());
      handed += 10;
    }
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_LE(handed.load(), 50u);  // blocked: 40 queued + 10 in the stalled call
  gate->store(true);
  producer.join();
  ASSERT_TRUE(h.sink->drain(10s).is_ok());
  EXPECT_EQ(acks.acked_count(), 100u);
}

TEST(KinesisOptionsTest, BuilderValidatesOptions) {
  auto bad_batch = KinesisConnectorBuilder("us-east-1", "s").batch_size(501).build();
  ASSERT_FALSE(bad_batch.is_ok());
  EXPECT_NE(bad_batch.status().message().find("batch_size"), std::string::npos);
  auto bad_stream = KinesisConnectorBuilder("us-east-1", "bad name!").build();
  ASSERT_FALSE(bad_stream.is_ok());
  EXPECT_NE(bad_stream.status().message().find("stream_name"), std::string::npos);
  auto bad_endpoint = KinesisConnectorBuilder("us-east-1", "s").endpoint("ftp://x").build();
  ASSERT_FALSE(bad_endpoint.is_ok());
  EXPECT_NE(bad_endpoint.status().message().find("endpoint"), std::string::npos);
  auto bad_region = KinesisConnectorBuilder("US East", "s").build();
  ASSERT_FALSE(bad_region.is_ok());
  EXPECT_NE(bad_region.status().message().find("region"), std::string::npos);
}

TEST(KinesisOptionsTest, BuilderWithExplicitCredentialsBuildsWithoutNetwork) {
  auto k = KinesisConnectorBuilder("us-east-1", "heliosdb-stream")
               .format(SerializationFormat::Json)
               .batch_size(500)
               .max_retries(3)
               .endpoint("https://127.0.0.1:1")
               .credentials("AKIDEXAMPLE", "secret")
               .build();
  ASSERT_TRUE(k.is_ok()) << k.status().to_string();
  EXPECT_EQ((*k)->options().batch_size, 500);
  EXPECT_EQ((*k)->name(), "kinesis");
}

TEST(PartitionKeyTest, DerivedFromEventKeyWithStableTextForBinary) {
  EXPECT_EQ(partition_key_for_key("user123"), "user123");
  EXPECT_EQ(partition_key_for_key(std::string("\x00\x01\xff", 3)), "b64:AAH/");
  EXPECT_EQ(partition_key_for_key("tab\there"), "b64:dGFiCWhlcmU=");
  std::string long_text(256, 'k');
  EXPECT_EQ(partition_key_for_key(long_text), long_text);
  std::string longer(257, 'k');
  std::string pk = partition_key_for_key(longer);
  EXPECT_EQ(pk.rfind("sha256:", 0), 0u);
  EXPECT_EQ(pk.size(), 71u);
  std::string bin189(189, '\x80');
  EXPECT_EQ(partition_key_for_key(bin189).size(), 256u);
  EXPECT_EQ(partition_key_for_key(std::string(190, '\x80')).rfind("sha256:", 0), 0u);
  CdcEvent truncate;
  truncate.database = "db";
  truncate.table = "users";
  EXPECT_EQ(partition_key_for(truncate), "db.users");
  // Always within 1..256 characters.
  std::mt19937 rng(9);
  for (int i = 0; i < 2000; ++i) {
    std::string k(rng() % 400, '\0');
    for (char& c : k) c = static_cast<char>(rng());
    CdcEvent e;
    e.key = k;
    e.database = "d";
    e.table = "t";
    std::string p = partition_key_for(e);
    EXPECT_GE(p.size(), 1u);
    EXPECT_LE(p.size(), 256u);
    EXPECT_EQ(p, partition_key_for(e));
  }
}

// A PostgreSQL snapshot row (READ, transaction_id null, metadata.snapshot)
// becomes a record of the serializer's bytes, keyed by the row's key.
TEST(KinesisEncoderTest, SnapshotReadRowRecord) {
  CdcEvent e = testing::snapshot_read_event("last");
  auto json = make_json_serializer();
  Record r;
  ASSERT_TRUE(encode_record(e, *json, "cdc", r).is_ok());
  EXPECT_EQ(r.data, event_to_json(e));
  EXPECT_NE(r.data.find(R"("operation":"READ")"), std::string::npos) << r.data;
  EXPECT_NE(r.data.find(R"("transaction_id":null,"metadata":{"snapshot":"last"})"),
            std::string::npos)
      << r.data;
  EXPECT_EQ(r.partition_key, R"({"id":1})");
  EXPECT_EQ(r.sequence, 7u);
}

TEST(KinesisConfigTest, SectionDefaultsAndErrorsNameTheKey) {
  auto parse = [](const std::string& text) {
    auto table = config::parse_toml_string(text, "test.toml");
    EXPECT_TRUE(table.is_ok());
    auto report = std::make_shared<config::ConfigReport>();
    report->file = "test.toml";
    config::ConfigSection root(&*table, "", report);
    config::ConfigSection sink = root.section("sink");
    config::ConfigSection section = sink.section("kinesis");
    SinkSettings settings;
    auto creator = kinesis_sink_type().parse(section, settings);
    section.finish();
    return report;
  };
  auto ok = parse("[sink.kinesis]\nstream_name = \"s\"\n");
  EXPECT_TRUE(ok->ok());
  std::map<std::string, std::string> resolved;
  for (const auto& r : ok->resolved) resolved[r.key] = r.value;
  EXPECT_EQ(resolved["sink.kinesis.region"], "\"us-east-1\"");
  EXPECT_EQ(resolved["sink.kinesis.batch_size"], "500");
  EXPECT_EQ(resolved["sink.kinesis.max_retries"], "3");
  EXPECT_EQ(resolved["sink.kinesis.on_failure"], "\"stop\"");

  auto bad = parse("[sink.kinesis]\nbatch_size = 501\nbogus = 1\non_failure = \"drop\"\n");
  ASSERT_FALSE(bad->ok());
  std::string all;
  for (const auto& e : bad->errors) all += e + "\n";
  EXPECT_NE(all.find("test.toml:2"), std::string::npos) << all;
  EXPECT_NE(all.find("sink.kinesis.batch_size"), std::string::npos) << all;
  EXPECT_NE(all.find("bogus"), std::string::npos) << all;
  EXPECT_NE(all.find("on_failure"), std::string::npos) << all;

  auto secret =
      parse("[sink.kinesis]\naccess_key_id = \"AKIDX\"\nsecret_access_key = \"s3cr3t\"\n");
  EXPECT_TRUE(secret->ok());
  for (const auto& r : secret->resolved) EXPECT_EQ(r.value.find("s3cr3t"), std::string::npos);

  auto half = parse("[sink.kinesis]\naccess_key_id = \"AKIDX\"\n");
  EXPECT_FALSE(half->ok());
}

}  // namespace
}  // namespace kinesis
}  // namespace heliosdb::cdc
