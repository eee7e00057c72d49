// EventProcessor: tails the WAL, assembles committed transactions, filters,
// hands batches to a sink and checkpoints what the sink acknowledged.
//
//   auto processor = EventProcessor(config, std::make_unique<MySink>());
//   processor.with_filter(filter);
//   Status st = processor.start();   // runs until stop()
//
// The processor installs no signal handlers and changes no signal mask:
// signals belong to the program. heliosdb-cdc blocks them from exec and calls
// stop() / request_reopen() from a thread of its own (src/cli/run_signals.h);
// a program embedding the library does the same with its own signal handling
// (e.g. a thread in sigwait() that calls stop()).
//
// Delivery: at least once, in commit order. See sink.h for the contract with
// sinks and docs/operations.md for checkpoints.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/config.h"
#include "heliosdb/cdc/filter.h"
#include "heliosdb/cdc/sink.h"
#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

// A snapshot's progress (the PostgreSQL source's initial or requested
// snapshots of existing rows): one entry per table of the current or last
// snapshot, in the source's order. The HeliosDB WAL never has one.
struct SnapshotTableProgress {
  std::string table;            // "public.users"
  uint64_t rows = 0;            // rows read (READ events handed on) so far
  int64_t estimated_rows = -1;  // the server's estimate when it started; -1: unknown
  bool done = false;
  bool operator==(const SnapshotTableProgress&) const = default;
};
struct SnapshotProgress {
  bool running = false;
  std::vector<SnapshotTableProgress> tables;
  bool operator==(const SnapshotProgress&) const = default;
};

// The latest SnapshotProgress, as the reader thread publishes it: at most
// every 200 ms while a snapshot runs, and once more when it ends. Never
// written when no snapshot runs, so with the HeliosDB WAL it stays at
// version 0. Thread-safe; read() copies under a lock (a scrape, a log line).
class SnapshotProgressBoard {
 public:
  void publish(SnapshotProgress progress) {
    std::lock_guard lock(mu_);
    progress_ = std::move(progress);
    version_.fetch_add(1, std::memory_order_release);
  }
  SnapshotProgress read() const {
    std::lock_guard lock(mu_);
    return progress_;
  }
  // How many times publish() was called: 0 while no snapshot ever ran (one
  // atomic load, for the periodic work that has nothing to do then).
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  SnapshotProgress progress_;
  std::atomic<uint64_t> version_{0};
};

// The source's view of its server, for /health and /metrics (the
// PostgreSQL source: its replication slot). Figures a source does not know
// stay negative and are not exported.
struct SourceHealth {
  int64_t retained_wal_bytes = -1;    // WAL the slot holds (server LSN - restart_lsn)
  int64_t lag_bytes = -1;             // server LSN - the flush position reported
  double heartbeat_rtt_seconds = -1;  // the last heartbeat's write-to-arrival time
  std::string slot_wal_status;        // pg_replication_slots.wal_status ("" unknown)
  uint64_t slots_lost = 0;            // slots found invalidated or dropped
  // Why the source is not well ("" when it is): `failing` makes /health
  // answer 503 (a stall), otherwise it says "degraded" with 200.
  std::string problem;
  bool failing = false;
  bool operator==(const SourceHealth&) const = default;
};

// A value one thread publishes whole and others read whole (a copy under
// a lock: for small values read now and then, such as by a scrape).
template <typename T>
class LatestValue {
 public:
  void publish(T v) {
    std::lock_guard lock(mu_);
    value_ = std::move(v);
  }
  T read() const {
    std::lock_guard lock(mu_);
    return value_;
  }

 private:
  mutable std::mutex mu_;
  T value_{};
};

// The latest SourceHealth, written by the source's own thread (it goes on
// while a stalled sink holds the pipeline's threads), read by scrapes. A
// class of its own, so source.h can declare it without this header.
class SourceHealthBoard : public LatestValue<SourceHealth> {};

// Counters the processor keeps while it runs. Each is written by one pipeline
// thread and may be read by any thread (relaxed atomics, no lock per event).
struct PipelineStats {
  std::atomic<uint64_t> events_read{0};          // change entries of our database read from the WAL
  std::atomic<uint64_t> events_emitted{0};       // committed changes handed to the sink
  std::atomic<uint64_t> events_acknowledged{0};  // acknowledged by the sink
  std::atomic<uint64_t> events_filtered{0};      // dropped by the filter
  std::atomic<uint64_t> events_failed{0};        // given up on by the sink
  std::atomic<uint64_t> changes_aborted{0};      // changes dropped because their txn aborted
  std::atomic<uint64_t> transactions_committed{0};
  std::atomic<uint64_t> transactions_aborted{0};
  std::atomic<uint64_t> wal_sequence{0};         // last WAL sequence read
  std::atomic<uint64_t> checkpoint_sequence{0};  // commit sequence covered by the last checkpoint
  std::atomic<int64_t> oldest_unacked_ms{
      0};  // WAL timestamp of the oldest unacknowledged change, 0 if none
  std::atomic<uint64_t> checkpoints_written{0};
  // Connections to the source's server made again after a loss (PostgreSQL).
  std::atomic<uint64_t> source_reconnects{0};
  // The snapshot in progress, if any (PostgreSQL source).
  SnapshotProgressBoard snapshot;
  // The source's server (PostgreSQL source).
  SourceHealthBoard source_health;
};

// One event the sink acknowledged, as PipelineObserver::on_acknowledged sees
// it. Plain values so the processor need not keep whole events in flight.
struct AckedEvent {
  OperationType operation = OperationType::Insert;
  // The event's table; only valid during the call.
  std::string_view table;
  // key.size() + value.size() + old_value.size() of the event as it was
  // handed to the sink (after transforms): the row images delivered. It does
  // not depend on the serialization format (sinks serialize; the processor
  // never sees their bytes).
  uint64_t bytes = 0;
  // CdcEvent::timestamp: ms since the Unix epoch, from the WAL entry.
  int64_t wal_timestamp_ms = 0;
  // Wall clock (ms since the Unix epoch) when the acknowledgement arrived;
  // read once per AckReceiver::acknowledge() call. 0: the observer reads the
  // clock itself.
  int64_t acked_at_ms = 0;
};

// Observes the pipeline's per-event work; used by the metrics module. Called
// from pipeline threads; implementations must be cheap and thread-safe.
class PipelineObserver {
 public:
  virtual ~PipelineObserver() = default;
  // start()/run_once() has opened the sink and resumed from the checkpoint and
  // is about to read the WAL. Called once per start()/run_once().
  virtual void on_started() {}
  // start()/run_once() is about to return `result` (OK after a clean stop or
  // when run_once() reached the end of the WAL).
  virtual void on_stopped(const Status& result) {}
  // The sink acknowledged one event (from the thread that reports the
  // acknowledgement, after events_acknowledged was incremented for it).
  virtual void on_acknowledged(const AckedEvent& event) {}
  // The sink acknowledged `events` at once (what the processor calls: one
  // call per AckReceiver::acknowledge(), so an observer can aggregate before
  // it touches shared state). Default: on_acknowledged() for each.
  virtual void on_acknowledged_batch(std::span<const AckedEvent> events) {
    for (const AckedEvent& e : events) on_acknowledged(e);
  }
  // A committed change was dropped by the filter.
  virtual void on_filtered(const CdcEvent& event) {}
  // `event` was serialized/handed over; `bytes` is its size on the wire if known.
  virtual void on_emitted(const CdcEvent& event) {}
  // A batch was handed to the sink in `seconds`.
  virtual void on_sink_call(double seconds, size_t events) {}
};

class CheckpointStore;
class SourceFactory;

class EventProcessor {
 public:
  EventProcessor(CdcConfig config, std::unique_ptr<EventSink> sink);
  ~EventProcessor();
  EventProcessor(EventProcessor&&) noexcept;
  EventProcessor& operator=(EventProcessor&&) noexcept;

  // Installs a filter applied before events reach the sink.
  EventProcessor& with_filter(EventFilter filter);
  EventProcessor& with_observer(std::shared_ptr<PipelineObserver> observer);
  // Keeps the checkpoint in `store` instead of the file store in
  // checkpoint_dir (the default). CheckpointStore is the library's internal
  // seam (src/pipeline/checkpoint_store.h) for stores built with it, such as
  // a Kafka-topic store; set before start()/run_once()/lock_checkpoint().
  EventProcessor& with_checkpoint_store(std::unique_ptr<CheckpointStore> store);
  // Reads committed changes from `source` instead of the HeliosDB WAL in
  // wal_path (the default). SourceFactory is the library's internal source
  // seam (src/source/source.h); set before start()/run_once().
  EventProcessor& with_source(std::unique_ptr<SourceFactory> source);
  // Calls `listener` with the snapshot's progress each time the reader
  // publishes it (PipelineStats::snapshot: at most every 200 ms while a
  // snapshot runs, last with running = false when it ends); never while no
  // snapshot runs. Called from the reader thread, so it must be quick (the
  // daemon redraws its progress bar). Set before start()/run_once().
  EventProcessor& with_snapshot_listener(std::function<void(const SnapshotProgress&)> listener);
  // Does nothing, whatever `enabled` is; kept so that existing callers
  // compile. The processor used to install SIGTERM/SIGINT handlers while
  // start() ran; it no longer touches signals: call stop() from your own
  // signal handling (see the top of this file).
  EventProcessor& handle_signals(bool enabled);

  // Takes this pipeline's exclusive lock in checkpoint_dir now
  // ("<checkpoint_dir>/<database>.lock"; start() and run_once() take it
  // otherwise). An application calls it before it opens other resources (the
  // daemon: its metrics port), so that a second instance on the same
  // checkpoint fails first with an error naming the lock and the process
  // holding it. Held until the next start()/run_once() returns.
  Status lock_checkpoint();

  // Runs until stop() is called, then flushes the sink, writes a final
  // checkpoint and returns OK. Returns an error if the WAL is corrupt, the
  // checkpoint cannot be resumed or the sink fails. A sink whose destination
  // closed for good (send_batch() returned kCancelled, e.g. the stdout sink's
  // reader went away) ends the run like stop().
  Status start();
  // Delivers everything the WAL holds now (up to its current end), flushes,
  // checkpoints and returns.
  Status run_once();
  // Asks start() or run_once() to finish. Safe from any thread. A stop while
  // the sink's open() waits for its destination interrupts it
  // (EventSink::interrupt()), and that run returns OK having delivered and
  // checkpointed nothing; a stop before start() makes the next start() or
  // run_once() return OK at once in the same way. From a signal handler it
  // is safe only if the sink's interrupt() is async-signal-safe (the
  // built-in sinks' set an atomic flag).
  void stop();
  // Asks the sink to reopen its output (EventSink::request_reopen()): the
  // file sinks reopen their path, for log rotation by rename. Safe from any
  // thread; returns at once.
  void request_reopen();

  const PipelineStats& stats() const;
  const CdcConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace heliosdb::cdc
