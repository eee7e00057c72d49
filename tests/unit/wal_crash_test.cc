// A writer process killed with SIGKILL loses nothing it acknowledged: the
// directory reopens, the torn tail (if any) is cut, and the sequence goes on.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "testing/test_util.h"
#include "wal_test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

// Child: appends large entries forever (fsync per entry), writing each
// acknowledged sequence to `ack_fd`.
[[noreturn]] void writer_child(const std::string& dir, int ack_fd) {
  WalWriterOptions o = testing::writer_options(dir, 200000);
  o.sync_policy = WalSyncPolicy::kEveryEntry;
  auto w = WalWriter::open(o);
  if (!w) _exit(3);
  for (;;) {
    OwnedWalEntry e = testing::make_entry((*w)->next_sequence(), 20000);
    auto seq = (*w)->append(e.view());
    if (!seq) _exit(4);
    uint64_t s = *seq;
    if (::write(ack_fd, &s, sizeof s) != sizeof s) _exit(5);
  }
}

TEST(WalCrash, WriterKilledWithSigkillLosesNothingAcknowledgedAndContinues) {
  TempDir dir;
  uint64_t last_acked = 0;
  for (int round = 0; round < 3; ++round) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(p[0]);
      writer_child(dir.path(), p[1]);
    }
    ::close(p[1]);
    // Let it acknowledge some entries (across segment rotations), then kill it mid-stream.
    uint64_t target = last_acked + 40 + 7 * round, s = 0;
    while (last_acked < target && ::read(p[0], &s, sizeof s) == sizeof s) {
      EXPECT_EQ(s, last_acked + 1);
      last_acked = s;
    }
    ASSERT_EQ(last_acked, target) << "writer child died early";
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    while (::read(p[0], &s, sizeof s) == sizeof s) last_acked = s;  // acks sent before death
    ::close(p[0]);

    // Everything acknowledged is there, intact and in order.
    auto r = testing::read_wal(dir.path());
    ASSERT_TRUE(r.error.is_ok()) << r.error.to_string();
    ASSERT_GE(r.entries.size(), last_acked);
    for (uint64_t i = 0; i < r.entries.size(); ++i) {
      ASSERT_EQ(r.entries[i], testing::make_entry(i + 1, 20000)) << "sequence " << i + 1;
    }
    // Reopening continues right after the last valid entry.
    auto w = WalWriter::open(testing::writer_options(dir.path(), 200000));
    ASSERT_TRUE(w.is_ok()) << w.status().to_string();
    EXPECT_EQ((*w)->next_sequence(), r.entries.size() + 1);
    last_acked = r.entries.size();
  }
  auto r = testing::read_wal(dir.path());
  ASSERT_TRUE(r.error.is_ok()) << r.error.to_string();
  EXPECT_EQ(r.entries.size(), last_acked);
  EXPECT_GT(list_wal_segments(dir.path())->size(), 3u);
}

// A power loss can lose every page of the active segment from any 4 KiB
// boundary on, leaving zeros (the file size already on disk). Whatever the
// boundary, the reader delivers exactly the entries whose records end before
// it, reports nothing, and the restarting writer continues after them.
TEST(WalCrash, PowerLossZeroingThePagesFromAnyBoundaryLosesOnlyTheRecordsFromThere) {
  TempDir src;
  std::vector<OwnedWalEntry> in;
  {
    auto w = WalWriter::open(testing::writer_options(src.path()));
    ASSERT_TRUE(w.is_ok());
    // Sizes from a few bytes to 3 blocks, so boundaries fall inside headers,
    // data, FIRST/MIDDLE/LAST fragments and between records.
    const size_t sizes[] = {10, 700, 3000, 5000, 90, 9000, 40000, 1, 4100, 70000, 300, 2500};
    for (int i = 0; i < 36; ++i) {
      auto e = testing::make_entry((*w)->next_sequence(), sizes[i % 12]);
      ASSERT_TRUE((*w)->append(e.view()).is_ok());
      in.push_back(e);
    }
    ASSERT_TRUE((*w)->close().is_ok());
  }
  const std::string full = testing::read_file(testing::seg(src.path(), 1));
  const auto offs = testing::record_offsets(in);
  ASSERT_EQ(offs.back(), full.size());
  TempDir dir;
  const std::string path = testing::seg(dir.path(), 1);
  for (uint64_t page = 4096; page < full.size(); page += 4096) {
    testing::write_file(path, full.substr(0, page) + std::string(full.size() - page, '\0'));
    size_t intact = 0;
    while (offs[intact + 1] <= page) ++intact;  // entries whose record ends by `page`
    std::vector<OwnedWalEntry> want(in.begin(), in.begin() + intact);
    auto r = testing::read_wal(dir.path());
    ASSERT_TRUE(r.error.is_ok()) << "zeros from " << page << ": " << r.error.to_string();
    ASSERT_TRUE(r.reports.empty());
    ASSERT_EQ(r.entries, want) << "zeros from " << page;
    auto w = WalWriter::open(testing::writer_options(dir.path()));
    ASSERT_TRUE(w.is_ok()) << "zeros from " << page << ": " << w.status().to_string();
    EXPECT_EQ((*w)->next_sequence(), intact + 1);
    EXPECT_EQ((*w)->recovery_info().truncated_bytes, full.size() - testing::file_size(path));
    auto more = testing::append_entries(**w, 1);
    ASSERT_TRUE((*w)->close().is_ok());
    auto again = testing::read_wal(dir.path());
    ASSERT_TRUE(again.error.is_ok()) << again.error.to_string();
    want.push_back(more[0]);
    ASSERT_EQ(again.entries, want) << "zeros from " << page;
    if (intact > 0) ASSERT_EQ(::unlink(testing::seg(dir.path(), intact + 1).c_str()), 0);
  }
}

}  // namespace
}  // namespace heliosdb::cdc
