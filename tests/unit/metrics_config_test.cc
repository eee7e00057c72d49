// [metrics] section parsing and listen-address validation.
#include <gtest/gtest.h>

#include "options/config_section.h"
#include "metrics/metrics_config.h"

namespace heliosdb::cdc::metrics {
namespace {

struct Parsed {
  MetricsSettings settings;
  std::shared_ptr<config::ConfigReport> report;
};

Parsed parse(const std::string& toml_text) {
  auto table = config::parse_toml_string(toml_text, "cdc.toml");
  EXPECT_TRUE(table.is_ok()) << table.status().to_string();
  auto report = std::make_shared<config::ConfigReport>();
  report->file = "cdc.toml";
  const toml::table* metrics = table->get_as<toml::table>("metrics");
  config::ConfigSection section(metrics, "metrics", report);
  return {parse_metrics_section(section), report};
}

TEST(MetricsConfig, DefaultsWhenSectionAbsent) {
  Parsed p = parse("[cdc]\ndatabase = \"mydb\"\n");
  ASSERT_TRUE(p.report->ok());
  EXPECT_EQ(p.settings.listen, "127.0.0.1:9464");
  EXPECT_EQ(p.settings.max_table_labels, 100u);
  EXPECT_EQ(p.settings.health_max_lag_seconds, 60u);
  EXPECT_TRUE(p.settings.enabled);
}

TEST(MetricsConfig, ReadsEveryOption) {
  Parsed p = parse(
      "[metrics]\nlisten = \"0.0.0.0:9500\"\nmax_table_labels = 7\n"
      "health_max_lag_seconds = 300\n");
  ASSERT_TRUE(p.report->ok()) << p.report->to_status().to_string();
  EXPECT_EQ(p.settings.listen, "0.0.0.0:9500");
  EXPECT_EQ(p.settings.max_table_labels, 7u);
  EXPECT_EQ(p.settings.health_max_lag_seconds, 300u);
}

TEST(MetricsConfig, BadListenNamesFileLineAndKey) {
  Parsed p = parse("[metrics]\n\nlisten = \"127.0.0.1\"\n");
  ASSERT_EQ(p.report->errors.size(), 1u);
  EXPECT_NE(p.report->errors[0].find("cdc.toml:3"), std::string::npos) << p.report->errors[0];
  EXPECT_NE(p.report->errors[0].find("metrics.listen"), std::string::npos);
  EXPECT_NE(p.report->errors[0].find("host:port"), std::string::npos);
}

TEST(MetricsConfig, HostNameOtherThanLocalhostIsRejected) {
  Parsed p = parse("[metrics]\nlisten = \"metrics.example:9464\"\n");
  ASSERT_EQ(p.report->errors.size(), 1u);
  EXPECT_NE(p.report->errors[0].find("not an IPv4 address"), std::string::npos);
}

TEST(MetricsConfig, PortOutOfRangeIsRejected) {
  Parsed p = parse("[metrics]\nlisten = \"127.0.0.1:70000\"\n");
  ASSERT_EQ(p.report->errors.size(), 1u);
  EXPECT_NE(p.report->errors[0].find("[0, 65535]"), std::string::npos);
}

TEST(MetricsConfig, TableLabelCapOutOfRangeIsRejected) {
  Parsed p = parse("[metrics]\nmax_table_labels = -1\n");
  ASSERT_EQ(p.report->errors.size(), 1u);
  EXPECT_NE(p.report->errors[0].find("metrics.max_table_labels"), std::string::npos);
}

TEST(MetricsConfig, WrongTypeIsRejected) {
  Parsed p = parse("[metrics]\nhealth_max_lag_seconds = \"60\"\n");
  ASSERT_EQ(p.report->errors.size(), 1u);
  EXPECT_NE(p.report->errors[0].find("expected an integer"), std::string::npos);
}

TEST(MetricsConfig, UnknownKeyIsRejected) {
  Parsed p = parse("[metrics]\nlisten_address = \"127.0.0.1:1\"\n");
  ASSERT_EQ(p.report->errors.size(), 1u);
  EXPECT_NE(p.report->errors[0].find("metrics.listen_address"), std::string::npos);
}

// An IPv6 address is accepted only where the civetweb library can listen on
// one: Debian 12's is built without IPv6, and an address `config check`
// passed then failed at `run` ("cannot listen for metrics").
TEST(ListenAddress, Ipv6OnlyWhereTheHttpLibraryHasIt) {
  std::string why;
  auto v6 = parse_listen_address("[::1]:9464", &why);
  if (civetweb_has_ipv6()) {
    ASSERT_TRUE(v6) << why;
    EXPECT_TRUE(v6->ipv6);
    EXPECT_EQ(v6->civetweb_spec(), "[::1]:9464");
  } else {
    EXPECT_FALSE(v6);
    EXPECT_NE(why.find("IPv6 addresses are not supported by the civetweb library"),
              std::string::npos)
        << why;
  }
}

TEST(ListenAddress, AcceptedForms) {
  std::string why;
  auto v4 = parse_listen_address("127.0.0.1:9464", &why);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->civetweb_spec(), "127.0.0.1:9464");
  auto local = parse_listen_address("localhost:0", &why);
  ASSERT_TRUE(local);
  EXPECT_EQ(local->civetweb_spec(), "127.0.0.1:0");
}

TEST(ListenAddress, RejectedForms) {
  std::string why;
  for (const char* bad : {"", ":9464", "127.0.0.1:", "127.0.0.1:94x", "[::1:9464", "[zz]:1",
                          "300.1.1.1:80", "127.0.0.1:9464s"}) {
    EXPECT_FALSE(parse_listen_address(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

}  // namespace
}  // namespace heliosdb::cdc::metrics
