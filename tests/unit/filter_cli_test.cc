// The filter end to end through the heliosdb-cdc binary: a generated WAL,
// `run --once` with a file sink and a config file with [[filter.rules]] and
// [[transforms]], compared with the unfiltered run of the same WAL filtered
// and transformed by this test itself (plain string handling, OpenSSL's own
// HMAC). Also `config check` output and exit code 2 for bad rules.
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::read_file;
using testing::read_lines;
using testing::run_cli;
using testing::TempDir;
using testing::write_file;

constexpr char kSecret[] = "filter-cli-test-secret-0123456789";

std::string b64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string unb64(std::string_view in) {
  std::string out(3 * in.size() / 4 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  EXPECT_GE(n, 0);
  size_t pad = in.ends_with("==") ? 2 : in.ends_with("=") ? 1 : 0;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string hmac_hex(std::string_view key) {
  unsigned char md[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret, static_cast<int>(sizeof(kSecret) - 1),
       reinterpret_cast<const unsigned char*>(key.data()), key.size(), md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

// The string value of "field":"..." in a JSON line (our fields hold no escapes).
std::string field(const std::string& line, const std::string& name) {
  std::string tag = "\"" + name + "\":\"";
  size_t at = line.find(tag);
  if (at == std::string::npos) return "";
  at += tag.size();
  return line.substr(at, line.find('"', at) - at);
}

void replace_once(std::string& s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << s;
  s.replace(at, from.size(), to);
}

// What the filter of filtered_config() must make of one unfiltered line;
// empty when the event must be dropped.
std::string expected_line(std::string line) {
  std::string table = field(line, "table");
  std::string op = field(line, "operation");
  bool included = table == "orders" || table.starts_with("user");
  if (!included || op == "DELETE") return "";
  replace_once(line, "\"metadata\":{}", "\"metadata\":{\"source\":\"heliosdb-prod\"}");
  if (table == "users") {
    std::string masked = "\"" + b64("***MASKED***") + "\"";
    for (std::string f : {"value", "old_value"}) {
      std::string v = field(line, f);
      if (!v.empty()) replace_once(line, "\"" + f + "\":\"" + v + "\"", "\"" + f + "\":" + masked);
    }
  }
  if (table == "orders") {
    std::string key = field(line, "key");
    replace_once(line, "\"key\":\"" + key + "\"", "\"key\":\"" + b64(hmac_hex(unb64(key))) + "\"");
  }
  return line;
}

std::string base_config(const TempDir& dir, const std::string& name) {
  return "[cdc]\nwal_path = \"" + dir.file("wal") +
         "\"\ndatabase = \"mydb\"\n"
         "checkpoint_dir = \"" +
         dir.file("ckpt-" + name) +
         "\"\nenable_metrics = false\n\n"
         "[sink]\ntype = \"file\"\n[sink.file]\npath = \"" +
         dir.file(name + ".jsonl") + "\"\n\n";
}

const char kFilter[] = R"(
[[filter.rules]]
action = "include"
table = "orders"
[[filter.rules]]
action = "include"
table_pattern = "user.*"
[[filter.rules]]
action = "exclude"
operations = ["DELETE"]

[[transforms]]
type = "add_metadata"
key = "source"
value = "heliosdb-prod"
[[transforms]]
type = "mask_value"
condition = { table = "users" }
[[transforms]]
type = "hash_key"
secret_env = "FILTER_CLI_TEST_SECRET"
condition = { table = "orders" }
)";

// The position line of a checkpoint file (everything but the write time and crc).
std::string position_of(const std::string& checkpoint_file) {
  std::string out;
  for (const auto& l : read_lines(checkpoint_file)) {
    if (l.starts_with("position=")) out += l + "\n";
  }
  return out;
}

class FilterCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("FILTER_CLI_TEST_SECRET", kSecret, 1);
    auto gen = run_cli({"wal", "generate", "--dir", dir_.file("wal"), "--database", "mydb",
                        "--events", "3000", "--tables", "users,orders,logs,user_profiles", "--seed",
                        "11", "--start-time-ms", "1700000000000"});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    // A tail of changes the filter drops: the checkpoint must still reach it.
    gen = run_cli({"wal", "generate", "--dir", dir_.file("wal"), "--database", "mydb", "--events",
                   "200", "--tables", "logs", "--seed", "12", "--abort-ratio", "0",
                   "--start-time-ms", "1700000100000"});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
  }
  TempDir dir_;
};

TEST_F(FilterCliTest, RunOnceAppliesRulesAndTransformsExactly) {
  write_file(dir_.file("plain.toml"), base_config(dir_, "plain"));
  write_file(dir_.file("filtered.toml"), base_config(dir_, "filtered") + kFilter);
  auto plain = run_cli({"run", "--once", "--config", dir_.file("plain.toml")});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  auto filtered = run_cli({"run", "--once", "--config", dir_.file("filtered.toml")});
  ASSERT_EQ(filtered.exit_code, 0) << filtered.err;

  std::vector<std::string> all = read_lines(dir_.file("plain.jsonl"));
  std::vector<std::string> got = read_lines(dir_.file("filtered.jsonl"));
  std::vector<std::string> want;
  size_t tables_seen[4] = {0, 0, 0, 0};
  for (const auto& line : all) {
    std::string t = field(line, "table");
    tables_seen[t == "users" ? 0 : t == "orders" ? 1 : t == "logs" ? 2 : 3]++;
    std::string e = expected_line(line);
    if (!e.empty()) want.push_back(e);
  }
  for (size_t n : tables_seen) ASSERT_GT(n, 0u) << "the workload must touch every table";
  ASSERT_GT(want.size(), 100u);
  ASSERT_LT(want.size(), all.size());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "line " << i;

  // Dropped events count as done: both runs checkpoint the same position,
  // the end of the WAL (whose last 200 changes are all dropped).
  std::string plain_pos = position_of(dir_.file("ckpt-plain/mydb.checkpoint"));
  ASSERT_FALSE(plain_pos.empty());
  EXPECT_EQ(position_of(dir_.file("ckpt-filtered/mydb.checkpoint")), plain_pos);
}

TEST_F(FilterCliTest, SecondRunResumesAfterTheDroppedTail) {
  write_file(dir_.file("filtered.toml"), base_config(dir_, "filtered") + kFilter);
  auto first = run_cli({"run", "--once", "--config", dir_.file("filtered.toml")});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  size_t delivered = read_lines(dir_.file("filtered.jsonl")).size();
  ASSERT_GT(delivered, 0u);
  auto again = run_cli({"run", "--once", "--config", dir_.file("filtered.toml")});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(read_lines(dir_.file("filtered.jsonl")).size(), delivered)
      << "the checkpoint covers the dropped tail: nothing is delivered again";
}

TEST_F(FilterCliTest, ConfigCheckPrintsTheCompiledRulesWithoutTheSecret) {
  write_file(dir_.file("filtered.toml"), base_config(dir_, "filtered") + kFilter);
  auto check = run_cli({"config", "check", dir_.file("filtered.toml")});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(
      check.out.find("filter: 2 include rules, 1 exclude rule, 3 transforms\n"
                     "  an event is kept when it matches at least one include rule and no exclude "
                     "rule\n"
                     "  rule 1: include if table == \"orders\"\n"
                     "  rule 2: include if table matches /user.*/\n"
                     "  rule 3: exclude if operation == DELETE\n"
                     "  transforms run in this order on kept events:\n"
                     "  transform 1: add_metadata \"source\" = \"heliosdb-prod\"\n"
                     "  transform 2: mask_value: value and old_value become \"***MASKED***\", when "
                     "table == \"users\"\n"
                     "  transform 3: hash_key: key becomes HMAC-SHA-256(secret, key) (secret not "
                     "shown), 64 hex characters, when table == \"orders\"\n"),
      std::string::npos)
      << check.out;
  EXPECT_EQ(check.out.find(kSecret), std::string::npos);
  EXPECT_EQ(check.err.find(kSecret), std::string::npos);
}

TEST_F(FilterCliTest, InvalidRuleExitsTwoQuotingTheRule) {
  write_file(dir_.file("bad.toml"), base_config(dir_, "bad") +
                                        "[[filter.rules]]\naction = \"include\"\n"
                                        "table_pattern = \"user_(\"\n");
  for (auto args : {std::vector<std::string>{"config", "check", dir_.file("bad.toml")},
                    std::vector<std::string>{"run", "--once", "--config", dir_.file("bad.toml")}}) {
    auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find(dir_.file("bad.toml") +
                         ":14: filter.rules[0].table_pattern: invalid RE2 pattern \"user_(\": "
                         "missing ): user_( in rule {action = \"include\", table_pattern = "
                         "\"user_(\"}"),
              std::string::npos)
        << args[0] << ": " << r.err;
  }
}

TEST_F(FilterCliTest, MissingSecretExitsTwo) {
  ::unsetenv("FILTER_CLI_TEST_SECRET");
  write_file(dir_.file("filtered.toml"), base_config(dir_, "filtered") + kFilter);
  auto r = run_cli({"config", "check", dir_.file("filtered.toml")});
  ::setenv("FILTER_CLI_TEST_SECRET", kSecret, 1);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("transforms[2].secret_env: environment variable "
                       "\"FILTER_CLI_TEST_SECRET\" is not set"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace heliosdb::cdc
