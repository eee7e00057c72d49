// A fixed pool of event batches passed from the reader thread to the sink
// thread. Batches are recycled, so their CdcEvents keep their string
// capacity and the steady state allocates nothing per event. The pool size
// bounds the number of events: the reader waits for a free batch when the
// sink lags.
//
// What a slot keeps is bounded too: a row buffer holds at most `keep_bytes`
// more than its row needs (assign_row_bytes()), and once a batch is
// released every buffer larger than `keep_bytes` is freed, so a big row does
// not stay behind as capacity. The processor sets keep_bytes from
// [cdc] buffer_bytes and the number of slots, and counts 3 * keep_bytes per
// slot (key, value, old_value) as part of the budget.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/event.h"
#include "pipeline/ack_tracker.h"

namespace heliosdb::cdc {

// Copies `bytes` into `s`, leaving `s` at most `keep` bytes larger than the
// row: an oversized buffer (a big row the slot held before) is replaced, and
// a row larger than `keep` gets a buffer of exactly its size rather than a
// doubled one.
[[gnu::noinline]] inline void assign_exactly(std::string& s, std::string_view bytes) {
  s = std::string(bytes);
}
inline void assign_row_bytes(std::string& s, std::string_view bytes, size_t keep) {
  const size_t n = bytes.size();
  const size_t cap = s.capacity();
  if (cap > std::max(n, keep) || (n > cap && n > keep)) [[unlikely]] {
    assign_exactly(s, bytes);
  } else {
    s.assign(bytes);
  }
}

// Frees `s`'s buffer if it is larger than `keep`.
inline void release_if_larger(std::string& s, size_t keep) {
  if (s.capacity() > keep) std::string().swap(s);
}

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
  uint64_t bytes = 0;  // sum of pending[i].bytes: what the batch charged to the budget

  // Frees every row buffer larger than `keep` in the slots this use of the
  // batch touched: [0, size] (slot `size` may hold a change the filter
  // dropped). Spares are trimmed by the reader when it parks a buffer, so
  // this only reads what the sink has just read.
  void release_oversized(size_t keep) {
    const size_t touched = std::min(size + 1, events.size());
    for (size_t i = 0; i < touched; ++i) {
      CdcEvent& ev = events[i];
      release_if_larger(ev.key, keep);
      if (ev.value) release_if_larger(*ev.value, keep);
      if (ev.old_value) release_if_larger(*ev.old_value, keep);
    }
  }
};

class BatchQueue {
 public:
  BatchQueue(size_t batches, size_t batch_size, size_t keep_bytes = SIZE_MAX)
      : wake_threshold_(std::clamp<size_t>(batches / 4, 1, 8)), keep_bytes_(keep_bytes) {
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
    b->bytes = 0;
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
  // Reader or sink side: `b` is free again (its buffers larger than
  // keep_bytes are freed first). Last released, first reused:
  // when the reader sends its batches itself it takes the same few back
  // while their lines are still in its cache (in FIFO order it cycled
  // through the whole pool, ~buffer_size events, and every slot it wrote was
  // a miss).
  void release(EventBatchBuffer* b) {
    b->release_oversized(keep_bytes_);
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
  const size_t keep_bytes_;
};

}  // namespace heliosdb::cdc
