// AckTracker: turns out-of-order acknowledgements into an in-order delivery
// position (the low watermark the checkpoint may record).
//
// The reader thread registers each emitted event (it gets the next ticket)
// with the position the pipeline reaches once that event and every event
// before it are done. Sinks acknowledge tickets in any order, from any
// thread. The delivered position only moves over a prefix of done tickets,
// so a checkpoint never passes an unacknowledged event.
//
// Capacity bounds the number of unacknowledged events: register() blocks
// while `capacity` events are outstanding, which is the pipeline's
// backpressure against a slow sink.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "heliosdb/cdc/processor.h"
#include "heliosdb/cdc/sink.h"
#include "pipeline/position.h"

namespace heliosdb::cdc {

class AckTracker final : public AckReceiver {
 public:
  AckTracker(size_t capacity, DeliveryPosition start);

  // Registers the next event and returns its ticket. `position` is where the
  // pipeline stands once this event is done; `wal_timestamp_ms` dates it for
  // lag. Blocks while the tracker is full, unless `stop()` becomes true
  // (then returns nullopt); `stop` is polled every few milliseconds, so a
  // flag set from a signal handler is seen.
  std::optional<uint64_t> register_event(const DeliveryPosition& position, int64_t wal_timestamp_ms,
                                         const std::function<bool()>& stop);
  // The same for `event`, remembering what PipelineObserver::on_acknowledged
  // reports when it is acknowledged (operation, table, bytes, timestamp).
  std::optional<uint64_t> register_event(const DeliveryPosition& position, const CdcEvent& event,
                                         const std::function<bool()>& stop);
  // Receives on_acknowledged() for every acknowledged event (null: none),
  // called after the tracker's lock is released. Set before registering.
  void set_observer(std::shared_ptr<PipelineObserver> observer) { observer_ = std::move(observer); }
  // Events given up on (each ticket counted once).
  uint64_t failed_count() const { return failed_.load(std::memory_order_relaxed); }
  // Moves the position reached after the last registered event (a
  // transaction's end after its filtered changes, or a transaction with no
  // emitted events at all).
  void advance_after_last(const DeliveryPosition& position);

  // AckReceiver.
  void acknowledge(uint64_t first_ticket, uint64_t count) override;
  void fail(uint64_t ticket, Status reason) override;

  // The in-order delivered position.
  DeliveryPosition delivered() const;
  uint64_t acknowledged_count() const { return acknowledged_.load(std::memory_order_relaxed); }
  // Lock-free: the reader thread asks once per event.
  uint64_t outstanding() const;
  // WAL timestamp of the oldest unacknowledged event, 0 if none.
  int64_t oldest_unacked_ms() const;
  // The first failure reported, if any.
  std::optional<Status> failure() const;
  // Waits until nothing is outstanding or `timeout` passes. True if drained.
  bool wait_drained(std::chrono::milliseconds timeout);
  // Wakes blocked register_event() calls (after setting their stop flag).
  void wake_all();
  uint64_t next_ticket() const;

 private:
  struct Entry {
    DeliveryPosition position;
    int64_t timestamp_ms = 0;
    bool done = false;
    bool failed = false;
    OperationType operation = OperationType::Insert;
    uint32_t table = 0;  // index into table_names_
    uint64_t bytes = 0;  // key + value + old_value
  };
  // Waits for room, then appends `entry`; with `table`, interns it into
  // entry.table first (under the lock: acknowledge() reads table_names_).
  std::optional<uint64_t> push_entry(Entry entry, const std::string* table,
                                     const std::function<bool()>& stop);
  void pop_done_locked();

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable space_cv_;
  std::condition_variable drained_cv_;
  std::deque<Entry> entries_;  // entries_[i] has ticket base_ticket_ + i
  uint64_t base_ticket_ = 0;
  DeliveryPosition delivered_;
  std::optional<Status> failure_;
  std::atomic<uint64_t> acknowledged_{0};
  std::atomic<size_t> outstanding_{0};  // entries_.size(), readable without mu_
  std::atomic<uint64_t> failed_{0};
  std::shared_ptr<PipelineObserver> observer_;
  // Interned table names of registered events (few distinct; never shrinks,
  // so the names stay valid while the tracker lives). The map's keys view
  // the strings in table_storage_ (a deque: stable addresses).
  std::unordered_map<std::string_view, uint32_t> table_ids_;
  std::deque<std::string> table_storage_;
  std::vector<std::string_view> table_names_;
  uint32_t last_table_ = 0;  // table_names_ index of the last registered event
};

}  // namespace heliosdb::cdc
