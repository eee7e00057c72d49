// The metrics component: starts the exporter on a free local port and reads
// one scrape, without a processor.
#include <heliosdb/cdc/metrics.h>

#include <cstdio>

int main() {
  heliosdb::cdc::MetricsSettings settings;
  settings.listen = "127.0.0.1:0";
  auto service = heliosdb::cdc::MetricsService::start(settings, "consumer", nullptr);
  if (!service || !*service) return 1;
  std::printf("%s", (*service)->scrape().c_str());
  return 0;
}
