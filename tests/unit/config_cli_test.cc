// `config check` and `run` through the heliosdb-cdc binary: one validation
// (the same error text, naming file:line:key, from both), and no secret from
// a URL or a sensitive property in what either prints.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::run_cli;
using testing::TempDir;
using testing::write_file;

class ConfigCliTest : public ::testing::Test {
 protected:
  // [cdc] (lines 1-5) with `cdc_extra` appended to it, then a file sink.
  std::string config(const std::string& cdc_extra, const std::string& rest = "") const {
    return "[cdc]\nwal_path = \"" + dir_.file("wal") + "\"\ndatabase = \"mydb\"\n" +
           "checkpoint_dir = \"" + dir_.file("ckpt") + "\"\nenable_metrics = false\n" + cdc_extra +
           "[sink]\ntype = \"file\"\n[sink.file]\npath = \"" + dir_.file("out.jsonl") + "\"\n" +
           rest;
  }
  TempDir dir_;
};

// wal_path = "" and checkpoint_dir = "" passed `config check` and failed `run`
// without a line; empty filter values were accepted by both.
TEST_F(ConfigCliTest, CheckAndRunRejectEmptyValuesWithTheSameErrorAndLine) {
  const std::string rule = "[[filter.rules]]\naction = \"include\"\n";
  struct Case {
    std::string text;
    std::string error;
  };
  const std::string file = dir_.file("cdc.toml");
  const std::vector<Case> cases = {
      {"[cdc]\nwal_path = \"\"\ndatabase = \"mydb\"\n",
       file + ":2: cdc.wal_path: must not be empty: the WAL directory to read\n"},
      {"[cdc]\ndatabase = \"mydb\"\ncheckpoint_dir = \"\"\n",
       file + ":3: cdc.checkpoint_dir: must not be empty: the directory the checkpoints are "
              "written to\n"},
      {config("", rule + "table = \"\"\n"),
       file + ":12: filter.rules[0].table: must not be empty: a change's table is never empty " +
           "in rule {action = \"include\", table = \"\"}\n"},
      {config("", rule + "table_pattern = \"\"\n"),
       file + ":12: filter.rules[0].table_pattern: must not be empty: it would match no table; " +
           "\".*\" matches every table in rule {action = \"include\", table_pattern = \"\"}\n"},
      {config("", rule + "key_prefix = \"\"\n"),
       file + ":12: filter.rules[0].key_prefix: must not be empty: every key starts with \"\", " +
           "so it would match every key (leave it out instead) in rule {action = \"include\", "
           "key_prefix = \"\"}\n"},
  };
  for (const Case& c : cases) {
    write_file(file, c.text);
    auto check = run_cli({"config", "check", file});
    auto run = run_cli({"run", "--once", "--config", file});
    EXPECT_EQ(check.exit_code, 2) << c.text << check.out;
    EXPECT_EQ(run.exit_code, 2) << c.text << run.err;
    EXPECT_EQ(check.err, "heliosdb-cdc: invalid configuration:\n" + c.error) << c.text;
    EXPECT_EQ(run.err, check.err) << c.text;
  }
}

constexpr const char* kSecrets[] = {"RegPass123", "OauthSecret456", "KafkaPass789", "MetaPw"};

TEST_F(ConfigCliTest, ConfigCheckPrintsNoSecretFromUrlsOrProperties) {
  const std::string file = dir_.file("cdc.toml");
  write_file(file,
             "[cdc]\nwal_path = \"" + dir_.file("wal") +
                 "\"\ndatabase = \"mydb\"\n"
                 "[schema_registry]\nurl = \"http://reguser:RegPass123@127.0.0.1:1/api\"\n"
                 "[sink]\ntype = \"kafka\"\n[sink.kafka]\nbrokers = \"127.0.0.1:1\"\n"
                 "format = \"avro\"\n"
                 "[sink.kafka.properties]\n"
                 "\"security.protocol\" = \"SASL_PLAINTEXT\"\n"
                 "\"sasl.mechanism\" = \"OAUTHBEARER\"\n"
                 "\"sasl.oauthbearer.config\" = \"principal=alice clientSecret=OauthSecret456\"\n"
                 "\"sasl.password\" = \"KafkaPass789\"\n"
                 "[[transforms]]\ntype = \"add_metadata\"\nkey = \"origin\"\n"
                 "value = \"https://meta:MetaPw@origin.example/db\"\n");
  auto check = run_cli({"config", "check", file});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  for (const char* secret : kSecrets) {
    EXPECT_EQ(check.out.find(secret), std::string::npos) << secret << "\n" << check.out;
    EXPECT_EQ(check.err.find(secret), std::string::npos) << secret << "\n" << check.err;
  }
  for (const char* line : {
           "schema_registry.url = \"http://***@127.0.0.1:1/api\"\n",
           "sink.kafka.properties.sasl.oauthbearer.config = \"<redacted>\"\n",
           "sink.kafka.properties.sasl.password = \"<redacted>\"\n",
           "sink.kafka.properties.sasl.mechanism = \"OAUTHBEARER\"\n",
           "transform 1: add_metadata \"origin\" = \"https://***@origin.example/db\"\n",
       }) {
    EXPECT_NE(check.out.find(line), std::string::npos) << line << check.out;
  }
}

// The Kinesis endpoint is refused for its userinfo; neither command may echo
// the credentials in it.
TEST_F(ConfigCliTest, KinesisEndpointWithCredentialsIsRefusedWithoutPrintingThem) {
  const std::string file = dir_.file("cdc.toml");
  write_file(file, "[cdc]\nwal_path = \"" + dir_.file("wal") +
                       "\"\ndatabase = \"mydb\"\n"
                       "[sink]\ntype = \"kinesis\"\n[sink.kinesis]\nregion = \"us-east-1\"\n"
                       "stream_name = \"s\"\n"
                       "endpoint = \"http://AKIAEXAMPLE:KinesisPw@127.0.0.1:1/\"\n");
  for (auto args : {std::vector<std::string>{"config", "check", file},
                    std::vector<std::string>{"run", "--once", "--config", file}}) {
    auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << r.err;
    EXPECT_EQ((r.out + r.err).find("KinesisPw"), std::string::npos) << args[0] << r.out << r.err;
    EXPECT_EQ((r.out + r.err).find("AKIAEXAMPLE"), std::string::npos) << args[0] << r.err;
    EXPECT_NE(r.err.find(file + ":9: sink.kinesis.endpoint: endpoint 'http://***@127.0.0.1:1/': "
                                "user info not allowed"),
              std::string::npos)
        << args[0] << r.err;
  }
}

// A config path that is a directory, or cannot be opened, says so and why,
// for both commands (a directory used to read as an empty file:
// "cdc.database: must be set").
TEST_F(ConfigCliTest, AConfigPathThatIsADirectoryOrMissingSaysWhy) {
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"config", "check"}, std::vector<std::string>{"run", "--config"}}) {
    std::vector<std::string> args = cmd;
    args.push_back(dir_.path());
    auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("config file " + dir_.path() + " is a directory"), std::string::npos)
        << r.err;
    args.back() = dir_.file("missing.toml");
    r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("cannot open config file " + dir_.file("missing.toml") +
                         ": No such file or directory"),
              std::string::npos)
        << r.err;
  }
}

// A run that fails says so in its last status line, before the error: it
// used to read "stopped: 0 events delivered ...", like a clean stop.
TEST_F(ConfigCliTest, AFailedRunsFinalLineDoesNotReadAsACleanStop) {
  write_file(dir_.file("cdc.toml"), config(""));
  auto gen = run_cli({"wal", "generate", "--dir", dir_.file("wal"), "--database", "mydb",
                      "--events", "20", "--seed", "3"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  // Overwrite a byte in the middle of the first record's payload: checksum
  // mismatch, a sealed-or-not segment followed by more data is corruption.
  const std::string segment = dir_.file("wal/00000000000000000001.wal");
  std::string bytes = testing::read_file(segment);
  ASSERT_GT(bytes.size(), 200u) << segment;
  bytes[40] = static_cast<char>(bytes[40] ^ 0x5a);
  write_file(segment, bytes);
  auto r = run_cli({"run", "--once", "--config", dir_.file("cdc.toml")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("stopped on an error: 0 events delivered"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("info stopped: "), std::string::npos) << r.err;
}

}  // namespace
}  // namespace heliosdb::cdc
