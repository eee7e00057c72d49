// Notices a `database` that matches no entry of the WAL (a typo, the wrong
// WAL): the pipeline would otherwise read everything and deliver nothing
// without a word. Counts the entries a run reads and those of the
// configured database, and keeps the first few other database names seen,
// for the warning. Not thread-safe: the reader thread owns it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace heliosdb::cdc {

class DatabaseMatchCounter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kNamesKept = 5;
  static constexpr std::chrono::seconds kWarningInterval{60};

  // `source` names what is read in the warning: "WAL /var/lib/heliosdb/wal".
  DatabaseMatchCounter(std::string database, std::string source, Clock::time_point start)
      : database_(std::move(database)),
        source_(std::move(source)),
        next_warning_(start + kWarningInterval) {}

  // Counts one entry; true if it is of the configured database.
  bool count(std::string_view entry_database) {
    ++entries_;
    if (entry_database == database_) {
      ++matched_;
      return true;
    }
    if (others_.size() < kNamesKept) remember(entry_database);
    return false;
  }

  // The warning when entries were read but none of the database, else
  // nullopt. Names are shown with control bytes escaped (they come from the
  // WAL).
  std::optional<std::string> warning() const;
  // While running: the warning once every kWarningInterval.
  std::optional<std::string> periodic_warning(Clock::time_point now);

  uint64_t entries() const { return entries_; }
  uint64_t matched() const { return matched_; }

 private:
  void remember(std::string_view name);

  std::string database_;
  std::string source_;
  Clock::time_point next_warning_;
  uint64_t entries_ = 0;
  uint64_t matched_ = 0;
  std::vector<std::string> others_;
};

}  // namespace heliosdb::cdc
