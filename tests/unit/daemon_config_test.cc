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

}  // namespace
}  // namespace heliosdb::cdc
