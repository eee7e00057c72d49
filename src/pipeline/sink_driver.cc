#include "pipeline/sink_driver.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "common/duration_text.h"

namespace heliosdb::cdc {

using Clock = std::chrono::steady_clock;

SinkDriver::SinkDriver(EventSink& sink, const CdcConfig& config, AckTracker& tracker,
                       BatchQueue& queue, MemoryBudget& budget, PipelineObserver* observer, Run run)
    : sink_(sink),
      config_(config),
      tracker_(tracker),
      queue_(queue),
      budget_(budget),
      observer_(observer),
      run_(std::move(run)),
      reader_sends_(sink.supports_concurrent_poll()),
      context_("sink " + std::string(sink.name())) {}

Status SinkDriver::send(EventBatchBuffer* b) {
  EventBatch batch{std::span<const CdcEvent>(b->events.data(), b->size), b->first_ticket};
  // The sink may acknowledge events (releasing their bytes) before it
  // returns, while their rows are still in the slots: charge them again
  // until the batch is released.
  const uint64_t held = b->bytes;
  budget_.charge(held);
  auto t0 = Clock::now();
  Status st = sink_.send_batch(batch, tracker_);
  if (observer_) {
    observer_->on_sink_call(std::chrono::duration<double>(Clock::now() - t0).count(), b->size);
  }
  queue_.release(b);
  budget_.release(held);
  if (st.code() == ErrorCode::kCancelled) {
    // Interrupted by a stop, or the sink's destination closed for good (the
    // stdout sink's reader went away): a clean end of the run either way.
    if (!run_.stop_requested()) {
      spdlog::info("sink {} ended the run: {}", sink_.name(), st.message());
      run_.request_stop();
    }
    return st;
  }
  return st.with_context(context_);
}

Status SinkDriver::run() { return reader_sends_ ? poll_loop() : sink_loop(); }

Status SinkDriver::sink_loop() {
  const auto idle_wait = this->idle_wait();
  while (true) {
    if (auto end = run_.loop_end()) return *end;
    EventBatchBuffer* b = queue_.pop_full(std::chrono::milliseconds(0));
    if (b) {
      Status st = send(b);
      if (st.code() == ErrorCode::kCancelled && run_.stop_requested()) return Status::ok();
      HELIOSDB_RETURN_IF_ERROR(st);
      HELIOSDB_RETURN_IF_ERROR(poll(std::chrono::milliseconds(0)));
    } else if (run_.reader_done->load() && !queue_.has_full()) {
      return Status::ok();
    } else {
      // Nothing to send. If the reader is idle or waiting for
      // acknowledgements, let the sink complete what it holds now (a file
      // sink fsyncs); otherwise keep grouping and wait briefly for work.
      bool waiting = run_.reader_idle->load(std::memory_order_relaxed) || budget_.has_waiter() ||
                     tracker_.outstanding() * 4 >= static_cast<uint64_t>(config_.buffer_size) * 3;
      bool outstanding = tracker_.outstanding() > 0;
      auto poll_wait = waiting && outstanding ? idle_wait : std::chrono::milliseconds(0);
      HELIOSDB_RETURN_IF_ERROR(poll(poll_wait));
      // Sinks that complete asynchronously return from poll() at once; wait
      // briefly for new work so an idle pipeline does not spin.
      if (!queue_.has_full()) {
        queue_.wait_for_full(waiting && !outstanding ? idle_wait : std::chrono::milliseconds(1));
      }
    }
    HELIOSDB_RETURN_IF_ERROR(run_.after_poll());
  }
}

Status SinkDriver::poll_loop() {
  std::optional<Clock::time_point> stop_seen;
  bool interrupted = false;
  while (!run_.reader_done->load()) {
    if (auto end = run_.loop_end()) return *end;
    // Returns as soon as the sink has acknowledgements to report.
    HELIOSDB_RETURN_IF_ERROR(poll(idle_wait()));
    HELIOSDB_RETURN_IF_ERROR(run_.after_poll());
    // The reader may be blocked in send_batch(): interrupt it
    // stop_interrupt_delay_ms after a stop request.
    if (run_.stop_requested() && !interrupted) {
      if (!stop_seen) stop_seen = Clock::now();
      if (Clock::now() - *stop_seen >= stop_interrupt_delay()) {
        interrupt_busy_sink();
        interrupted = true;
      }
    }
  }
  return Status::ok();
}

void SinkDriver::interrupt_if_stuck(const std::atomic<bool>& sink_done) {
  if (reader_sends_ || !run_.stop_requested()) return;  // poll_loop() watches it then
  const auto give_up = Clock::now() + stop_interrupt_delay();
  while (!sink_done.load() && Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!sink_done.load()) interrupt_busy_sink();
}

void SinkDriver::interrupt_busy_sink() {
  spdlog::warn("sink {} is still busy {} after the stop request; interrupting it", sink_.name(),
               format_duration(stop_interrupt_delay()));
  sink_.interrupt();
}

void SinkDriver::drain() {
  Status drained = sink_.drain(std::chrono::milliseconds(config_.drain_timeout_ms));
  if (!drained.is_ok()) {
    spdlog::warn("sink {} did not drain: {}", sink_.name(), drained.to_string());
  }
  sink_.poll(std::chrono::milliseconds(1)).is_ok();
}

}  // namespace heliosdb::cdc
