#include "metrics/table_labels.h"

#include <functional>

#include "heliosdb/cdc/metrics.h"

namespace heliosdb::cdc::metrics {
namespace {

uint32_t slot_count_for(uint32_t capacity) {
  uint32_t n = 8;
  while (n < capacity * 2u) n *= 2;
  return n;
}

}  // namespace

TableLabels::TableLabels(uint32_t capacity)
    : capacity_(capacity),
      mask_(slot_count_for(capacity) - 1),
      slots_(new Slot[slot_count_for(capacity)]) {
  names_.reserve(capacity_);
  if (capacity_ == 0) full_.store(true);
}

uint32_t TableLabels::index_of(std::string_view table) {
  const uint64_t hash = std::hash<std::string_view>{}(table);
  for (uint32_t i = hash & mask_;; i = (i + 1) & mask_) {
    uint32_t published = slots_[i].index_plus_one.load(std::memory_order_acquire);
    if (published == 0) break;  // not present (so far)
    if (slots_[i].hash == hash && names_[published - 1] == table) return published - 1;
  }
  // Once full no name is ever added, so "not found" is final: no lock.
  if (full_.load(std::memory_order_acquire)) return other_index();
  return slow_insert(table, hash);
}

uint32_t TableLabels::find(std::string_view table) const {
  const uint64_t hash = std::hash<std::string_view>{}(table);
  for (uint32_t i = hash & mask_;; i = (i + 1) & mask_) {
    uint32_t published = slots_[i].index_plus_one.load(std::memory_order_acquire);
    if (published == 0) return other_index();
    if (slots_[i].hash == hash && names_[published - 1] == table) return published - 1;
  }
}

uint32_t TableLabels::slow_insert(std::string_view table, uint64_t hash) {
  if (table == kOtherTableLabel) return other_index();
  std::lock_guard<std::mutex> lock(insert_mutex_);
  uint32_t i = hash & mask_;
  for (;; i = (i + 1) & mask_) {
    uint32_t published = slots_[i].index_plus_one.load(std::memory_order_relaxed);
    if (published == 0) break;
    if (slots_[i].hash == hash && names_[published - 1] == table) return published - 1;
  }
  uint32_t index = size_.load(std::memory_order_relaxed);
  if (index >= capacity_) {
    full_.store(true, std::memory_order_release);
    return other_index();
  }
  names_.emplace_back(table);  // capacity reserved: existing names do not move
  slots_[i].hash = hash;
  slots_[i].index_plus_one.store(index + 1, std::memory_order_release);
  size_.store(index + 1, std::memory_order_release);
  if (index + 1 == capacity_) full_.store(true, std::memory_order_release);
  return index;
}

std::string_view TableLabels::name(uint32_t index) const {
  if (index >= capacity_) return kOtherTableLabel;
  return names_[index];
}

}  // namespace heliosdb::cdc::metrics
