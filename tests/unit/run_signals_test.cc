// `heliosdb-cdc run` and the operator's signals, through the binary: the
// exit code, the log lines, the output files and the checkpoint after
// SIGTERM (at any moment, during start-up, during a Kafka start-up that
// cannot reach its brokers), SIGHUP (log rotation by rename), SIGUSR1/2,
// the stdout reader going away (EPIPE) and the output file deleted under
// the daemon.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/checkpoint_store.h"
#include "testing/checkpoint_util.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

// Appends `events` changes of database mydb to the WAL in `dir`/wal.
void generate(const TempDir& dir, int events, int seed) {
  auto r = testing::run_cli({"wal", "generate", "--dir", dir.file("wal"), "--database", "mydb",
                             "--events", std::to_string(events), "--seed", std::to_string(seed)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// A config for the WAL in `dir` with `sink` (the [sink] tables), named `name`.
std::string write_config(const TempDir& dir, const std::string& sink,
                         const std::string& name = "cdc.toml", const std::string& ckpt = "ckpt",
                         const std::string& cdc_extra = "") {
  std::string path = dir.file(name);
  testing::write_file(path, "[cdc]\nwal_path = \"" + dir.file("wal") +
                                "\"\ndatabase = \"mydb\"\ncheckpoint_dir = \"" + dir.file(ckpt) +
                                "\"\nenable_metrics = false\n" + cdc_extra + "\n" + sink);
  return path;
}

std::string file_sink(const std::string& path, const std::string& format = "json") {
  return "[sink]\ntype = \"file\"\n[sink.file]\npath = \"" + path + "\"\nformat = \"" + format +
         "\"\n";
}

// What the WAL holds now, as the file sink writes it: a `run --once` of its
// own (its own output and checkpoint).
std::vector<std::string> reference_lines(const TempDir& dir, const std::string& tag) {
  std::string out = dir.file("ref-" + tag + ".jsonl");
  std::string config = write_config(dir, file_sink(out), "ref-" + tag + ".toml", "ckpt-ref-" + tag);
  auto r = testing::run_cli({"run", "--config", config, "--once"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return testing::read_lines(out);
}

// Polls `pred` every millisecond for up to `timeout`.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

bool log_has(const std::string& log, const std::string& needle) {
  return testing::read_file(log).find(needle) != std::string::npos;
}

// The exit status (or 128+signal) of `pid` if it ends within `timeout`;
// otherwise it is killed and nullopt returned.
std::optional<int> exit_within(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return std::nullopt;
    }
    std::this_thread::sleep_for(1ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

pid_t spawn_run(const std::string& config, const std::string& log,
                std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{testing::cli_path(), "run", "--config", config};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return testing::spawn_with_log(argv, log);
}

std::optional<DeliveryPosition> checkpoint(const TempDir& dir, const std::string& ckpt = "ckpt") {
  return testing::load_wal_checkpoint(dir.file(ckpt), "mydb");
}

// From the first log line on, a SIGTERM at any moment (start-up, running,
// stopping) ends the run with exit 0: it is sent again every millisecond
// until the process is gone.
TEST(RunSignals, SigtermAtAnyMomentFromTheFirstLogLineExitsZero) {
  TempDir dir;
  generate(dir, 2000, 1);
  std::string config = write_config(dir, file_sink(dir.file("out.jsonl")));
  for (int round = 0; round < 5; ++round) {
    std::string log = dir.file("daemon-" + std::to_string(round) + ".log");
    pid_t pid = spawn_run(config, log);
    ASSERT_TRUE(eventually([&] { return !testing::read_file(log).empty(); })) << "no log line";
    std::optional<int> rc;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      kill(pid, SIGTERM);
      if (waitpid(pid, &status, WNOHANG) == pid) {
        rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      std::this_thread::sleep_for(1ms);
    }
    if (!rc) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    ASSERT_EQ(rc, 0) << "round " << round << ":\n" << testing::read_file(log);
    EXPECT_TRUE(log_has(log, "received SIGTERM")) << testing::read_file(log);
  }
}

// A SIGTERM already pending when the binary starts (sent while it was being
// exec'ed) ends it cleanly with exit 0.
TEST(RunSignals, SigtermPendingAtExecEndsTheRunWithExitZero) {
  TempDir dir;
  generate(dir, 100, 2);
  std::string config = write_config(dir, file_sink(dir.file("out.jsonl")));
  std::string log = dir.file("daemon.log");
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, nullptr);
    raise(SIGTERM);  // pending across the exec
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(testing::cli_path().c_str(), "heliosdb-cdc", "run", "--config", config.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  EXPECT_EQ(exit_within(pid, 10s), 0) << testing::read_file(log);
  EXPECT_TRUE(log_has(log, "received SIGTERM")) << testing::read_file(log);
}

// Kafka start-up waiting for brokers it cannot reach (startup_timeout_ms 60
// s): SIGTERM ends it within moments with exit 0, and no checkpoint.
TEST(RunSignals, SigtermDuringAKafkaStartUpThatCannotReachTheBrokersExitsZeroAtOnce) {
  TempDir dir;
  generate(dir, 100, 3);
  std::string config = write_config(dir,
                                    "[sink]\ntype = \"kafka\"\n[sink.kafka]\n"
                                    "brokers = \"127.0.0.1:1\"\ntopic = \"events\"\n"
                                    "startup_timeout_ms = 60000\n");
  std::string log = dir.file("daemon.log");
  pid_t pid = spawn_run(config, log);
  // The processor's line about the checkpoint comes just before the sink's open().
  ASSERT_TRUE(eventually([&] { return log_has(log, "no checkpoint at"); }))
      << testing::read_file(log);
  std::this_thread::sleep_for(500ms);  // well inside the wait for the brokers
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  auto rc = exit_within(pid, 70s);
  auto took = std::chrono::steady_clock::now() - t0;
  std::string text = testing::read_file(log);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_LT(took, 3s) << text;
  EXPECT_NE(text.find("stopped while the kafka sink was starting"), std::string::npos) << text;
  EXPECT_FALSE(checkpoint(dir).has_value());
}

// Log rotation by rename + SIGHUP: the events and log lines before the
// reopen stay in the renamed files, the later ones go to new files at the
// paths, nothing is lost or doubled, and the run still exits 0 on SIGTERM.
TEST(RunSignals, SighupAfterRenameReopensTheOutputAndTheLogLosingNothing) {
  TempDir dir;
  generate(dir, 500, 4);
  const std::vector<std::string> first = reference_lines(dir, "first");
  ASSERT_FALSE(first.empty());
  std::string out = dir.file("out.jsonl"), log = dir.file("daemon.log");
  std::string config = write_config(dir, file_sink(out));
  pid_t pid = spawn_run(config, dir.file("stderr.log"), {"--log-file", log});
  ASSERT_TRUE(eventually([&] { return testing::count_complete_lines(out) == first.size(); }))
      << testing::read_file(log);
  std::filesystem::rename(out, out + ".1");
  std::filesystem::rename(log, log + ".1");
  ASSERT_EQ(kill(pid, SIGHUP), 0);
  ASSERT_TRUE(eventually([&] { return log_has(log, "file sink: reopened " + out); }))
      << testing::read_file(log + ".1") << testing::read_file(log);
  generate(dir, 300, 5);
  const std::vector<std::string> all = reference_lines(dir, "all");
  ASSERT_GT(all.size(), first.size());
  ASSERT_TRUE(eventually([&] {
    return testing::count_complete_lines(out) == all.size() - first.size();
  })) << testing::read_file(log);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(exit_within(pid, 30s), 0) << testing::read_file(log);
  EXPECT_EQ(testing::read_lines(out + ".1"), first);
  EXPECT_EQ(testing::read_lines(out),
            std::vector<std::string>(all.begin() + static_cast<long>(first.size()), all.end()));
  std::string old_log = testing::read_file(log + ".1"), new_log = testing::read_file(log);
  EXPECT_NE(old_log.find("heliosdb-cdc starting"), std::string::npos) << old_log;
  // The reopen is logged to the new file only. (The old one may hold the
  // file sink's warning that its output was renamed "until SIGHUP reopens"
  // it, when its check ran between the rename and the signal.)
  EXPECT_EQ(old_log.find("received SIGHUP"), std::string::npos) << old_log;
  EXPECT_NE(new_log.find("received SIGHUP: reopened the log file " + log), std::string::npos)
      << new_log;
  EXPECT_NE(new_log.find("stopped: " + std::to_string(all.size()) + " events delivered"),
            std::string::npos)
      << new_log;
  EXPECT_TRUE(testing::read_file(dir.file("stderr.log")).empty());
  auto ckpt = checkpoint(dir), ref = checkpoint(dir, "ckpt-ref-all");
  ASSERT_TRUE(ckpt && ref);
  EXPECT_EQ(ckpt->commit_sequence, ref->commit_sequence);
}

// SIGUSR1 logs a status line, SIGUSR2 is logged and ignored; neither stops
// the daemon.
TEST(RunSignals, Sigusr1LogsAStatusLineAndSigusr2IsIgnored) {
  TempDir dir;
  generate(dir, 200, 6);
  const auto lines = reference_lines(dir, "ref");
  std::string out = dir.file("out.jsonl"), log = dir.file("daemon.log");
  pid_t pid = spawn_run(write_config(dir, file_sink(out)), log);
  ASSERT_TRUE(eventually([&] { return testing::count_complete_lines(out) == lines.size(); }));
  ASSERT_EQ(kill(pid, SIGUSR1), 0);
  ASSERT_TRUE(eventually([&] { return log_has(log, "status (SIGUSR1): "); }))
      << testing::read_file(log);
  ASSERT_EQ(kill(pid, SIGUSR2), 0);
  ASSERT_TRUE(eventually([&] { return log_has(log, "received SIGUSR2: ignored"); }))
      << testing::read_file(log);
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), 0) << "the daemon died";
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(exit_within(pid, 30s), 0) << testing::read_file(log);
  EXPECT_NE(testing::read_file(log).find(std::to_string(lines.size()) + " events delivered"),
            std::string::npos)
      << testing::read_file(log);
}

// `run | head` with the stdout sink: the reader goes away, the daemon exits
// 0, and its checkpoint covers no more than what went into the pipe.
TEST(RunSignals, StdoutReaderGoingAwayEndsTheRunWithExitZeroCheckpointingOnlyWhatWasWritten) {
  TempDir dir;
  generate(dir, 2000, 7);
  const auto all = reference_lines(dir, "ref");
  // batch_size 1: each event is written (and acknowledged) on its own.
  std::string config =
      write_config(dir, "[sink]\ntype = \"stdout\"\n", "cdc.toml", "ckpt", "batch_size = 1\n");
  std::string log = dir.file("daemon.log");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const int pipe_bytes = fcntl(fds[0], F_SETPIPE_SZ, 4096);
  ASSERT_GT(pipe_bytes, 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 2);
    ::close(fds[0]);
    execl(testing::cli_path().c_str(), "heliosdb-cdc", "run", "--config", config.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(fds[1]);
  // Read 20 lines, then go away like `head -20`.
  std::string got;
  char buf[512];
  while (std::count(got.begin(), got.end(), '\n') < 20) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  auto rc = exit_within(pid, 10s);  // it follows the WAL: only the closed pipe ends it
  std::string text = testing::read_file(log);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("stdout was closed by its reader"), std::string::npos) << text;
  auto ckpt = checkpoint(dir);
  ASSERT_TRUE(ckpt.has_value()) << text;
  // Events the checkpoint covers, by the reference's sequences.
  size_t covered = 0;
  for (const auto& line : all) {
    auto at = line.find("\"sequence\":");
    ASSERT_NE(at, std::string::npos);
    if (std::stoull(line.substr(at + 11)) <= ckpt->event_sequence) ++covered;
  }
  size_t shortest = all.front().size() + 1;
  for (const auto& line : all) shortest = std::min(shortest, line.size() + 1);
  // At most what was read plus what the pipe held when the reader went away.
  EXPECT_LE(covered, (got.size() + static_cast<size_t>(pipe_bytes)) / shortest + 1)
      << "checkpointed past what was written";
  EXPECT_GE(covered, 20u);
  EXPECT_LT(covered, all.size());
}

// The output file deleted under the daemon: it stops with exit 1 naming the
// file, checkpoints nothing written to the deleted file, and the next run
// delivers those events again.
TEST(RunSignals, DeletedOutputFileStopsTheDaemonWithExit1AndTheNextRunResendsWhatWasLost) {
  TempDir dir;
  generate(dir, 300, 8);
  const auto first = reference_lines(dir, "first");
  std::string out = dir.file("out.jsonl"), log = dir.file("daemon.log");
  std::string config = write_config(dir, file_sink(out));
  pid_t pid = spawn_run(config, log);
  ASSERT_TRUE(eventually([&] { return testing::count_complete_lines(out) == first.size(); }));
  ASSERT_TRUE(std::filesystem::remove(out));
  generate(dir, 300, 9);
  const auto all = reference_lines(dir, "all");
  auto rc = exit_within(pid, 10s);
  std::string text = testing::read_file(log);
  EXPECT_EQ(rc, 1) << text;
  EXPECT_NE(text.find(out + " was deleted while the daemon was writing to it"), std::string::npos)
      << text;
  auto ckpt = checkpoint(dir);
  // Nothing of the second batch of changes is checkpointed.
  auto ref_first = checkpoint(dir, "ckpt-ref-first");
  ASSERT_TRUE(ref_first.has_value());
  if (ckpt) EXPECT_LE(ckpt->commit_sequence, ref_first->commit_sequence);
  // The next run writes a new file with every event not checkpointed before.
  auto r = testing::run_cli({"run", "--config", config, "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto again = testing::read_lines(out);
  ASSERT_GE(again.size(), all.size() - first.size());
  EXPECT_TRUE(std::equal(all.end() - static_cast<long>(again.size()), all.end(), again.begin()))
      << "the rerun does not deliver exactly the events after the checkpoint";
}

// --log-file that cannot be opened is a usage error naming it.
TEST(RunSignals, UnopenableLogFileIsExit2NamingIt) {
  TempDir dir;
  generate(dir, 10, 10);
  std::string bad = dir.file("no-such-dir/daemon.log");
  auto r = testing::run_cli(
      {"run", "--config", write_config(dir, file_sink(dir.file("o"))), "--log-file", bad});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--log-file: open " + bad), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("no-such-dir")));
}

// The other subcommands go back to the default dispositions: `wal generate
// --follow` still stops on SIGTERM through its own handler.
TEST(RunSignals, WalCommandsKeepTheirOwnSignalHandling) {
  TempDir dir;
  std::string log = dir.file("gen.log");
  pid_t gen =
      testing::spawn_with_log({testing::cli_path(), "wal", "generate", "--dir", dir.file("wal"),
                               "--database", "mydb", "--follow", "--rate", "1000"},
                              log);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(dir.file("wal")); }));
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(kill(gen, SIGTERM), 0);
  EXPECT_EQ(exit_within(gen, 10s), 0) << testing::read_file(log);
}

}  // namespace
}  // namespace heliosdb::cdc
