// MetricsCore: the PipelineObserver behind MetricsService, and the state a
// scrape reads.
//
// Hot path: each hook writes only the calling thread's Shard (single writer:
// relaxed load + store, no lock prefix, no mutex). A thread meets the mutex
// once, when it first calls a hook and its shard is created. A scrape sums
// all shards (relaxed loads), so a sample may miss the increments of the last
// nanoseconds but never goes backwards.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "heliosdb/cdc/event.h"
#include "heliosdb/cdc/metrics.h"
#include "metrics/table_labels.h"

namespace heliosdb::cdc::metrics {

// Upper bounds (seconds) of both latency histograms: 0.5 ms .. 60 s.
inline constexpr std::array<double, 16> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25,   0.5,   1.0,    2.5,   5.0,  10.0,  30.0, 60.0};

// A counter with one writing thread.
struct LocalCounter {
  std::atomic<uint64_t> value{0};
  void add(uint64_t n) {
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return value.load(std::memory_order_relaxed); }
};

// Histogram cells with one writing thread. counts[i] is the number of
// observations in bucket i (not cumulative); the last cell is +Inf.
struct LocalHistogram {
  std::array<LocalCounter, kLatencyBuckets.size() + 1> counts;
  std::atomic<double> sum{0.0};  // seconds, from observe()
  LocalCounter sum_ms;           // milliseconds, from observe_ms() (exact, cheaper)
  void observe(double seconds);
  // The same for a whole number of milliseconds >= 0 (event latency: WAL
  // timestamps are in ms): table lookup instead of a search.
  void observe_ms(int64_t ms);
  // `count` observations of `ms` milliseconds.
  void observe_ms(int64_t ms, uint64_t count);
};

// Sums of all shards at one scrape.
struct HistogramSnapshot {
  std::array<uint64_t, kLatencyBuckets.size() + 1> counts{};  // not cumulative
  double sum = 0.0;
  uint64_t count() const;
};

// Cells of the per-operation counters, indexed by OperationType value up to
// the highest (READ = 5). Cell 0 names no operation: a value out of range
// lands there rather than past the end.
inline constexpr size_t kOperationSlots = static_cast<size_t>(OperationType::Read) + 1;

struct CountsSnapshot {
  std::array<uint64_t, kOperationSlots> by_operation{};  // index: OperationType value
  std::vector<uint64_t> by_table;                        // index: TableLabels index
  uint64_t acknowledged = 0;
  uint64_t filtered = 0;
  uint64_t bytes = 0;
  uint64_t sink_calls = 0;
  HistogramSnapshot event_latency;
  HistogramSnapshot sink_latency;
};

class MetricsCore final : public PipelineObserver {
 public:
  explicit MetricsCore(uint32_t max_table_labels);
  ~MetricsCore() override;

  // PipelineObserver
  void on_started() override;
  void on_stopped(const Status& result) override;
  void on_filtered(const CdcEvent& event) override;
  void on_acknowledged(const AckedEvent& event) override;
  // Aggregates the batch locally (runs of one table, one latency bucket)
  // and touches the shard's counters once per run, not once per event.
  void on_acknowledged_batch(std::span<const AckedEvent> events) override;
  void on_sink_call(double seconds, size_t events) override;

  void set_state(PipelineState state, std::string reason);
  PipelineState state() const { return state_.load(std::memory_order_acquire); }
  std::string state_reason() const;

  CountsSnapshot snapshot() const;
  const TableLabels& tables() const { return tables_; }

 private:
  struct Shard;
  Shard& shard();
  Shard& register_shard();

  const uint64_t id_;  // process-unique, keys the thread-local shard cache
  TableLabels tables_;
  mutable std::mutex shards_mutex_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<PipelineState> state_{PipelineState::kStarting};
  mutable std::mutex reason_mutex_;
  std::string reason_;
};

}  // namespace heliosdb::cdc::metrics
