// PipelineCollector: the prometheus-cpp Collectable that builds every
// heliosdb_cdc_* and process_* family at scrape time from PipelineStats
// (relaxed atomic loads) and the MetricsCore's per-thread counters.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "heliosdb/cdc/processor.h"
#include "metrics/metrics_core.h"

namespace heliosdb::cdc::metrics {

// Lag in whole milliseconds (the WAL's timestamps have that resolution):
// now - oldest_unacked_ms, or 0 when nothing is waiting (or stats is null).
// heliosdb_cdc_lag_seconds is this / 1000.0, which the text format prints as
// at most 3 decimals ("0.009"), and /health prints it with
// format_milliseconds_as_seconds.
int64_t lag_milliseconds(const PipelineStats* stats);

// 9 -> "0.009", 75204 -> "75.204" (ms >= 0).
std::string format_milliseconds_as_seconds(int64_t ms);

class PipelineCollector final : public prometheus::Collectable {
 public:
  // `stats` may be null and must outlive the collector's last Collect().
  PipelineCollector(std::shared_ptr<MetricsCore> core, const PipelineStats* stats,
                    std::string sink_name);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  // heliosdb_cdc_snapshot_running, and per table of the current or last
  // snapshot heliosdb_cdc_snapshot_rows_total and _remaining_rows.
  void append_source_health_families(std::vector<prometheus::MetricFamily>& out) const;
  void append_snapshot_families(std::vector<prometheus::MetricFamily>& out) const;

  std::shared_ptr<MetricsCore> core_;
  const PipelineStats* stats_;
  std::string sink_name_;
};

}  // namespace heliosdb::cdc::metrics
