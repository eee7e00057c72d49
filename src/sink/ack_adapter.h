// Acknowledgement bookkeeping shared by the sinks (kafka, kinesis): the
// AckReceiver behind the seed's simple send()/flush(), and the range failure
// that keeps sink.h's promise (every ticket acknowledged or failed exactly
// once) when a sink gives up part way through a batch.
#pragma once

#include <cstdint>
#include <mutex>

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

}  // namespace heliosdb::cdc::sink_internal
