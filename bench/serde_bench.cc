// Serialization rate, Avro vs JSON, for the same events in one run.
//
//   build-avro/bench/serde_bench --benchmark_min_time=2
//
// Events: 1024 distinct events cycled (so the data is not one hot cache
// line), each with a 200-byte value, a 200-byte old_value on updates, a
// 12-byte key, a transaction id and one metadata entry, as the WAL source
// produces them. Output buffers are reused, as in the sinks. items_per_second
// is events per second on one core.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "heliosdb/cdc/serialization.h"
#include "serde/avro_container_writer.h"
#include "serde/avro_encoder.h"
#include "serde/avro_serializer.h"

namespace heliosdb::cdc {
namespace {

std::vector<CdcEvent> make_events(size_t value_size) {
  std::mt19937_64 rng(42);
  std::vector<CdcEvent> events(1024);
  for (size_t i = 0; i < events.size(); ++i) {
    CdcEvent& e = events[i];
    e.database = "production";
    e.table = i % 3 ? "users" : "orders";
    e.sequence = 1000000 + i;
    assign_event_id(e.event_id, e.database, e.sequence);
    e.timestamp = 1732550000000 + static_cast<int64_t>(i);
    e.operation = i % 4 == 0 ? OperationType::Update : OperationType::Insert;
    e.key = "user:" + std::to_string(1000000 + i);
    std::string value(value_size, '\0');
    for (char& c : value) c = static_cast<char>(rng());
    e.value = value;
    if (e.operation == OperationType::Update) e.old_value = value;
    assign_transaction_id(e.transaction_id.emplace(), 5000 + i / 10);
    e.metadata = {{"source", "heliosdb-prod"}};
  }
  return events;
}

class FixedId : public SchemaIdProvider {
 public:
  Result<int32_t> schema_id(const std::string&, std::string_view) override { return 42; }
};

void BM_Json(benchmark::State& state) {
  auto events = make_events(static_cast<size_t>(state.range(0)));
  std::string out;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    out.clear();
    append_event_json(events[i++ & 1023], out);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_AvroBody(benchmark::State& state) {
  auto events = make_events(static_cast<size_t>(state.range(0)));
  std::string out;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    out.clear();
    avro::append_event(events[i++ & 1023], out);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

// What Kafka and Kinesis get: Confluent framing, schema id cached.
void BM_AvroConfluent(benchmark::State& state) {
  auto events = make_events(static_cast<size_t>(state.range(0)));
  AvroSerializer serializer(std::make_shared<FixedId>(), SubjectStrategy::kTopicName);
  std::string out;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    out.clear();
    Status st = serializer.serialize(events[i++ & 1023], "heliosdb-cdc", out);
    if (!st.is_ok()) state.SkipWithError(st.message().c_str());
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

// What the file sink gets: container blocks of 100 events.
void BM_AvroContainer(benchmark::State& state) {
  auto events = make_events(static_cast<size_t>(state.range(0)));
  avro::AvroContainerWriter writer;
  std::string out;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    writer.add(events[i++ & 1023]);
    if (writer.pending_events() == 100) {
      out.clear();
      writer.append_block(out);
      bytes += out.size();
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

BENCHMARK(BM_Json)->Arg(200)->Arg(2000);
BENCHMARK(BM_AvroBody)->Arg(200)->Arg(2000);
BENCHMARK(BM_AvroConfluent)->Arg(200)->Arg(2000);
BENCHMARK(BM_AvroContainer)->Arg(200)->Arg(2000);

}  // namespace
}  // namespace heliosdb::cdc

BENCHMARK_MAIN();
