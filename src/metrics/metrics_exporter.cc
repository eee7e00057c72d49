// start_metrics_exporter: the one wiring of the metrics exporter to a
// processor, used by the daemon (cli/run_command.cc) and by library users.
#include "heliosdb/cdc/metrics.h"

#include <utility>

namespace heliosdb::cdc {

MetricsExporter::MetricsExporter(std::unique_ptr<MetricsService> service)
    : service_(std::move(service)) {}
MetricsExporter::MetricsExporter(MetricsExporter&&) noexcept = default;
MetricsExporter& MetricsExporter::operator=(MetricsExporter&&) noexcept = default;
MetricsExporter::~MetricsExporter() = default;

void MetricsExporter::stop() { service_.reset(); }

Result<MetricsExporter> start_metrics_exporter(EventProcessor& processor,
                                               std::string_view sink_label,
                                               const MetricsSettings& settings) {
  MetricsSettings effective = settings;
  effective.enabled = settings.enabled && processor.config().enable_metrics;
  auto service = MetricsService::start(effective, sink_label, &processor.stats());
  if (!service) return service.status();
  if (*service) processor.with_observer((*service)->observer());
  return MetricsExporter(std::move(*service));
}

}  // namespace heliosdb::cdc
