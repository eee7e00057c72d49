// Checkpoints through the heliosdb-cdc binary: a second daemon on the same
// checkpoint, a replaced WAL, a `database` that matches nothing, and a full
// checkpoint directory.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::read_file;
using testing::run_cli;
using testing::TempDir;
using testing::write_file;

// `metrics_port` 0: metrics off.
std::string write_config(const TempDir& dir, const std::string& database = "shop",
                         const std::string& checkpoint_dir = "", int metrics_port = 0) {
  std::string path = dir.file("cdc.toml");
  const std::string metrics =
      metrics_port ? "\n[metrics]\nlisten = \"127.0.0.1:" + std::to_string(metrics_port) + "\"\n"
                   : "enable_metrics = false\n";
  write_file(path, "[cdc]\nwal_path = \"" + dir.file("wal") + "\"\ndatabase = \"" + database +
                       "\"\ncheckpoint_dir = \"" +
                       (checkpoint_dir.empty() ? dir.file("ckpt") : checkpoint_dir) +
                       "\"\npoll_interval_ms = 10\n" + metrics +
                       "\n[sink]\ntype = \"file\"\n\n[sink.file]\npath = \"" +
                       dir.file("out.jsonl") + "\"\n");
  return path;
}

void generate(const std::string& wal, const std::string& database, int events) {
  auto r = run_cli({"wal", "generate", "--dir", wal, "--database", database, "--events",
                    std::to_string(events), "--seed", "7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

bool wait_for_log(const std::string& log, const std::string& text) {
  for (int i = 0; i < 1000; ++i) {
    if (read_file(log).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// With metrics on (the default) both daemons ask for the same metrics port:
// the lock is taken before that port is opened, so the error is about the
// lock, not the port.
TEST(CheckpointCli, ASecondDaemonOnTheSameCheckpointExitsOneNamingTheLockAndTheOtherPid) {
  TempDir dir;
  generate(dir.file("wal"), "shop", 100);
  const std::string config = write_config(dir, "shop", "", testing::free_loopback_port());
  pid_t first = testing::spawn_with_log({testing::cli_path(), "run", "--config", config},
                                        dir.file("first.log"));
  ASSERT_TRUE(wait_for_log(dir.file("first.log"), "no checkpoint at"))
      << read_file(dir.file("first.log"));
  auto t0 = std::chrono::steady_clock::now();
  auto second = run_cli({"run", "--once", "--config", config});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("checkpoint lock " + dir.file("ckpt") +
                            "/shop.lock is held by "
                            "another heliosdb-cdc pipeline (pid " +
                            std::to_string(first) + ")"),
            std::string::npos)
      << second.err;
  // kill -9 leaves no stale lock: the kernel drops it with the process.
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  EXPECT_EQ(testing::wait_exit(first), 128 + SIGKILL);
  auto third = run_cli({"run", "--once", "--config", config});
  EXPECT_EQ(third.exit_code, 0) << third.err;
}

TEST(CheckpointCli, AReplacedWalExitsOneNamingBothIdentitiesAndTheCheckpoint) {
  TempDir dir;
  generate(dir.file("wal"), "shop", 100);
  const std::string config = write_config(dir);
  ASSERT_EQ(run_cli({"run", "--once", "--config", config}).exit_code, 0);
  const std::string old_id = read_file(dir.file("wal/IDENTITY")).substr(0, 32);
  std::filesystem::remove_all(dir.file("wal"));
  generate(dir.file("wal"), "shop", 300);  // longer: every old sequence exists again
  const std::string new_id = read_file(dir.file("wal/IDENTITY")).substr(0, 32);
  const size_t delivered = testing::count_complete_lines(dir.file("out.jsonl"));
  auto r = run_cli({"run", "--once", "--config", config});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("checkpoint file " + dir.file("ckpt") +
                       "/shop.checkpoint belongs to "
                       "identity " +
                       old_id + ", but the WAL in " + dir.file("wal") + " has identity " + new_id),
            std::string::npos)
      << r.err;
  EXPECT_EQ(testing::count_complete_lines(dir.file("out.jsonl")), delivered);
}

TEST(CheckpointCli, AOnceRunWithADatabaseThatMatchesNothingWarnsNamingIt) {
  TempDir dir;
  generate(dir.file("wal"), "shop", 50);
  auto r = run_cli({"run", "--once", "--config", write_config(dir, "shpo")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" entries read from WAL " + dir.file("wal") +
                       " is of database \"shpo\" (databases seen: \"shop\"); nothing is "
                       "delivered: check [cdc] database"),
            std::string::npos)
      << r.err;
  // The right database: no such warning.
  auto ok = run_cli({"run", "--once", "--config", write_config(dir, "shop", dir.file("ckpt2"))});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.err.find("nothing is delivered"), std::string::npos) << ok.err;
}

// A tmpfs of 64 KiB mounted on `path` for the test's lifetime.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& path) : path_(path) {
    std::filesystem::create_directories(path);
    mounted_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0, "size=64k") == 0;
    error_ = mounted_ ? 0 : errno;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  int error() const { return error_; }
  // Writes a file until the file system is full.
  void fill() {
    std::ofstream out(path_ + "/filler", std::ios::binary);
    std::string block(4096, 'x');
    while (out.write(block.data(), static_cast<std::streamsize>(block.size())) && out.flush()) {
    }
  }

 private:
  std::string path_;
  bool mounted_ = false;
  int error_ = 0;
};

// A disk that fills up between two runs: the second stops at start-up,
// before delivering anything, naming the directory and the errno, and
// leaves no empty temp file (it used to pass the check, deliver, and die at
// its first checkpoint with the .tmp left behind).
TEST(CheckpointCli, AFullCheckpointDirStopsTheRunAtStartAndLeavesNoTempFile) {
  TempDir dir;
  const std::string ckpt = dir.file("ckpt");
  SmallTmpfs fs(ckpt);
  ASSERT_TRUE(fs.mounted()) << "this test mounts a tmpfs and must run as root: "
                            << std::strerror(fs.error());
  generate(dir.file("wal"), "shop", 100);
  const std::string config = write_config(dir);
  auto first = run_cli({"run", "--once", "--config", config});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const size_t delivered = testing::count_complete_lines(dir.file("out.jsonl"));
  generate(dir.file("wal"), "shop", 100);  // more to deliver
  fs.fill();
  auto r = run_cli({"run", "--once", "--config", config});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("checkpoint directory " + ckpt + " cannot hold a checkpoint"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(std::strerror(ENOSPC)), std::string::npos) << r.err;
  EXPECT_EQ(testing::count_complete_lines(dir.file("out.jsonl")), delivered)
      << "nothing is delivered when no checkpoint can be written";
  for (const auto& e : std::filesystem::directory_iterator(ckpt)) {
    EXPECT_NE(e.path().extension(), ".tmp") << e.path();
  }
}

}  // namespace
}  // namespace heliosdb::cdc
