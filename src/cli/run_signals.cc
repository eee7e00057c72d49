#include "cli/run_signals.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/wall_clock.h"

namespace heliosdb::cdc::cli {

Result<std::unique_ptr<RunSignals>> RunSignals::start(std::shared_ptr<ReopenableFileLog> log) {
  std::unique_ptr<RunSignals> s(new RunSignals(std::move(log)));
  auto thread = SignalThread::start([p = s.get()](int signo) { p->on_signal(signo); });
  if (!thread) return thread.status();
  s->thread_ = std::move(*thread);
  return s;
}

void RunSignals::attach(EventProcessor* processor) {
  std::lock_guard lock(mu_);
  processor_ = processor;
  if (processor_ && stop_.load()) processor_->stop();
}

void RunSignals::on_signal(int signo) {
  const std::string_view name = signal_name(signo);
  std::lock_guard lock(mu_);
  switch (signo) {
    case SIGTERM:
    case SIGINT:
      if (stop_.exchange(true)) {
        spdlog::info("received {} again: already stopping", name);
        return;
      }
      spdlog::info("received {}: stopping (the sink is flushed and a final checkpoint written)",
                   name);
      if (processor_) processor_->stop();
      return;
    case SIGHUP:
      if (log_) {
        Status st = log_->reopen();
        if (!st.is_ok()) spdlog::error("{}", st.to_string());
      }
      // Logged after the log's reopen: the new file starts with this line.
      if (log_) {
        spdlog::info(
            "received SIGHUP: reopened the log file {}; a file sink reopens its output "
            "(other sinks write no file)",
            log_->path());
      } else {
        spdlog::info("received SIGHUP: a file sink reopens its output (other sinks write no file)");
      }
      if (processor_) processor_->request_reopen();
      return;
    case SIGUSR1:
      log_status();
      return;
    default:
      spdlog::info("received {}: ignored (it has no meaning for heliosdb-cdc)", name);
      return;
  }
}

void RunSignals::log_status() {
  if (!processor_) {
    spdlog::info("status (SIGUSR1): starting, the pipeline is not running yet");
    return;
  }
  const PipelineStats& s = processor_->stats();
  const int64_t oldest = s.oldest_unacked_ms.load();
  const double lag =
      oldest ? std::max<double>(0, static_cast<double>(wall_clock_ms() - oldest) / 1000.0) : 0;
  spdlog::info(
      "status (SIGUSR1): {} changes read, {} events delivered, {} filtered, {} failed, "
      "lag {:.3f} s, wal sequence {}, checkpoint at commit sequence {}",
      s.events_read.load(), s.events_acknowledged.load(), s.events_filtered.load(),
      s.events_failed.load(), lag, s.wal_sequence.load(), s.checkpoint_sequence.load());
}

}  // namespace heliosdb::cdc::cli
