// The Kinesis sink's transport: lanes that send queued records with
// PutRecords, resend what failed (sink/retry_policy.h) and report each
// record's fate to its AckReceiver.
//
// Each lane is one thread with one kept-alive connection (a KinesisApi) and
// at most one PutRecords call in flight; a record goes to the lane chosen by
// a hash of its partition key. A lane takes records from the front of its
// queue into a call (at most batch_size records, 5 MiB, never two records of
// the same partition key, and never a record whose key has an earlier record
// left behind), sends it, acknowledges the accepted entries, and resends
// only the failed entries (by index) after a backoff with full jitter until
// they are accepted or max_retries is spent. While a call is being retried
// the lane takes nothing new, so a key's later event can never overtake an
// earlier one. The first error given up on is fatal: every record still
// queued or in a call is failed with kCancelled, and nothing more is sent.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "heliosdb/cdc/kinesis.h"
#include "sink/kinesis_client.h"
#include "sink/kinesis_encoder.h"
#include "sink/retry_policy.h"

namespace heliosdb::cdc::kinesis {

class KinesisLanes {
 public:
  // `options` and `retry` must outlive the lanes.
  KinesisLanes(const KinesisOptions& options, sink_internal::RetryPolicy& retry);
  ~KinesisLanes();  // stop()
  KinesisLanes(const KinesisLanes&) = delete;
  KinesisLanes& operator=(const KinesisLanes&) = delete;

  // One lane per API client; starts their threads.
  void start(std::vector<std::unique_ptr<KinesisApi>> apis);

  // Queues `records` (of `bytes` in all) on their lanes, waiting for room
  // (backpressure; a batch larger than the bound goes in alone). After a
  // fatal error: fails them all (kCancelled) and returns that error.
  Status enqueue(std::vector<Record>& records, size_t bytes);

  // Waits (at most `timeout`) until some call completes; the fatal error if any.
  Status poll(std::chrono::milliseconds timeout);
  // Waits until every queued record is settled; kTimeout if some are not.
  Status drain(std::chrono::milliseconds timeout);
  // Stops the threads: at once if records are still outstanding (their
  // tickets stay unsettled: they are sent again after a restart).
  void stop();

  // Makes `st` the fatal error (the first one wins) and wakes everyone.
  void set_fatal(const Status& st);
  // The status of records not sent because of the fatal error.
  Status cancelled_status() const;

  KinesisSinkStats stats() const;

 private:
  struct Lane {
    std::deque<Record> queue;
    std::unique_ptr<KinesisApi> api;
    std::thread thread;
  };

  void lane_loop(Lane& lane);
  void take_records(Lane& lane, std::vector<Record>& out);
  void send_call(Lane& lane, std::vector<Record>& call);
  void acknowledge(const std::vector<Record*>& done);
  void give_up(const std::vector<Record*>& records, const Status& st);
  bool sleep_backoff(int attempt);
  std::string record_text(const Record& r) const;

  const KinesisOptions& options_;
  sink_internal::RetryPolicy& retry_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable space_cv_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  size_t outstanding_ = 0;
  size_t max_outstanding_ = 0;
  uint64_t calls_completed_ = 0;
  size_t outstanding_bytes_ = 0;
  size_t max_outstanding_bytes_ = 0;
  Status fatal_;
  bool stopping_ = false;
  bool aborting_ = false;
  KinesisSinkStats stats_;

  mutable std::mutex fatal_mu_;
  Status fatal_copy_;
};

}  // namespace heliosdb::cdc::kinesis
