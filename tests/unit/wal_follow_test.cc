// A reader follows a writer appending in another process (the CLI's
// `wal generate --follow`) across rotations, never seeing a partial entry.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <regex>

#include <gtest/gtest.h>

#include "testing/test_util.h"
#include "wal_test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

TEST(WalFollow, ReaderFollowsGeneratorInAnotherProcessAcrossRotations) {
  TempDir dir, out;
  std::string log = out.file("generate.out");
  pid_t pid = testing::spawn_with_log(
      {testing::cli_path(), "wal", "generate", "--dir", dir.path(), "--follow", "--rate", "3000",
       "--segment-bytes", "16384", "--interleave", "3", "--sync", "never"},
      log);
  ASSERT_GT(pid, 0);
  WalReaderOptions o;
  o.dir = dir.path();
  auto reader = WalReader::open(o);
  ASSERT_TRUE(reader.is_ok()) << reader.status().to_string();
  std::map<uint64_t, int> open_txns;
  uint64_t expect = 1, n = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto consume = [&](const WalEntry& e) {
    ASSERT_EQ(e.sequence, expect);
    ++expect;
    ++n;
    if (e.kind == WalEntryKind::Begin) {
      EXPECT_EQ(open_txns.count(e.transaction_id), 0u);
      open_txns[e.transaction_id] = 0;
    } else if (e.kind == WalEntryKind::Commit || e.kind == WalEntryKind::Abort) {
      EXPECT_EQ(open_txns.erase(e.transaction_id), 1u);
    } else {
      EXPECT_EQ(open_txns.count(e.transaction_id), 1u) << "change outside its transaction";
      EXPECT_EQ(e.database, "mydb");
    }
  };
  WalEntry e;
  while (n < 1500 && std::chrono::steady_clock::now() < deadline) {
    auto st = (*reader)->next(e);
    ASSERT_TRUE(st.is_ok()) << st.status().to_string();
    if (*st == WalReadStatus::kEndOfLog) {
      (*reader)->wait_for_data(std::chrono::milliseconds(100));
      continue;
    }
    consume(e);
  }
  ASSERT_EQ(n, 1500u) << "reader did not keep up with the live writer";
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::string summary = testing::read_file(log);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(summary, m, std::regex("sequences 1\\.\\.(\\d+)"))) << summary;
  uint64_t last = std::stoull(m[1]);
  for (;;) {  // drain: the generator closed its transactions on SIGTERM
    auto st = (*reader)->next(e);
    ASSERT_TRUE(st.is_ok()) << st.status().to_string();
    if (*st == WalReadStatus::kEndOfLog) break;
    consume(e);
  }
  EXPECT_EQ(expect - 1, last);
  EXPECT_TRUE(open_txns.empty());
  EXPECT_GT(list_wal_segments(dir.path())->size(), 3u);
}

}  // namespace
}  // namespace heliosdb::cdc
