// MetricsService: prometheus-cpp Exposer (civetweb) serving /metrics from a
// Registry (build info) and the PipelineCollector, plus /health answered from
// civetweb's begin_request callback.
#include "heliosdb/cdc/metrics.h"

#include "common/json_text.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "metrics/metrics_config.h"
#include "metrics/metrics_core.h"
#include "metrics/pipeline_collector.h"

#ifndef HELIOSDB_CDC_VERSION
#define HELIOSDB_CDC_VERSION "unknown"
#endif

namespace heliosdb::cdc {

std::string_view pipeline_state_name(PipelineState state) {
  switch (state) {
    case PipelineState::kStarting:
      return "starting";
    case PipelineState::kRunning:
      return "running";
    case PipelineState::kStopped:
      return "stopped";
    case PipelineState::kFailed:
      return "failed";
  }
  return "unknown";
}

namespace {

std::string json_escape(std::string_view in) {
  std::string out;
  append_json_escaped(out, in);
  return out;
}

// What /health needs; shared with civetweb's request threads.
struct HealthSource {
  std::shared_ptr<metrics::MetricsCore> core;
  const PipelineStats* stats = nullptr;
  uint32_t max_lag_seconds = 60;

  HealthReport report() const {
    HealthReport r;
    const PipelineState state = core->state();
    const double lag = metrics::lag_seconds(stats);
    char lag_text[64];
    std::snprintf(lag_text, sizeof lag_text, "%.3f", lag);
    std::string status;
    if (state != PipelineState::kRunning) {
      status = "unavailable";
    } else if (lag > max_lag_seconds) {
      status = "lagging";
    } else {
      status = "ok";
      r.healthy = true;
    }
    r.http_status = r.healthy ? 200 : 503;
    r.body = "{\"status\":\"" + status + "\",\"state\":\"" +
             std::string(pipeline_state_name(state)) + "\",\"lag_seconds\":" + lag_text +
             ",\"max_lag_seconds\":" + std::to_string(max_lag_seconds);
    std::string reason = core->state_reason();
    if (!reason.empty()) r.body += ",\"reason\":\"" + json_escape(reason) + "\"";
    r.body += "}";
    return r;
  }
};

// civetweb gives begin_request no pointer of ours (the Exposer's CivetServer
// owns the context's user data), so services are found by listening port.
std::mutex health_mutex;
std::map<int, std::weak_ptr<HealthSource>>& health_by_port() {
  static auto* map = new std::map<int, std::weak_ptr<HealthSource>>();
  return *map;
}

int begin_request(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (!info || !info->local_uri || std::strcmp(info->local_uri, "/health") != 0) return 0;
  std::shared_ptr<HealthSource> source;
  {
    std::lock_guard<std::mutex> lock(health_mutex);
    auto it = health_by_port().find(info->server_port);
    if (it != health_by_port().end()) source = it->second.lock();
  }
  if (!source) return 0;  // not ours (yet): civetweb answers 404
  const bool head = info->request_method && std::strcmp(info->request_method, "HEAD") == 0;
  const bool get = info->request_method && std::strcmp(info->request_method, "GET") == 0;
  if (!get && !head) {
    mg_printf(conn,
              "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"
              "Content-Length: 0\r\n\r\n");
    return 405;
  }
  HealthReport r = source->report();
  r.body += "\n";
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
            "Content-Length: %zu\r\n\r\n",
            r.http_status, r.healthy ? "OK" : "Service Unavailable", r.body.size());
  if (!head) mg_write(conn, r.body.data(), r.body.size());
  return r.http_status;
}

}  // namespace

class MetricsService::Impl {
 public:
  MetricsSettings settings;
  metrics::ListenAddress address;
  std::shared_ptr<metrics::MetricsCore> core;
  std::shared_ptr<HealthSource> health;
  std::shared_ptr<prometheus::Registry> registry;
  std::shared_ptr<metrics::PipelineCollector> collector;
  CivetCallbacks callbacks;
  std::unique_ptr<prometheus::Exposer> exposer;
  int port = 0;

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(health_mutex);
      auto it = health_by_port().find(port);
      if (it != health_by_port().end() && it->second.lock() == health) {
        health_by_port().erase(it);
      }
    }
    // civetweb's master thread polls its listening socket with a 2 s
    // timeout before it notices the stop flag; connecting to it wakes it up
    // at once, so shutdown takes milliseconds instead of up to 2 s.
    std::atomic<bool> stopped{false};
    std::thread waker([&] {
      while (!stopped.load()) {
        poke(address, port);
        // The first pokes usually land before civetweb sets its stop flag;
        // poke often so the one after it comes at once (a daemon's exit
        // waited ~20 ms here at 20 ms intervals).
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    exposer.reset();  // stops civetweb: waits for requests in progress
    stopped.store(true);
    waker.join();
  }

  // Opens and closes a TCP connection to the listener.
  static void poke(const metrics::ListenAddress& address, int port) {
    const bool v6 = address.ipv6;
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    sockaddr_storage storage{};
    socklen_t len = 0;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(static_cast<uint16_t>(port));
      if (inet_pton(AF_INET6, address.host.c_str(), &a->sin6_addr) != 1 ||
          IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr)) {
        a->sin6_addr = in6addr_loopback;
      }
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&storage);
      a->sin_family = AF_INET;
      a->sin_port = htons(static_cast<uint16_t>(port));
      if (inet_pton(AF_INET, address.host.c_str(), &a->sin_addr) != 1 ||
          a->sin_addr.s_addr == htonl(INADDR_ANY)) {
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      }
      len = sizeof *a;
    }
    connect(fd, reinterpret_cast<sockaddr*>(&storage), len);
    close(fd);
  }
};

Result<std::unique_ptr<MetricsService>> MetricsService::start(const MetricsSettings& settings,
                                                              std::string_view sink_name,
                                                              const PipelineStats* stats) {
  if (!settings.enabled) return std::unique_ptr<MetricsService>();
  std::string why;
  auto address = metrics::parse_listen_address(settings.listen, &why);
  if (!address) {
    return invalid_argument("[metrics] listen = \"" + settings.listen + "\": " + why);
  }
  auto impl = std::make_unique<Impl>();
  impl->settings = settings;
  impl->address = *address;
  impl->core = std::make_shared<metrics::MetricsCore>(settings.max_table_labels);
  impl->health = std::make_shared<HealthSource>();
  impl->health->core = impl->core;
  impl->health->stats = stats;
  impl->health->max_lag_seconds = settings.health_max_lag_seconds;
  impl->registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge()
      .Name("heliosdb_cdc_build_info")
      .Help("Always 1; labels carry the version of heliosdb-cdc.")
      .Register(*impl->registry)
      .Add({{"version", HELIOSDB_CDC_VERSION}})
      .Set(1);
  impl->collector =
      std::make_shared<metrics::PipelineCollector>(impl->core, stats, std::string(sink_name));
  impl->callbacks.begin_request = &begin_request;
  try {
    impl->exposer = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", address->civetweb_spec(), "num_threads", "2"},
        &impl->callbacks);
  } catch (const std::exception& e) {
    return Status(ErrorCode::kUnavailable,
                  "cannot listen for metrics on " + address->civetweb_spec() +
                      " ([metrics] listen): the address is in use or not local (" + e.what() + ")");
  }
  std::vector<int> ports = impl->exposer->GetListeningPorts();
  if (ports.empty()) {
    return Status(ErrorCode::kUnavailable,
                  "cannot listen for metrics on " + address->civetweb_spec() + ": no port bound");
  }
  impl->port = ports.front();
  impl->exposer->RegisterCollectable(impl->registry);
  impl->exposer->RegisterCollectable(impl->collector);
  {
    std::lock_guard<std::mutex> lock(health_mutex);
    health_by_port()[impl->port] = impl->health;
  }
  return std::unique_ptr<MetricsService>(new MetricsService(std::move(impl)));
}

MetricsService::MetricsService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsService::~MetricsService() = default;

std::shared_ptr<PipelineObserver> MetricsService::observer() const { return impl_->core; }

void MetricsService::set_state(PipelineState state, std::string reason) {
  impl_->core->set_state(state, std::move(reason));
}

uint16_t MetricsService::port() const { return static_cast<uint16_t>(impl_->port); }

std::string MetricsService::address() const {
  metrics::ListenAddress a = impl_->address;
  a.port = port();
  return a.civetweb_spec();
}

HealthReport MetricsService::health() const { return impl_->health->report(); }

std::string MetricsService::scrape() const {
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  for (auto& f : impl_->collector->Collect()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace heliosdb::cdc
