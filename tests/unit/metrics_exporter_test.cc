// start_metrics_exporter: the one call that starts /metrics and /health for a
// processor, as a library user makes it (the daemon makes the same call).
// Scraped over HTTP while the processor runs; every exported family is one
// docs/operations.md describes.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "heliosdb/cdc/metrics.h"
#include "heliosdb/cdc/processor.h"
#include "heliosdb/cdc/wal.h"
#include "testing/http_scrape.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using namespace std::chrono_literals;
using testing::http_get;
using testing::parse_samples;
using testing::TempDir;

// `n` committed transactions of one INSERT each, in database "shop".
void write_wal(const std::string& dir, uint64_t n) {
  WalWriterOptions o;
  o.dir = dir;
  o.sync_policy = WalSyncPolicy::kNever;
  auto w = WalWriter::open(o);
  ASSERT_TRUE(w) << w.status().to_string();
  for (uint64_t t = 1; t <= n; ++t) {
    WalEntry e;
    e.transaction_id = t;
    e.timestamp_ms = 1700000000000 + static_cast<int64_t>(t);
    e.database = "shop";
    e.kind = WalEntryKind::Begin;
    ASSERT_TRUE((*w)->append(e));
    e.kind = WalEntryKind::Insert;
    e.table = "orders";
    const std::string key = "k" + std::to_string(t % 7);
    e.key = key;
    e.value = "v";
    ASSERT_TRUE((*w)->append(e));
    e.kind = WalEntryKind::Commit;
    e.table = "";
    e.key = "";
    e.value.reset();
    ASSERT_TRUE((*w)->append(e));
  }
  ASSERT_TRUE((*w)->close().is_ok());
}

// Acknowledges every event as it is sent.
class NullSink : public EventSink {
 public:
  Status send(const CdcEvent&) override { return Status::ok(); }
  Status flush() override { return Status::ok(); }
  Status close() override { return Status::ok(); }
  std::string_view name() const override { return "null"; }
};

CdcConfig config_for(const TempDir& dir, bool enable_metrics) {
  auto c = CdcConfig::builder()
               .wal_path(dir.file("wal"))
               .database("shop")
               .checkpoint_dir(dir.file("ckpt"))
               .poll_interval_ms(10)
               .enable_metrics(enable_metrics)
               .build();
  EXPECT_TRUE(c) << c.status().to_string();
  return *c;
}

MetricsSettings any_port() {
  MetricsSettings s;
  s.listen = "127.0.0.1:0";
  return s;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

TEST(MetricsExporter, OneCallServesMetricsAndHealthForARunningProcessor) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(write_wal(dir.file("wal"), 250));
  EventProcessor processor(config_for(dir, true), std::make_unique<NullSink>());
  auto exporter = start_metrics_exporter(processor, "null", any_port());
  ASSERT_TRUE(exporter.is_ok()) << exporter.status().to_string();
  ASSERT_TRUE(*exporter);
  const std::string base = "http://" + (*exporter)->address();
  EXPECT_EQ(http_get(base + "/health").status, 503) << "healthy before the processor runs";

  std::thread run([&] { EXPECT_TRUE(processor.start().is_ok()); });
  std::map<std::string, double> s;
  bool delivered = wait_for([&] {
    s = parse_samples(http_get(base + "/metrics").body);
    return s["heliosdb_cdc_events_processed_total{sink=\"null\"}"] == 250;
  });
  testing::HttpAnswer health = http_get(base + "/health");
  processor.stop();
  run.join();
  EXPECT_TRUE(delivered) << "events_processed_total = "
                         << s["heliosdb_cdc_events_processed_total{sink=\"null\"}"];
  EXPECT_EQ(s["heliosdb_cdc_events_by_table_total{table=\"orders\",sink=\"null\"}"], 250);
  EXPECT_EQ(s["heliosdb_cdc_events_by_operation_total{operation=\"INSERT\",sink=\"null\"}"], 250);
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_NE(health.body.find("\"state\":\"running\""), std::string::npos) << health.body;
  // After the run the observer reports the clean stop.
  EXPECT_EQ(http_get(base + "/health").status, 503);

  exporter->stop();
  EXPECT_EQ(http_get(base + "/metrics").status, 0) << "the listener closes on stop()";
}

TEST(MetricsExporter, DestroyingTheHandleClosesTheListener) {
  TempDir dir;
  EventProcessor processor(config_for(dir, true), std::make_unique<NullSink>());
  std::string url;
  {
    auto exporter = start_metrics_exporter(processor, "null", any_port());
    ASSERT_TRUE(exporter.is_ok()) << exporter.status().to_string();
    url = "http://" + (*exporter)->address() + "/metrics";
    EXPECT_EQ(http_get(url).status, 200);
  }
  EXPECT_EQ(http_get(url).status, 0);
}

TEST(MetricsExporter, DefaultListensOnLoopback9464) {
  TempDir dir;
  EventProcessor processor(config_for(dir, true), std::make_unique<NullSink>());
  auto exporter = start_metrics_exporter(processor, "null");
  if (!exporter.is_ok() && exporter.status().code() == ErrorCode::kUnavailable) {
    // Something else holds the port here: the error still shows which
    // address the default tried.
    EXPECT_NE(exporter.status().message().find("127.0.0.1:9464"), std::string::npos)
        << exporter.status().to_string();
    return;
  }
  ASSERT_TRUE(exporter.is_ok()) << exporter.status().to_string();
  EXPECT_EQ((*exporter)->address(), "127.0.0.1:9464");
}

TEST(MetricsExporter, EnableMetricsFalseStartsNothing) {
  TempDir dir;
  EventProcessor processor(config_for(dir, false), std::make_unique<NullSink>());
  auto exporter = start_metrics_exporter(processor, "null", any_port());
  ASSERT_TRUE(exporter.is_ok()) << exporter.status().to_string();
  EXPECT_FALSE(*exporter);
  EXPECT_EQ(exporter->service(), nullptr);
}

TEST(MetricsExporter, PortInUseIsAnError) {
  TempDir dir;
  EventProcessor a(config_for(dir, true), std::make_unique<NullSink>());
  auto first = start_metrics_exporter(a, "null", any_port());
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  MetricsSettings same;
  same.listen = (*first)->address();
  TempDir other;
  EventProcessor b(config_for(other, true), std::make_unique<NullSink>());
  auto second = start_metrics_exporter(b, "null", same);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(second.status().message().find(same.listen), std::string::npos)
      << second.status().to_string();
}

// Every family a scrape holds is described in docs/operations.md, so an
// operator finds each series there (prometheus-cpp's own exposer_* series
// are not served).
TEST(MetricsExporter, ScrapeHoldsOnlyDocumentedFamilies) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(write_wal(dir.file("wal"), 20));
  EventProcessor processor(config_for(dir, true), std::make_unique<NullSink>());
  auto exporter = start_metrics_exporter(processor, "null", any_port());
  ASSERT_TRUE(exporter.is_ok()) << exporter.status().to_string();
  ASSERT_TRUE(processor.run_once().is_ok());
  testing::HttpAnswer scrape = http_get("http://" + (*exporter)->address() + "/metrics");
  ASSERT_EQ(scrape.status, 200);
  std::string docs = testing::read_file(testing::source_dir() + "/docs/operations.md");
  ASSERT_FALSE(docs.empty());
  auto families = testing::metric_family_names(scrape.body);
  EXPECT_GE(families.size(), 12u) << scrape.body;
  for (const std::string& name : families) {
    EXPECT_NE(docs.find("`" + name + "`"), std::string::npos)
        << name << " is served on /metrics but docs/operations.md does not describe it";
    EXPECT_NE(name.rfind("exposer_", 0), 0u) << name;
  }
}

}  // namespace
}  // namespace heliosdb::cdc
