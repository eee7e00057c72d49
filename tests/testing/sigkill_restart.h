// The SIGKILL-mid-stream scenario, run by the sink conformance suite
// (tests/integration/sink_conformance_test.cc) for every sink: HeliosDB keeps
// writing (a following `wal generate`) while the daemon (`run --config`, or a
// program embedding the library) is started and SIGKILLed several times, then
// one `run --once` catches up. The suite then checks the destination for lost
// changes; the kills are the same for all sinks.
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
  // The daemon and the catch-up run; empty: `heliosdb-cdc run --config
  // <config>` and the same with --once.
  std::vector<std::string> daemon;
  std::vector<std::string> catch_up;
  // Where the daemon's and the catch-up's stdout go (the stdout sink's
  // output), appended; empty: into daemon.log (the daemon) or captured (the
  // catch-up).
  std::string stdout_path;
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
      std::vector<std::string> argv = s.daemon;
      if (argv.empty()) argv = {cli_path(), "run", "--config", s.config};
      const std::string log = s.log_dir + "/daemon.log";
      pid_t daemon = spawn_with_output(argv, s.stdout_path.empty() ? log : s.stdout_path, log);
      std::this_thread::sleep_for(s.run_for(i));
      ASSERT_EQ(kill(daemon, SIGKILL), 0);
      ASSERT_EQ(wait_exit(daemon), 128 + SIGKILL) << "daemon exited on its own; log:\n"
                                                  << read_file(s.log_dir + "/daemon.log");
      if (s.after_kill) s.after_kill(i);
    }
  }
  std::vector<std::string> argv = s.catch_up;
  if (argv.empty()) argv = {cli_path(), "run", "--config", s.config, "--once"};
  if (s.stdout_path.empty()) {
    auto r = run_command(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    return;
  }
  const std::string log = s.log_dir + "/catch-up.log";
  pid_t catch_up = spawn_with_output(argv, s.stdout_path, log);
  ASSERT_EQ(wait_exit(catch_up), 0) << read_file(log);
}

}  // namespace heliosdb::cdc::testing
