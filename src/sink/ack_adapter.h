// Acknowledgement bookkeeping shared by the sinks (kafka, kinesis): the
// AckReceiver behind the seed's simple send()/flush(), the range failure
// that keeps sink.h's promise (every ticket acknowledged or failed exactly
// once) when a sink gives up part way through a batch, and the runs that
// turn tickets acknowledged one at a time into few acknowledge() calls.
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <vector>

#include "heliosdb/cdc/sink.h"

namespace heliosdb::cdc::sink_internal {

// Collects the fate of events handed over through the seed's send(): no one
// tracks their acknowledgements, so only the first failure is kept, for
// flush() to return.
class SimpleAcks : public AckReceiver {
 public:
  void acknowledge(uint64_t, uint64_t) override {}
  void fail(uint64_t, Status reason) override {
    std::lock_guard lock(mu_);
    if (first_failure_.is_ok()) first_failure_ = std::move(reason);
  }
  // The first failure so far; it stays (the sink stays failed).
  Status failure() const {
    std::lock_guard lock(mu_);
    return first_failure_;
  }
  // The first failure so far, forgotten once returned.
  Status take_failure() {
    std::lock_guard lock(mu_);
    Status s = std::move(first_failure_);
    first_failure_ = Status::ok();
    return s;
  }

 private:
  mutable std::mutex mu_;
  Status first_failure_;
};

// Fails tickets [first, first + count) with `reason`, in ticket order.
inline void fail_range(AckReceiver& acks, uint64_t first, uint64_t count, const Status& reason) {
  for (uint64_t i = 0; i < count; ++i) acks.fail(first + i, reason);
}

// Successful tickets reported one at a time from any thread (Kafka delivery
// reports), passed on as one acknowledge(first, count) per run of
// consecutive tickets. Reports come one partition batch at a time, and keys
// spread consecutive tickets over the partitions, so in report order runs
// are ~1-2 long; sorting a flush's worth first turns them into a few long
// runs (one AckTracker lock each instead of one per 1-2 events). Both
// buffers keep their capacity: no allocation once warmed up.
class AckRuns {
 public:
  void add(uint64_t ticket) {
    std::lock_guard lock(run_mu_);
    acked_.push_back(ticket);
  }
  // Passes on what was added so far (to nobody if `acks` is null); one
  // flush at a time, so acknowledgements keep the order they were flushed in.
  void flush(AckReceiver* acks) {
    std::lock_guard flush_lock(flush_mu_);
    {
      std::lock_guard lock(run_mu_);
      if (acked_.empty()) return;
      to_ack_.swap(acked_);
    }
    if (!std::is_sorted(to_ack_.begin(), to_ack_.end())) std::sort(to_ack_.begin(), to_ack_.end());
    for (size_t i = 0; i < to_ack_.size();) {
      size_t j = i + 1;
      while (j < to_ack_.size() && to_ack_[j] == to_ack_[j - 1] + 1) ++j;
      if (acks) acks->acknowledge(to_ack_[i], j - i);
      i = j;
    }
    to_ack_.clear();
  }

 private:
  std::mutex run_mu_;
  std::vector<uint64_t> acked_;  // guarded by run_mu_
  std::mutex flush_mu_;          // one flush() at a time; guards to_ack_
  std::vector<uint64_t> to_ack_;
};

}  // namespace heliosdb::cdc::sink_internal
