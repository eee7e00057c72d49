// The lock-free counting behind the metrics: table label cap, per-thread
// shards, histogram buckets, health state from the lifecycle hooks.
#include <gtest/gtest.h>

#include <span>
#include <thread>
#include <vector>

#include "metrics/metrics_core.h"
#include "metrics/table_labels.h"

namespace heliosdb::cdc::metrics {
namespace {

AckedEvent acked(OperationType op, std::string_view table, uint64_t bytes, int64_t ts,
                 int64_t acked_at) {
  AckedEvent e;
  e.operation = op;
  e.table = table;
  e.bytes = bytes;
  e.wal_timestamp_ms = ts;
  e.acked_at_ms = acked_at;
  return e;
}

TEST(TableLabels, FirstTablesGetOwnLabelsTheRestShareOther) {
  TableLabels labels(2);
  EXPECT_EQ(labels.index_of("users"), 0u);
  EXPECT_EQ(labels.index_of("orders"), 1u);
  EXPECT_EQ(labels.index_of("users"), 0u);
  EXPECT_EQ(labels.index_of("logs"), labels.other_index());
  EXPECT_EQ(labels.index_of("audit"), labels.other_index());
  EXPECT_EQ(labels.index_of("orders"), 1u);
  EXPECT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels.name(0), "users");
  EXPECT_EQ(labels.name(1), "orders");
  EXPECT_EQ(labels.name(labels.other_index()), "_other");
}

TEST(TableLabels, ZeroCapCountsEverythingAsOther) {
  TableLabels labels(0);
  EXPECT_EQ(labels.index_of("users"), labels.other_index());
  EXPECT_EQ(labels.size(), 0u);
}

TEST(TableLabels, TableNamedOtherNeverGetsASecondOtherSeries) {
  TableLabels labels(5);
  EXPECT_EQ(labels.index_of("_other"), labels.other_index());
  EXPECT_EQ(labels.size(), 0u);
}

TEST(TableLabels, ManyNamesConcurrentlyStayConsistent) {
  TableLabels labels(50);
  std::vector<std::thread> threads;
  std::vector<std::vector<uint32_t>> seen(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (int i = 0; i < 80; ++i) {
          seen[t].push_back(labels.index_of("table_" + std::to_string(i)));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(labels.size(), 50u);
  // Every thread saw the same index for the same name.
  for (int t = 1; t < 4; ++t) EXPECT_EQ(seen[t], seen[0]);
  // Names with their own index map back to themselves.
  for (uint32_t i = 0; i < labels.size(); ++i) {
    EXPECT_EQ(labels.index_of(std::string(labels.name(i))), i);
  }
}

TEST(MetricsCore, CountsAcknowledgedEventsByOperationTableAndBytes) {
  MetricsCore core(10);
  core.on_acknowledged(acked(OperationType::Insert, "users", 10, 1000, 1001));
  core.on_acknowledged(acked(OperationType::Insert, "orders", 20, 1000, 1002));
  core.on_acknowledged(acked(OperationType::Update, "users", 30, 1000, 1003));
  core.on_acknowledged(acked(OperationType::Delete, "users", 0, 1000, 1004));
  core.on_acknowledged(acked(OperationType::Truncate, "orders", 0, 1000, 1005));
  CountsSnapshot c = core.snapshot();
  EXPECT_EQ(c.acknowledged, 5u);
  EXPECT_EQ(c.bytes, 60u);
  EXPECT_EQ(c.by_operation[static_cast<int>(OperationType::Insert)], 2u);
  EXPECT_EQ(c.by_operation[static_cast<int>(OperationType::Update)], 1u);
  EXPECT_EQ(c.by_operation[static_cast<int>(OperationType::Delete)], 1u);
  EXPECT_EQ(c.by_operation[static_cast<int>(OperationType::Truncate)], 1u);
  EXPECT_EQ(c.by_table[core.tables().find("users")], 3u);
  EXPECT_EQ(c.by_table[core.tables().find("orders")], 2u);
}

// READ (a snapshot row) has the highest OperationType value: it gets a cell
// of its own in both paths, not the catch-all cell 0.
TEST(MetricsCore, ReadEventsAreCountedInTheirOwnCellByBothPaths) {
  MetricsCore one_by_one(4), batched(4);
  std::vector<AckedEvent> batch = {acked(OperationType::Read, "users", 5, 1000, 1000),
                                   acked(OperationType::Insert, "users", 6, 1000, 1000),
                                   acked(OperationType::Read, "users", 7, 1000, 1000)};
  for (const AckedEvent& e : batch) one_by_one.on_acknowledged(e);
  batched.on_acknowledged_batch(std::span<const AckedEvent>(batch.data(), batch.size()));
  for (const MetricsCore* core : {&one_by_one, &batched}) {
    CountsSnapshot c = core->snapshot();
    EXPECT_EQ(c.by_operation.size(), 6u);
    EXPECT_EQ(c.by_operation[static_cast<int>(OperationType::Read)], 2u);
    EXPECT_EQ(c.by_operation[static_cast<int>(OperationType::Insert)], 1u);
    EXPECT_EQ(c.by_operation[0], 0u);
    EXPECT_EQ(c.acknowledged, 3u);
  }
}

TEST(MetricsCore, EventLatencyIsAckTimeMinusWalTimestampInMilliseconds) {
  MetricsCore core(10);
  core.on_acknowledged(acked(OperationType::Insert, "t", 1, 5000, 5000));    // 0 ms
  core.on_acknowledged(acked(OperationType::Insert, "t", 1, 5000, 5001));    // 1 ms
  core.on_acknowledged(acked(OperationType::Insert, "t", 1, 5000, 5007));    // 7 ms
  core.on_acknowledged(acked(OperationType::Insert, "t", 1, 5000, 125000));  // 120 s
  core.on_acknowledged(acked(OperationType::Insert, "t", 1, 9000, 5000));    // clock skew: 0
  HistogramSnapshot h = core.snapshot().event_latency;
  EXPECT_EQ(h.count(), 5u);
  EXPECT_DOUBLE_EQ(h.sum, 0.001 + 0.007 + 120.0);
  EXPECT_EQ(h.counts[0], 2u);                       // le 0.0005
  EXPECT_EQ(h.counts[1], 1u);                       // le 0.001 (exactly on the bound)
  EXPECT_EQ(h.counts[4], 1u);                       // le 0.01
  EXPECT_EQ(h.counts[kLatencyBuckets.size()], 1u);  // +Inf
}

TEST(MetricsCore, ZeroAckTimeReadsTheClock) {
  MetricsCore core(10);
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  core.on_acknowledged(acked(OperationType::Insert, "t", 1, now - 2000, 0));
  HistogramSnapshot h = core.snapshot().event_latency;
  EXPECT_GE(h.sum, 2.0);
  EXPECT_LT(h.sum, 60.0);
}

TEST(MetricsCore, SinkCallsFillTheSinkLatencyHistogram) {
  MetricsCore core(10);
  core.on_sink_call(0.0002, 100);
  core.on_sink_call(0.003, 100);
  core.on_sink_call(0.003, 100);
  CountsSnapshot c = core.snapshot();
  EXPECT_EQ(c.sink_calls, 3u);
  EXPECT_EQ(c.sink_latency.count(), 3u);
  EXPECT_EQ(c.sink_latency.counts[0], 1u);  // le 0.0005
  EXPECT_EQ(c.sink_latency.counts[3], 2u);  // le 0.005
  EXPECT_NEAR(c.sink_latency.sum, 0.0062, 1e-12);
}

TEST(MetricsCore, CountsFromManyThreadsAddUpExactly) {
  MetricsCore core(4);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string table = "t" + std::to_string(t % 2);
      CdcEvent dropped;
      for (int i = 0; i < kPerThread; ++i) {
        core.on_acknowledged(acked(OperationType::Update, table, 3, 0, 1));
        core.on_filtered(dropped);
      }
    });
  }
  // Scrapes while the writers run never see counts go backwards.
  uint64_t last = 0;
  for (int i = 0; i < 100; ++i) {
    uint64_t now = core.snapshot().acknowledged;
    EXPECT_GE(now, last);
    last = now;
  }
  for (auto& th : threads) th.join();
  CountsSnapshot c = core.snapshot();
  EXPECT_EQ(c.acknowledged, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(c.filtered, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(c.bytes, uint64_t{3} * kThreads * kPerThread);
  EXPECT_EQ(c.by_operation[static_cast<int>(OperationType::Update)],
            uint64_t{kThreads * kPerThread});
  EXPECT_EQ(c.by_table[core.tables().find("t0")], uint64_t{2 * kPerThread});
  EXPECT_EQ(c.event_latency.count(), uint64_t{kThreads * kPerThread});
}

// The aggregated batch path (what the processor calls) must count exactly
// what one call per event counts: operations, tables beyond the label cap,
// bytes, latency buckets and sum.
TEST(MetricsCore, BatchOfAcknowledgementsCountsLikeOneCallPerEvent) {
  const std::string users = "users", orders = "orders", logs = "logs";
  const std::string users_copy = users;  // same name, other storage
  std::vector<AckedEvent> batch = {
      acked(OperationType::Insert, users, 10, 1000, 1000),
      acked(OperationType::Insert, users, 11, 1000, 1000),
      acked(OperationType::Update, orders, 12, 1000, 1007),
      acked(OperationType::Delete, logs, 0, 1000, 1007),  // beyond the cap of 2
      acked(OperationType::Truncate, users_copy, 0, 1000, 61000),
      acked(OperationType::Insert, orders, 13, 9000, 1000),  // clock skew: 0 ms
      acked(OperationType::Update, users, 14, 1000, 1250),
  };
  MetricsCore one_by_one(2), batched(2);
  for (const AckedEvent& e : batch) one_by_one.on_acknowledged(e);
  batched.on_acknowledged_batch(std::span<const AckedEvent>(batch.data(), 3));
  batched.on_acknowledged_batch(std::span<const AckedEvent>(batch.data() + 3, batch.size() - 3));
  const CountsSnapshot a = one_by_one.snapshot(), b = batched.snapshot();
  EXPECT_EQ(b.acknowledged, 7u);
  EXPECT_EQ(b.bytes, 60u);
  EXPECT_EQ(a.by_operation, b.by_operation);
  EXPECT_EQ(a.by_table, b.by_table);
  EXPECT_EQ(b.by_table[batched.tables().find("users")], 4u);
  EXPECT_EQ(b.by_table[batched.tables().other_index()], 1u);
  EXPECT_EQ(a.event_latency.counts, b.event_latency.counts);
  EXPECT_DOUBLE_EQ(a.event_latency.sum, b.event_latency.sum);
  EXPECT_DOUBLE_EQ(b.event_latency.sum, (7 + 7 + 60000 + 250) / 1000.0);
}

TEST(MetricsCore, OneThreadFeedingTwoCoresKeepsThemApart) {
  MetricsCore a(4), b(4);
  for (int i = 0; i < 1000; ++i) {
    a.on_acknowledged(acked(OperationType::Insert, "x", 1, 0, 1));
    b.on_acknowledged(acked(OperationType::Delete, "y", 2, 0, 1));
  }
  EXPECT_EQ(a.snapshot().acknowledged, 1000u);
  EXPECT_EQ(b.snapshot().bytes, 2000u);
  EXPECT_EQ(a.snapshot().by_operation[static_cast<int>(OperationType::Delete)], 0u);
}

TEST(MetricsCore, LifecycleHooksDriveTheState) {
  MetricsCore core(1);
  EXPECT_EQ(core.state(), PipelineState::kStarting);
  core.on_started();
  EXPECT_EQ(core.state(), PipelineState::kRunning);
  core.on_stopped(Status::ok());
  EXPECT_EQ(core.state(), PipelineState::kStopped);
  core.on_stopped(unavailable("broker down"));
  EXPECT_EQ(core.state(), PipelineState::kFailed);
  EXPECT_NE(core.state_reason().find("broker down"), std::string::npos);
  core.on_started();
  EXPECT_EQ(core.state_reason(), "");
}

}  // namespace
}  // namespace heliosdb::cdc::metrics
