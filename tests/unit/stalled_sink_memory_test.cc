// The daemon's memory with a stalled sink, through the CLI binary: rows of
// 1 MiB, a stdout sink whose reader never reads, [cdc] buffer_bytes = 64 MiB.
// The peak resident set (VmHWM) must stay within the budget plus a fixed
// overhead (the binary, a mapped 16 MiB WAL segment, the reader's buffers,
// one event's JSON). A bound check with a generous margin, not a timing.
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

// A field of /proc/<pid>/status in KiB ("VmHWM", "VmRSS"); -1 once gone.
int64_t status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

// Starts the daemon with stdout on a pipe that nobody reads; returns its pid
// and the pipe's read end (kept open, so writes block instead of failing).
pid_t start_with_stalled_stdout(const std::vector<std::string>& args, const std::string& log,
                                int* read_end) {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(err, 2);
    std::vector<std::string> argv{testing::cli_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c;
    for (auto& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    execv(c[0], c.data());
    _exit(127);
  }
  ::close(fds[1]);
  *read_end = fds[0];
  return pid;
}

TEST(StalledSinkMemory, StdoutNobodyReadsKeepsTheDaemonWithinBufferBytes) {
  TempDir dir;
  // 200 changes of 1 MiB rows (an UPDATE or DELETE also carries the 1 MiB
  // old row): ~275 MiB of rows, all of which buffer_size (10000) admits.
  auto gen =
      testing::run_cli({"wal", "generate", "--dir", dir.file("wal"), "--database", "shop",
                        "--events", "200", "--value-bytes", "1048576", "--txn-size", "1",
                        "--abort-ratio", "0", "--segment-bytes", "16MiB", "--sync", "never"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  constexpr int64_t kBudgetMiB = 64;
  testing::write_file(dir.file("cdc.toml"),
                      "[cdc]\nwal_path = \"" + dir.file("wal") +
                          "\"\ndatabase = \"shop\"\ncheckpoint_dir = \"" + dir.file("ckpt") +
                          "\"\nenable_metrics = false\nbuffer_bytes = " +
                          std::to_string(kBudgetMiB << 20) + "\n[sink]\ntype = \"stdout\"\n");
  int pipe_out = -1;
  const pid_t pid = start_with_stalled_stdout({"run", "--config", dir.file("cdc.toml")},
                                              dir.file("log"), &pipe_out);
  ASSERT_GT(pid, 0);
  // Wait until the sink is stuck (the pipe is full) and the reader has
  // filled most of the budget behind it (RSS is past the budget's rows), or
  // 30 s: a daemon that never got there fails below.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int queued = 0;
  int64_t hwm_kib = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    ioctl(pipe_out, FIONREAD, &queued);
    hwm_kib = status_kib(pid, "VmHWM");
    if (hwm_kib < 0) break;  // it exited
    if (queued >= 60000 && hwm_kib >= (kBudgetMiB * 3 / 4) << 10) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Then watch it for another second: a reader that does not stop at the
  // budget grows by hundreds of MiB in that time.
  for (int i = 0; i < 50 && hwm_kib >= 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const int64_t now = status_kib(pid, "VmHWM");
    if (now < 0) break;
    hwm_kib = now;
  }
  const bool was_running = status_kib(pid, "VmHWM") >= 0;
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ::close(pipe_out);
  ASSERT_TRUE(was_running) << testing::read_file(dir.file("log"));
  EXPECT_GE(queued, 60000) << "the sink never stalled";
  EXPECT_GE(hwm_kib, (kBudgetMiB * 3 / 4) << 10) << "the reader never filled the budget";
  // Overhead: the binary (~10 MiB), the mapped sealed segment (16 MiB), the
  // WAL reader's buffers (~3 MiB), one event's JSON (~3 MiB), allocator slack.
  EXPECT_LT(hwm_kib, (kBudgetMiB + 64) << 10) << "peak RSS " << (hwm_kib >> 10) << " MiB";
}

// A stop must not wait for a reader that stopped reading: 10 s after the
// SIGTERM the processor interrupts the sink, whose write to the full pipe
// gives up, and the run ends with exit 0 (what it had not written is
// delivered again by the next run). The blocking write used to wait until
// the reader went away, i.e. for ever.
TEST(StalledSinkMemory, StdoutNobodyReadsStillStopsOnSigterm) {
  TempDir dir;
  auto gen = testing::run_cli({"wal", "generate", "--dir", dir.file("wal"), "--database", "shop",
                               "--events", "40", "--value-bytes", "262144", "--txn-size", "1",
                               "--abort-ratio", "0", "--sync", "never"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  testing::write_file(dir.file("cdc.toml"), "[cdc]\nwal_path = \"" + dir.file("wal") +
                                                "\"\ndatabase = \"shop\"\ncheckpoint_dir = \"" +
                                                dir.file("ckpt") +
                                                "\"\nenable_metrics = false\n[sink]\ntype = "
                                                "\"stdout\"\n");
  int pipe_out = -1;
  const pid_t pid = start_with_stalled_stdout({"run", "--config", dir.file("cdc.toml")},
                                              dir.file("log"), &pipe_out);
  ASSERT_GT(pid, 0);
  int queued = 0;
  for (int i = 0; i < 1500 && queued < 60000; ++i) {
    ioctl(pipe_out, FIONREAD, &queued);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(queued, 60000) << "the sink never stalled: " << testing::read_file(dir.file("log"));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  pid_t done = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(25);
  while ((done = waitpid(pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (done == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  ::close(pipe_out);
  const std::string log = testing::read_file(dir.file("log"));
  ASSERT_NE(done, 0) << "still running 25 s after SIGTERM: " << log;
  ASSERT_TRUE(WIFEXITED(status)) << log;
  EXPECT_EQ(WEXITSTATUS(status), 0) << log;
  EXPECT_NE(log.find("interrupting it"), std::string::npos) << log;
}

}  // namespace
}  // namespace heliosdb::cdc
