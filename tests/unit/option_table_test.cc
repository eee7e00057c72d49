// The option tables (src/options/): one declaration drives the TOML reader,
// the library builders' checks, `config options` and docs/configuration.md.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/daemon_config.h"
#include "config/option_tables.h"
#include "filter/filter_options.h"
#include "heliosdb/cdc/config.h"
#include "heliosdb/cdc/filter.h"
#include "metrics/metrics_config.h"
#include "options/cdc_options.h"
#include "options/config_section.h"
#include "options/option_table.h"
#include "serde/schema_registry_options.h"
#include "serde/serializer_factory.h"
#include "sink/file_options.h"
#include "sink/kafka_config.h"
#include "sink/kafka_options.h"
#include "sink/kinesis_options.h"
#include "sink/sink_registry.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

TEST(OptionTable, RangeProblemsNameTheLimit) {
  options::Option o = options::int_option("n", 5, 1, 10, ".n()", "a number");
  EXPECT_EQ(options::range_problem(o, 1), "");
  EXPECT_EQ(options::range_problem(o, 10), "");
  EXPECT_EQ(options::range_problem(o, 0), "must be at least 1");
  EXPECT_EQ(options::range_problem(o, 11), "must be at most 10");
  o.note = "(one)";
  EXPECT_EQ(options::range_problem(o, 0), "must be at least 1 (one)");
}

TEST(OptionTable, EnumProblemsListTheAllowedValues) {
  options::Option o = options::enum_option("mode", "a", {"a", "b"}, ".mode()", "a mode");
  EXPECT_EQ(options::enum_problem(o, "b"), "");
  EXPECT_EQ(options::enum_problem(o, "c"), "\"c\" is not one of: a, b");
}

TEST(OptionTable, CdcDefaultsAreTheStructsDefaults) {
  const CdcConfig d;
  const options::Table& t = cdc_option_table();
  EXPECT_EQ(t.at("wal_path").default_text, d.wal_path);
  EXPECT_EQ(t.at("batch_size").default_int, d.batch_size);
  EXPECT_EQ(t.at("buffer_bytes").default_int, static_cast<int64_t>(d.buffer_bytes));
  EXPECT_EQ(t.at("buffer_bytes").min, static_cast<int64_t>(CdcConfig::kMinBufferBytes));
  EXPECT_EQ(t.at("enable_metrics").default_bool, d.enable_metrics);
  EXPECT_TRUE(t.at("database").required);
}

// Issue 16: TOML capped batch_size at 100000, the builder did not.
TEST(OptionTable, BuilderRejectsTheBatchSizeTomlRejects) {
  auto lib = CdcConfig::builder().database("d").batch_size(200000).buffer_size(300000).build();
  ASSERT_FALSE(lib);
  EXPECT_EQ(lib.status().message(), "batch_size: must be at most 100000; set with .batch_size()");
  auto toml = parse_daemon_config(
      "[cdc]\ndatabase = \"d\"\nbatch_size = 200000\nbuffer_size = 300000\n", "cdc.toml");
  ASSERT_FALSE(toml);
  EXPECT_EQ(toml.status().message(),
            "cdc.toml:3: cdc.batch_size: value 200000 is out of range [1, 100000]");
  EXPECT_TRUE(CdcConfig::builder().database("d").batch_size(100000).buffer_size(100000).build());
}

TEST(OptionTable, EveryCdcLimitHoldsOnBothPaths) {
  for (const auto& o : cdc_option_table().options) {
    if (o.type != options::Type::kInt) continue;
    std::string text = "[cdc]\ndatabase = \"d\"\n" + o.key + " = " + std::to_string(o.max) + "\n";
    if (o.key == "batch_size") text += "buffer_size = " + std::to_string(o.max) + "\n";
    EXPECT_TRUE(parse_daemon_config(text, "c.toml")) << o.key;
    auto over = parse_daemon_config(
        "[cdc]\ndatabase = \"d\"\n" + o.key + " = " + std::to_string(o.max + 1) + "\n", "c.toml");
    EXPECT_FALSE(over) << o.key;
  }
  // The library rejects the same values above the declared max.
  EXPECT_FALSE(CdcConfig::builder().database("d").buffer_size(10000001).build());
  EXPECT_FALSE(CdcConfig::builder().database("d").checkpoint_max_age_ms(3600001).build());
  EXPECT_FALSE(CdcConfig::builder()
                   .database("d")
                   .max_transaction_memory_bytes(2ull * 1024 * 1024 * 1024 + 1)
                   .build());
}

std::string read_docs() {
  std::ifstream in(std::string(HELIOSDB_CDC_SOURCE_DIR) + "/docs/configuration.md");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The tables in docs/configuration.md are generated:
//   heliosdb-cdc config options --markdown SECTION
// pasted between <!-- options:SECTION --> and <!-- /options:SECTION -->.
TEST(OptionTable, DocsTablesMatchTheDeclaredOptions) {
  const std::string docs = read_docs();
  ASSERT_FALSE(docs.empty());
  for (const options::Table* t : config::option_tables()) {
    const std::string open = "<!-- options:" + t->section + " -->\n";
    const std::string close = "<!-- /options:" + t->section + " -->";
    size_t a = docs.find(open);
    ASSERT_NE(a, std::string::npos) << "docs/configuration.md has no " << open;
    a += open.size();
    size_t b = docs.find(close, a);
    ASSERT_NE(b, std::string::npos) << close;
    EXPECT_EQ(docs.substr(a, b - a), options::render_markdown(*t))
        << "regenerate with: heliosdb-cdc config options --markdown " << t->section;
  }
}

// ---- the components' tables --------------------------------------------------

// A file whose only non-default is `extra` in `section` (a valid [cdc] first).
std::string file_with(const std::string& section, const std::string& extra) {
  return "[cdc]\ndatabase = \"d\"\n[" + section + "]\n" + extra;
}

// Every integer limit of every section holds in TOML: max passes, max + 1
// and min - 1 fail, each at the key's line.
TEST(OptionTable, EveryIntegerLimitOfEverySectionHoldsInToml) {
  for (const options::Table* t : config::option_tables()) {
    if (t->section == "cdc") continue;  // EveryCdcLimitHoldsOnBothPaths
    for (const auto& o : t->options) {
      if (o.type != options::Type::kInt) continue;
      // Options bounded below by another one's value get room.
      std::string room;
      if (o.key == "retry_base_delay_ms") room = "retry_max_delay_ms = 600000\n";
      if (o.key == "retry_backoff_ms") room = "retry_backoff_max_ms = 3600000\n";
      auto at_max = parse_daemon_config(
          file_with(t->section, room + o.key + " = " + std::to_string(o.max) + "\n"), "c.toml");
      EXPECT_TRUE(at_max) << t->section << "." << o.key << ": " << at_max.status().message();
      for (int64_t bad : {o.max + 1, o.min - 1}) {
        auto r = parse_daemon_config(
            file_with(t->section, room + o.key + " = " + std::to_string(bad) + "\n"), "c.toml");
        ASSERT_FALSE(r) << t->section << "." << o.key << " = " << bad;
        EXPECT_NE(r.status().message().find("c.toml:" + std::to_string(room.empty() ? 4 : 5) +
                                            ": " + t->section + "." + o.key + ": value " +
                                            std::to_string(bad) + " is out of range"),
                  std::string::npos)
            << r.status().message();
      }
    }
  }
}

// Issue 16: the compression list was declared twice (the TOML reader and
// validate_options), brokers/topic/batch_size checked three times; one
// table and one set of rules now, worded for each path.
TEST(KafkaOptionTable, CompressionIsDeclaredOnceAndBothPathsAcceptTheSameValues) {
  const options::Option& c = kafka::kafka_option_table().at("compression");
  ASSERT_FALSE(c.allowed.empty());
  for (const auto& value : c.allowed) {
    KafkaOptions o;
    o.compression = value;
    EXPECT_TRUE(kafka::validate_options(o).is_ok()) << value;
    EXPECT_TRUE(
        parse_daemon_config(file_with("sink.kafka", "compression = \"" + value + "\"\n"), "c.toml"))
        << value;
  }
  KafkaOptions o;
  o.compression = "brotli";
  EXPECT_EQ(kafka::validate_options(o).message(),
            "compression: \"brotli\" is not one of: none, gzip, snappy, lz4, zstd; set with "
            "KafkaOptions::compression");
  auto toml = parse_daemon_config(file_with("sink.kafka", "compression = \"brotli\"\n"), "c.toml");
  ASSERT_FALSE(toml);
  EXPECT_EQ(toml.status().message(),
            "c.toml:4: sink.kafka.compression: \"brotli\" is not one of: none, gzip, snappy, lz4, "
            "zstd");
}

TEST(KafkaOptionTable, BrokersTopicAndBatchSizeBreakTheSameRulesOnBothPaths) {
  KafkaOptions o;
  o.brokers = "";
  EXPECT_EQ(kafka::validate_options(o).message(),
            "brokers: must not be empty; set with KafkaOptions::brokers");
  auto toml = parse_daemon_config(file_with("sink.kafka", "brokers = \"\"\n"), "c.toml");
  ASSERT_FALSE(toml);
  EXPECT_EQ(toml.status().message(), "c.toml:4: sink.kafka.brokers: must not be empty");

  o = KafkaOptions{};
  o.topic = "{db}";
  std::string lib = kafka::validate_options(o).message();
  EXPECT_EQ(lib.rfind("topic: ", 0), 0u) << lib;
  EXPECT_NE(lib.find("; set with KafkaOptions::topic"), std::string::npos) << lib;
  toml = parse_daemon_config(file_with("sink.kafka", "topic = \"{db}\"\n"), "c.toml");
  ASSERT_FALSE(toml);
  // The same reason on both paths.
  std::string reason = lib.substr(7, lib.find("; set with") - 7);
  EXPECT_EQ(toml.status().message(), "c.toml:4: sink.kafka.topic: " + reason);

  o = KafkaOptions{};
  o.batch_size = int64_t{1} << 31;
  EXPECT_EQ(kafka::validate_options(o).message(),
            "batch_size: must be at most 2147483647; set with KafkaOptions::batch_size");
}

// A passthrough property that a named option sets: one rule, the file's
// wording names the key, the library's the KafkaOptions field.
TEST(KafkaOptionTable, PropertyDuplicatingANamedOptionIsWordedForEachPath) {
  KafkaOptions o;
  o.properties["compression.type"] = "lz4";
  EXPECT_EQ(kafka::validate_options(o).message(),
            "properties: 'compression.type' is set by KafkaOptions::compression; use that "
            "instead; set with KafkaOptions::properties");
  auto toml = parse_daemon_config(
      file_with("sink.kafka.properties", "\"compression.type\" = \"lz4\"\n"), "c.toml");
  ASSERT_FALSE(toml);
  EXPECT_EQ(toml.status().message(),
            "c.toml:4: sink.kafka.properties.compression.type: is set by the option "
            "'compression' of [sink.kafka]; use that instead");
  o.properties = {{"dr_msg_cb", "x"}};
  EXPECT_NE(kafka::validate_options(o).message().find("is set by the Kafka sink itself"),
            std::string::npos);
}

// TOML capped startup_timeout_ms at 600000; KafkaConnector::create took any
// positive timeout. The stricter, documented limit holds on both.
TEST(KafkaOptionTable, LibraryRejectsTheStartupTimeoutTomlRejects) {
  KafkaOptions o;
  o.startup_timeout = std::chrono::milliseconds(600001);
  EXPECT_EQ(kafka::validate_options(o).message(),
            "startup_timeout_ms: must be at most 600000; set with KafkaOptions::startup_timeout");
  o.startup_timeout = std::chrono::milliseconds(600000);
  EXPECT_TRUE(kafka::validate_options(o).is_ok());
  EXPECT_FALSE(parse_daemon_config(file_with("sink.kafka", "startup_timeout_ms = 600001\n"), "c"));
}

// Defaults come from the default-constructed structs, not from literals in
// the readers.
TEST(OptionTable, ComponentDefaultsAreTheStructsDefaults) {
  const KafkaOptions k;
  const options::Table& kt = kafka::kafka_option_table();
  EXPECT_EQ(kt.at("brokers").default_text, k.brokers);
  EXPECT_EQ(kt.at("compression").default_text, k.compression);
  EXPECT_EQ(kt.at("batch_size").default_int, k.batch_size);
  EXPECT_EQ(kt.at("startup_timeout_ms").default_int, k.startup_timeout.count());
  const KinesisOptions n;
  const options::Table& nt = kinesis::kinesis_option_table();
  EXPECT_EQ(nt.at("region").default_text, n.region);
  EXPECT_EQ(nt.at("batch_size").default_int, n.batch_size);
  EXPECT_EQ(nt.at("request_timeout_ms").default_int, n.request_timeout.count());
  const SchemaRegistrySettings r;
  EXPECT_EQ(schema_registry_option_table().at("max_retries").default_int, r.max_retries);
  EXPECT_EQ(schema_registry_option_table().at("retry_backoff_max_ms").default_int,
            r.retry_backoff_max_ms);
  // ... and those of the registry client itself, not a second copy.
  const SchemaRegistryOptions client;
  EXPECT_EQ(r.max_retries, client.max_retries);
  EXPECT_EQ(r.retry_backoff_ms, client.retry_backoff.count());
  EXPECT_EQ(r.retry_backoff_max_ms, client.retry_backoff_max.count());
  EXPECT_EQ(r.connect_timeout_ms, client.connect_timeout.count());
  EXPECT_EQ(r.request_timeout_ms, client.request_timeout.count());
  const MetricsSettings m;
  EXPECT_EQ(metrics::metrics_option_table().at("listen").default_text, m.listen);
  const FileSinkOptions f;
  EXPECT_EQ(file_sink_option_table().at("sync_bytes").default_int,
            static_cast<int64_t>(f.sync_bytes));
  EXPECT_EQ(file_sink_option_table().at("sync_interval_ms").default_int, f.sync_interval.count());
  // What a file without the section resolves to is the table's default.
  auto c = parse_daemon_config("[cdc]\ndatabase = \"d\"\n", "c.toml");
  ASSERT_TRUE(c);
  for (const auto& v : c->report->resolved) {
    if (v.key == "sink.kafka.batch_size") EXPECT_EQ(v.value, std::to_string(k.batch_size));
    if (v.key == "sink.kinesis.max_in_flight") {
      EXPECT_EQ(v.value, std::to_string(n.max_in_flight));
    }
  }
}

// Issue 16: the Kinesis ranges were written twice (the TOML reader's
// get_int limits and validate_options); the table holds them, and
// check_options words them for the library with the builder call.
TEST(KinesisOptionTable, RulesNameTheKeyInTomlAndTheBuilderCallInTheLibrary) {
  KinesisOptions o;
  o.batch_size = 501;
  EXPECT_EQ(kinesis::check_options(o).message(),
            "kinesis batch_size: must be at most 500; set with .batch_size()");
  o = KinesisOptions{};
  o.retry_base_delay = std::chrono::milliseconds(2000);
  o.retry_max_delay = std::chrono::milliseconds(1000);
  std::string lib = kinesis::check_options(o).message();
  EXPECT_NE(lib.find("retry_max_delay_ms: must be at least retry_base_delay_ms (2000)"),
            std::string::npos)
      << lib;
  auto toml = parse_daemon_config(
      file_with("sink.kinesis", "retry_base_delay_ms = 2000\nretry_max_delay_ms = 1000\n"), "c");
  ASSERT_FALSE(toml);
  EXPECT_EQ(toml.status().message(),
            "c:5: sink.kinesis.retry_max_delay_ms: must be at least retry_base_delay_ms (2000)");
  o = KinesisOptions{};
  o.region = "US East";
  EXPECT_NE(kinesis::check_options(o).message().find(
                "set with KinesisConnectorBuilder(region, stream_name)"),
            std::string::npos);
  toml = parse_daemon_config(file_with("sink.kinesis", "region = \"US East\"\n"), "c");
  ASSERT_FALSE(toml);
  EXPECT_EQ(toml.status().message(),
            "c:4: sink.kinesis.region: 'US East' is not a region name (e.g. us-east-1)");
}

// Errors reached through the library named config-file keys ("set url in
// [schema_registry]"); now they name the builder call, and the file path
// keeps naming the key.
TEST(SchemaRegistryOptionTable, AvroWithoutUrlNamesTheBuilderCallInTheLibrary) {
  Status lib = validate_serde_settings(SerializationFormat::Avro, SerdeSettings{});
  EXPECT_NE(lib.message().find("set with KafkaOptions::schema_registry_url, "
                               "KinesisConnectorBuilder::schema_registry_url()"),
            std::string::npos)
      << lib.message();
  auto toml = parse_daemon_config(file_with("sink.kafka", "format = \"avro\"\n"), "c.toml");
  ASSERT_FALSE(toml);
  EXPECT_NE(toml.status().message().find("c.toml:4: sink.kafka.format: "), std::string::npos);
  EXPECT_NE(toml.status().message().find("set url in [schema_registry]"), std::string::npos);
  EXPECT_EQ(toml.status().message().find("schema_registry_url"), std::string::npos)
      << toml.status().message();
}

// Secrecy is a property of the entry: a value read for a secret option is
// shown redacted by config check and scrubbed from every error message.
TEST(OptionTable, SecretEntriesAreRedactedInResolvedValuesAndErrors) {
  EXPECT_EQ(kinesis::kinesis_option_table().at("secret_access_key").secret, options::Secret::kYes);
  EXPECT_EQ(schema_registry_option_table().at("password").secret, options::Secret::kYes);
  // A url mistakenly set to the password: its error must not show it.
  auto r = parse_daemon_config(
      file_with("schema_registry",
                "url = \"Hunter2Hunter2\"\nusername = \"u\"\npassword = \"Hunter2Hunter2\"\n"),
      "c.toml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().message().find("Hunter2Hunter2"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("c.toml:4: schema_registry.url: "), std::string::npos)
      << r.status().message();
  setenv("HELIOSDB_TEST_SECRET_KEY", "AbcSecretXyz", 1);
  auto ok = parse_daemon_config(
      file_with("sink.kinesis",
                "access_key_id = \"AKID\"\nsecret_access_key = \"${HELIOSDB_TEST_SECRET_KEY}\"\n"),
      "c.toml");
  ASSERT_TRUE(ok) << ok.status().message();
  for (const auto& v : ok->report->resolved) {
    EXPECT_EQ(v.value.find("AbcSecretXyz"), std::string::npos) << v.key;
  }
  EXPECT_NE(options::render_listing(kinesis::kinesis_option_table()).find("secret:  yes"),
            std::string::npos);
}

// SinkType::description was never read: `config options sink` and
// `config --help` show it for every sink type.
TEST(OptionTable, SinkDescriptionsAreListed) {
  const std::string listing = options::render_listing(sink_option_table());
  auto help = testing::run_cli({"config", "--help"});
  for (const auto& t : sink_types()) {
    EXPECT_NE(listing.find(std::string(t.name) + ": " + std::string(t.description)),
              std::string::npos)
        << listing;
    EXPECT_NE(help.out.find(std::string(t.description)), std::string::npos) << help.out;
  }
  auto listed = testing::run_cli({"config", "options", "sink"});
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_EQ(listed.out, listing);
}

TEST(MetricsOptionTable, LibraryChecksTheLimitsTomlChecks) {
  MetricsSettings m;
  m.max_table_labels = 10001;
  EXPECT_EQ(metrics::check_settings(m).message(),
            "max_table_labels: must be at most 10000; set with MetricsSettings::max_table_labels");
  m = MetricsSettings{};
  m.listen = "nowhere";
  EXPECT_NE(metrics::check_settings(m).message().find("listen: \"nowhere\": "), std::string::npos);
  EXPECT_TRUE(metrics::check_settings(MetricsSettings{}).is_ok());
}

// [[filter.rules]] and [[transforms]]: the reader takes the key names,
// allowed values, defaults and secrecy from the tables.
TEST(FilterOptionTable, ReaderTakesKeysDefaultsAndSecrecyFromTheTables) {
  std::string keys;
  for (const auto& o : filter_rule_option_table().options) {
    keys += (keys.empty() ? "" : ", ") + o.key;
  }
  auto bad = parse_daemon_config(
      "[cdc]\ndatabase = \"d\"\n[[filter.rules]]\naction = \"include\"\ntabel = \"x\"\n", "c.toml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("c.toml:5: filter.rules[0].tabel: unknown rule key; "
                                        "expected one of: " +
                                        keys),
            std::string::npos)
      << bad.status().message();
  EXPECT_EQ(transform_option_table().at("mask").default_text, TransformRule::kDefaultMask);
  ASSERT_EQ(transform_option_table().at("secret").secret, options::Secret::kYes);
  // A too-short secret: the quoted transform shows the secret redacted.
  auto short_secret = parse_daemon_config(
      "[cdc]\ndatabase = \"d\"\n[[transforms]]\ntype = \"hash_key\"\nsecret = \"Short5ecret\"\n",
      "c.toml");
  ASSERT_FALSE(short_secret);
  EXPECT_EQ(short_secret.status().message().find("Short5ecret"), std::string::npos)
      << short_secret.status().message();
  EXPECT_NE(short_secret.status().message().find("secret = \"<redacted>\""), std::string::npos)
      << short_secret.status().message();
}

}  // namespace
}  // namespace heliosdb::cdc
