// MemoryBudget: the byte budget for rows in flight between the WAL reader and
// the sink's acknowledgement ([cdc] buffer_bytes).
//
// Whoever holds row bytes charges them and releases them when it no longer
// holds them: the reader charges a batch when it registers it, the thread
// that hands a batch to the sink charges it again while the sink reads its
// slots (a sink may acknowledge events before send_batch() returns, while
// their bytes are still in the slots), and the AckTracker releases each
// event's bytes when it is acknowledged. The reader asks fits() before it
// copies a row into a batch slot and waits in wait_for_room() when the row
// does not fit.
//
// Charges and releases are per batch or per acknowledge() call, never per
// event, and cost one atomic each; the lock only serves a waiting reader.
//
// A row larger than the whole limit fits once nothing is charged: it passes
// alone instead of stopping the pipeline for good.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace heliosdb::cdc {

class MemoryBudget {
 public:
  explicit MemoryBudget(uint64_t limit) : limit_(limit) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  uint64_t limit() const { return limit_; }
  // Bytes charged now. Lock-free.
  uint64_t used() const { return used_.load(); }
  // Whether `bytes` more fit now, given `held` bytes the caller holds but has
  // not charged yet (the batch it is filling). Lock-free.
  bool fits(uint64_t held, uint64_t bytes) const {
    const uint64_t now = used() + held;
    return now == 0 || now + bytes <= limit_;
  }
  void charge(uint64_t bytes) { used_.fetch_add(bytes); }
  // Gives back bytes charged before; wakes a reader waiting for room.
  void release(uint64_t bytes) {
    used_.fetch_sub(bytes);
    if (waiting_.load()) {
      std::lock_guard lock(mu_);
      room_cv_.notify_all();
    }
  }
  // Waits until fits(0, bytes), or until `stop()` returns true (then false).
  // `stop` is polled every 20 ms, so a flag set by a signal handler is seen.
  bool wait_for_room(uint64_t bytes, const std::function<bool()>& stop) {
    std::unique_lock lock(mu_);
    // Set before looking (both sequentially consistent): a release() after
    // the look sees it and wakes us.
    waiting_.store(true);
    while (!fits(0, bytes)) {
      if (stop()) {
        waiting_.store(false);
        return false;
      }
      room_cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
    waiting_.store(false);
    return true;
  }
  // Whether a reader waits for room now (the sink thread then lets its sink
  // complete what it holds instead of grouping more).
  bool has_waiter() const { return waiting_.load(std::memory_order_relaxed); }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
  std::atomic<bool> waiting_{false};
  std::mutex mu_;
  std::condition_variable room_cv_;
};

}  // namespace heliosdb::cdc
