// A real Prometheus server (scripts/services/prometheus.sh, ctest fixture
// prometheus_server) scrapes a running `heliosdb-cdc run` on 127.0.0.1:19464;
// the series come back from Prometheus's HTTP query API.
#include "metrics_test_util.h"

namespace heliosdb::cdc::metrics_it {
namespace {

constexpr int kScrapedPort = 19464;  // the target in prometheus.sh's scrape config
const char* kPrometheus = "http://127.0.0.1:19090";

// The value of a PromQL query whose answer is a single sample, or nullopt if
// the answer holds no sample (yet).
std::optional<double> query_one(const std::string& promql, std::string* raw = nullptr) {
  CURL* curl = curl_easy_init();
  char* escaped = curl_easy_escape(curl, promql.c_str(), static_cast<int>(promql.size()));
  std::string url = std::string(kPrometheus) + "/api/v1/query?query=" + escaped;
  curl_free(escaped);
  curl_easy_cleanup(curl);
  HttpAnswer a = http_get(url);
  if (raw) *raw = a.body;
  if (a.status != 200) return std::nullopt;
  // {"status":"success","data":{"resultType":"vector","result":[{"metric":{..},"value":[t,"v"]}]}}
  size_t at = a.body.find("\"value\":[");
  if (at == std::string::npos) return std::nullopt;
  if (a.body.find("\"value\":[", at + 1) != std::string::npos) return std::nullopt;  // several
  size_t quote = a.body.find('"', a.body.find(',', at));
  size_t end = a.body.find('"', quote + 1);
  return std::stod(a.body.substr(quote + 1, end - quote - 1));
}

TEST(MetricsPrometheus, PrometheusScrapesTheDaemonAndReturnsItsSeries) {
  std::string raw;
  ASSERT_TRUE(http_get(std::string(kPrometheus) + "/-/ready").status == 200)
      << "Prometheus is not running on 127.0.0.1:19090: the ctest fixture prometheus_server "
         "(scripts/services/prometheus.sh start) must start it";

  testing::TempDir dir;
  std::string config = write_wal_and_config(
      dir, 2000, "[metrics]\nlisten = \"127.0.0.1:" + std::to_string(kScrapedPort) + "\"\n");
  ExpectedWork want = expected_work(dir.file("wal"), "shop", "orders");
  Daemon daemon(config, dir.file("daemon.log"));
  ASSERT_TRUE(daemon.started());

  const std::string job = "{job=\"heliosdb_cdc\"}";
  std::optional<double> processed;
  bool seen = wait_for(
      [&] {
        if (daemon.exited()) return true;
        processed = query_one("heliosdb_cdc_events_processed_total" + job, &raw);
        return processed && *processed == want.processed;
      },
      std::chrono::seconds(40));
  ASSERT_FALSE(daemon.exited()) << daemon.log();
  ASSERT_TRUE(seen) << "Prometheus answered: " << raw << "\nwant processed " << want.processed
                    << "\n"
                    << daemon.log();

  EXPECT_EQ(query_one("up" + job), 1.0);
  EXPECT_EQ(query_one("heliosdb_cdc_events_filtered_total" + job), want.filtered);
  EXPECT_EQ(query_one("heliosdb_cdc_bytes_processed_total" + job), want.bytes);
  EXPECT_EQ(query_one("heliosdb_cdc_wal_sequence" + job), want.last_sequence);
  EXPECT_EQ(query_one("heliosdb_cdc_events_failed_total" + job), 0.0);
  EXPECT_EQ(query_one("heliosdb_cdc_lag_seconds" + job), 0.0);
  EXPECT_EQ(query_one("heliosdb_cdc_events_by_table_total{job=\"heliosdb_cdc\",table=\"users\"}"),
            want.by_table["users"]);
  EXPECT_EQ(query_one("sum(heliosdb_cdc_events_by_operation_total" + job + ")"), want.processed);
  EXPECT_EQ(query_one("heliosdb_cdc_events_by_operation_total{job=\"heliosdb_cdc\","
                      "operation=\"DELETE\",sink=\"file\"}"),
            want.by_operation["DELETE"]);
  EXPECT_EQ(query_one("heliosdb_cdc_event_latency_seconds_count" + job), want.processed);
  // The dashboard's quantile query works on our buckets.
  auto p99 = query_one(
      "histogram_quantile(0.99, sum by (le) (heliosdb_cdc_sink_latency_seconds_bucket" + job + "))",
      &raw);
  ASSERT_TRUE(p99) << raw;
  EXPECT_GE(*p99, 0.0);
  EXPECT_LE(*p99, 60.0);
  EXPECT_EQ(query_one("heliosdb_cdc_build_info" + job), 1.0);
  EXPECT_GT(query_one("process_resident_memory_bytes" + job).value_or(0), 1e6);
  EXPECT_GT(query_one("process_start_time_seconds" + job).value_or(0), 1.6e9);
  EXPECT_GT(query_one("heliosdb_cdc_checkpoint_sequence" + job).value_or(0), 0.0);

  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

// Every query of docs/grafana-dashboard.json is valid PromQL for this
// Prometheus (the dashboard's variables replaced by match-all values).
TEST(MetricsPrometheus, DashboardQueriesAreValidPromQL) {
  std::string json = testing::read_file(testing::source_dir() + "/docs/grafana-dashboard.json");
  ASSERT_FALSE(json.empty());
  std::vector<std::string> exprs;
  const std::string key = "\"expr\": \"";
  for (size_t at = json.find(key); at != std::string::npos; at = json.find(key, at + 1)) {
    std::string expr;
    for (size_t i = at + key.size(); i < json.size() && json[i] != '"'; ++i) {
      if (json[i] == '\\') ++i;  // JSON escapes in these strings are \" and \\ only
      expr += json[i];
    }
    exprs.push_back(expr);
  }
  ASSERT_GE(exprs.size(), 15u);
  for (std::string expr : exprs) {
    for (auto [from, to] : {std::pair<std::string, std::string>{"$__rate_interval", "1m"},
                            {"$job", ".*"},
                            {"$instance", ".*"}}) {
      for (size_t p = expr.find(from); p != std::string::npos; p = expr.find(from, p)) {
        expr.replace(p, from.size(), to);
      }
    }
    CURL* curl = curl_easy_init();
    char* escaped = curl_easy_escape(curl, expr.c_str(), static_cast<int>(expr.size()));
    HttpAnswer a = http_get(std::string(kPrometheus) + "/api/v1/query?query=" + escaped);
    curl_free(escaped);
    curl_easy_cleanup(curl);
    EXPECT_EQ(a.status, 200) << expr << "\n" << a.body;
    EXPECT_NE(a.body.find("\"status\":\"success\""), std::string::npos) << expr << "\n" << a.body;
  }
}

}  // namespace
}  // namespace heliosdb::cdc::metrics_it
