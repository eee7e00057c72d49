// parse_daemon_config(): the config file's text in, a DaemonConfig or a
// kConfig status naming file, line and key out. The fuzz target
// tests/fuzz/config_fuzz.cc runs the same function on arbitrary bytes.
#include <gtest/gtest.h>

#include "config/daemon_config.h"

namespace heliosdb::cdc {
namespace {

TEST(DaemonConfigTest, ParsesTextLikeAFile) {
  auto c = parse_daemon_config(
      "[cdc]\n"
      "database = \"shop\"\n"
      "batch_size = 10\n"
      "[sink]\n"
      "type = \"stdout\"\n"
      "[[filter.rules]]\n"
      "action = \"include\"\n"
      "table = \"orders\"\n",
      "cdc.toml");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->file, "cdc.toml");
  EXPECT_EQ(c->cdc.database, "shop");
  EXPECT_EQ(c->cdc.batch_size, 10u);
  EXPECT_EQ(c->sink_type, "stdout");
  EXPECT_TRUE(c->create_sink);
  EXPECT_EQ(c->filter.rules().size(), 1u);
}

TEST(DaemonConfigTest, BufferBytesIsReadAndBelowOneMiBIsAnErrorNamingIt) {
  auto c = parse_daemon_config("[cdc]\ndatabase = \"shop\"\nbuffer_bytes = 67108864\n", "cdc.toml");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->cdc.buffer_bytes, 64u << 20);
  auto d = parse_daemon_config("[cdc]\ndatabase = \"shop\"\n", "cdc.toml");
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_EQ(d->cdc.buffer_bytes, 256u << 20);
  auto bad = parse_daemon_config("[cdc]\ndatabase = \"shop\"\nbuffer_bytes = 4096\n", "cdc.toml");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message(),
            "cdc.toml:3: cdc.buffer_bytes: value 4096 is out of range [1048576, 1099511627776]");
}

TEST(DaemonConfigTest, ErrorsNameFileLineAndKey) {
  auto c = parse_daemon_config("[cdc]\ndatabase = \"shop\"\nbatch_size = 0\n", "cdc.toml");
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kConfig);
  EXPECT_EQ(c.status().message(),
            "cdc.toml:3: cdc.batch_size: value 0 is out of range [1, 100000]");
}

// toml++ 3.3 reaches an assert (parse_key's precondition) or
// __builtin_unreachable() (is_non_ascii_horizontal_whitespace) on these when
// its parser is compiled with asserts or sanitizers (marzer/tomlplusplus#294,
// #295); the parser the daemon links must report them as syntax errors.
TEST(DaemonConfigTest, MalformedTableHeadersAreSyntaxErrors) {
  for (const char* text : {"[#dc]\nx = 1\n", "[&\n", "[[[1]]]\n", "[[=\n",
                           "[cdc]\ndatabase = \"x\"\n[sink\xce\x94inesis]\n",
                           "[cdc]\ndatabase = \"x\"\n[sink.kinesis\xc2\xa7]\n"}) {
    auto c = parse_daemon_config(text, "cdc.toml");
    ASSERT_FALSE(c.is_ok()) << text;
    EXPECT_EQ(c.status().code(), ErrorCode::kConfig) << text;
    EXPECT_EQ(c.status().message().rfind("cdc.toml:", 0), 0u) << c.status().message();
  }
}

TEST(DaemonConfigTest, NonAsciiTextInStringsAndCommentsIsAccepted) {
  auto c = parse_daemon_config("# caf\xc3\xa9 \xc2\xa7\n[cdc]\ndatabase = \"caf\xc3\xa9\"\n",
                               "cdc.toml");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->cdc.database, "caf\xc3\xa9");
}

// The messages `config check` and `run` print (both load through here) for
// options that are empty where "" means nothing.
TEST(DaemonConfigTest, EmptyStringsWhereMeaninglessAreErrorsAtTheirLine) {
  struct Case {
    const char* text;
    const char* error;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"[cdc]\ndatabase = \"shop\"\nwal_path = \"\"\n",
            "cdc.toml:3: cdc.wal_path: must not be empty: the WAL directory to read"},
           {"[cdc]\ndatabase = \"shop\"\ncheckpoint_dir = \"\"\n",
            "cdc.toml:3: cdc.checkpoint_dir: must not be empty: the directory the checkpoints "
            "are written to"},
           {"[cdc]\ndatabase = \"\"\n",
            "cdc.toml:2: cdc.database: must be set (changes of other databases are ignored)"},
           {"[cdc]\ndatabase = \"shop\"\n[[filter.rules]]\naction = \"include\"\ntable = \"\"\n",
            "cdc.toml:5: filter.rules[0].table: must not be empty: a change's table is never "
            "empty"},
           {"[cdc]\ndatabase = \"shop\"\n[[filter.rules]]\naction = \"include\"\n"
            "table_pattern = \"\"\n",
            "cdc.toml:5: filter.rules[0].table_pattern: must not be empty: it would match no "
            "table; \".*\" matches every table"},
           {"[cdc]\ndatabase = \"shop\"\n[[filter.rules]]\naction = \"exclude\"\n"
            "key_prefix = \"\"\n",
            "cdc.toml:5: filter.rules[0].key_prefix: must not be empty: every key starts with "
            "\"\", so it would match every key (leave it out instead)"},
           {"[cdc]\ndatabase = \"shop\"\n[[filter.rules]]\naction = \"include\"\n"
            "tables = [\"a\", \"\"]\n",
            "cdc.toml:5: filter.rules[0].tables: must not contain an empty name: a change's "
            "table is never empty"},
           {"[cdc]\ndatabase = \"shop\"\n[[filter.rules]]\naction = \"include\"\n"
            "database = \"\"\n",
            "cdc.toml:5: filter.rules[0].database: must not be empty: a change's database is "
            "never empty"},
       }) {
    auto r = parse_daemon_config(c.text, "cdc.toml");
    ASSERT_FALSE(r.is_ok()) << c.text;
    EXPECT_EQ(r.status().code(), ErrorCode::kConfig) << c.text;
    EXPECT_EQ(r.status().message().substr(0, r.status().message().find(" in rule {")), c.error)
        << c.text;
  }
}

// [cdc] is checked by CdcConfig's own rules, so the file and the library
// agree: a rule broken by two keys is reported at the line of the one named.
TEST(DaemonConfigTest, CdcRulesAreTheLibrarysRulesReportedAtTheirLine) {
  auto c = parse_daemon_config("[cdc]\ndatabase = \"shop\"\nbatch_size = 500\nbuffer_size = 100\n",
                               "cdc.toml");
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().message(), "cdc.toml:4: cdc.buffer_size: must be at least batch_size (500)");
  CdcConfig lib;
  lib.database = "shop";
  lib.batch_size = 500;
  lib.buffer_size = 100;
  EXPECT_EQ(lib.validate().message(), "buffer_size: must be at least batch_size (500)");
}

}  // namespace
}  // namespace heliosdb::cdc
