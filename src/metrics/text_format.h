// The Prometheus text exposition format (version 0.0.4) for /metrics.
//
// Our own writer rather than prometheus-cpp's TextSerializer, which prints
// every value with 16 significant digits: a lag of 9 ms, 9/1000.0, came out
// as 0.008999999999999999. Here a value is printed in the shortest form that
// reads back as the same double (9/1000.0 is "0.009"), and integral values
// (counters, byte counts) without exponent or fraction.
#pragma once

#include <string>
#include <vector>

#include <prometheus/metric_family.h>

namespace heliosdb::cdc::metrics {

// "0.009", "0.0005", "5", "1000000", "1e+300", "+Inf", "-Inf", "NaN".
std::string format_sample_value(double value);

// Every family (even one without samples) as HELP and TYPE lines followed
// by its samples; histograms as _bucket{le="..."} (cumulative), _sum and
// _count, summaries as {quantile="..."}, _sum and _count. Label values and
// help text escaped.
std::string serialize_text_format(const std::vector<prometheus::MetricFamily>& families);

}  // namespace heliosdb::cdc::metrics
