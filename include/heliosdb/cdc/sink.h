// EventSink: where events go. Implement it to deliver to your own system.
//
// Delivery promise: at least once. The EventProcessor advances its durable
// checkpoint only over events the sink has acknowledged (or that filters
// dropped), in source order, so a crash never loses an acknowledged event and
// never skips an unacknowledged one; after a crash, events after the last
// checkpoint are delivered again with the same event_id.
//
// Two ways to implement a sink:
//  * The seed's simple form: send() each event, flush() to make them durable,
//    close() at the end, name() for logs and metrics. The default
//    send_batch() calls send() for each event, then flush(), then acknowledges
//    the whole batch.
//  * The batched, asynchronous form for fast sinks: override send_batch() to
//    hand the batch to your client without waiting, and report every event's
//    fate later through the AckReceiver (from any thread), e.g. from a Kafka
//    delivery report. poll() and drain() let the processor drive the client.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

#include "heliosdb/cdc/event.h"
#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

// Receives the fate of events handed to EventSink::send_batch. Thread-safe:
// a sink may call it from any thread. Every ticket must eventually be
// acknowledged or failed exactly once.
class AckReceiver {
 public:
  virtual ~AckReceiver() = default;
  // Events with tickets [first_ticket, first_ticket + count) are durably
  // accepted by the destination.
  virtual void acknowledge(uint64_t first_ticket, uint64_t count) = 0;
  // The event with `ticket` was given up on. The processor stops with
  // `reason` and never checkpoints past this event.
  virtual void fail(uint64_t ticket, Status reason) = 0;
};

// A batch of events in source order. events[i] has ticket first_ticket + i.
// The events (and their bytes) are valid only during the send_batch() call.
struct EventBatch {
  std::span<const CdcEvent> events;
  uint64_t first_ticket = 0;
};

class EventSink {
 public:
  virtual ~EventSink() = default;

  // The seed's interface.
  virtual Status send(const CdcEvent& event) = 0;
  virtual Status flush() = 0;
  virtual Status close() = 0;
  virtual std::string_view name() const = 0;

  // Called once before the first event: check the destination (reachable,
  // topic or stream exists, credentials accepted) and fail with a clear
  // message if it is not usable. Default: nothing to check.
  virtual Status open() { return Status::ok(); }

  // Hands over a batch. May return before the events are durable; their fate
  // is reported through `acks`. May block while the sink's own bounded queue
  // is full (backpressure). An error return stops the pipeline with that
  // error; kCancelled ends it cleanly instead, as EventProcessor::stop() does
  // (for a destination that closed for good, like the stdout sink's reader
  // going away; events not acknowledged are sent again by the next run).
  virtual Status send_batch(const EventBatch& batch, AckReceiver& acks);

  // Gives an asynchronous sink time to make progress (serve delivery
  // reports, retry) for at most `timeout`. Default: returns at once.
  virtual Status poll(std::chrono::milliseconds timeout);

  // Waits until every event handed over so far has been acknowledged or
  // failed, for at most `timeout`; kTimeout if some are still in flight.
  // Default: flush().
  virtual Status drain(std::chrono::milliseconds timeout);

  // Asks an open(), send_batch() or drain() blocked on the destination to
  // return early with kCancelled, and any later such call too (the run is
  // ending). Called from another thread: at once when a stop arrives during
  // open(), and when the processor is stopping and a send_batch() or drain()
  // has not returned for a while. Default: nothing.
  virtual void interrupt() {}

  // Asks the sink to close and reopen its destination: the file sinks reopen
  // their path, so that after a rotation renamed the file they write a new
  // one (the daemon calls it on SIGHUP). Called from any thread; returns at
  // once. The sink reopens on its own thread at its next send_batch() or
  // poll(), after what it wrote before is durable and acknowledged.
  // Default: nothing (no file to reopen).
  virtual void request_reopen() {}

  // True if poll() may run on one thread while send_batch() runs on another
  // (and interrupt() on a third). The processor then calls send_batch() on
  // the thread that reads the WAL, right after it fills each batch, while
  // the events are still in that core's cache, and serves poll() from its
  // other thread; otherwise batches cross to a sink thread that does both.
  // Default: false.
  virtual bool supports_concurrent_poll() const { return false; }
};

}  // namespace heliosdb::cdc
