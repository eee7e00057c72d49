// AckTracker: turns out-of-order acknowledgements into an in-order delivery
// position (the low watermark the checkpoint may record).
//
// The reader thread registers emitted events, a batch at a time (each gets
// the next ticket), with the position the pipeline reaches once that event and every event
// before it are done. Sinks acknowledge tickets in any order, from any
// thread. The delivered position only moves over a prefix of done tickets,
// so a checkpoint never passes an unacknowledged event.
//
// Capacity bounds the number of unacknowledged events: register() blocks
// while `capacity` events are outstanding, which is the pipeline's
// backpressure against a slow sink. Their bytes are bounded by the
// MemoryBudget the tracker releases them to (set_budget()).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "heliosdb/cdc/processor.h"
#include "heliosdb/cdc/sink.h"
#include "pipeline/memory_budget.h"
#include "source/position.h"

namespace heliosdb::cdc {

class AckTracker final : public AckReceiver {
 public:
  // What the reader records for one emitted event until the batch holding it
  // is registered.
  struct PendingEvent {
    // Where the pipeline stands once this event and all before it are done.
    DeliveryPosition position;
    int64_t timestamp_ms = 0;  // WAL timestamp, for lag
    // For PipelineObserver::on_acknowledged (only filled with an observer).
    OperationType operation = OperationType::Insert;
    uint32_t table = 0;  // from intern_table()
    // key + value + old_value: charged to the memory budget until the event
    // is acknowledged, and reported to the observer.
    uint64_t bytes = 0;
  };

  AckTracker(size_t capacity, DeliveryPosition start);

  // Registers `events`, in order, and returns the ticket of the first (the
  // others follow consecutively). One lock per batch, not per event. Blocks
  // while the events do not fit under `capacity` (a batch larger than the
  // capacity waits until nothing is outstanding), unless `stop()` becomes
  // true (then returns nullopt); `stop` is polled every few milliseconds, so
  // a flag set from a signal handler is seen. Only one thread registers.
  std::optional<uint64_t> register_batch(std::span<const PendingEvent> events,
                                         const std::function<bool()>& stop);
  // One event: register_batch() of one.
  std::optional<uint64_t> register_event(const DeliveryPosition& position, int64_t wal_timestamp_ms,
                                         const std::function<bool()>& stop);
  // The same for `event`, remembering what PipelineObserver::on_acknowledged
  // reports when it is acknowledged (operation, table, bytes, timestamp).
  std::optional<uint64_t> register_event(const DeliveryPosition& position, const CdcEvent& event,
                                         const std::function<bool()>& stop);
  // What to register for `event` reaching `position` (its size always, its
  // table interned and operation recorded only with an observer).
  // Registering thread only, like intern_table().
  PendingEvent describe(const DeliveryPosition& position, const CdcEvent& event);
  // The id PendingEvent::table needs for `table`. Called by the registering
  // thread only; lock-free unless the name is new.
  uint32_t intern_table(std::string_view table);
  // Receives on_acknowledged_batch() for the events of every acknowledge()
  // call (null: none), after the tracker's lock is released. Set before
  // registering.
  void set_observer(std::shared_ptr<PipelineObserver> observer) { observer_ = std::move(observer); }
  bool has_observer() const { return observer_ != nullptr; }
  // Releases each acknowledged event's bytes from `budget` (null: none), after
  // the observer is told. The caller charges them when it registers the
  // batch. Set before registering; `budget` must outlive the tracker's use.
  void set_budget(MemoryBudget* budget) { budget_ = budget; }
  // The database the events come from: a give-up error names the event by
  // its id ("evt_<database>_<sequence>"). Set before registering.
  void set_database(std::string database) { database_ = std::move(database); }
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
  // Lock-free: whether register_batch() of `events` events would return
  // without waiting.
  bool has_room_for(size_t events) const {
    const size_t now = outstanding_.load(std::memory_order_relaxed);
    return now == 0 || now + events <= capacity_;
  }
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
  struct Entry : PendingEvent {
    bool done = false;
    bool failed = false;
  };
  void pop_done_locked();
  // "event evt_shop_42 of table orders (commit sequence 45)"; under mu_.
  std::string describe_for_user(const PendingEvent& e) const;

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable space_cv_;
  // Free slots a blocked register_batch() waits for before it is woken
  // (0: nobody waits). More than it needs: waking the reader for every few
  // acknowledged events cost two context switches per batch of 100 at full
  // speed (~35,000 per million Kafka events); waking it once a quarter of
  // the window is free lets it register many batches per wake-up.
  size_t wake_at_free_ = 0;
  std::condition_variable drained_cv_;
  std::deque<Entry> entries_;  // entries_[i] has ticket base_ticket_ + i
  uint64_t base_ticket_ = 0;
  DeliveryPosition delivered_;
  std::optional<Status> failure_;
  std::atomic<uint64_t> acknowledged_{0};
  std::atomic<size_t> outstanding_{0};  // entries_.size(), readable without mu_
  std::atomic<uint64_t> failed_{0};
  std::shared_ptr<PipelineObserver> observer_;
  MemoryBudget* budget_ = nullptr;
  std::string database_;
  // Interned table names. table_names_ only grows, under mu_ (acknowledge()
  // reads it under mu_); its strings live in table_storage_ (a deque: stable
  // addresses), so the views handed to the observer stay valid. The lookup
  // map and the last-name cache belong to the registering thread.
  std::deque<std::string> table_storage_;
  std::vector<std::string_view> table_names_;
  std::unordered_map<std::string_view, uint32_t> table_ids_;
  struct RecentTable {
    std::string_view name;  // views table_storage_
    uint32_t id = 0;
  };
  std::array<RecentTable, 8> recent_tables_{};
  size_t recent_next_ = 0;
};

}  // namespace heliosdb::cdc
