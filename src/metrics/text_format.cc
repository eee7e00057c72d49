#include "metrics/text_format.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace heliosdb::cdc::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Help text: backslash and newline escaped. Label values also escape '"'.
void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_labels(std::string& out, const std::vector<ClientMetric::Label>& labels,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  auto one = [&](std::string_view name, std::string_view value) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    append_escaped(out, value, true);
    out += '"';
  };
  for (const auto& l : labels) one(l.name, l.value);
  if (!extra_name.empty()) one(extra_name, extra_value);
  out += '}';
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const ClientMetric& m, double value, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  append_labels(out, m.label, extra_name, extra_value);
  out += ' ';
  out += format_sample_value(value);
  if (m.timestamp_ms != 0) {
    out += ' ';
    out += std::to_string(m.timestamp_ms);
  }
  out += '\n';
}

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Summary:
      return "summary";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Untyped:
      break;
  }
  return "untyped";
}

void append_metric(std::string& out, const MetricFamily& f, const ClientMetric& m) {
  switch (f.type) {
    case MetricType::Counter:
      append_sample(out, f.name, "", m, m.counter.value);
      return;
    case MetricType::Gauge:
      append_sample(out, f.name, "", m, m.gauge.value);
      return;
    case MetricType::Untyped:
      append_sample(out, f.name, "", m, m.untyped.value);
      return;
    case MetricType::Summary:
      for (const auto& q : m.summary.quantile) {
        append_sample(out, f.name, "", m, q.value, "quantile", format_sample_value(q.quantile));
      }
      append_sample(out, f.name, "_sum", m, m.summary.sample_sum);
      append_sample(out, f.name, "_count", m, static_cast<double>(m.summary.sample_count));
      return;
    case MetricType::Histogram:
      for (const auto& b : m.histogram.bucket) {
        append_sample(out, f.name, "_bucket", m, static_cast<double>(b.cumulative_count), "le",
                      format_sample_value(b.upper_bound));
      }
      append_sample(out, f.name, "_sum", m, m.histogram.sample_sum);
      append_sample(out, f.name, "_count", m, static_cast<double>(m.histogram.sample_count));
      return;
  }
}

}  // namespace

std::string format_sample_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Integral values below 2^53 are exact in a double: print them as integers
  // ("1000000", not the shortest form "1e+06").
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(value));
    return std::string(buf, end);
  }
  // Plain decimals ("0.0005", not the shorter "5e-04") where they stay short.
  const double magnitude = std::fabs(value);
  auto [end, ec] = magnitude >= 1e-6 && magnitude < 1e15
                       ? std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed)
                       : std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, end);
}

std::string serialize_text_format(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const auto& f : families) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_escaped(out, f.help, false);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += type_name(f.type);
    out += '\n';
    for (const auto& m : f.metric) append_metric(out, f, m);
  }
  return out;
}

}  // namespace heliosdb::cdc::metrics
