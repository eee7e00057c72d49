#include "pipeline/ack_tracker.h"

namespace heliosdb::cdc {

AckTracker::AckTracker(size_t capacity, DeliveryPosition start)
    : capacity_(capacity), delivered_(start) {}

std::optional<uint64_t> AckTracker::register_event(const DeliveryPosition& position,
                                                   int64_t wal_timestamp_ms,
                                                   const std::function<bool()>& stop) {
  std::unique_lock lock(mu_);
  while (entries_.size() >= capacity_) {
    if (stop()) return std::nullopt;
    space_cv_.wait_for(lock, std::chrono::milliseconds(20));
  }
  entries_.push_back({position, wal_timestamp_ms, false});
  return base_ticket_ + entries_.size() - 1;
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
  if (popped) {
    space_cv_.notify_all();
    if (entries_.empty()) drained_cv_.notify_all();
  }
}

void AckTracker::acknowledge(uint64_t first_ticket, uint64_t count) {
  std::lock_guard lock(mu_);
  uint64_t newly = 0;
  for (uint64_t t = first_ticket; t < first_ticket + count; ++t) {
    if (t < base_ticket_ || t - base_ticket_ >= entries_.size()) continue;  // stale or unknown
    Entry& e = entries_[t - base_ticket_];
    if (!e.done) {
      e.done = true;
      ++newly;
    }
  }
  acknowledged_.fetch_add(newly, std::memory_order_relaxed);
  pop_done_locked();
}

void AckTracker::fail(uint64_t ticket, Status reason) {
  std::lock_guard lock(mu_);
  if (!failure_) {
    failure_ = reason.with_context("event ticket " + std::to_string(ticket) + " failed");
  }
  space_cv_.notify_all();
  drained_cv_.notify_all();
}

DeliveryPosition AckTracker::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}

uint64_t AckTracker::outstanding() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

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
  return drained_cv_.wait_for(lock, timeout,
                              [&] { return entries_.empty() || failure_.has_value(); }) &&
         entries_.empty();
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
