// The option tables (src/options/): one declaration drives the TOML reader,
// the library builders' checks, `config options` and docs/configuration.md.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/daemon_config.h"
#include "config/option_tables.h"
#include "heliosdb/cdc/config.h"
#include "options/cdc_options.h"
#include "options/option_table.h"

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

}  // namespace
}  // namespace heliosdb::cdc
