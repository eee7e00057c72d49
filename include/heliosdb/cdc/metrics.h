// Prometheus metrics and a health endpoint for a running pipeline.
//
// One call starts the exporter for a processor (the daemon uses it too):
//
//   EventProcessor processor(config, std::move(sink));
//   auto exporter = start_metrics_exporter(processor, "my-sink");  // 127.0.0.1:9464
//   if (!exporter) return exporter.status();   // e.g. the port is in use
//   Status st = processor.start();             // /metrics and /health answer
//   // `exporter` stops serving when destroyed (declare it after `processor`).
//
// It starts nothing when config.enable_metrics is false. MetricsService
// below is the same server for embedders that wire the observer themselves.
//
// The service serves GET /metrics (Prometheus text format) and GET /health
// (200 when the pipeline runs and is caught up enough, 503 otherwise) on
// settings.listen. Every metric and the health rule are described in
// docs/operations.md.
//
// Counting is off the hot path's critical section: the observer's hooks write
// per-thread counters without locks; a scrape adds them up and reads
// PipelineStats (relaxed atomics).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "heliosdb/cdc/processor.h"
#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

struct MetricsSettings {
  // When false, MetricsService::start() and start_metrics_exporter() open no
  // listener. The daemon sets it from [cdc] enable_metrics; a library user
  // leaves it true (start_metrics_exporter() also reads the processor's
  // CdcConfig::enable_metrics).
  bool enabled = true;
  // [metrics] listen: "ipv4:port", "[ipv6]:port" or "localhost:port". Port 0
  // picks a free port (see MetricsService::port()).
  std::string listen = "127.0.0.1:9464";
  // [metrics] max_table_labels: distinct `table` label values exported;
  // changes of further tables are counted under table="_other".
  uint32_t max_table_labels = 100;
  // [metrics] health_max_lag_seconds: /health answers 503 while
  // heliosdb_cdc_lag_seconds is above this.
  uint32_t health_max_lag_seconds = 60;
};

// The label value that collects tables beyond max_table_labels.
inline constexpr std::string_view kOtherTableLabel = "_other";

// What the pipeline is doing, as /health reports it.
enum class PipelineState { kStarting, kRunning, kStopped, kFailed };
std::string_view pipeline_state_name(PipelineState state);  // "starting", ...

struct HealthReport {
  bool healthy = false;
  int http_status = 503;  // 200 or 503
  std::string body;       // one-line JSON, e.g. {"status":"ok","state":"running",...}
};

class MetricsService {
 public:
  // Opens the listener on settings.listen and returns the running service, or
  // a null pointer (nothing opened) when !settings.enabled. `sink_name` is the
  // value of the `sink` label. `stats` (may be null: counts then come from the
  // observer alone) must outlive the service. Fails with kUnavailable naming
  // the address if it cannot listen (port in use, address not local), and
  // with kInvalidArgument if the settings are invalid.
  static Result<std::unique_ptr<MetricsService>> start(const MetricsSettings& settings,
                                                       std::string_view sink_name,
                                                       const PipelineStats* stats);
  // Stops listening (waits for scrapes in progress).
  ~MetricsService();
  MetricsService(const MetricsService&) = delete;
  MetricsService& operator=(const MetricsService&) = delete;

  // Install on the EventProcessor (with_observer). Its on_started/on_stopped
  // hooks drive the health state; it may outlive the service.
  std::shared_ptr<PipelineObserver> observer() const;

  // For embedders that do not use the observer's lifecycle hooks.
  void set_state(PipelineState state, std::string reason = {});

  // The port actually listened on and "host:port".
  uint16_t port() const;
  std::string address() const;

  // What GET /health and GET /metrics answer now.
  HealthReport health() const;
  std::string scrape() const;

  class Impl;

 private:
  explicit MetricsService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A running exporter for one processor, from start_metrics_exporter(): stops
// serving (waits for scrapes in progress) when destroyed or stop()ped. It
// reads the processor's stats(), so it must not outlive the processor:
// declare it after the processor (destroyed first). Empty (no listener, a
// false bool) when metrics are disabled. Movable, not copyable.
class MetricsExporter {
 public:
  MetricsExporter() = default;
  explicit MetricsExporter(std::unique_ptr<MetricsService> service);
  MetricsExporter(MetricsExporter&&) noexcept;
  MetricsExporter& operator=(MetricsExporter&&) noexcept;
  ~MetricsExporter();

  // true while it serves.
  explicit operator bool() const { return service_ != nullptr; }
  // The running service (port(), address(), scrape(), health()), or nullptr.
  MetricsService* service() const { return service_.get(); }
  MetricsService* operator->() const { return service_.get(); }
  // Stops serving now; the processor keeps the observer, which outlives the
  // service harmlessly.
  void stop();

 private:
  std::unique_ptr<MetricsService> service_;
};

// Starts the Prometheus exporter for `processor`: opens settings.listen
// (default 127.0.0.1:9464; port 0 picks a free one), installs the exporter's
// observer on the processor (with_observer: it replaces an observer set
// before) and serves GET /metrics and GET /health until the returned handle is
// destroyed. Call it before processor.start() / run_once(). `sink_label` is
// the value of the metrics' `sink` label: the [sink] type in the daemon, your
// sink's name() when embedding (read it before moving the sink into the
// processor).
//
// Starts nothing and returns an empty handle when
// processor.config().enable_metrics or settings.enabled is false. Fails like
// MetricsService::start(): kUnavailable naming the address if it cannot
// listen, kInvalidArgument for invalid settings.
Result<MetricsExporter> start_metrics_exporter(EventProcessor& processor,
                                               std::string_view sink_label,
                                               const MetricsSettings& settings = {});

}  // namespace heliosdb::cdc
