// The Kinesis sink against kinesis-mock (real HTTP/TLS, real JSON protocol),
// driven directly through send_batch, and the fault proxy for partial
// failures, throttling and 5xx.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <set>

#include "heliosdb/cdc/kinesis.h"
#include "heliosdb/cdc/serialization.h"
#include "kinesis_test_util.h"
#include "sink/kinesis_records.h"
#include "testing/ack_recorder.h"
#include "testing/event_factory.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using namespace std::chrono_literals;
using kinesis_test::ReadRecord;

// Keys: text, binary, empty (TRUNCATE); several events per key.
std::vector<CdcEvent> make_events(size_t n, size_t keys, uint64_t first_seq = 1) {
  return testing::make_events(
      {.count = n,
       .first_seq = first_seq,
       .database = "shop",
       .tables = {"orders", "users"},
       .keys = keys,
       .key_prefix = "user-",
       .first_timestamp = 1700000000000,
       .shape = [keys](size_t i, CdcEvent& e) {
         e.transaction_id = "txn_" + std::to_string(i / 3);
         size_t k = i % keys;
         if (k % 5 == 4) {
           e.key = std::string("\x00\xff", 2) + std::to_string(k);  // binary key
         } else if (k % 7 == 6) {
           e.key.clear();
           e.operation = OperationType::Truncate;
         }
         if (e.operation != OperationType::Truncate) {
           e.operation = i % 3 == 0 ? OperationType::Insert : OperationType::Update;
           e.value =
               "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(i % 50, 'x') + "\"}";
         }
         if (e.operation == OperationType::Update) e.old_value = std::string("\x01\x02\x03", 3);
         e.metadata["source"] = "it";
       }});
}

std::unique_ptr<KinesisConnector> build(const KinesisOptions& o) {
  auto k = KinesisConnectorBuilder(o.region, o.stream_name).options(o).build();
  EXPECT_TRUE(k.is_ok()) << k.status().to_string();
  return k.is_ok() ? std::move(k).value() : nullptr;
}

Status send_all(KinesisConnector& sink, const std::vector<CdcEvent>& events,
                testing::AckRecorder& acks, size_t chunk = 250) {
  for (size_t i = 0; i < events.size(); i += chunk) {
    size_t n = std::min(chunk, events.size() - i);
    HELIOSDB_RETURN_IF_ERROR(
        sink.send_batch({std::span<const CdcEvent>(events.data() + i, n), i}, acks));
  }
  return Status::ok();
}

// Every event present exactly `once` (or at least once), byte-exact JSON,
// partition key as specified, per-key order within the key's shard.
void check_stream(const std::vector<CdcEvent>& events, const std::vector<ReadRecord>& records,
                  bool allow_duplicates, size_t* duplicates = nullptr) {
  std::map<std::string, const CdcEvent*> by_json;
  for (const auto& e : events) by_json[event_to_json(e)] = &e;
  std::map<uint64_t, int> seen;
  std::map<std::string, uint64_t> last_seq_of_key;
  std::map<std::string, std::string> shard_of_key;
  for (const auto& r : records) {
    auto it = by_json.find(r.data);
    ASSERT_NE(it, by_json.end()) << "unexpected record bytes: " << r.data.substr(0, 200);
    const CdcEvent& e = *it->second;
    EXPECT_EQ(r.partition_key, kinesis::partition_key_for(e)) << e.event_id;
    auto [sit, fresh] = shard_of_key.emplace(r.partition_key, r.shard_id);
    EXPECT_EQ(sit->second, r.shard_id) << "key split over shards";
    if (seen[e.sequence]++ == 0) {
      auto [lit, first] = last_seq_of_key.emplace(r.partition_key, e.sequence);
      if (!first) {
        EXPECT_LT(lit->second, e.sequence) << "per-key order broken at " << e.event_id;
        lit->second = e.sequence;
      }
    }
  }
  size_t dups = 0;
  for (const auto& e : events) {
    EXPECT_GE(seen[e.sequence], 1) << "lost " << e.event_id;
    if (seen[e.sequence] > 1) dups += seen[e.sequence] - 1;
  }
  if (!allow_duplicates) EXPECT_EQ(dups, 0u);
  if (duplicates) *duplicates = dups;
}

class KinesisSinkIT : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(kinesis_test::require_service());
    kinesis_test::proxy("/__reset");
  }
  void TearDown() override { kinesis_test::proxy("/__reset"); }
};

TEST_F(KinesisSinkIT, DeliversToOneShardStreamOverTlsByteExactInKeyOrder) {
  std::string stream = kinesis_test::unique_name("it-one");
  ASSERT_NO_FATAL_FAILURE(kinesis_test::create_stream(stream, 1));
  auto sink = build(kinesis_test::options(stream, kinesis_test::kTlsEndpoint));
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->open().is_ok());
  testing::AckRecorder acks;
  auto events = make_events(600, 60);
  ASSERT_TRUE(send_all(*sink, events, acks).is_ok());
  ASSERT_TRUE(sink->drain(60s).is_ok());
  EXPECT_EQ(acks.acked_count(), events.size());
  auto records = kinesis_test::read_all(stream, events.size());
  EXPECT_EQ(records.size(), events.size());
  check_stream(events, records, false);
  // Keep-alive: one connection per lane, not one per call.
  auto st = sink->stats();
  EXPECT_LE(st.connections, 4u);
  EXPECT_GE(st.requests, 3u);
  EXPECT_TRUE(sink->close().is_ok());
}

TEST_F(KinesisSinkIT, DeliversToFourShardStreamAcrossShards) {
  std::string stream = kinesis_test::unique_name("it-four");
  ASSERT_NO_FATAL_FAILURE(kinesis_test::create_stream(stream, 4));
  KinesisOptions o = kinesis_test::options(stream, kinesis_test::kPlainEndpoint);
  o.batch_size = 100;
  auto sink = build(o);
  ASSERT_TRUE(sink);
  testing::AckRecorder acks;
  auto events = make_events(1000, 200);
  ASSERT_TRUE(send_all(*sink, events, acks).is_ok());
  ASSERT_TRUE(sink->drain(60s).is_ok());
  EXPECT_EQ(acks.acked_count(), events.size());
  auto records = kinesis_test::read_all(stream, events.size());
  EXPECT_EQ(records.size(), events.size());
  check_stream(events, records, false);
  std::set<std::string> shards;
  for (const auto& r : records) shards.insert(r.shard_id);
  EXPECT_EQ(shards.size(), 4u);
}

TEST_F(KinesisSinkIT, PartialFailuresAreResentAloneNothingLostNoDuplicates) {
  std::string stream = kinesis_test::unique_name("it-partial");
  ASSERT_NO_FATAL_FAILURE(kinesis_test::create_stream(stream, 2));
  kinesis_test::proxy("/__fault", R"({"fail_every": 7, "fail_calls": -1})");
  KinesisOptions o = kinesis_test::options(stream, kinesis_test::kProxyEndpoint);
  o.max_retries = 10;
  auto sink = build(o);
  ASSERT_TRUE(sink);
  testing::AckRecorder acks;
  auto events = make_events(800, 40);
  ASSERT_TRUE(send_all(*sink, events, acks).is_ok());
  ASSERT_TRUE(sink->drain(60s).is_ok()) << "drain";
  EXPECT_EQ(acks.acked_count(), events.size());
  uint64_t injected = kinesis_test::proxy_stat("entries_failed");
  EXPECT_GT(injected, 80u);
  auto st = sink->stats();
  EXPECT_EQ(st.records_retried, injected);  // exactly the failed entries were resent
  EXPECT_EQ(st.records_sent, events.size() + injected);
  auto records = kinesis_test::read_all(stream, events.size());
  EXPECT_EQ(records.size(), events.size());
  check_stream(events, records, false);  // per-key order kept, no duplicates
}

TEST_F(KinesisSinkIT, ThrottlingAndServerErrorsAreRetried) {
  std::string stream = kinesis_test::unique_name("it-throttle");
  ASSERT_NO_FATAL_FAILURE(kinesis_test::create_stream(stream, 1));
  kinesis_test::proxy("/__fault", R"({"throttle_calls": 2, "error_5xx_calls": 2})");
  KinesisOptions o = kinesis_test::options(stream, kinesis_test::kProxyEndpoint);
  o.max_in_flight = 1;
  o.max_retries = 5;
  auto sink = build(o);
  ASSERT_TRUE(sink);
  testing::AckRecorder acks;
  auto events = make_events(300, 30);
  ASSERT_TRUE(send_all(*sink, events, acks).is_ok());
  ASSERT_TRUE(sink->drain(60s).is_ok());
  EXPECT_EQ(acks.acked_count(), events.size());
  EXPECT_EQ(kinesis_test::proxy_stat("calls_throttled"), 2u);
  EXPECT_EQ(kinesis_test::proxy_stat("calls_5xx"), 2u);
  EXPECT_EQ(sink->stats().calls_retried, 4u);
  auto records = kinesis_test::read_all(stream, events.size());
  check_stream(events, records, false);
}

TEST_F(KinesisSinkIT, RecordFailingPastMaxRetriesStopsAndCheckpointNeverPassesIt) {
  std::string stream = kinesis_test::unique_name("it-giveup");
  ASSERT_NO_FATAL_FAILURE(kinesis_test::create_stream(stream, 1));
  auto events = make_events(400, 20);
  std::string doomed = kinesis::partition_key_for(events[3]);  // "user-3", tickets 3, 23, ...
  kinesis_test::proxy("/__fault", R"({"fail_key": ")" + doomed + R"("})");
  KinesisOptions o = kinesis_test::options(stream, kinesis_test::kProxyEndpoint);
  o.max_retries = 2;
  auto sink = build(o);
  ASSERT_TRUE(sink);
  testing::AckRecorder acks;
  ASSERT_TRUE(send_all(*sink, events, acks, 400).is_ok());
  Status st = sink->drain(60s);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("max_retries = 2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("ProvisionedThroughputExceededException"), std::string::npos);
  EXPECT_EQ(acks.fate(3), std::optional<bool>(false));
  EXPECT_LE(acks.checkpoint(), 3u);
  EXPECT_FALSE(sink->poll(0ms).is_ok());
  // Nothing of the doomed key reached the stream.
  auto records = kinesis_test::read_all(stream, 0, 0ms);
  for (const auto& r : records) EXPECT_NE(r.partition_key, doomed);
}

TEST_F(KinesisSinkIT, MissingStreamFailsOpenWithClearError) {
  auto sink = build(kinesis_test::options("no-such-stream-xyz", kinesis_test::kPlainEndpoint));
  ASSERT_TRUE(sink);
  Status st = sink->open();
  EXPECT_EQ(st.code(), ErrorCode::kNotFound);
  EXPECT_NE(st.message().find("Kinesis stream 'no-such-stream-xyz'"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("does not exist"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("ResourceNotFoundException"), std::string::npos) << st.message();
}

TEST_F(KinesisSinkIT, WrongEndpointFailsOpenWithClearError) {
  KinesisOptions o = kinesis_test::options("heliosdb-test-1", "http://127.0.0.1:14599");
  o.max_retries = 1;
  auto sink = build(o);
  ASSERT_TRUE(sink);
  Status st = sink->open();
  EXPECT_EQ(st.code(), ErrorCode::kUnavailable);
  EXPECT_NE(st.message().find("cannot check Kinesis stream 'heliosdb-test-1'"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("cannot reach http://127.0.0.1:14599/"), std::string::npos)
      << st.message();
}

TEST_F(KinesisSinkIT, RejectedCredentialsFailOpenWithClearErrorAndNoSecret) {
  kinesis_test::proxy("/__fault", R"({"describe_error": "UnrecognizedClientException"})");
  auto sink = build(kinesis_test::options("heliosdb-test-1", kinesis_test::kProxyEndpoint));
  ASSERT_TRUE(sink);
  Status st = sink->open();
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(st.message().find("UnrecognizedClientException"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("credentials from configuration"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("test-secret"), std::string::npos);
}

TEST_F(KinesisSinkIT, TlsVerificationIsOnByDefault) {
  KinesisOptions o = kinesis_test::options("heliosdb-test-1", kinesis_test::kTlsEndpoint);
  o.verify_tls = true;
  auto sink = build(o);
  ASSERT_TRUE(sink);
  Status st = sink->open();
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("TLS verification failed"), std::string::npos) << st.message();
}

TEST_F(KinesisSinkIT, NoCredentialsFailsBuildWithClearError) {
  testing::TempDir home;
  std::map<std::string, std::string> saved;
  for (const char* v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                        "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "HOME"}) {
    if (const char* x = std::getenv(v)) saved[v] = x;
    unsetenv(v);
  }
  setenv("HOME", home.path().c_str(), 1);
  auto k = KinesisConnectorBuilder("us-east-1", "heliosdb-test-1")
               .endpoint(kinesis_test::kPlainEndpoint)
               .build();
  for (const auto& [n, v] : saved) setenv(n.c_str(), v.c_str(), 1);
  ASSERT_FALSE(k.is_ok());
  EXPECT_EQ(k.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(k.status().message().find("no AWS credentials found"), std::string::npos)
      << k.status().message();
}

TEST_F(KinesisSinkIT, CredentialsFromEnvironmentAreUsed) {
  setenv("AWS_ACCESS_KEY_ID", "AKIDENVTEST", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
  auto k = KinesisConnectorBuilder("us-east-1", "heliosdb-test-1")
               .endpoint(kinesis_test::kPlainEndpoint)
               .build();
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  ASSERT_TRUE(k.is_ok()) << k.status().to_string();
  EXPECT_TRUE((*k)->open().is_ok());
}

}  // namespace
}  // namespace heliosdb::cdc
