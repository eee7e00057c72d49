// [metrics] of the daemon's config file, read through config::ConfigSection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "heliosdb/cdc/metrics.h"
#include "heliosdb/cdc/status.h"
#include "options/config_section.h"
#include "options/option_table.h"

namespace heliosdb::cdc::metrics {

// [metrics]'s options (MetricsSettings), declared once: the reader below,
// check_settings(), `config options metrics` and docs/configuration.md read
// it; defaults come from a default-constructed MetricsSettings.
const options::Table& metrics_option_table();
// Every rule `s` breaks (listen address, limits), in table order.
options::Problems settings_problems(const MetricsSettings& s);
// The first of them for the library, naming the MetricsSettings field.
Status check_settings(const MetricsSettings& s);

// Reads [metrics] (listen, max_table_labels, health_max_lag_seconds); errors
// go to the section's report, naming file, line and key. `enabled` is left at
// its default: the caller copies [cdc] enable_metrics into it.
MetricsSettings parse_metrics_section(config::ConfigSection& section);

// A parsed listen address. `host` is an IP literal (IPv6 without brackets).
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
  bool ipv6 = false;
  // "127.0.0.1:9464" / "[::1]:9464": the form civetweb's listening_ports takes.
  std::string civetweb_spec() const;
};

// Parses "ipv4:port", "[ipv6]:port" or "localhost:port" (= 127.0.0.1). On
// failure returns nullopt and sets `error` to the reason.
std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string* error);
// Whether the linked civetweb can listen on IPv6 (Debian 12's cannot: then an
// IPv6 `listen` is a configuration error, not a failure at start).
bool civetweb_has_ipv6();

}  // namespace heliosdb::cdc::metrics
