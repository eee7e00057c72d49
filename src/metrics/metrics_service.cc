// MetricsService: a civetweb server answering /metrics (a prometheus-cpp
// Registry with the build info, and the PipelineCollector, written by
// metrics/text_format) and /health from its begin_request callback.
#include "heliosdb/cdc/metrics.h"

#include "common/json_text.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

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
#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics_config.h"
#include "metrics/metrics_core.h"
#include "metrics/pipeline_collector.h"
#include "metrics/text_format.h"

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

// What the endpoints answer. Owned by the Impl, it outlives the CivetServer
// whose user context it is (the server is stopped first).
struct Endpoints {
  std::shared_ptr<metrics::MetricsCore> core;
  const PipelineStats* stats = nullptr;
  uint32_t max_lag_seconds = 60;
  std::shared_ptr<prometheus::Registry> registry;
  std::shared_ptr<metrics::PipelineCollector> collector;

  HealthReport report() const {
    HealthReport r;
    const PipelineState state = core->state();
    const int64_t lag_ms = metrics::lag_milliseconds(stats);
    const SourceHealth source = stats ? stats->source_health.read() : SourceHealth{};
    std::string status;
    std::string reason = core->state_reason();
    if (state != PipelineState::kRunning) {
      status = "unavailable";
    } else if (lag_ms > int64_t{max_lag_seconds} * 1000) {
      status = "lagging";
    } else if (!source.problem.empty() && source.failing) {
      status = "stalled";
      reason = source.problem;
    } else if (!source.problem.empty()) {
      // Still delivering: 200, so a load balancer keeps it, with the reason.
      status = "degraded";
      reason = source.problem;
      r.healthy = true;
    } else {
      status = "ok";
      r.healthy = true;
    }
    r.http_status = r.healthy ? 200 : 503;
    r.body = "{\"status\":\"" + status + "\",\"state\":\"" +
             std::string(pipeline_state_name(state)) +
             "\",\"lag_seconds\":" + metrics::format_milliseconds_as_seconds(lag_ms) +
             ",\"max_lag_seconds\":" + std::to_string(max_lag_seconds);
    if (!reason.empty()) r.body += ",\"reason\":\"" + json_escape(reason) + "\"";
    r.body += "}";
    return r;
  }

  std::string scrape() const {
    std::vector<prometheus::MetricFamily> families = registry->Collect();
    for (auto& f : collector->Collect()) families.push_back(std::move(f));
    return metrics::serialize_text_format(families);
  }
};

void answer(mg_connection* conn, bool head, int status, const char* reason,
            const char* content_type, const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
            "Content-Length: %zu\r\n\r\n",
            status, reason, content_type, body.size());
  if (!head) mg_write(conn, body.data(), body.size());
}

// civetweb's begin_request callback answers both endpoints; any other path
// returns 0 and civetweb answers 404. The CivetServer is the context's user
// data, our Endpoints its user context.
int begin_request(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (!info || !info->local_uri || !info->user_data) return 0;
  const bool health = std::strcmp(info->local_uri, "/health") == 0;
  const bool metrics = std::strcmp(info->local_uri, "/metrics") == 0;
  if (!health && !metrics) return 0;
  const auto* server = static_cast<const CivetServer*>(info->user_data);
  const auto* endpoints = static_cast<const Endpoints*>(server->getUserContext());
  if (!endpoints) return 0;
  const bool head = info->request_method && std::strcmp(info->request_method, "HEAD") == 0;
  const bool get = info->request_method && std::strcmp(info->request_method, "GET") == 0;
  if (!get && !head) {
    mg_printf(conn,
              "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"
              "Content-Length: 0\r\n\r\n");
    return 405;
  }
  if (metrics) {
    answer(conn, head, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", endpoints->scrape());
    return 200;
  }
  HealthReport r = endpoints->report();
  r.body += "\n";
  answer(conn, head, r.http_status, r.healthy ? "OK" : "Service Unavailable", "application/json",
         r.body);
  return r.http_status;
}

// civetweb serves each connection on one worker thread from accept until the
// request is answered, and a client that sends nothing (or a byte a second)
// keeps its worker until request_timeout_ms (civetweb's default: 30 s) has
// passed since its request began. With 2 workers, 2 idle connections blocked
// /health and /metrics for 30 s. So: enough workers that a few misbehaving
// clients connected at once leave most of them free, and a request timeout
// after which civetweb closes a connection whose request is still incomplete
// (or whose answer it cannot send), so that even many of them hold workers
// for a bounded time. Keep-alive stays off: a scraper's idle keep-alive
// connection would hold a worker too. docs/operations.md ("Misbehaving
// clients") states these numbers.
constexpr int kHttpWorkerThreads = 32;
constexpr int kHttpRequestTimeoutMs = 5000;

std::vector<std::string> civetweb_options(const metrics::ListenAddress& address) {
  return {"listening_ports",    address.civetweb_spec(),
          "num_threads",        std::to_string(kHttpWorkerThreads),
          "request_timeout_ms", std::to_string(kHttpRequestTimeoutMs),
          "enable_keep_alive",  "no"};
}

}  // namespace

class MetricsService::Impl {
 public:
  MetricsSettings settings;
  metrics::ListenAddress address;
  Endpoints endpoints;
  CivetCallbacks callbacks;
  std::unique_ptr<CivetServer> server;
  int port = 0;

  ~Impl() {
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
    server.reset();  // stops civetweb: waits for requests in progress
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
  // The [metrics] table's limits, as the TOML reader applies them.
  HELIOSDB_RETURN_IF_ERROR(metrics::check_settings(settings));
  std::string why;
  auto address = metrics::parse_listen_address(settings.listen, &why);
  if (!address) {
    return invalid_argument("[metrics] listen = \"" + settings.listen + "\": " + why);
  }
  auto impl = std::make_unique<Impl>();
  impl->settings = settings;
  impl->address = *address;
  Endpoints& e = impl->endpoints;
  e.core = std::make_shared<metrics::MetricsCore>(settings.max_table_labels);
  e.stats = stats;
  e.max_lag_seconds = settings.health_max_lag_seconds;
  e.registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge()
      .Name("heliosdb_cdc_build_info")
      .Help("Always 1; labels carry the version of heliosdb-cdc.")
      .Register(*e.registry)
      .Add({{"version", HELIOSDB_CDC_VERSION}})
      .Set(1);
  e.collector = std::make_shared<metrics::PipelineCollector>(e.core, stats, std::string(sink_name));
  impl->callbacks.begin_request = &begin_request;
  try {
    impl->server = std::make_unique<CivetServer>(civetweb_options(*address), &impl->callbacks,
                                                 &impl->endpoints);
  } catch (const std::exception& ex) {
    return Status(ErrorCode::kUnavailable,
                  "cannot listen for metrics on " + address->civetweb_spec() +
                      " ([metrics] listen): the address is in use or not local (" + ex.what() +
                      ")");
  }
  std::vector<int> ports = impl->server->getListeningPorts();
  if (ports.empty()) {
    return Status(ErrorCode::kUnavailable,
                  "cannot listen for metrics on " + address->civetweb_spec() + ": no port bound");
  }
  impl->port = ports.front();
  return std::unique_ptr<MetricsService>(new MetricsService(std::move(impl)));
}

MetricsService::MetricsService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsService::~MetricsService() = default;

std::shared_ptr<PipelineObserver> MetricsService::observer() const { return impl_->endpoints.core; }

void MetricsService::set_state(PipelineState state, std::string reason) {
  impl_->endpoints.core->set_state(state, std::move(reason));
}

uint16_t MetricsService::port() const { return static_cast<uint16_t>(impl_->port); }

std::string MetricsService::address() const {
  metrics::ListenAddress a = impl_->address;
  a.port = port();
  return a.civetweb_spec();
}

HealthReport MetricsService::health() const { return impl_->endpoints.report(); }

std::string MetricsService::scrape() const { return impl_->endpoints.scrape(); }

}  // namespace heliosdb::cdc
