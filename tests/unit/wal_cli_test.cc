// `heliosdb-cdc wal generate` and `wal dump`: output, determinism, appending,
// torn tails and corruption, exit codes.
#include <openssl/evp.h>

#include <regex>

#include <gtest/gtest.h>

#include "testing/test_util.h"
#include "wal_test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::run_cli;
using testing::TempDir;

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

std::string b64decode(const std::string& s) {
  std::string out(s.size(), '\0');
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  size_t pad = 0;
  if (!s.empty() && s.back() == '=') ++pad;
  if (s.size() > 1 && s[s.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

TEST(WalCli, GeneratePrintsASummaryAndAppendingContinuesTheSequence) {
  TempDir dir;
  auto r = run_cli({"wal", "generate", "--dir", dir.path(), "--database", "shop", "--events", "200",
                    "--tables", "users,orders", "--txn-size", "3", "--abort-ratio", "0.2", "--seed",
                    "9"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.out, m,
      std::regex(
          "wrote (\\d+) entries \\(200 changes\\) to .*: (\\d+) transactions committed, (\\d+) "
          "aborted; sequences 1\\.\\.(\\d+)")))
      << r.out;
  uint64_t entries = std::stoull(m[1]);
  EXPECT_EQ(std::stoull(m[4]), entries);
  EXPECT_GT(std::stoull(m[3]), 0u);
  auto again = run_cli({"wal", "generate", "--dir", dir.path(), "--events", "10"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("sequences " + std::to_string(entries + 1) + ".."), std::string::npos)
      << again.out;
  auto dump = run_cli({"wal", "dump", "--dir", dir.path(), "--format", "json"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  auto ls = lines(dump.out);
  ASSERT_GT(ls.size(), entries);
  EXPECT_NE(ls[0].find("\"database\":\"shop\""), std::string::npos);
  EXPECT_NE(ls.back().find("\"database\":\"mydb\""), std::string::npos);
}

TEST(WalCli, GenerateIsDeterministicForASeed) {
  TempDir a, b, c;
  std::vector<std::string> args = {"--events",        "300",           "--seed",       "42",
                                   "--start-time-ms", "1764000000000", "--interleave", "3"};
  auto gen = [&](const TempDir& d, const std::string& seed) {
    std::vector<std::string> v = {"wal", "generate", "--dir", d.path()};
    v.insert(v.end(), args.begin(), args.end());
    v[7] = seed;
    return run_cli(v);
  };
  ASSERT_EQ(gen(a, "42").exit_code, 0);
  ASSERT_EQ(gen(b, "42").exit_code, 0);
  ASSERT_EQ(gen(c, "43").exit_code, 0);
  auto da = run_cli({"wal", "dump", "--dir", a.path(), "--format", "json"});
  auto db = run_cli({"wal", "dump", "--dir", b.path(), "--format", "json"});
  auto dc = run_cli({"wal", "dump", "--dir", c.path(), "--format", "json"});
  EXPECT_EQ(da.out, db.out);
  EXPECT_NE(da.out, dc.out);
  EXPECT_NE(da.out.find("\"timestamp\":1764000000000,"), std::string::npos);
}

TEST(WalCli, DumpJsonUsesTheEventFieldNamesWithBase64AndNull) {
  TempDir dir;
  ASSERT_EQ(run_cli({"wal", "generate", "--dir", dir.path(), "--events", "100", "--seed", "3",
                     "--value-bytes", "200"})
                .exit_code,
            0);
  auto r = run_cli({"wal", "dump", "--dir", dir.path(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::regex insert(
      "\\{\"sequence\":(\\d+),\"timestamp\":(\\d+),\"kind\":\"INSERT\",\"transaction_id\":\"txn_("
      "\\d+)\","
      "\"database\":\"mydb\",\"table\":\"(\\w+)\",\"key\":\"([A-Za-z0-9+/=]+)\","
      "\"value\":\"([A-Za-z0-9+/=]+)\",\"old_value\":null\\}");
  std::regex update(
      ".*\"kind\":\"UPDATE\".*\"value\":\"[A-Za-z0-9+/=]+\",\"old_value\":\"[A-Za-z0-9+/=]+\"\\}");
  std::regex del(".*\"kind\":\"DELETE\".*\"value\":null,\"old_value\":\"[A-Za-z0-9+/=]+\"\\}");
  int inserts = 0, updates = 0, deletes = 0;
  for (const auto& l : lines(r.out)) {
    std::smatch m;
    if (std::regex_match(l, m, insert)) {
      ++inserts;
      std::string key = b64decode(m[5]), value = b64decode(m[6]);
      EXPECT_TRUE(key.rfind(std::string(m[4]).substr(0, m[4].length() - 1), 0) == 0) << key;
      EXPECT_EQ(value.front(), '{');
      EXPECT_EQ(value.back(), '}');
      EXPECT_EQ(value.size(), 200u) << value;
    } else if (std::regex_match(l, update)) {
      ++updates;
    } else if (std::regex_match(l, del)) {
      ++deletes;
    }
  }
  EXPECT_GT(inserts, 10);
  EXPECT_GT(updates, 5);
  EXPECT_GT(deletes, 0);
}

TEST(WalCli, DumpFromAndLimitAndTextFormat) {
  TempDir dir;
  ASSERT_EQ(run_cli({"wal", "generate", "--dir", dir.path(), "--events", "100", "--segment-bytes",
                     "4KiB"})
                .exit_code,
            0);
  auto r = run_cli({"wal", "dump", "--dir", dir.path(), "--from", "37", "--limit", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 5u);
  EXPECT_EQ(ls[0].rfind("#37 ", 0), 0u) << ls[0];
  EXPECT_EQ(ls[4].rfind("#41 ", 0), 0u) << ls[4];
  EXPECT_TRUE(std::regex_search(
      ls[0],
      std::regex("^#37 \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z txn \\d+ [A-Z]+")))
      << ls[0];
  auto s = run_cli({"wal", "dump", "--dir", dir.path(), "--summary"});
  ASSERT_EQ(s.exit_code, 0);
  EXPECT_NE(s.out.find("by kind:"), std::string::npos);
  EXPECT_NE(s.out.find("segment(s)"), std::string::npos);
}

TEST(WalCli, DumpEndsCleanlyAtATornTail) {
  TempDir dir;
  ASSERT_EQ(run_cli({"wal", "generate", "--dir", dir.path(), "--events", "50"}).exit_code, 0);
  auto full = run_cli({"wal", "dump", "--dir", dir.path(), "--format", "json"});
  std::string path = testing::seg(dir.path(), 1);
  testing::truncate_file(path, testing::file_size(path) - 5);
  auto r = run_cli({"wal", "dump", "--dir", dir.path(), "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines(r.out).size(), lines(full.out).size() - 1);
}

TEST(WalCli, DumpExitsOneNamingFileAndOffsetOnCorruption) {
  TempDir dir;
  ASSERT_EQ(run_cli({"wal", "generate", "--dir", dir.path(), "--events", "50"}).exit_code, 0);
  std::string path = testing::seg(dir.path(), 1);
  testing::flip_byte(path, 2000);
  auto r = run_cli({"wal", "dump", "--dir", dir.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex("corruption: " + path + " at byte \\d+: checksum mismatch")))
      << r.err;
}

TEST(WalCli, DumpOfMissingDirOrTruncatedHistoryExitsOne) {
  TempDir dir;
  auto r = run_cli({"wal", "dump", "--dir", dir.file("nope")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(dir.file("nope")), std::string::npos);
  ASSERT_EQ(run_cli({"wal", "generate", "--dir", dir.path(), "--events", "100", "--segment-bytes",
                     "4096"})
                .exit_code,
            0);
  ASSERT_EQ(::unlink(testing::seg(dir.path(), 1).c_str()), 0);
  auto g = run_cli({"wal", "dump", "--dir", dir.path(), "--from", "2"});
  EXPECT_EQ(g.exit_code, 1);
  EXPECT_NE(g.err.find("sequence 2 is no longer in the WAL"), std::string::npos) << g.err;
}

TEST(WalCli, BadFlagsExitTwoAndHelpExitsZero) {
  TempDir dir;
  const std::vector<std::vector<std::string>> bad = {
      {"wal", "generate", "--dir", dir.path(), "--events", "x"},
      {"wal", "generate", "--dir", dir.path()},  // neither --events nor --follow
      {"wal", "generate", "--events", "5"},      // no --dir
      {"wal", "generate", "--dir", dir.path(), "--events", "5", "--abort-ratio", "1.5"},
      {"wal", "generate", "--dir", dir.path(), "--events", "5", "--txn-size", "0"},
      {"wal", "generate", "--dir", dir.path(), "--events", "5", "--sync", "sometimes"},
      {"wal", "generate", "--dir", dir.path(), "--events", "5", "--bogus"},
      {"wal", "dump", "--dir", dir.path(), "--format", "xml"},
      {"wal", "dump"},
      {"wal", "dump", "--dir", dir.path(), "--limit", "-3"},
      {"wal"},
  };
  for (const auto& args : bad) {
    auto r = run_cli(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << joined;
  }
  for (const std::string sub : {"generate", "dump"}) {
    auto r = run_cli({"wal", sub, "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("--dir"), std::string::npos);
  }
  auto g = run_cli({"wal", "generate", "--help"});
  for (const char* flag : {"--database", "--events", "--tables", "--txn-size", "--abort-ratio",
                           "--value-bytes", "--segment-bytes", "--seed", "--rate", "--follow"}) {
    EXPECT_NE(g.out.find(flag), std::string::npos) << flag;
  }
  auto d = run_cli({"wal", "dump", "--help"});
  for (const char* flag : {"--from", "--limit", "--format"}) {
    EXPECT_NE(d.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace heliosdb::cdc
