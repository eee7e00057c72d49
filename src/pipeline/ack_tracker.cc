#include "pipeline/ack_tracker.h"
#include "common/wall_clock.h"

#include <algorithm>
#include <chrono>

namespace heliosdb::cdc {

AckTracker::AckTracker(size_t capacity, DeliveryPosition start)
    : capacity_(capacity), delivered_(start) {}

std::optional<uint64_t> AckTracker::register_batch(std::span<const PendingEvent> events,
                                                   const std::function<bool()>& stop) {
  std::unique_lock lock(mu_);
  while (!entries_.empty() && entries_.size() + events.size() > capacity_) {
    if (stop()) {
      wake_at_free_ = 0;
      return std::nullopt;
    }
    wake_at_free_ = std::min(capacity_, std::max(events.size(), capacity_ / 4));
    space_cv_.wait_for(lock, std::chrono::milliseconds(20));
  }
  wake_at_free_ = 0;
  const uint64_t first = base_ticket_ + entries_.size();
  for (const PendingEvent& e : events) {
    Entry entry;
    static_cast<PendingEvent&>(entry) = e;
    entries_.push_back(entry);
  }
  outstanding_.store(entries_.size(), std::memory_order_relaxed);
  return first;
}

uint32_t AckTracker::intern_table(std::string_view table) {
  // Most workloads touch a handful of tables in any order: a linear scan of
  // the few most recent names beats hashing the name for every event.
  for (const RecentTable& r : recent_tables_) {
    if (r.name.size() == table.size() && r.name == table && !r.name.empty()) return r.id;
  }
  auto it = table_ids_.find(table);
  if (it == table_ids_.end()) {
    std::lock_guard lock(mu_);  // acknowledge() reads table_names_
    std::string_view stored = table_storage_.emplace_back(table);
    it = table_ids_.emplace(stored, static_cast<uint32_t>(table_names_.size())).first;
    table_names_.push_back(stored);
  }
  recent_tables_[recent_next_++ % recent_tables_.size()] = {it->first, it->second};
  return it->second;
}

std::optional<uint64_t> AckTracker::register_event(const DeliveryPosition& position,
                                                   int64_t wal_timestamp_ms,
                                                   const std::function<bool()>& stop) {
  PendingEvent e;
  e.position = position;
  e.timestamp_ms = wal_timestamp_ms;
  return register_batch(std::span<const PendingEvent>(&e, 1), stop);
}

AckTracker::PendingEvent AckTracker::describe(const DeliveryPosition& position,
                                              const CdcEvent& event) {
  PendingEvent e;
  e.position = position;
  e.timestamp_ms = event.timestamp;
  e.bytes = event.key.size() + (event.value ? event.value->size() : 0) +
            (event.old_value ? event.old_value->size() : 0);
  e.operation = event.operation;
  // Always interned: a give-up error names the event's table (fail()).
  e.table = intern_table(event.table);
  return e;
}

std::optional<uint64_t> AckTracker::register_event(const DeliveryPosition& position,
                                                   const CdcEvent& event,
                                                   const std::function<bool()>& stop) {
  const PendingEvent e = describe(position, event);
  return register_batch(std::span<const PendingEvent>(&e, 1), stop);
}

void AckTracker::advance_after_last(const DeliveryPosition& position) {
  std::lock_guard lock(mu_);
  if (entries_.empty()) {
    delivered_ = position;
  } else {
    entries_.back().position = position;
  }
}

void AckTracker::pop_done_locked() {
  bool popped = false;
  while (!entries_.empty() && entries_.front().done) {
    delivered_ = entries_.front().position;
    entries_.pop_front();
    ++base_ticket_;
    popped = true;
  }
  outstanding_.store(entries_.size(), std::memory_order_relaxed);
  if (popped) {
    // (A batch larger than the window is admitted alone: size may exceed it.)
    if (wake_at_free_ > 0 && capacity_ - std::min(capacity_, entries_.size()) >= wake_at_free_) {
      space_cv_.notify_all();
    }
    if (entries_.empty()) drained_cv_.notify_all();
  }
}

void AckTracker::acknowledge(uint64_t first_ticket, uint64_t count) {
  // What the observer is told, collected under the lock and reported after
  // it (the reader's register_event() waits on the same lock).
  thread_local std::vector<AckedEvent> acked;
  acked.clear();
  uint64_t freed_bytes = 0;
  {
    std::lock_guard lock(mu_);
    uint64_t newly = 0;
    for (uint64_t t = first_ticket; t < first_ticket + count; ++t) {
      if (t < base_ticket_ || t - base_ticket_ >= entries_.size()) continue;  // stale or unknown
      Entry& e = entries_[t - base_ticket_];
      if (!e.done) {
        e.done = true;
        ++newly;
        freed_bytes += e.bytes;
        if (observer_) {
          AckedEvent a;
          a.operation = e.operation;
          // Interned: stable while the tracker lives. Events registered without
          // a table (register_event() by timestamp) report none.
          a.table = e.table < table_names_.size() ? table_names_[e.table] : std::string_view{};
          a.bytes = e.bytes;
          a.wal_timestamp_ms = e.timestamp_ms;
          acked.push_back(a);
        }
      }
    }
    acknowledged_.fetch_add(newly, std::memory_order_relaxed);
    pop_done_locked();
  }
  if (!acked.empty()) {
    const int64_t now_ms = wall_clock_ms();
    for (AckedEvent& a : acked) a.acked_at_ms = now_ms;
    observer_->on_acknowledged_batch(acked);
  }
  // After the observer: it sees an event acknowledged before the reader can
  // admit the rows its bytes make room for.
  if (budget_ && freed_bytes > 0) budget_->release(freed_bytes);
}

void AckTracker::fail(uint64_t ticket, Status reason) {
  std::lock_guard lock(mu_);
  std::string what = "an event";
  if (ticket >= base_ticket_ && ticket - base_ticket_ < entries_.size()) {
    Entry& e = entries_[ticket - base_ticket_];
    if (!e.done && !e.failed) {
      e.failed = true;
      failed_.fetch_add(1, std::memory_order_relaxed);
    }
    what = describe_for_user(e);
  }
  if (!failure_) failure_ = reason.with_context("delivering " + what + " failed");
  space_cv_.notify_all();
  drained_cv_.notify_all();
}

std::string AckTracker::describe_for_user(const PendingEvent& e) const {
  // The ticket is internal; users know the event by its id, table and
  // where it stands in the source.
  std::string out = "event " + make_event_id(database_, e.position.event_sequence);
  if (e.table < table_names_.size()) out += " of table " + std::string(table_names_[e.table]);
  out += " (commit sequence " + std::to_string(e.position.commit_sequence) + ")";
  return out;
}

DeliveryPosition AckTracker::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}

uint64_t AckTracker::outstanding() const { return outstanding_.load(std::memory_order_relaxed); }

int64_t AckTracker::oldest_unacked_ms() const {
  std::lock_guard lock(mu_);
  return entries_.empty() ? 0 : entries_.front().timestamp_ms;
}

std::optional<Status> AckTracker::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

bool AckTracker::wait_drained(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return drained_cv_.wait_for(lock, timeout, [&] {
    return entries_.empty() || failure_.has_value();
  }) && entries_.empty();
}

void AckTracker::wake_all() {
  std::lock_guard lock(mu_);
  space_cv_.notify_all();
  drained_cv_.notify_all();
}

uint64_t AckTracker::next_ticket() const {
  std::lock_guard lock(mu_);
  return base_ticket_ + entries_.size();
}

}  // namespace heliosdb::cdc
