// The SIGKILL-mid-stream scenario the end-to-end tests share: HeliosDB keeps
// writing (a following `wal generate`) while the daemon is started and
// SIGKILLed several times, then one `run --once` catches up. Each test then
// checks its destination for lost changes; the kills are the same for all.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "testing/test_util.h"

namespace heliosdb::cdc::testing {

struct SigkillRestarts {
  std::string wal_dir;
  std::string config;
  std::string log_dir;  // generator.log and daemon.log go here
  std::string database = "shop";
  int rate = 5000;  // events per second the generator writes
  uint64_t seed = 8;
  std::vector<std::string> extra_generator_args;  // e.g. --segment-bytes N
  int kills = 5;
  // How long the daemon runs before kill number i.
  std::function<std::chrono::milliseconds(int i)> run_for;
  // Called after kill number i (the daemon is reaped), e.g. to read the checkpoint.
  std::function<void(int i)> after_kill;
};

// Runs the scenario; fatal gtest failures inside, so call it under
// ASSERT_NO_FATAL_FAILURE.
inline void run_sigkill_restarts(const SigkillRestarts& s) {
  std::vector<std::string> gen = {cli_path(),  "wal",           "generate",     "--dir",
                                  s.wal_dir,   "--database",    s.database,     "--events",
                                  "100000000", "--tables",      "users,orders", "--txn-size",
                                  "3",         "--abort-ratio", "0.15",         "--value-bytes",
                                  "48"};
  gen.insert(gen.end(), s.extra_generator_args.begin(), s.extra_generator_args.end());
  for (std::string a : {std::string("--rate"), std::to_string(s.rate), std::string("--follow"),
                        std::string("--seed"), std::to_string(s.seed)})
    gen.push_back(a);
  pid_t generator = spawn_with_log(gen, s.log_dir + "/generator.log");
  // The generator is stopped even when a kill below fails the test.
  struct Stop {
    pid_t pid;
    ~Stop() {
      kill(pid, SIGKILL);
      wait_exit(pid);
    }
  };
  {
    Stop stop{generator};
    for (int i = 0; i < s.kills; ++i) {
      pid_t daemon =
          spawn_with_log({cli_path(), "run", "--config", s.config}, s.log_dir + "/daemon.log");
      std::this_thread::sleep_for(s.run_for(i));
      ASSERT_EQ(kill(daemon, SIGKILL), 0);
      ASSERT_EQ(wait_exit(daemon), 128 + SIGKILL) << "daemon exited on its own; log:\n"
                                                  << read_file(s.log_dir + "/daemon.log");
      if (s.after_kill) s.after_kill(i);
    }
  }
  auto r = run_cli({"run", "--config", s.config, "--once"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace heliosdb::cdc::testing
