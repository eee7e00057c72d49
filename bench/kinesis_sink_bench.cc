// Kinesis sink benchmarks.
//
//  * BM_Sign*: SigV4 signing cost per request (PutRecords bodies of 1 and 500
//    records), against the baseline of hashing the same body alone.
//  * BM_BuildPutRecordsBody: JSON + base64 of a 500-record call.
//  * BM_SinkFakeApi: the sink's own cost per event (serialize, partition key,
//    lanes, acks) with an instant in-process API: the in-run baseline.
//  * BM_SinkKinesisMock/shards: events/s into kinesis-mock (must be running:
//    scripts/services/kinesis.sh start) over HTTP, 1 and 4 shards.
//
// The real service's limits per shard are 1,000 records/s and 1 MiB/s of
// writes: a 1-shard stream caps at 1,000 events/s whatever the client does.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "heliosdb/cdc/kinesis.h"
#include "sink/aws/crypto.h"
#include "sink/aws/sigv4.h"
#include "sink/kinesis_client.h"
#include "sink/kinesis_connector.h"

namespace heliosdb::cdc {
namespace {

using namespace std::chrono_literals;

std::vector<CdcEvent> make_events(size_t n, uint64_t first_seq) {
  std::vector<CdcEvent> out(n);
  for (size_t i = 0; i < n; ++i) {
    CdcEvent& e = out[i];
    e.sequence = first_seq + i;
    e.timestamp = 1700000000000;
    e.database = "bench";
    e.table = "users";
    e.event_id = make_event_id("bench", e.sequence);
    e.key = "user" + std::to_string(e.sequence % 100000);
    e.value = std::string(200, 'v');
    e.transaction_id = "txn_1";
  }
  return out;
}

std::vector<kinesis::PutRecordsEntry> entries_of(const std::vector<std::string>& data,
                                                 const std::vector<std::string>& keys) {
  std::vector<kinesis::PutRecordsEntry> out;
  for (size_t i = 0; i < data.size(); ++i) out.push_back({data[i], keys[i]});
  return out;
}

std::string put_records_body(size_t records) {
  std::vector<std::string> data(records, std::string(300, 'd')), keys;
  for (size_t i = 0; i < records; ++i) keys.push_back("user" + std::to_string(i));
  std::string body;
  kinesis::KinesisClient::build_put_records_body("bench-stream", entries_of(data, keys), body);
  return body;
}

void BM_Sha256Body(benchmark::State& state) {
  std::string body = put_records_body(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(aws::sha256(body));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_Sha256Body)->Arg(1)->Arg(500);

void BM_SignPutRecords(benchmark::State& state) {
  std::string body = put_records_body(static_cast<size_t>(state.range(0)));
  aws::SigV4Signer signer(aws::Region{"us-east-1"}, aws::ServiceName{"kinesis"});
  aws::Credentials creds{aws::AccessKeyId{"AKIDEXAMPLE"},
                         aws::SecretAccessKey{"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
                         aws::SessionToken{}, "bench"};
  aws::HttpHeaders headers{{"Host", "kinesis.us-east-1.amazonaws.com"},
                           {"Content-Type", "application/x-amz-json-1.1"},
                           {"X-Amz-Target", "Kinesis_20131202.PutRecords"}};
  for (auto _ : state) {
    aws::SigningRequest req{"POST", "/", "", &headers, body};
    benchmark::DoNotOptimize(signer.sign(req, creds));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_SignPutRecords)->Arg(1)->Arg(500);

void BM_BuildPutRecordsBody(benchmark::State& state) {
  std::vector<std::string> data(500, std::string(300, 'd')), keys;
  for (size_t i = 0; i < 500; ++i) keys.push_back("user" + std::to_string(i));
  auto entries = entries_of(data, keys);
  std::string body;
  for (auto _ : state) {
    kinesis::KinesisClient::build_put_records_body("bench-stream", entries, body);
    benchmark::DoNotOptimize(body.data());
  }
  state.SetItemsProcessed(state.iterations() * 500);
}
BENCHMARK(BM_BuildPutRecordsBody);

class CountingAcks : public AckReceiver {
 public:
  void acknowledge(uint64_t, uint64_t count) override { acked += count; }
  void fail(uint64_t, Status) override { failed++; }
  std::atomic<uint64_t> acked{0}, failed{0};
};

class InstantApi : public kinesis::KinesisApi {
 public:
  Result<kinesis::StreamSummary> describe_stream_summary(const std::string&) override {
    return kinesis::StreamSummary{"ACTIVE", 1};
  }
  Result<std::vector<kinesis::PutRecordResult>> put_records(
      const std::string&, std::span<const kinesis::PutRecordsEntry> entries) override {
    std::vector<kinesis::PutRecordResult> out(entries.size());
    for (auto& r : out) {
      r.ok = true;
      r.sequence_number = "1";
    }
    return out;
  }
};

void run_sink(benchmark::State& state, KinesisConnector& sink, size_t events_per_iter) {
  CountingAcks acks;
  uint64_t seq = 1;
  for (auto _ : state) {
    auto events = make_events(events_per_iter, seq);
    for (size_t i = 0; i < events.size(); i += 100) {
      EventBatch b{std::span<const CdcEvent>(events.data() + i, 100), seq - 1 + i};
      Status st = sink.send_batch(b, acks);
      if (!st.is_ok()) {
        state.SkipWithError(st.to_string().c_str());
        return;
      }
    }
    Status st = sink.drain(300s);
    if (!st.is_ok()) {
      state.SkipWithError(st.to_string().c_str());
      return;
    }
    seq += events_per_iter;
  }
  state.SetItemsProcessed(static_cast<int64_t>(acks.acked.load()));
  auto stats = sink.stats();
  state.counters["requests"] = static_cast<double>(stats.requests);
  state.counters["connections"] = static_cast<double>(stats.connections);
}

void BM_SinkFakeApi(benchmark::State& state) {
  KinesisOptions o;
  o.stream_name = "bench";
  kinesis::ConnectorParts parts;
  parts.serializer = make_json_serializer();
  parts.api_factory = []() -> Result<std::unique_ptr<kinesis::KinesisApi>> {
    return std::unique_ptr<kinesis::KinesisApi>(new InstantApi());
  };
  auto sink = kinesis::make_kinesis_connector(o, std::move(parts));
  if (!sink.is_ok()) {
    state.SkipWithError(sink.status().to_string().c_str());
    return;
  }
  run_sink(state, **sink, 20000);
}
BENCHMARK(BM_SinkFakeApi)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SinkKinesisMock(benchmark::State& state) {
  const int shards = static_cast<int>(state.range(0));
  std::string stream =
      "bench-" + std::to_string(shards) + "-" + std::to_string(::getpid()) + "-" +
      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 100000);
  kinesis::KinesisClientOptions co;
  co.region = "us-east-1";
  co.endpoint = aws::parse_endpoint("http://127.0.0.1:14568").value();
  co.credentials = aws::Credentials{aws::AccessKeyId{"AKIDBENCH"}, aws::SecretAccessKey{"s"},
                                    aws::SessionToken{}, "bench"};
  kinesis::KinesisClient admin(co);
  if (Status st = admin.create_stream(stream, shards); !st.is_ok()) {
    state.SkipWithError(("kinesis-mock not reachable on 127.0.0.1:14568 (run "
                         "scripts/services/kinesis.sh start): " +
                         st.to_string())
                            .c_str());
    return;
  }
  for (int i = 0; i < 100; ++i) {
    auto s = admin.describe_stream_summary(stream);
    if (s.is_ok() && s->status == "ACTIVE") break;
    std::this_thread::sleep_for(50ms);
  }
  auto sink = KinesisConnectorBuilder("us-east-1", stream)
                  .endpoint("http://127.0.0.1:14568")
                  .credentials("AKIDBENCH", "s")
                  .max_in_flight(static_cast<int>(state.range(1)))
                  .build();
  if (!sink.is_ok()) {
    state.SkipWithError(sink.status().to_string().c_str());
    return;
  }
  if (Status st = (*sink)->open(); !st.is_ok()) {
    state.SkipWithError(st.to_string().c_str());
    return;
  }
  run_sink(state, **sink, 3000);
}
BENCHMARK(BM_SinkKinesisMock)
    ->ArgNames({"shards", "in_flight"})
    ->Args({1, 4})
    ->Args({4, 4})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace heliosdb::cdc

BENCHMARK_MAIN();
