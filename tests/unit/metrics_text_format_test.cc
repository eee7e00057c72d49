// The Prometheus text format writer: exact bytes for each metric type, value
// formatting, escaping.
#include "metrics/text_format.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace heliosdb::cdc::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// A family of one sample.
MetricFamily family(std::string name, std::string help, MetricType type, ClientMetric m) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  f.metric.push_back(std::move(m));
  return f;
}

MetricFamily gauge(double value) {
  ClientMetric m;
  m.gauge.value = value;
  return family("heliosdb_cdc_lag_seconds", "Lag.", MetricType::Gauge, m);
}

TEST(MetricsTextFormat, MillisecondValuesHaveAtMostThreeDecimals) {
  EXPECT_EQ(serialize_text_format({gauge(9 / 1000.0)}),
            "# HELP heliosdb_cdc_lag_seconds Lag.\n"
            "# TYPE heliosdb_cdc_lag_seconds gauge\n"
            "heliosdb_cdc_lag_seconds 0.009\n");
  for (int64_t ms : {1, 7, 9, 10, 123, 999, 1001, 75204, 86400123}) {
    std::string text = format_sample_value(static_cast<double>(ms) / 1000.0);
    std::string expected = std::to_string(ms / 1000);
    if (ms % 1000 != 0) {
      std::string frac = std::to_string(1000 + ms % 1000).substr(1);
      while (frac.back() == '0') frac.pop_back();
      expected += "." + frac;
    }
    EXPECT_EQ(text, expected) << ms;
  }
}

TEST(MetricsTextFormat, IntegralValuesPrintAsIntegers) {
  EXPECT_EQ(format_sample_value(0), "0");
  EXPECT_EQ(format_sample_value(1000000), "1000000");
  EXPECT_EQ(format_sample_value(123456789012.0), "123456789012");
  EXPECT_EQ(format_sample_value(-3), "-3");
  EXPECT_EQ(format_sample_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_sample_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_sample_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(format_sample_value(1e300), "1e+300");
  EXPECT_EQ(format_sample_value(0.0005), "0.0005");
  EXPECT_EQ(format_sample_value(1.5e-9), "1.5e-09");
}

TEST(MetricsTextFormat, CounterWithEscapedLabelsAndHelp) {
  ClientMetric m;
  m.label = {{"table", "we\"ird\\\n"}, {"sink", "kafka"}};
  m.counter.value = 5;
  EXPECT_EQ(serialize_text_format({family("c_total", "a \\ b\nc", MetricType::Counter, m)}),
            "# HELP c_total a \\\\ b\\nc\n"
            "# TYPE c_total counter\n"
            "c_total{table=\"we\\\"ird\\\\\\n\",sink=\"kafka\"} 5\n");
}

TEST(MetricsTextFormat, HistogramBucketsSumAndCount) {
  ClientMetric m;
  m.label = {{"sink", "file"}};
  m.histogram.bucket = {{1, 0.0005}, {3, 0.005}, {4, std::numeric_limits<double>::infinity()}};
  m.histogram.sample_count = 4;
  m.histogram.sample_sum = 0.015;
  EXPECT_EQ(serialize_text_format({family("h_seconds", "H.", MetricType::Histogram, m)}),
            "# HELP h_seconds H.\n"
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{sink=\"file\",le=\"0.0005\"} 1\n"
            "h_seconds_bucket{sink=\"file\",le=\"0.005\"} 3\n"
            "h_seconds_bucket{sink=\"file\",le=\"+Inf\"} 4\n"
            "h_seconds_sum{sink=\"file\"} 0.015\n"
            "h_seconds_count{sink=\"file\"} 4\n");
}

TEST(MetricsTextFormat, SummaryQuantilesSumAndCount) {
  ClientMetric m;
  m.summary.quantile = {{0.5, 1.25}, {0.99, 2}};
  m.summary.sample_count = 2;
  m.summary.sample_sum = 3.25;
  EXPECT_EQ(serialize_text_format({family("s", "S.", MetricType::Summary, m)}),
            "# HELP s S.\n# TYPE s summary\n"
            "s{quantile=\"0.5\"} 1.25\ns{quantile=\"0.99\"} 2\ns_sum 3.25\ns_count 2\n");
}

}  // namespace
}  // namespace heliosdb::cdc::metrics
