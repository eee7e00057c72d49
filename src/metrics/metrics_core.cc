#include "metrics/metrics_core.h"
#include "common/wall_clock.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace heliosdb::cdc::metrics {
namespace {

std::atomic<uint64_t> next_core_id{1};

// The calling thread's shard of the core it used last. Keyed by the core's id
// (never reused), not its address, so a destroyed core is never matched.
struct ThreadShardCache {
  uint64_t core_id = 0;
  void* shard = nullptr;
};
thread_local ThreadShardCache tls_cache;

size_t bucket_of(double seconds) {
  // First bucket whose upper bound is >= seconds (le semantics).
  return std::lower_bound(kLatencyBuckets.begin(), kLatencyBuckets.end(), seconds) -
         kLatencyBuckets.begin();
}

}  // namespace

void LocalHistogram::observe(double seconds) {
  counts[bucket_of(seconds)].add(1);
  sum.store(sum.load(std::memory_order_relaxed) + seconds, std::memory_order_relaxed);
}

// Bucket index for 0..100 ms (kLatencyBuckets[4] is 10 ms, [7] is 100 ms).
constexpr std::array<uint8_t, 101> kBucketOfMs = [] {
  std::array<uint8_t, 101> t{};
  for (size_t ms = 0; ms < t.size(); ++ms) {
    size_t b = 0;
    while (b < kLatencyBuckets.size() && kLatencyBuckets[b] * 1000.0 < static_cast<double>(ms)) ++b;
    t[ms] = static_cast<uint8_t>(b);
  }
  return t;
}();

void LocalHistogram::observe_ms(int64_t ms) { observe_ms(ms, 1); }

void LocalHistogram::observe_ms(int64_t ms, uint64_t count) {
  size_t b = ms < static_cast<int64_t>(kBucketOfMs.size())
                 ? kBucketOfMs[ms]
                 : bucket_of(static_cast<double>(ms) / 1000.0);
  counts[b].add(count);
  sum_ms.add(static_cast<uint64_t>(ms) * count);
}

uint64_t HistogramSnapshot::count() const {
  uint64_t n = 0;
  for (uint64_t c : counts) n += c;
  return n;
}

struct alignas(64) MetricsCore::Shard {
  Shard(uint32_t tables, std::thread::id thread)
      : owner(thread), by_table(new LocalCounter[tables + 1]) {}
  const std::thread::id owner;  // the only thread that writes this shard
  std::array<LocalCounter, kOperationSlots> by_operation;
  LocalCounter acknowledged;
  LocalCounter filtered;
  LocalCounter bytes;
  LocalCounter sink_calls;
  LocalHistogram event_latency;
  LocalHistogram sink_latency;
  std::unique_ptr<LocalCounter[]> by_table;  // TableLabels::capacity() + 1 cells
};

MetricsCore::MetricsCore(uint32_t max_table_labels)
    : id_(next_core_id.fetch_add(1)), tables_(max_table_labels) {}

MetricsCore::~MetricsCore() = default;

MetricsCore::Shard& MetricsCore::shard() {
  if (tls_cache.core_id == id_) return *static_cast<Shard*>(tls_cache.shard);
  return register_shard();
}

MetricsCore::Shard& MetricsCore::register_shard() {
  // Once per thread, or again when a thread alternates between cores (several
  // pipelines in one thread): then its existing shard is found again.
  const std::thread::id me = std::this_thread::get_id();
  std::lock_guard<std::mutex> lock(shards_mutex_);
  Shard* found = nullptr;
  for (const auto& s : shards_) {
    if (s->owner == me) found = s.get();
  }
  if (!found) {
    shards_.push_back(std::make_unique<Shard>(tables_.capacity(), me));
    found = shards_.back().get();
  }
  tls_cache.core_id = id_;
  tls_cache.shard = found;
  return *found;
}

void MetricsCore::on_started() { set_state(PipelineState::kRunning, {}); }

void MetricsCore::on_stopped(const Status& result) {
  if (result.is_ok()) {
    set_state(PipelineState::kStopped, {});
  } else {
    set_state(PipelineState::kFailed, result.to_string());
  }
}

void MetricsCore::on_filtered(const CdcEvent&) { shard().filtered.add(1); }

void MetricsCore::on_acknowledged(const AckedEvent& event) {
  Shard& s = shard();
  uint8_t op = static_cast<uint8_t>(event.operation);
  s.by_operation[op < s.by_operation.size() ? op : 0].add(1);
  s.by_table[tables_.index_of(event.table)].add(1);
  s.acknowledged.add(1);
  s.bytes.add(event.bytes);
  int64_t acked_at = event.acked_at_ms != 0 ? event.acked_at_ms : wall_clock_ms();
  s.event_latency.observe_ms(std::max<int64_t>(0, acked_at - event.wal_timestamp_ms));
}

void MetricsCore::on_acknowledged_batch(std::span<const AckedEvent> events) {
  if (events.empty()) return;
  Shard& s = shard();
  std::array<uint64_t, kOperationSlots> by_operation{};
  uint64_t bytes = 0;
  // Runs: consecutive events of one table and of one latency in ms. The
  // tracker interns table names, so one table is one pointer: a few recent
  // (pointer, size) -> label pairs spare most hash lookups when tables
  // alternate.
  struct RecentTable {
    const char* data = nullptr;
    size_t size = 0;
    uint32_t index = 0;
  };
  std::array<RecentTable, 8> recent{};
  size_t recent_next = 0;
  auto label_of = [&](std::string_view table) {
    for (const RecentTable& r : recent) {
      if (r.data == table.data() && r.size == table.size() && r.data) return r.index;
    }
    const uint32_t index = tables_.index_of(table);
    recent[recent_next++ % recent.size()] = {table.data(), table.size(), index};
    return index;
  };
  std::string_view run_table = events.front().table;
  uint32_t run_table_index = label_of(run_table);
  uint64_t table_run = 0;
  int64_t fallback_now = 0;  // read once, if some event has no acked_at_ms
  int64_t run_ms = -1;
  uint64_t ms_run = 0;
  for (const AckedEvent& e : events) {
    const auto op = static_cast<uint8_t>(e.operation);
    ++by_operation[op < by_operation.size() ? op : 0];
    bytes += e.bytes;
    if (e.table.data() != run_table.data() || e.table.size() != run_table.size()) {
      s.by_table[run_table_index].add(table_run);
      run_table = e.table;
      run_table_index = label_of(run_table);
      table_run = 0;
    }
    ++table_run;
    if (e.acked_at_ms == 0 && fallback_now == 0) fallback_now = wall_clock_ms();
    const int64_t acked_at = e.acked_at_ms != 0 ? e.acked_at_ms : fallback_now;
    const int64_t ms = std::max<int64_t>(0, acked_at - e.wal_timestamp_ms);
    if (ms != run_ms) {
      if (ms_run) s.event_latency.observe_ms(run_ms, ms_run);
      run_ms = ms;
      ms_run = 0;
    }
    ++ms_run;
  }
  s.by_table[run_table_index].add(table_run);
  s.event_latency.observe_ms(run_ms, ms_run);
  for (size_t i = 0; i < by_operation.size(); ++i) {
    if (by_operation[i]) s.by_operation[i].add(by_operation[i]);
  }
  s.acknowledged.add(events.size());
  s.bytes.add(bytes);
}

void MetricsCore::on_sink_call(double seconds, size_t) {
  Shard& s = shard();
  s.sink_calls.add(1);
  s.sink_latency.observe(std::max(0.0, seconds));
}

void MetricsCore::set_state(PipelineState state, std::string reason) {
  {
    std::lock_guard<std::mutex> lock(reason_mutex_);
    reason_ = std::move(reason);
  }
  state_.store(state, std::memory_order_release);
}

std::string MetricsCore::state_reason() const {
  std::lock_guard<std::mutex> lock(reason_mutex_);
  return reason_;
}

namespace {
void add_histogram(HistogramSnapshot& out, const LocalHistogram& h) {
  for (size_t i = 0; i < out.counts.size(); ++i) out.counts[i] += h.counts[i].get();
  out.sum += h.sum.load(std::memory_order_relaxed) + static_cast<double>(h.sum_ms.get()) / 1000.0;
}
}  // namespace

CountsSnapshot MetricsCore::snapshot() const {
  CountsSnapshot out;
  out.by_table.assign(tables_.capacity() + 1, 0);
  std::lock_guard<std::mutex> lock(shards_mutex_);
  for (const auto& s : shards_) {
    for (size_t i = 0; i < out.by_operation.size(); ++i) {
      out.by_operation[i] += s->by_operation[i].get();
    }
    for (size_t i = 0; i < out.by_table.size(); ++i) out.by_table[i] += s->by_table[i].get();
    out.acknowledged += s->acknowledged.get();
    out.filtered += s->filtered.get();
    out.bytes += s->bytes.get();
    out.sink_calls += s->sink_calls.get();
    add_histogram(out.event_latency, s->event_latency);
    add_histogram(out.sink_latency, s->sink_latency);
  }
  return out;
}

}  // namespace heliosdb::cdc::metrics
