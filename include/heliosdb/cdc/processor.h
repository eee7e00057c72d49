// EventProcessor: tails the WAL, assembles committed transactions, filters,
// hands batches to a sink and checkpoints what the sink acknowledged.
//
//   auto processor = EventProcessor(config, std::make_unique<MySink>());
//   processor.with_filter(filter);
//   Status st = processor.start();   // runs until stop() or SIGTERM/SIGINT
//
// Delivery: at least once, in commit order. See sink.h for the contract with
// sinks and docs/operations.md for checkpoints.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "heliosdb/cdc/config.h"
#include "heliosdb/cdc/filter.h"
#include "heliosdb/cdc/sink.h"
#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

// Counters the processor keeps while it runs. Each is written by one pipeline
// thread and may be read by any thread (relaxed atomics, no lock per event).
struct PipelineStats {
  std::atomic<uint64_t> events_read{0};        // change entries of our database read from the WAL
  std::atomic<uint64_t> events_emitted{0};     // committed changes handed to the sink
  std::atomic<uint64_t> events_acknowledged{0};// acknowledged by the sink
  std::atomic<uint64_t> events_filtered{0};    // dropped by the filter
  std::atomic<uint64_t> events_failed{0};      // given up on by the sink
  std::atomic<uint64_t> changes_aborted{0};    // changes dropped because their txn aborted
  std::atomic<uint64_t> transactions_committed{0};
  std::atomic<uint64_t> transactions_aborted{0};
  std::atomic<uint64_t> wal_sequence{0};       // last WAL sequence read
  std::atomic<uint64_t> checkpoint_sequence{0};// commit sequence covered by the last checkpoint
  std::atomic<int64_t> oldest_unacked_ms{0};   // WAL timestamp of the oldest unacknowledged change, 0 if none
  std::atomic<uint64_t> checkpoints_written{0};
};

// Observes the pipeline's per-event work; used by the metrics module. Called
// from pipeline threads; implementations must be cheap and thread-safe.
class PipelineObserver {
 public:
  virtual ~PipelineObserver() = default;
  // A committed change was dropped by the filter.
  virtual void on_filtered(const CdcEvent& event) {}
  // `event` was serialized/handed over; `bytes` is its size on the wire if known.
  virtual void on_emitted(const CdcEvent& event) {}
  // A batch was handed to the sink in `seconds`.
  virtual void on_sink_call(double seconds, size_t events) {}
};

class EventProcessor {
 public:
  EventProcessor(CdcConfig config, std::unique_ptr<EventSink> sink);
  ~EventProcessor();
  EventProcessor(EventProcessor&&) noexcept;
  EventProcessor& operator=(EventProcessor&&) noexcept;

  // Installs a filter applied before events reach the sink.
  EventProcessor& with_filter(EventFilter filter);
  EventProcessor& with_observer(std::shared_ptr<PipelineObserver> observer);
  // Stop when SIGTERM or SIGINT arrives (default true for start(); the
  // handlers are installed while start() runs).
  EventProcessor& handle_signals(bool enabled);

  // Runs until stop() is called or SIGTERM/SIGINT arrives, then flushes the
  // sink, writes a final checkpoint and returns OK. Returns an error if the
  // WAL is corrupt, the checkpoint cannot be resumed or the sink fails.
  Status start();
  // Delivers everything the WAL holds now (up to its current end), flushes,
  // checkpoints and returns.
  Status run_once();
  // Asks a running start() to finish. Safe from any thread and from a signal
  // handler.
  void stop();

  const PipelineStats& stats() const;
  const CdcConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace heliosdb::cdc
