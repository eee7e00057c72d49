// MetricsService end to end over HTTP: exact metric names and values after
// known work, /health rule, metrics disabled, port in use.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "heliosdb/cdc/metrics.h"
#include "testing/http_scrape.h"

namespace heliosdb::cdc {
namespace {

using testing::http_get;
using testing::HttpAnswer;
using testing::parse_samples;

int count_socket_fds() {
  int n = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (dirent* e = readdir(dir)) {
    char target[256];
    std::string path = std::string("/proc/self/fd/") + e->d_name;
    ssize_t len = readlink(path.c_str(), target, sizeof target - 1);
    if (len > 0 && std::string(target, len).rfind("socket:", 0) == 0) ++n;
  }
  closedir(dir);
  return n;
}

MetricsSettings local_settings() {
  MetricsSettings s;
  s.listen = "127.0.0.1:0";
  s.max_table_labels = 2;
  s.health_max_lag_seconds = 30;
  return s;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

AckedEvent acked(OperationType op, std::string_view table, uint64_t bytes) {
  AckedEvent e;
  e.operation = op;
  e.table = table;
  e.bytes = bytes;
  e.wal_timestamp_ms = 1000;
  e.acked_at_ms = 1003;  // 3 ms
  return e;
}

class MetricsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = MetricsService::start(local_settings(), "kafka", &stats_);
    ASSERT_TRUE(started.is_ok()) << started.status().to_string();
    service_ = std::move(started.value());
    ASSERT_NE(service_, nullptr);
    base_ = "http://" + service_->address();
  }
  PipelineStats stats_;
  std::unique_ptr<MetricsService> service_;
  std::string base_;
};

TEST_F(MetricsServiceTest, ExportsTheTenSeedMetricsWithExactNames) {
  HttpAnswer a = http_get(base_ + "/metrics");
  ASSERT_EQ(a.status, 200);
  for (const char* name :
       {"heliosdb_cdc_events_processed_total", "heliosdb_cdc_events_filtered_total",
        "heliosdb_cdc_events_failed_total", "heliosdb_cdc_lag_seconds", "heliosdb_cdc_wal_sequence",
        "heliosdb_cdc_bytes_processed_total", "heliosdb_cdc_event_latency_seconds",
        "heliosdb_cdc_events_by_operation_total", "heliosdb_cdc_events_by_table_total",
        "heliosdb_cdc_sink_latency_seconds", "heliosdb_cdc_checkpoint_sequence",
        "heliosdb_cdc_build_info", "process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_open_fds", "process_max_fds", "process_start_time_seconds",
        "process_virtual_memory_bytes"}) {
    EXPECT_NE(a.body.find("# TYPE " + std::string(name) + " "), std::string::npos) << name;
  }
  EXPECT_NE(a.body.find("# TYPE heliosdb_cdc_events_processed_total counter"), std::string::npos);
  EXPECT_NE(a.body.find("# TYPE heliosdb_cdc_lag_seconds gauge"), std::string::npos);
  EXPECT_NE(a.body.find("# TYPE heliosdb_cdc_event_latency_seconds histogram"), std::string::npos);
}

// All five operations are exported from the start (a dashboard finds every
// series, at 0), READ included; a READ acknowledgement counts in its own.
TEST_F(MetricsServiceTest, EveryOperationIncludingReadIsExportedAndCounted) {
  const std::string family = "heliosdb_cdc_events_by_operation_total";
  auto series = [&](const char* op) {
    return family + "{operation=\"" + op + "\",sink=\"kafka\"}";
  };
  auto before = parse_samples(http_get(base_ + "/metrics").body);
  for (const char* op : {"INSERT", "UPDATE", "DELETE", "TRUNCATE", "READ"}) {
    ASSERT_EQ(before.count(series(op)), 1u) << op;
    EXPECT_EQ(before[series(op)], 0) << op;
  }
  size_t exported = 0;
  for (const auto& [name, value] : before) exported += name.rfind(family + "{", 0) == 0;
  EXPECT_EQ(exported, 5u);

  auto observer = service_->observer();
  observer->on_acknowledged(acked(OperationType::Read, "users", 10));
  observer->on_acknowledged(acked(OperationType::Read, "users", 10));
  observer->on_acknowledged(acked(OperationType::Insert, "users", 10));
  auto after = parse_samples(http_get(base_ + "/metrics").body);
  EXPECT_EQ(after[series("READ")], 2);
  EXPECT_EQ(after[series("INSERT")], 1);
  EXPECT_EQ(after[series("TRUNCATE")], 0);
}

TEST_F(MetricsServiceTest, CountersEqualTheWorkDone) {
  auto observer = service_->observer();
  CdcEvent dropped;
  for (int i = 0; i < 3; ++i) {
    observer->on_filtered(dropped);
    stats_.events_filtered.fetch_add(1);
  }
  observer->on_acknowledged(acked(OperationType::Insert, "users", 11));
  observer->on_acknowledged(acked(OperationType::Insert, "orders", 12));
  observer->on_acknowledged(acked(OperationType::Update, "users", 13));
  observer->on_acknowledged(acked(OperationType::Delete, "logs", 14));   // beyond the cap of 2
  observer->on_acknowledged(acked(OperationType::Delete, "audit", 15));  // beyond the cap of 2
  stats_.events_acknowledged = 5;
  stats_.events_failed = 1;
  stats_.wal_sequence = 4242;
  stats_.checkpoint_sequence = 4200;
  observer->on_sink_call(0.004, 5);

  auto s = parse_samples(http_get(base_ + "/metrics").body);
  EXPECT_EQ(s["heliosdb_cdc_events_processed_total{sink=\"kafka\"}"], 5);
  EXPECT_EQ(s["heliosdb_cdc_events_filtered_total"], 3);
  EXPECT_EQ(s["heliosdb_cdc_events_failed_total{sink=\"kafka\"}"], 1);
  EXPECT_EQ(s["heliosdb_cdc_wal_sequence"], 4242);
  EXPECT_EQ(s["heliosdb_cdc_checkpoint_sequence"], 4200);
  EXPECT_EQ(s["heliosdb_cdc_bytes_processed_total{sink=\"kafka\"}"], 65);
  EXPECT_EQ(s["heliosdb_cdc_events_by_operation_total{operation=\"INSERT\",sink=\"kafka\"}"], 2);
  EXPECT_EQ(s["heliosdb_cdc_events_by_operation_total{operation=\"UPDATE\",sink=\"kafka\"}"], 1);
  EXPECT_EQ(s["heliosdb_cdc_events_by_operation_total{operation=\"DELETE\",sink=\"kafka\"}"], 2);
  EXPECT_EQ(
      s.count("heliosdb_cdc_events_by_operation_total{operation=\"TRUNCATE\",sink=\"kafka\"}"), 1u);
  EXPECT_EQ(s["heliosdb_cdc_events_by_table_total{table=\"users\",sink=\"kafka\"}"], 2);
  EXPECT_EQ(s["heliosdb_cdc_events_by_table_total{table=\"orders\",sink=\"kafka\"}"], 1);
  EXPECT_EQ(s["heliosdb_cdc_events_by_table_total{table=\"_other\",sink=\"kafka\"}"], 2);
  EXPECT_EQ(s.count("heliosdb_cdc_events_by_table_total{table=\"logs\",sink=\"kafka\"}"), 0u);
  // 5 events of 3 ms each: in the 0.005 bucket, not in 0.0025.
  EXPECT_EQ(s["heliosdb_cdc_event_latency_seconds_bucket{sink=\"kafka\",le=\"0.0025\"}"], 0);
  EXPECT_EQ(s["heliosdb_cdc_event_latency_seconds_bucket{sink=\"kafka\",le=\"0.005\"}"], 5);
  EXPECT_EQ(s["heliosdb_cdc_event_latency_seconds_bucket{sink=\"kafka\",le=\"+Inf\"}"], 5);
  EXPECT_EQ(s["heliosdb_cdc_event_latency_seconds_count{sink=\"kafka\"}"], 5);
  EXPECT_NEAR(s["heliosdb_cdc_event_latency_seconds_sum{sink=\"kafka\"}"], 0.015, 1e-9);
  EXPECT_EQ(s["heliosdb_cdc_sink_latency_seconds_count{sink=\"kafka\"}"], 1);
  EXPECT_EQ(s["heliosdb_cdc_sink_latency_seconds_bucket{sink=\"kafka\",le=\"0.005\"}"], 1);
  EXPECT_EQ(s["heliosdb_cdc_build_info{version=\"0.1.0\"}"], 1);
  EXPECT_GT(s["process_resident_memory_bytes"], 1e6);
  EXPECT_GE(s["process_open_fds"], 3);
  EXPECT_NEAR(s["process_start_time_seconds"], now_ms() / 1000.0, 3600);
}

TEST_F(MetricsServiceTest, LagIsAgeOfOldestUnacknowledgedChangeAndZeroWhenCaughtUp) {
  EXPECT_EQ(parse_samples(service_->scrape())["heliosdb_cdc_lag_seconds"], 0);
  stats_.oldest_unacked_ms = now_ms() - 5000;
  double lag = parse_samples(service_->scrape())["heliosdb_cdc_lag_seconds"];
  EXPECT_GE(lag, 5.0);
  EXPECT_LT(lag, 10.0);
  stats_.oldest_unacked_ms = 0;
  EXPECT_EQ(parse_samples(service_->scrape())["heliosdb_cdc_lag_seconds"], 0);
}

TEST_F(MetricsServiceTest, NoSnapshotMeansRunningZeroAndNoTableSeries) {
  const std::string text = service_->scrape();
  auto s = parse_samples(text);
  EXPECT_EQ(s.count("heliosdb_cdc_snapshot_running"), 1u);
  EXPECT_EQ(s["heliosdb_cdc_snapshot_running"], 0);
  EXPECT_EQ(text.find("heliosdb_cdc_snapshot_rows_total"), std::string::npos) << text;
  EXPECT_EQ(text.find("heliosdb_cdc_snapshot_remaining_rows"), std::string::npos) << text;
}

TEST_F(MetricsServiceTest, SnapshotRowsAndRemainingRowsPerTable) {
  stats_.snapshot.publish({true,
                           {{"public.a", 1000, 1000, true},
                            {"public.users", 520000, 1000000, false},
                            {"public.big", 1500, 1000, false},  // past its estimate
                            {"public.logs", 4000, -1, false},   // no estimate
                            {"public.z", 0, 10, false}}});
  const std::string text = service_->scrape();
  auto s = parse_samples(text);
  EXPECT_EQ(s["heliosdb_cdc_snapshot_running"], 1);
  EXPECT_EQ(s["heliosdb_cdc_snapshot_rows_total{table=\"public.a\"}"], 1000);
  EXPECT_EQ(s["heliosdb_cdc_snapshot_rows_total{table=\"public.users\"}"], 520000);
  EXPECT_EQ(s["heliosdb_cdc_snapshot_rows_total{table=\"public.logs\"}"], 4000);
  EXPECT_EQ(s.count("heliosdb_cdc_snapshot_rows_total{table=\"public.z\"}"), 1u);
  EXPECT_EQ(s["heliosdb_cdc_snapshot_remaining_rows{table=\"public.a\"}"], 0);
  EXPECT_EQ(s["heliosdb_cdc_snapshot_remaining_rows{table=\"public.users\"}"], 480000);
  EXPECT_EQ(s["heliosdb_cdc_snapshot_remaining_rows{table=\"public.big\"}"], 0);
  EXPECT_EQ(s["heliosdb_cdc_snapshot_remaining_rows{table=\"public.z\"}"], 10);
  // Without an estimate no sample: a 0 would read as done.
  EXPECT_EQ(s.count("heliosdb_cdc_snapshot_remaining_rows{table=\"public.logs\"}"), 0u);
  EXPECT_NE(text.find("# TYPE heliosdb_cdc_snapshot_rows_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE heliosdb_cdc_snapshot_remaining_rows gauge"), std::string::npos);
  EXPECT_NE(text.find("# TYPE heliosdb_cdc_snapshot_running gauge"), std::string::npos);

  stats_.snapshot.publish({false, {{"public.a", 1000, 1000, true}}});
  s = parse_samples(service_->scrape());
  EXPECT_EQ(s["heliosdb_cdc_snapshot_running"], 0);
  EXPECT_EQ(s["heliosdb_cdc_snapshot_rows_total{table=\"public.a\"}"], 1000);
}

// The lag is whole milliseconds, printed with at most 3 decimals: never the
// 16 significant digits of k / 1000.0 (9 ms was "0.008999999999999999").
TEST_F(MetricsServiceTest, LagIsPrintedToTheMillisecond) {
  const std::regex line("heliosdb_cdc_lag_seconds ([0-9]+(\\.[0-9]{1,3})?)\n");
  for (int ms = 1; ms <= 300; ++ms) {
    stats_.oldest_unacked_ms = now_ms() - ms;
    std::string text = service_->scrape();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(text, m, line))
        << text.substr(text.find("heliosdb_cdc_lag_seconds "), 60);
  }
  service_->observer()->on_started();
  stats_.oldest_unacked_ms = now_ms() - 9;
  EXPECT_TRUE(std::regex_search(http_get(base_ + "/health").body,
                                std::regex("\"lag_seconds\":0\\.[0-9]{3},")));
}

// A TCP connection to the service that sends nothing, or the start of a
// request one byte at a time.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { close(fd_); }
  bool connected() const { return connected_; }
  void send_byte(char c) { (void)send(fd_, &c, 1, MSG_NOSIGNAL); }
  // True when the server closed the connection within `timeout_ms`.
  bool closed_by_server_within(int timeout_ms) {
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// civetweb holds a worker thread per connection until its request is
// complete; with 2 workers two idle connections blocked /health for 30 s.
TEST_F(MetricsServiceTest, HealthAnswersWithinASecondWhileIdleAndSlowClientsAreConnected) {
  service_->observer()->on_started();
  std::vector<std::unique_ptr<RawClient>> idle, slow;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(std::make_unique<RawClient>(service_->port()));
    slow.push_back(std::make_unique<RawClient>(service_->port()));
    ASSERT_TRUE(idle.back()->connected() && slow.back()->connected());
  }
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
    for (size_t i = 0; !done.load(); ++i) {
      for (auto& c : slow) c->send_byte(i < request.size() ? request[i] : 'x');
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // all 16 accepted

  for (int round = 0; round < 3; ++round) {
    auto begin = std::chrono::steady_clock::now();
    HttpAnswer health = http_get(base_ + "/health", 1000);
    EXPECT_EQ(health.status, 200) << "round " << round;
    EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(1));
    EXPECT_EQ(http_get(base_ + "/metrics", 1000).status, 200) << "round " << round;
  }
  done.store(true);
  trickle.join();
}

// A connection whose request is not complete within the request timeout
// (5 s, docs/operations.md) is closed by the server.
TEST_F(MetricsServiceTest, AnIdleConnectionIsClosedAfterTheRequestTimeout) {
  RawClient idle(service_->port());
  ASSERT_TRUE(idle.connected());
  EXPECT_TRUE(idle.closed_by_server_within(8000));
}

TEST_F(MetricsServiceTest, HealthIs503UntilThePipelineRuns) {
  HttpAnswer a = http_get(base_ + "/health");
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.content_type, "application/json");
  EXPECT_NE(a.body.find("\"state\":\"starting\""), std::string::npos) << a.body;
}

TEST_F(MetricsServiceTest, HealthIs200WhenRunningAndCaughtUp) {
  service_->observer()->on_started();
  HttpAnswer a = http_get(base_ + "/health");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body,
            "{\"status\":\"ok\",\"state\":\"running\",\"lag_seconds\":0.000,"
            "\"max_lag_seconds\":30}\n");
  stats_.oldest_unacked_ms = now_ms() - 20000;  // lagging, but within 30 s
  EXPECT_EQ(http_get(base_ + "/health").status, 200);
}

TEST_F(MetricsServiceTest, HealthIs503WhenLagExceedsTheLimit) {
  service_->observer()->on_started();
  stats_.oldest_unacked_ms = now_ms() - 31000;
  HttpAnswer a = http_get(base_ + "/health");
  EXPECT_EQ(a.status, 503);
  EXPECT_NE(a.body.find("\"status\":\"lagging\""), std::string::npos) << a.body;
  stats_.oldest_unacked_ms = 0;
  EXPECT_EQ(http_get(base_ + "/health").status, 200);
}

TEST_F(MetricsServiceTest, HealthIs503WithTheReasonAfterAFailure) {
  service_->observer()->on_started();
  service_->observer()->on_stopped(unavailable("kafka: all brokers down"));
  HttpAnswer a = http_get(base_ + "/health");
  EXPECT_EQ(a.status, 503);
  EXPECT_NE(a.body.find("\"state\":\"failed\""), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("kafka: all brokers down"), std::string::npos) << a.body;
}

TEST_F(MetricsServiceTest, HealthIs503AfterACleanStop) {
  service_->observer()->on_started();
  service_->observer()->on_stopped(Status::ok());
  EXPECT_EQ(http_get(base_ + "/health").status, 503);
}

TEST_F(MetricsServiceTest, UnknownPathIs404) { EXPECT_EQ(http_get(base_ + "/nope").status, 404); }

TEST_F(MetricsServiceTest, ObserverOutlivesTheService) {
  auto observer = service_->observer();
  service_.reset();
  observer->on_acknowledged(acked(OperationType::Insert, "users", 1));  // no crash
  observer->on_stopped(Status::ok());
}

TEST_F(MetricsServiceTest, StoppingTheServiceClosesTheListener) {
  std::string url = base_ + "/metrics";
  service_.reset();
  EXPECT_EQ(http_get(url).status, 0);  // connection refused
}

TEST(MetricsServiceStart, DisabledOpensNoListener) {
  PipelineStats stats;
  MetricsSettings settings = local_settings();
  settings.enabled = false;
  int sockets_before = count_socket_fds();
  auto started = MetricsService::start(settings, "file", &stats);
  ASSERT_TRUE(started.is_ok());
  EXPECT_EQ(started.value(), nullptr);
  EXPECT_EQ(count_socket_fds(), sockets_before);
}

TEST(MetricsServiceStart, PortInUseIsAClearError) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string taken = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  PipelineStats stats;
  MetricsSettings settings = local_settings();
  settings.listen = taken;
  auto started = MetricsService::start(settings, "file", &stats);
  close(fd);
  ASSERT_FALSE(started.is_ok());
  EXPECT_EQ(started.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(started.status().message().find("cannot listen for metrics on " + taken),
            std::string::npos)
      << started.status().message();
  EXPECT_NE(started.status().message().find("[metrics] listen"), std::string::npos);
}

TEST(MetricsServiceStart, InvalidListenIsInvalidArgument) {
  MetricsSettings settings = local_settings();
  settings.listen = "somewhere";
  auto started = MetricsService::start(settings, "file", nullptr);
  ASSERT_FALSE(started.is_ok());
  EXPECT_EQ(started.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(started.status().message().find("somewhere"), std::string::npos);
}

TEST(MetricsServiceStart, WithoutStatsCountsComeFromTheObserver) {
  auto started = MetricsService::start(local_settings(), "stdout", nullptr);
  ASSERT_TRUE(started.is_ok());
  auto& service = started.value();
  service->observer()->on_acknowledged(acked(OperationType::Insert, "users", 5));
  CdcEvent dropped;
  service->observer()->on_filtered(dropped);
  auto s = parse_samples(service->scrape());
  EXPECT_EQ(s["heliosdb_cdc_events_processed_total{sink=\"stdout\"}"], 1);
  EXPECT_EQ(s["heliosdb_cdc_events_filtered_total"], 1);
}

TEST(MetricsServiceStart, TwoServicesAnswerHealthForThemselves) {
  PipelineStats stats_a, stats_b;
  auto a = MetricsService::start(local_settings(), "a", &stats_a);
  auto b = MetricsService::start(local_settings(), "b", &stats_b);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  a.value()->observer()->on_started();
  EXPECT_EQ(http_get("http://" + a.value()->address() + "/health").status, 200);
  EXPECT_EQ(http_get("http://" + b.value()->address() + "/health").status, 503);
}

}  // namespace
}  // namespace heliosdb::cdc
