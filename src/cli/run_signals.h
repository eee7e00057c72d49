// What the operator's signals mean while `heliosdb-cdc run` runs
// (docs/operations.md, "Signals"). Served on the SignalThread, never in a
// signal handler:
//
//   SIGTERM, SIGINT  stop: the processor flushes the sink, writes a final
//                    checkpoint and `run` exits 0. Before the pipeline runs
//                    (loading the config, creating or opening the sink) the
//                    stop is just as clean: nothing is delivered, exit 0.
//   SIGHUP           log rotation: reopen the --log-file and the file sink's
//                    output (EventProcessor::request_reopen()).
//   SIGUSR1          log a status line now.
//   SIGUSR2          logged and otherwise ignored.
//
// SIGPIPE is ignored (operator_signals.h): the stdout sink ends the run
// cleanly when its reader goes away.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "cli/log_file.h"
#include "cli/operator_signals.h"
#include "heliosdb/cdc/processor.h"

namespace heliosdb::cdc::cli {

class RunSignals {
 public:
  // `log`: the log file SIGHUP reopens (null: the log goes to stderr).
  static Result<std::unique_ptr<RunSignals>> start(std::shared_ptr<ReopenableFileLog> log);

  // SIGTERM or SIGINT has arrived (at any time since start()).
  bool stop_requested() const { return stop_.load(); }

  // While an Attachment lives, the signals reach `processor`; a stop that
  // arrived earlier reaches it at once (EventProcessor::stop() before start()
  // makes start() return OK without reading anything).
  class [[nodiscard]] Attachment {
   public:
    explicit Attachment(RunSignals* owner) : owner_(owner) {}
    ~Attachment() { owner_->attach(nullptr); }
    Attachment(const Attachment&) = delete;
    Attachment& operator=(const Attachment&) = delete;

   private:
    RunSignals* owner_;
  };
  Attachment attach(EventProcessor& processor) {
    attach(&processor);
    return Attachment(this);
  }

 private:
  explicit RunSignals(std::shared_ptr<ReopenableFileLog> log) : log_(std::move(log)) {}
  void attach(EventProcessor* processor);
  void on_signal(int signo);
  void log_status();

  std::mutex mu_;                        // guards processor_ against detaching
  EventProcessor* processor_ = nullptr;  // guarded by mu_
  std::atomic<bool> stop_{false};
  std::shared_ptr<ReopenableFileLog> log_;
  std::unique_ptr<SignalThread> thread_;  // last: stops before the rest goes
};

}  // namespace heliosdb::cdc::cli
