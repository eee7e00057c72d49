// PipelineCollector: the prometheus-cpp Collectable that builds every
// heliosdb_cdc_* and process_* family at scrape time from PipelineStats
// (relaxed atomic loads) and the MetricsCore's per-thread counters.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "heliosdb/cdc/processor.h"
#include "metrics/metrics_core.h"

namespace heliosdb::cdc::metrics {

// Lag as heliosdb_cdc_lag_seconds reports it: now - oldest_unacked_ms, or 0
// when nothing is waiting (or stats is null).
double lag_seconds(const PipelineStats* stats);

class PipelineCollector final : public prometheus::Collectable {
 public:
  // `stats` may be null and must outlive the collector's last Collect().
  PipelineCollector(std::shared_ptr<MetricsCore> core, const PipelineStats* stats,
                    std::string sink_name);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<MetricsCore> core_;
  const PipelineStats* stats_;
  std::string sink_name_;
};

}  // namespace heliosdb::cdc::metrics
