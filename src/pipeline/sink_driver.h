// SinkDriver: how the pipeline serves a sink, in either threading mode.
//
// Two modes, chosen by EventSink::supports_concurrent_poll():
//  - the sink thread sends: batches arrive on the BatchQueue from the
//    reader, and the sink thread sends each, polls for acknowledgements and
//    lets the processor checkpoint (run() is sink_loop());
//  - the reader sends (Kafka): the reader thread sends each batch as soon
//    as it is full, while its events are still in that core's cache, and
//    the sink thread only polls and checkpoints (run() is poll_loop()).
//
// Either way a stop does not wait forever on a sink blocked in send_batch()
// (destination down, its queue full): stop_interrupt_delay_ms after the stop
// request the sink is interrupted. What it had not delivered is not
// acknowledged, so it is sent again next time. At the end, drain() gives the
// sink drain_timeout_ms to deliver what it holds.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "heliosdb/cdc/config.h"
#include "heliosdb/cdc/processor.h"
#include "heliosdb/cdc/sink.h"
#include "heliosdb/cdc/status.h"
#include "pipeline/ack_tracker.h"
#include "pipeline/batch_queue.h"
#include "pipeline/memory_budget.h"

namespace heliosdb::cdc {

class SinkDriver {
 public:
  // What the driver asks of the processor that runs it.
  struct Run {
    // A stop was requested (stop(), or the sink ended the run).
    std::function<bool()> stop_requested;
    // Marks the run as stopping (the sink's destination closed for good).
    std::function<void()> request_stop;
    // OK once another thread failed the run (its status is the one
    // reported), the tracker's first failure, or nullopt: what ends a loop.
    std::function<std::optional<Status>()> loop_end;
    // Bookkeeping after each poll: statistics, checkpoint, status line.
    std::function<Status()> after_poll;
    const std::atomic<bool>* reader_done = nullptr;  // the reader thread has returned
    const std::atomic<bool>* reader_idle = nullptr;  // the reader is caught up with the source
  };

  SinkDriver(EventSink& sink, const CdcConfig& config, AckTracker& tracker, BatchQueue& queue,
             MemoryBudget& budget, PipelineObserver* observer, Run run);

  // True if the reader thread sends batches itself (send()); otherwise it
  // hands them to the queue and run() sends them.
  bool reader_sends() const { return reader_sends_; }
  // "sink <name>", the context of the sink's errors.
  const std::string& context() const { return context_; }

  // Sends one registered batch and releases it to the queue. kCancelled:
  // interrupted by a stop, or the sink ended the run.
  Status send(EventBatchBuffer* batch);
  // Serves the sink's acknowledgements, waiting up to `timeout`.
  Status poll(std::chrono::milliseconds timeout) {
    return sink_.poll(timeout).with_context(context_);
  }
  // The sink thread's loop, until the reader is done and everything queued
  // was sent, or the run fails.
  Status run();
  // On the reader thread once it has returned, when the sink thread sends:
  // if the run is stopping, waits until `sink_done` or
  // stop_interrupt_delay_ms, then interrupts the sink.
  void interrupt_if_stuck(const std::atomic<bool>& sink_done);
  // At the end of the run: drain_timeout_ms to deliver what the sink holds,
  // then what it acknowledged by then is served.
  void drain();

 private:
  Status sink_loop();
  Status poll_loop();
  std::chrono::milliseconds idle_wait() const {
    return std::chrono::milliseconds(std::min<uint32_t>(config_.poll_interval_ms, 20));
  }
  std::chrono::milliseconds stop_interrupt_delay() const {
    return std::chrono::milliseconds(config_.stop_interrupt_delay_ms);
  }
  void interrupt_busy_sink();

  EventSink& sink_;
  const CdcConfig& config_;
  AckTracker& tracker_;
  BatchQueue& queue_;
  MemoryBudget& budget_;
  PipelineObserver* observer_;
  Run run_;
  const bool reader_sends_;
  const std::string context_;
};

}  // namespace heliosdb::cdc
