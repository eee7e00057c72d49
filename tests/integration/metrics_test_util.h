// Helpers for the metrics integration tests: HTTP GET, the Prometheus text
// format, a heliosdb-cdc daemon in the background, and the work a WAL holds.
#pragma once

#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "heliosdb/cdc/event.h"
#include "heliosdb/cdc/wal.h"
#include "testing/http_scrape.h"
#include "testing/test_util.h"

extern char** environ;

namespace heliosdb::cdc::metrics_it {

using testing::http_get;
using testing::HttpAnswer;
using testing::parse_samples;

// Polls `done` every 50 ms for up to `timeout`.
inline bool wait_for(const std::function<bool()>& done,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// `heliosdb-cdc run --config FILE` in the background; stderr to a file.
class Daemon {
 public:
  Daemon(const std::string& config, const std::string& log_file) : log_(log_file) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::string bin = testing::cli_path();
    std::vector<std::string> args = {bin, "run", "--config", config};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Daemon() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  // True if it already exited (then exit_code() is set).
  bool exited() {
    if (exited_) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) record(status);
    return exited_;
  }
  // SIGTERM, then wait (up to 30 s) and return the exit code.
  int stop() {
    if (!exited()) {
      kill(pid_, SIGTERM);
      wait_for([this] { return exited(); }, std::chrono::seconds(30));
    }
    return exit_code_;
  }
  int exit_code() const { return exit_code_; }
  std::string log() const { return testing::read_file(log_); }

 private:
  void record(int status) {
    exited_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
  std::string log_;
};

// What a pipeline must do with the committed changes of `database` in a WAL
// when the filter drops `excluded_table`.
struct ExpectedWork {
  uint64_t processed = 0;
  uint64_t filtered = 0;
  uint64_t bytes = 0;
  uint64_t last_sequence = 0;
  std::map<std::string, uint64_t> by_operation;  // "INSERT" -> n
  std::map<std::string, uint64_t> by_table;
};

inline ExpectedWork expected_work(const std::string& wal_dir, const std::string& database,
                                  const std::string& excluded_table) {
  WalReaderOptions o;
  o.dir = wal_dir;
  auto reader = WalReader::open(o);
  EXPECT_TRUE(reader) << reader.status().to_string();
  ExpectedWork w;
  std::map<uint64_t, std::vector<OwnedWalEntry>> open;
  WalEntry e;
  while (reader) {
    auto r = (*reader)->next(e);
    EXPECT_TRUE(r) << r.status().to_string();
    if (!r || *r == WalReadStatus::kEndOfLog) break;
    w.last_sequence = e.sequence;
    if (e.database != database) continue;
    if (e.kind == WalEntryKind::Begin) {
      open[e.transaction_id];
    } else if (e.kind == WalEntryKind::Commit) {
      for (const auto& c : open[e.transaction_id]) {
        if (c.table == excluded_table) {
          ++w.filtered;
          continue;
        }
        ++w.processed;
        w.bytes += c.key.size() + (c.value ? c.value->size() : 0) +
                   (c.old_value ? c.old_value->size() : 0);
        const char* op = c.kind == WalEntryKind::Update     ? "UPDATE"
                         : c.kind == WalEntryKind::Delete   ? "DELETE"
                         : c.kind == WalEntryKind::Truncate ? "TRUNCATE"
                                                            : "INSERT";
        ++w.by_operation[op];
        ++w.by_table[c.table];
      }
      open.erase(e.transaction_id);
    } else if (e.kind == WalEntryKind::Abort) {
      open.erase(e.transaction_id);
    } else {
      open[e.transaction_id].push_back(OwnedWalEntry::from(e));
    }
  }
  return w;
}

// Writes a WAL of two databases (the daemon captures "shop") and a config
// that excludes table "orders", with `metrics_toml` as the [metrics] section
// and `enable_metrics` in [cdc]. Returns the config path.
inline std::string write_wal_and_config(const testing::TempDir& dir, int events,
                                        const std::string& metrics_toml,
                                        bool enable_metrics = true) {
  for (auto [db, seed] : {std::pair<const char*, int>{"shop", 1}, {"other", 2}}) {
    auto r = testing::run_cli({"wal",
                               "generate",
                               "--dir",
                               dir.file("wal"),
                               "--database",
                               db,
                               "--events",
                               std::to_string(events),
                               "--tables",
                               "users,orders,payments",
                               "--txn-size",
                               "4",
                               "--abort-ratio",
                               "0.2",
                               "--truncate-ratio",
                               "0.01",
                               "--value-bytes",
                               "64",
                               "--seed",
                               std::to_string(seed)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  std::string path = dir.file("cdc.toml");
  testing::write_file(
      path, "[cdc]\nwal_path = \"" + dir.file("wal") + "\"\ndatabase = \"shop\"\n" +
                "checkpoint_dir = \"" + dir.file("ckpt") + "\"\npoll_interval_ms = 20\n" +
                "enable_metrics = " + (enable_metrics ? "true" : "false") + "\n\n" + metrics_toml +
                "\n[sink]\ntype = \"file\"\n\n[sink.file]\npath = \"" + dir.file("out.jsonl") +
                "\"\n\n[[filter.rules]]\naction = \"exclude\"\n" + "table = \"orders\"\n");
  return path;
}

}  // namespace heliosdb::cdc::metrics_it
