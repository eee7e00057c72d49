// The daemon's metrics end to end: `heliosdb-cdc run` with a filter, scraped
// over HTTP while it runs. No external service.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "metrics_test_util.h"

namespace heliosdb::cdc::metrics_it {
namespace {

// Fixed ports of this suite (tests run the daemon as a separate process).
constexpr int kCountersPort = 19465;
constexpr int kDisabledPort = 19466;
constexpr int kBusyPort = 19467;

std::string metrics_section(int port, const std::string& extra = "") {
  return "[metrics]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n" + extra;
}

TEST(MetricsEndToEnd, CountersEqualTheWorkDoneWithAFilter) {
  testing::TempDir dir;
  std::string config = write_wal_and_config(dir, 3000, metrics_section(kCountersPort));
  ExpectedWork want = expected_work(dir.file("wal"), "shop", "orders");
  ASSERT_GT(want.filtered, 0u);
  ASSERT_GT(want.by_operation["DELETE"], 0u);
  ASSERT_GT(want.by_operation["TRUNCATE"], 0u);

  Daemon daemon(config, dir.file("daemon.log"));
  ASSERT_TRUE(daemon.started());
  const std::string base = "http://127.0.0.1:" + std::to_string(kCountersPort);
  std::map<std::string, double> s;
  const std::string processed = "heliosdb_cdc_events_processed_total{sink=\"file\"}";
  bool caught_up = wait_for([&] {
    if (daemon.exited()) return true;
    s = parse_samples(http_get(base + "/metrics").body);
    return s[processed] == want.processed && s["heliosdb_cdc_lag_seconds"] == 0;
  });
  ASSERT_FALSE(daemon.exited()) << daemon.log();
  ASSERT_TRUE(caught_up) << "processed " << s[processed] << " of " << want.processed << "\n"
                         << daemon.log();
  s = parse_samples(http_get(base + "/metrics").body);

  EXPECT_EQ(s[processed], want.processed);
  EXPECT_EQ(s["heliosdb_cdc_events_filtered_total"], want.filtered);
  EXPECT_EQ(s["heliosdb_cdc_events_failed_total{sink=\"file\"}"], 0);
  EXPECT_EQ(s["heliosdb_cdc_bytes_processed_total{sink=\"file\"}"], want.bytes);
  EXPECT_EQ(s["heliosdb_cdc_wal_sequence"], want.last_sequence);
  EXPECT_GT(s["heliosdb_cdc_checkpoint_sequence"], 0);
  // READ (snapshot rows) is exported too, at 0: the WAL source has no snapshots.
  for (const char* op : {"INSERT", "UPDATE", "DELETE", "TRUNCATE", "READ"}) {
    const std::string series = "heliosdb_cdc_events_by_operation_total{operation=\"" +
                               std::string(op) + "\",sink=\"file\"}";
    ASSERT_EQ(s.count(series), 1u) << series;
    EXPECT_EQ(s[series], want.by_operation[op]) << op;
  }
  EXPECT_EQ(s["heliosdb_cdc_events_by_table_total{table=\"users\",sink=\"file\"}"],
            want.by_table["users"]);
  EXPECT_EQ(s["heliosdb_cdc_events_by_table_total{table=\"payments\",sink=\"file\"}"],
            want.by_table["payments"]);
  EXPECT_EQ(s.count("heliosdb_cdc_events_by_table_total{table=\"orders\",sink=\"file\"}"), 0u);
  EXPECT_EQ(s["heliosdb_cdc_event_latency_seconds_count{sink=\"file\"}"], want.processed);
  EXPECT_GT(s["heliosdb_cdc_sink_latency_seconds_count{sink=\"file\"}"], 0);

  HttpAnswer health = http_get(base + "/health");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
  EXPECT_EQ(http_get(base + "/metrics").status, 0) << "the listener closes at exit";
}

TEST(MetricsEndToEnd, TableLabelsAreCappedUnderOther) {
  testing::TempDir dir;
  std::string config =
      write_wal_and_config(dir, 1000, metrics_section(kCountersPort, "max_table_labels = 1\n"));
  ExpectedWork want = expected_work(dir.file("wal"), "shop", "orders");
  Daemon daemon(config, dir.file("daemon.log"));
  const std::string base = "http://127.0.0.1:" + std::to_string(kCountersPort);
  std::map<std::string, double> s;
  ASSERT_TRUE(wait_for([&] {
    s = parse_samples(http_get(base + "/metrics").body);
    return daemon.exited() ||
           s["heliosdb_cdc_events_processed_total{sink=\"file\"}"] == want.processed;
  }));
  ASSERT_FALSE(daemon.exited()) << daemon.log();
  s = parse_samples(http_get(base + "/metrics").body);
  double users = s["heliosdb_cdc_events_by_table_total{table=\"users\",sink=\"file\"}"];
  double payments = s["heliosdb_cdc_events_by_table_total{table=\"payments\",sink=\"file\"}"];
  double other = s["heliosdb_cdc_events_by_table_total{table=\"_other\",sink=\"file\"}"];
  // One table got its own label (whichever came first); the other is "_other".
  EXPECT_EQ(users + payments + other, want.processed);
  EXPECT_TRUE((users > 0) != (payments > 0)) << users << " " << payments;
  EXPECT_EQ(other, users > 0 ? want.by_table["payments"] : want.by_table["users"]);
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

TEST(MetricsEndToEnd, MetricsDisabledOpensNoListener) {
  testing::TempDir dir;
  std::string config =
      write_wal_and_config(dir, 200, metrics_section(kDisabledPort), /*enable_metrics=*/false);
  Daemon daemon(config, dir.file("daemon.log"));
  // Wait until the daemon has delivered (output written), then probe the port.
  ASSERT_TRUE(wait_for(
      [&] { return daemon.exited() || !testing::read_file(dir.file("out.jsonl")).empty(); }));
  ASSERT_FALSE(daemon.exited()) << daemon.log();
  EXPECT_EQ(http_get("http://127.0.0.1:" + std::to_string(kDisabledPort) + "/metrics").status, 0);
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
  EXPECT_EQ(daemon.log().find("metrics on http"), std::string::npos) << daemon.log();
}

TEST(MetricsEndToEnd, PortInUseFailsAtStartWithAClearError) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(kBusyPort);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
      << "port " << kBusyPort << " must be free for this test";
  ASSERT_EQ(listen(fd, 1), 0);

  testing::TempDir dir;
  std::string config = write_wal_and_config(dir, 100, metrics_section(kBusyPort));
  auto r = testing::run_cli({"run", "--config", config, "--once"});
  close(fd);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot listen for metrics on 127.0.0.1:" + std::to_string(kBusyPort)),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("[metrics] listen"), std::string::npos) << r.err;
  EXPECT_TRUE(testing::read_file(dir.file("out.jsonl")).empty()) << "nothing delivered";
}

TEST(MetricsEndToEnd, InvalidMetricsConfigIsAConfigError) {
  testing::TempDir dir;
  std::string config =
      write_wal_and_config(dir, 10, "[metrics]\nlisten = \"127.0.0.1\"\nmax_table_lables = 5\n");
  auto r = testing::run_cli({"run", "--config", config, "--once"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("metrics.listen"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("metrics.max_table_lables"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace heliosdb::cdc::metrics_it
