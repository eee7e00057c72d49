// TableLabels: the bounded set of `table` label values.
//
// Maps a table name to a small index, lock-free on the hot path: the first
// `capacity` distinct names get their own index; every other name (and a
// table literally named "_other") maps to other_index(). A mutex is taken
// only to insert a new name, i.e. at most `capacity` times in a process.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace heliosdb::cdc::metrics {

class TableLabels {
 public:
  explicit TableLabels(uint32_t capacity);
  TableLabels(const TableLabels&) = delete;
  TableLabels& operator=(const TableLabels&) = delete;

  // Index for `table`, in [0, capacity]; capacity means "_other".
  uint32_t index_of(std::string_view table);
  // Index of a name already known, or other_index(); never inserts.
  uint32_t find(std::string_view table) const;

  uint32_t capacity() const { return capacity_; }
  uint32_t other_index() const { return capacity_; }
  // Number of names that have their own index so far.
  uint32_t size() const { return size_.load(std::memory_order_acquire); }
  // Name for an index below size(), or "_other" for other_index().
  std::string_view name(uint32_t index) const;

 private:
  uint32_t slow_insert(std::string_view table, uint64_t hash);

  struct Slot {
    std::atomic<uint32_t> index_plus_one{0};  // 0: empty; published with release
    uint64_t hash = 0;                        // written before publication
  };
  const uint32_t capacity_;
  const uint32_t mask_;
  std::unique_ptr<Slot[]> slots_;
  std::vector<std::string> names_;  // reserved to capacity_: never reallocates
  std::atomic<uint32_t> size_{0};
  std::atomic<bool> full_{false};
  std::mutex insert_mutex_;
};

}  // namespace heliosdb::cdc::metrics
