// The snapshot's progress as a person reads it (docs/operations.md,
// "Snapshot progress"): the log lines every 10 s and at each table's and the
// snapshot's end, and the figures (percent, remaining rows, ETA) that the
// lines, the metrics and the daemon's progress bar share.
//
// The text comes from pure functions, so the tests check it exactly;
// SnapshotReporter only decides when a line is due, from times it is given
// (no clock of its own).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/processor.h"

namespace heliosdb::cdc {

// What the estimate says of one table. The estimate (pg_class.reltuples)
// is the server's guess: a table can hold more rows than it said.
struct SnapshotEstimate {
  // 0..100; 100 only once the table is done, 99 while a table runs past its
  // estimate. nullopt: no estimate.
  std::optional<int> percent;
  // estimated_rows - rows, at least 0; 0 once done. nullopt: no estimate.
  std::optional<uint64_t> remaining;
  // Whether remaining / rate means anything: an estimate, not done and not
  // run past (then remaining is 0 and the end is unknown).
  bool eta_known = false;
};
SnapshotEstimate estimate_of(const SnapshotTableProgress& table);

// Rows per second of `table` between `previous` (nullptr: it had 0 rows)
// and now, `elapsed_seconds` apart. nullopt when it cannot be told: no time
// passed, or the table restarted (fewer rows than before: a new snapshot).
std::optional<double> snapshot_rate(const SnapshotTableProgress* previous,
                                    const SnapshotTableProgress& current, double elapsed_seconds);

// The remaining time: "unknown" without an ETA (eta_known false, no rate or
// a rate of 0), else rounded up: "45s", "3m20s", "2h05m".
std::string format_eta(const SnapshotEstimate& estimate, std::optional<double> rate);

// The periodic lines: one per table of `current` that has started (rows > 0)
// and is not done, its rate over the `elapsed_seconds` since `previous`:
//   snapshot public.users: 520000 of ~1000000 rows (52%), 98000 rows/s, ETA 5s
//   snapshot public.logs: 4000 rows (no estimate), 800 rows/s, ETA unknown
// ("rate unknown" in place of the rate when snapshot_rate() has none).
std::vector<std::string> snapshot_progress_lines(const SnapshotProgress& previous,
                                                 const SnapshotProgress& current,
                                                 double elapsed_seconds);

// A table finished: `rows` in all, `rows_read` of them read in the
// `seconds` this process watched it (fewer than `rows` after a restart):
//   snapshot public.users done: 1000000 rows in 10.2 s (98039 rows/s)
std::string snapshot_table_done_line(std::string_view table, uint64_t rows, uint64_t rows_read,
                                     double seconds);
// The snapshot ended: with every table done
//   snapshot done: 3 tables, 1500000 rows in 15.3 s (98039 rows/s)
// or, when it ended with some not done,
//   snapshot stopped: 2 of 3 tables done, 700000 rows in 7.1 s (98591 rows/s)
std::string snapshot_done_line(const SnapshotProgress& last, uint64_t rows_read, double seconds);

// Decides which lines are due, from the progress it is shown and when.
// Feed it every published progress (and at least every few seconds while a
// snapshot runs); it returns the lines to log now, in order.
class SnapshotReporter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kInterval{10};

  std::vector<std::string> observe(Clock::time_point now, const SnapshotProgress& current);
  // A snapshot is being watched: observe() has seen it running and not yet
  // ended.
  bool watching() const { return watching_; }

 private:
  struct Table {
    Clock::time_point start;  // the last look at which it had not started
    uint64_t base = 0;        // its rows then
    bool done = false;
  };
  bool watching_ = false;
  Clock::time_point started_;  // the first look at the running snapshot
  uint64_t base_rows_ = 0;     // its rows then
  Clock::time_point last_look_;
  Clock::time_point last_report_;
  SnapshotProgress reported_;  // as of the last periodic lines
  std::map<std::string, Table, std::less<>> tables_;
};

}  // namespace heliosdb::cdc
