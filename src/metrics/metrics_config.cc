#include "metrics/metrics_config.h"

#include <arpa/inet.h>
#include <civetweb.h>

#include <charconv>

namespace heliosdb::cdc::metrics {

std::string ListenAddress::civetweb_spec() const {
  std::string out = ipv6 ? "[" + host + "]" : host;
  return out + ":" + std::to_string(port);
}

bool civetweb_has_ipv6() {
  constexpr unsigned kFeatureIpv6 = 8;  // civetweb.h: mg_check_feature()
  return mg_check_feature(kFeatureIpv6) != 0;
}

std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<ListenAddress> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return fail("expected \"host:port\", e.g. \"127.0.0.1:9464\"");
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return fail("port \"" + std::string(port_text) + "\" is not a number in [0, 65535]");
  }
  ListenAddress out;
  out.port = static_cast<uint16_t>(port);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    out.host = std::string(host.substr(1, host.size() - 2));
    out.ipv6 = true;
    in6_addr addr6;
    if (inet_pton(AF_INET6, out.host.c_str(), &addr6) != 1) {
      return fail("\"" + out.host + "\" is not an IPv6 address");
    }
    if (!civetweb_has_ipv6()) {
      return fail(
          "IPv6 addresses are not supported by the civetweb library this daemon uses (Debian's "
          "is built without IPv6); listen on an IPv4 address, e.g. \"0.0.0.0:9464\"");
    }
    return out;
  }
  if (host == "localhost") {
    out.host = "127.0.0.1";
    return out;
  }
  out.host = std::string(host);
  in_addr addr4;
  if (host.empty() || inet_pton(AF_INET, out.host.c_str(), &addr4) != 1) {
    return fail("host \"" + out.host +
                "\" is not an IPv4 address, a bracketed IPv6 address or localhost");
  }
  return out;
}

namespace {

options::Table make_metrics_table() {
  const MetricsSettings d;
  options::Table t;
  t.section = "metrics";
  auto& v = t.options;
  v.push_back(options::string_option(
      "listen", d.listen, "MetricsSettings::listen",
      "Address of the endpoint: `IPv4:port`, `localhost:port`, or `[IPv6]:port` where the "
      "civetweb library has IPv6 (Debian 12's is built without it: there an IPv6 address is a "
      "configuration error naming the key). Only loopback by default; use e.g. `0.0.0.0:9464` "
      "to let a remote Prometheus scrape it. If the address is in use, `run` fails at start "
      "(exit 1): `cannot listen for metrics on 127.0.0.1:9464 ([metrics] listen): ...`."));
  v.push_back(options::int_option(
      "max_table_labels", d.max_table_labels, 0, 10000, "MetricsSettings::max_table_labels",
      "Distinct `table` label values exported by `heliosdb_cdc_events_by_table_total`. The "
      "first tables seen get their own series; changes of any further table are counted under "
      "`table=\"_other\"`. Keeps the number of series bounded however many tables the database "
      "has."));
  v.push_back(
      options::int_option("health_max_lag_seconds", d.health_max_lag_seconds, 1, 86400 * 7,
                          "MetricsSettings::health_max_lag_seconds",
                          "`/health` answers 503 while `heliosdb_cdc_lag_seconds` is above this."));
  return t;
}

}  // namespace

const options::Table& metrics_option_table() {
  static const options::Table table = make_metrics_table();
  return table;
}

options::Problems settings_problems(const MetricsSettings& s) {
  options::Problems p(metrics_option_table());
  std::string why;
  if (!parse_listen_address(s.listen, &why)) p.add("listen", "\"" + s.listen + "\": " + why);
  p.limit("max_table_labels", s.max_table_labels);
  p.limit("health_max_lag_seconds", s.health_max_lag_seconds);
  return p;
}

Status check_settings(const MetricsSettings& s) {
  return options::library_error(settings_problems(s));
}

MetricsSettings parse_metrics_section(config::ConfigSection& section) {
  // Keys, defaults and limits from the table above.
  const options::Table& t = metrics_option_table();
  MetricsSettings s;
  s.listen = section.get_string(t.at("listen"));
  s.max_table_labels = static_cast<uint32_t>(section.get_int(t.at("max_table_labels")));
  s.health_max_lag_seconds = static_cast<uint32_t>(section.get_int(t.at("health_max_lag_seconds")));
  section.report(settings_problems(s));
  section.finish();
  return s;
}

}  // namespace heliosdb::cdc::metrics
