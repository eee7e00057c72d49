#include "metrics/pipeline_collector.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "common/wall_clock.h"
#include "metrics/process_metrics.h"
#include "pipeline/snapshot_report.h"

namespace heliosdb::cdc::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric sample(double value, MetricType type, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

MetricFamily single(std::string name, std::string help, MetricType type, double value,
                    std::vector<ClientMetric::Label> labels = {}) {
  MetricFamily f = family(std::move(name), std::move(help), type);
  f.metric.push_back(sample(value, type, std::move(labels)));
  return f;
}

MetricFamily histogram(std::string name, std::string help, const HistogramSnapshot& h,
                       std::vector<ClientMetric::Label> labels) {
  MetricFamily f = family(std::move(name), std::move(help), MetricType::Histogram);
  ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound =
        i < kLatencyBuckets.size() ? kLatencyBuckets[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = h.sum;
  f.metric.push_back(std::move(m));
  return f;
}

double load(const std::atomic<uint64_t>& a) {
  return static_cast<double>(a.load(std::memory_order_relaxed));
}

}  // namespace

int64_t lag_milliseconds(const PipelineStats* stats) {
  if (!stats) return 0;
  int64_t oldest = stats->oldest_unacked_ms.load(std::memory_order_relaxed);
  if (oldest <= 0) return 0;
  int64_t age = wall_clock_ms() - oldest;
  return age > 0 ? age : 0;
}

std::string format_milliseconds_as_seconds(int64_t ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%03lld", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  return text;
}

PipelineCollector::PipelineCollector(std::shared_ptr<MetricsCore> core, const PipelineStats* stats,
                                     std::string sink_name)
    : core_(std::move(core)), stats_(stats), sink_name_(std::move(sink_name)) {}

void PipelineCollector::append_snapshot_families(std::vector<MetricFamily>& out) const {
  // Nothing to read (and no lock taken) while no snapshot ever ran.
  SnapshotProgress snapshot;
  if (stats_ && stats_->snapshot.version() > 0) snapshot = stats_->snapshot.read();
  out.push_back(single("heliosdb_cdc_snapshot_running",
                       "1 while a snapshot of existing rows runs (PostgreSQL source), else 0.",
                       MetricType::Gauge, snapshot.running ? 1 : 0));
  if (snapshot.tables.empty()) return;
  MetricFamily rows =
      family("heliosdb_cdc_snapshot_rows_total",
             "Rows read by the current or last snapshot, per table.", MetricType::Counter);
  MetricFamily remaining = family("heliosdb_cdc_snapshot_remaining_rows",
                                  "Rows of the snapshot's table still to read by the server's "
                                  "estimate (0 once done); no sample without an estimate.",
                                  MetricType::Gauge);
  for (const SnapshotTableProgress& t : snapshot.tables) {
    rows.metric.push_back(
        sample(static_cast<double>(t.rows), MetricType::Counter, {{"table", t.table}}));
    // An unknown estimate is no sample rather than 0, which would read as done.
    if (const std::optional<uint64_t> left = estimate_of(t).remaining) {
      remaining.metric.push_back(
          sample(static_cast<double>(*left), MetricType::Gauge, {{"table", t.table}}));
    }
  }
  out.push_back(std::move(rows));
  if (!remaining.metric.empty()) out.push_back(std::move(remaining));
}

void PipelineCollector::append_source_health_families(std::vector<MetricFamily>& out) const {
  const SourceHealth h = stats_ ? stats_->source_health.read() : SourceHealth{};
  out.push_back(
      single("heliosdb_cdc_source_slot_lost_total",
             "Replication slots found invalidated (wal_status lost), dropped or advanced past the "
             "checkpoint "
             "(PostgreSQL source; on_slot_lost says what follows).",
             MetricType::Counter, static_cast<double>(h.slots_lost)));
  // Figures the source does not know are no sample rather than a number
  // that reads as real (a lost slot has no restart_lsn).
  if (h.retained_wal_bytes >= 0) {
    out.push_back(single("heliosdb_cdc_source_retained_wal_bytes",
                         "WAL the replication slot holds on the server: pg_current_wal_lsn() "
                         "minus the slot's restart_lsn.",
                         MetricType::Gauge, static_cast<double>(h.retained_wal_bytes)));
  }
  if (h.lag_bytes >= 0) {
    out.push_back(single("heliosdb_cdc_source_lag_bytes",
                         "The server's WAL position minus the flush position the daemon last "
                         "reported (what is not yet durably delivered).",
                         MetricType::Gauge, static_cast<double>(h.lag_bytes)));
  }
  if (h.heartbeat_rtt_seconds >= 0) {
    out.push_back(single("heliosdb_cdc_source_heartbeat_rtt_seconds",
                         "Time from writing the last heartbeat into the server's WAL to its "
                         "arrival on the replication stream.",
                         MetricType::Gauge, h.heartbeat_rtt_seconds));
  }
  if (!h.slot_wal_status.empty()) {
    MetricFamily f = family("heliosdb_cdc_source_slot_wal_status",
                            "1 for the replication slot's pg_replication_slots.wal_status "
                            "(reserved, extended, unreserved, lost), 0 for the others.",
                            MetricType::Gauge);
    for (const char* status : {"reserved", "extended", "unreserved", "lost"}) {
      f.metric.push_back(
          sample(h.slot_wal_status == status ? 1 : 0, MetricType::Gauge, {{"status", status}}));
    }
    out.push_back(std::move(f));
  }
}

std::vector<MetricFamily> PipelineCollector::Collect() const {
  const CountsSnapshot c = core_->snapshot();
  const ClientMetric::Label sink{"sink", sink_name_};
  std::vector<MetricFamily> out;

  // With stats, the processor's own counters are the truth for processed,
  // filtered and failed; without, the observer's counts.
  double processed = stats_ ? load(stats_->events_acknowledged) : c.acknowledged;
  double filtered = stats_ ? load(stats_->events_filtered) : c.filtered;
  double failed = stats_ ? load(stats_->events_failed) : 0;

  out.push_back(single("heliosdb_cdc_events_processed_total",
                       "Events the sink acknowledged (durably delivered).", MetricType::Counter,
                       processed, {sink}));
  out.push_back(single("heliosdb_cdc_events_filtered_total",
                       "Committed changes dropped by the filter rules.", MetricType::Counter,
                       filtered));
  out.push_back(single("heliosdb_cdc_events_failed_total",
                       "Events the sink gave up on (the pipeline stops at the first).",
                       MetricType::Counter, failed, {sink}));
  out.push_back(single("heliosdb_cdc_lag_seconds",
                       "Age of the oldest change read from the WAL but not yet acknowledged "
                       "(WAL timestamp to now); 0 when caught up.",
                       MetricType::Gauge, static_cast<double>(lag_milliseconds(stats_)) / 1000.0));
  out.push_back(single("heliosdb_cdc_wal_sequence",
                       "Sequence number of the last WAL entry read (PostgreSQL source: the last "
                       "commit LSN read).",
                       MetricType::Gauge, stats_ ? load(stats_->wal_sequence) : 0));
  out.push_back(single("heliosdb_cdc_source_reconnects_total",
                       "Connections to the source's server made again after a lost one "
                       "(PostgreSQL source).",
                       MetricType::Counter, stats_ ? load(stats_->source_reconnects) : 0));
  append_source_health_families(out);
  append_snapshot_families(out);
  out.push_back(single("heliosdb_cdc_bytes_processed_total",
                       "Bytes of key, value and old_value of acknowledged events.",
                       MetricType::Counter, static_cast<double>(c.bytes), {sink}));
  out.push_back(histogram("heliosdb_cdc_event_latency_seconds",
                          "Time from an event's WAL timestamp to its acknowledgement.",
                          c.event_latency, {sink}));

  MetricFamily by_op = family("heliosdb_cdc_events_by_operation_total",
                              "Acknowledged events by operation.", MetricType::Counter);
  for (OperationType op : {OperationType::Insert, OperationType::Update, OperationType::Delete,
                           OperationType::Truncate, OperationType::Read}) {
    by_op.metric.push_back(sample(static_cast<double>(c.by_operation[static_cast<uint8_t>(op)]),
                                  MetricType::Counter,
                                  {{"operation", std::string(operation_name(op))}, sink}));
  }
  out.push_back(std::move(by_op));

  MetricFamily by_table = family("heliosdb_cdc_events_by_table_total",
                                 "Acknowledged events by table; tables beyond "
                                 "[metrics] max_table_labels are counted as \"_other\".",
                                 MetricType::Counter);
  const TableLabels& tables = core_->tables();
  const uint32_t named = tables.size();
  for (uint32_t i = 0; i < named; ++i) {
    by_table.metric.push_back(sample(static_cast<double>(c.by_table[i]), MetricType::Counter,
                                     {{"table", std::string(tables.name(i))}, sink}));
  }
  if (c.by_table[tables.other_index()] > 0 || named == tables.capacity()) {
    by_table.metric.push_back(sample(static_cast<double>(c.by_table[tables.other_index()]),
                                     MetricType::Counter,
                                     {{"table", std::string(kOtherTableLabel)}, sink}));
  }
  out.push_back(std::move(by_table));

  out.push_back(histogram("heliosdb_cdc_sink_latency_seconds",
                          "Duration of one call handing a batch to the sink.", c.sink_latency,
                          {sink}));
  out.push_back(single("heliosdb_cdc_checkpoint_sequence",
                       "Sequence covered by the last durable checkpoint.", MetricType::Gauge,
                       stats_ ? load(stats_->checkpoint_sequence) : 0));

  if (auto p = read_process_sample()) {
    out.push_back(single("process_cpu_seconds_total",
                         "Total user and system CPU time spent in "
                         "seconds.",
                         MetricType::Counter, p->cpu_seconds));
    out.push_back(single("process_resident_memory_bytes", "Resident memory size in bytes.",
                         MetricType::Gauge, p->resident_memory_bytes));
    out.push_back(single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         MetricType::Gauge, p->virtual_memory_bytes));
    out.push_back(single("process_start_time_seconds",
                         "Start time of the process since unix epoch in seconds.",
                         MetricType::Gauge, p->start_time_seconds));
    out.push_back(single("process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
                         p->open_fds));
    out.push_back(single("process_max_fds", "Maximum number of open file descriptors.",
                         MetricType::Gauge, p->max_fds));
  }
  return out;
}

}  // namespace heliosdb::cdc::metrics
