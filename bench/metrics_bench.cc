// Cost of the Prometheus metrics: the observer hooks alone, the hooks next to
// realistic per-event work, and the whole pipeline with metrics on vs off in
// the same process (the acceptance bar: on >= 97% of off).
//
//   build/metrics_bench --benchmark_counters_tabular=true
//
// Environment: METRICS_BENCH_EVENTS (default 300000 changes for the
// end-to-end benchmarks, 200-byte values, 5 changes per transaction).
#include <benchmark/benchmark.h>

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <algorithm>
#include <vector>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "heliosdb/cdc/metrics.h"
#include "heliosdb/cdc/processor.h"
#include "heliosdb/cdc/serialization.h"
#include "metrics/metrics_core.h"
#include "sink/file_sink.h"
#include "wal/generator.h"

namespace heliosdb::cdc {
namespace {

const char* const kTables[] = {"users", "orders", "payments", "inventory"};

// --- The hooks alone --------------------------------------------------------

// One acknowledged event per iteration through the observer the pipeline
// holds: the base class (no-op, what the pipeline calls without metrics)
// or the metrics observer. A sink call is reported every 100 events.
void BM_AckHook(benchmark::State& state) {
  std::shared_ptr<PipelineObserver> observer = state.range(0)
                                                   ? std::make_shared<metrics::MetricsCore>(100)
                                                   : std::make_shared<PipelineObserver>();
  PipelineObserver* o = observer.get();
  benchmark::DoNotOptimize(o);
  AckedEvent e;
  e.bytes = 264;
  e.wal_timestamp_ms = 1'700'000'000'000;
  e.acked_at_ms = e.wal_timestamp_ms + 3;
  uint64_t i = 0;
  for (auto _ : state) {
    e.table = kTables[i & 3];
    e.operation = static_cast<OperationType>(1 + (i % 3));
    o->on_acknowledged(e);
    if (++i % 100 == 0) o->on_sink_call(0.0004, 100);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AckHook)->ArgName("metrics")->Arg(0)->Arg(1);

// What the pipeline calls: one on_acknowledged_batch() per acknowledgement
// (here 100 events, tables and operations rotating, latencies 0-4 ms), per
// event.
void BM_AckBatchHook(benchmark::State& state) {
  std::shared_ptr<PipelineObserver> observer = state.range(0)
                                                   ? std::make_shared<metrics::MetricsCore>(100)
                                                   : std::make_shared<PipelineObserver>();
  PipelineObserver* o = observer.get();
  benchmark::DoNotOptimize(o);
  std::vector<AckedEvent> batch(100);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].table = kTables[(i * 7) & 3];
    batch[i].operation = static_cast<OperationType>(1 + (i % 3));
    batch[i].bytes = 264;
    batch[i].wal_timestamp_ms = 1'700'000'000'000;
    batch[i].acked_at_ms = batch[i].wal_timestamp_ms + static_cast<int64_t>(i / 20);
  }
  for (auto _ : state) {
    o->on_acknowledged_batch(batch);
    o->on_sink_call(0.0004, batch.size());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
}
BENCHMARK(BM_AckBatchHook)->ArgName("metrics")->Arg(0)->Arg(1);

// The same hooks next to per-event work every pipeline does: serializing the
// event to JSON (the cheapest serializer).
void BM_SerializeWithHooks(benchmark::State& state) {
  std::shared_ptr<PipelineObserver> observer = state.range(0)
                                                   ? std::make_shared<metrics::MetricsCore>(100)
                                                   : std::make_shared<PipelineObserver>();
  PipelineObserver* o = observer.get();
  CdcEvent ev;
  ev.database = "bench";
  ev.key = "user-000123";
  ev.value = std::string(200, 'v');
  ev.old_value = std::string(200, 'o');
  ev.transaction_id = "txn_42";
  ev.timestamp = 1'700'000'000'000;
  std::string out;
  uint64_t i = 0;
  AckedEvent e;
  for (auto _ : state) {
    ev.sequence = i;
    ev.table = kTables[i & 3];
    ev.operation = static_cast<OperationType>(1 + (i % 3));
    assign_event_id(ev.event_id, ev.database, ev.sequence);
    out.clear();
    append_event_json(ev, out);
    benchmark::DoNotOptimize(out.data());
    e.table = ev.table;
    e.operation = ev.operation;
    e.bytes = ev.key.size() + ev.value->size() + ev.old_value->size();
    e.wal_timestamp_ms = ev.timestamp;
    e.acked_at_ms = ev.timestamp + 2;
    o->on_acknowledged(e);
    if (++i % 100 == 0) o->on_sink_call(0.0004, 100);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SerializeWithHooks)->ArgName("metrics")->Arg(0)->Arg(1);

// --- The whole pipeline -----------------------------------------------------

struct WalFixture {
  std::string dir;
  uint64_t changes = 0;
  WalFixture() {
    dir = (std::filesystem::temp_directory_path() / "heliosdb-cdc-metrics-bench").string();
    std::filesystem::remove_all(dir);
    const char* env = std::getenv("METRICS_BENCH_EVENTS");
    wal::GeneratorOptions o;
    o.dir = dir + "/wal";
    o.database = "bench";
    o.events = env ? std::strtoull(env, nullptr, 10) : 300000;
    o.tables = {"users", "orders", "payments", "inventory"};
    o.txn_size = 5;
    o.abort_ratio = 0.1;
    o.value_bytes = 200;
    o.seed = 7;
    o.sync_policy = WalSyncPolicy::kNever;
    auto summary = wal::generate_wal(o);
    if (!summary) {
      std::fprintf(stderr, "generate: %s\n", summary.status().to_string().c_str());
      std::exit(1);
    }
    changes = summary->changes;
  }
  ~WalFixture() { std::filesystem::remove_all(dir); }
};

WalFixture& wal_fixture() {
  static WalFixture f;
  return f;
}

// Acknowledges every batch at once: the fastest possible sink, so the
// metrics' share of the work is as large as it can be.
class NullSink final : public EventSink {
 public:
  Status send(const CdcEvent&) override { return Status::ok(); }
  Status flush() override { return Status::ok(); }
  Status close() override { return Status::ok(); }
  std::string_view name() const override { return "null"; }
  Status send_batch(const EventBatch& batch, AckReceiver& acks) override {
    for (const CdcEvent& e : batch.events) benchmark::DoNotOptimize(e.key.data());
    if (!batch.events.empty()) acks.acknowledge(batch.first_ticket, batch.events.size());
    return Status::ok();
  }
};

struct RunResult {
  double wall_seconds = 0;
  double cpu_seconds = 0;  // user + system of the whole process
  uint64_t events = 0;
};

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// One run_once() over the whole WAL.
RunResult run_pipeline(bool metrics_on, bool file_sink) {
  WalFixture& f = wal_fixture();
  std::filesystem::remove_all(f.dir + "/ckpt");
  const std::string out = "/dev/shm/heliosdb-cdc-metrics-bench.jsonl";
  std::filesystem::remove(out);
  auto config = CdcConfig::builder()
                    .wal_path(f.dir + "/wal")
                    .database("bench")
                    .checkpoint_dir(f.dir + "/ckpt")
                    .enable_metrics(metrics_on)
                    .build();
  std::unique_ptr<EventSink> sink;
  if (file_sink) {
    FileSinkOptions so;
    so.path = out;
    sink = make_file_sink(so);
  } else {
    sink = std::make_unique<NullSink>();
  }
  EventProcessor p(*config, std::move(sink));
  p.handle_signals(false);
  MetricsSettings settings;
  settings.enabled = metrics_on;
  settings.listen = "127.0.0.1:0";
  auto service = MetricsService::start(settings, file_sink ? "file" : "null", &p.stats());
  if (!service) {
    std::fprintf(stderr, "%s\n", service.status().to_string().c_str());
    std::exit(1);
  }
  if (*service) p.with_observer((*service)->observer());
  RunResult r;
  const double cpu0 = process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  Status st = p.run_once();
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.cpu_seconds = process_cpu_seconds() - cpu0;
  if (!st.is_ok()) {
    std::fprintf(stderr, "run_once: %s\n", st.to_string().c_str());
    std::exit(1);
  }
  r.events = p.stats().events_acknowledged.load();
  if (*service) benchmark::DoNotOptimize((*service)->scrape());
  std::filesystem::remove(out);
  return r;
}

// Metrics off and on, alternating inside every iteration (the order flips
// each time) so both see the same machine conditions. Reports the median of
// the per-iteration on/off throughput ratios (on/off_pairs), and the best
// (least disturbed) run of each: events/s by wall clock, and the process's
// CPU time per event.
void BM_PipelineMetricsOnVsOff(benchmark::State& state) {
  spdlog::set_level(spdlog::level::warn);
  const bool file_sink = state.range(0) != 0;
  RunResult best_off, best_on;
  best_off.wall_seconds = best_on.wall_seconds = 1e30;
  best_off.cpu_seconds = best_on.cpu_seconds = 1e30;
  run_pipeline(false, file_sink);  // warm the page cache
  bool on_first = false;
  std::vector<double> pair_ratios;  // on/off throughput of the two runs of one iteration
  for (auto _ : state) {
    double rate[2] = {0, 0};  // [off, on]
    for (int k = 0; k < 2; ++k) {
      const bool on = (k == 0) == on_first;
      RunResult r = run_pipeline(on, file_sink);
      RunResult& best = on ? best_on : best_off;
      best.events = r.events;
      best.wall_seconds = std::min(best.wall_seconds, r.wall_seconds);
      best.cpu_seconds = std::min(best.cpu_seconds, r.cpu_seconds);
      rate[on] = r.events / r.wall_seconds;
    }
    pair_ratios.push_back(rate[1] / rate[0]);
    on_first = !on_first;
  }
  // Adjacent runs see nearly the same machine: the median of their ratios
  // is the figure least moved by other load (the best-of ratio below can be
  // skewed by one lucky run).
  std::sort(pair_ratios.begin(), pair_ratios.end());
  state.counters["on/off_pairs"] = pair_ratios[pair_ratios.size() / 2];
  const double off_rate = best_off.events / best_off.wall_seconds;
  const double on_rate = best_on.events / best_on.wall_seconds;
  state.counters["off_events/s"] = off_rate;
  state.counters["on_events/s"] = on_rate;
  state.counters["on/off"] = on_rate / off_rate;
  state.counters["off_cpu_ns/ev"] = best_off.cpu_seconds * 1e9 / best_off.events;
  state.counters["on_cpu_ns/ev"] = best_on.cpu_seconds * 1e9 / best_on.events;
}
BENCHMARK(BM_PipelineMetricsOnVsOff)
    ->ArgName("file_sink")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(10);

}  // namespace
}  // namespace heliosdb::cdc

BENCHMARK_MAIN();
