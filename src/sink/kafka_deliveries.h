// The Kafka sink's acknowledgement bookkeeping: what each delivery report
// means for its ticket. A success joins the acknowledgement runs
// (sink/ack_adapter.h) passed on at the next flush; a failure is failed on
// the receiver at once (a message too large is acknowledged instead when
// on_message_too_large = "skip"); events that never reached librdkafka are
// settled here too, so that every ticket is acknowledged or failed exactly
// once (sink.h).
#pragma once

#include <atomic>
#include <cstdint>

#include "heliosdb/cdc/kafka.h"
#include "heliosdb/cdc/sink.h"
#include "sink/ack_adapter.h"

namespace heliosdb::cdc::kafka {

class KafkaDeliveries {
 public:
  // `options` must outlive this.
  explicit KafkaDeliveries(const KafkaOptions& options) : options_(options) {}

  // The receiver of the fates of events in flight (one at a time).
  AckReceiver* receiver() const { return acks_.load(std::memory_order_acquire); }
  void set_receiver(AckReceiver* acks) { acks_.store(acks, std::memory_order_release); }

  // A successful delivery report (the thread serving reports).
  void delivered(uint64_t ticket) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
    runs_.add(ticket);
  }
  // A failed delivery report, its Status made (kafka_errors.h).
  void failed(uint64_t ticket, Status st, bool too_large);
  // Passes the successful deliveries reported so far on, as runs.
  void flush_runs() { runs_.flush(receiver()); }

  // A message too large: skipped (acknowledged) or failed, as configured.
  void too_large(uint64_t ticket, Status st, AckReceiver& acks);
  // Events [first, first + count) never reached librdkafka because of `st`:
  // the first fails with it, the rest as not sent (kCancelled); nothing when
  // `st` is a stop (kCancelled): they are sent again next run.
  void settle_unsent(AckReceiver& acks, uint64_t first, uint64_t count, const Status& st);

  uint64_t delivered_count() const { return delivered_.load(); }
  uint64_t failed_count() const { return failed_.load(); }
  uint64_t skipped_count() const { return skipped_.load(); }

 private:
  const KafkaOptions& options_;
  std::atomic<AckReceiver*> acks_{nullptr};
  sink_internal::AckRuns runs_;
  std::atomic<uint64_t> delivered_{0}, failed_{0}, skipped_{0};
};

}  // namespace heliosdb::cdc::kafka
