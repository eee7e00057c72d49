// A fixed pool of event batches passed from the reader thread to the sink
// thread. Batches are recycled, so their CdcEvents keep their string
// capacity and the steady state allocates nothing per event. The pool size
// bounds memory: the reader waits for a free batch when the sink lags.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "heliosdb/cdc/event.h"
#include "pipeline/ack_tracker.h"

namespace heliosdb::cdc {

struct EventBatchBuffer {
  std::vector<CdcEvent> events;  // capacity = batch size; only [0, size) are live
  // pending[i] is what the AckTracker learns about events[i] when the batch
  // is registered (all at once, before it goes to the sink).
  std::vector<AckTracker::PendingEvent> pending;
  // Buffers of events[i]'s value / old_value while absent (a DELETE has no
  // value, an INSERT no old_value): kept here instead of freed, so the next
  // event in the slot that has one reuses it without allocating.
  struct SpareBuffers {
    std::string value, old_value;
  };
  std::vector<SpareBuffers> spares;
  size_t size = 0;
  uint64_t first_ticket = 0;
};

class BatchQueue {
 public:
  BatchQueue(size_t batches, size_t batch_size)
      : wake_threshold_(std::clamp<size_t>(batches / 4, 1, 8)) {
    pool_.reserve(batches);
    for (size_t i = 0; i < batches; ++i) {
      auto b = std::make_unique<EventBatchBuffer>();
      b->events.resize(batch_size);
      b->pending.resize(batch_size);
      b->spares.resize(batch_size);
      free_.push_back(b.get());
      pool_.push_back(std::move(b));
    }
  }

  // Reader side: a free batch, or nullptr once closed or once `stop()`
  // returns true (polled every few milliseconds while waiting).
  EventBatchBuffer* acquire_free(const std::function<bool()>& stop) {
    std::unique_lock lock(mu_);
    while (free_.empty() && !closed_) {
      if (stop()) return nullptr;
      free_cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
    if (free_.empty()) return nullptr;
    EventBatchBuffer* b = free_.front();
    free_.pop_front();
    b->size = 0;
    return b;
  }
  // Queues a filled batch. Waking the sink thread costs the reader a futex
  // call and a context switch (a tenth of its time in perf when done for
  // every batch of 100), so a batch only wakes it when `wake_now` is set or
  // when wake_threshold_ batches are waiting; the sink thread also looks
  // every millisecond by itself while events flow.
  void push_full(EventBatchBuffer* b, bool wake_now) {
    std::lock_guard lock(mu_);
    full_.push_back(b);
    if (wake_now || full_.size() >= wake_threshold_) full_cv_.notify_one();
  }
  // Sink side: the next full batch, or nullptr after `timeout`.
  EventBatchBuffer* pop_full(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    full_cv_.wait_for(lock, timeout, [&] { return !full_.empty() || closed_; });
    if (full_.empty()) return nullptr;
    EventBatchBuffer* b = full_.front();
    full_.pop_front();
    return b;
  }
  // Reader or sink side: `b` is free again. Last released, first reused:
  // when the reader sends its batches itself it takes the same few back
  // while their lines are still in its cache (in FIFO order it cycled
  // through the whole pool, ~buffer_size events, and every slot it wrote was
  // a miss).
  void release(EventBatchBuffer* b) {
    std::lock_guard lock(mu_);
    free_.push_front(b);
    free_cv_.notify_one();
  }
  // Waits until a full batch is available (without taking it) or `timeout`.
  void wait_for_full(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    full_cv_.wait_for(lock, timeout, [&] { return !full_.empty() || closed_; });
  }
  bool has_full() {
    std::lock_guard lock(mu_);
    return !full_.empty();
  }
  // Wakes everyone; acquire_free() returns nullptr from now on.
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    free_cv_.notify_all();
    full_cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable free_cv_, full_cv_;
  std::deque<EventBatchBuffer*> free_, full_;
  std::vector<std::unique_ptr<EventBatchBuffer>> pool_;
  bool closed_ = false;
  const size_t wake_threshold_;
};

}  // namespace heliosdb::cdc
