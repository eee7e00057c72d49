// The signals an operator sends to heliosdb-cdc, and where they are served.
//
// The process blocks SIGTERM, SIGINT, SIGHUP, SIGUSR1 and SIGUSR2 and ignores
// SIGPIPE before anything else runs (block_operator_signals(), called from
// the executable's .preinit_array: before the constructors of any library),
// so every thread inherits the mask, no thread is ever interrupted or killed
// by one of them, and a write to a closed pipe fails with EPIPE instead of
// killing the process. `run` then serves them on one thread of its own
// (SignalThread), which calls what each signal means (run_signals.h); the
// other subcommands restore the default dispositions (a SIGTERM ends them,
// SIGPIPE ends `wal dump | head`).
#pragma once

#include <signal.h>

#include <functional>
#include <memory>
#include <string_view>
#include <thread>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::cli {

// SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2.
sigset_t operator_signal_set();

// Blocks the operator signals in the calling thread and ignores SIGPIPE. Only
// async-signal-safe calls: it runs before the C++ runtime is initialized.
void block_operator_signals();

// Back to the dispositions the process started with: the operator signals
// unblocked, SIGPIPE default. For the subcommands that serve no signal.
void restore_default_signals();

// "SIGTERM", "SIGHUP", ... ("signal N" for others).
std::string_view signal_name(int signo);

// Waits for the operator signals on a dedicated thread and calls `handler`
// there, one signal at a time, in arrival order. The signals must be blocked
// in every thread (block_operator_signals()); one that arrived before the
// thread started is served as soon as it does. The handler runs on an
// ordinary thread, not in a signal handler: it may log, lock and call into
// the pipeline, but must return promptly.
class SignalThread {
 public:
  using Handler = std::function<void(int signo)>;
  // kIo if the kernel refuses a signalfd or an eventfd (out of descriptors).
  static Result<std::unique_ptr<SignalThread>> start(Handler handler);
  ~SignalThread();  // stops serving (signals arriving later stay blocked) and joins
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

 private:
  explicit SignalThread(Handler handler) : handler_(std::move(handler)) {}
  void loop();

  Handler handler_;
  int signal_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: the destructor's request to stop
  std::thread thread_;
};

}  // namespace heliosdb::cdc::cli
