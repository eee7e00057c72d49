// The daemon's live snapshot progress bar on a terminal (docs/operations.md,
// "Snapshot progress"): one line at the bottom of stderr, redrawn in place,
// with the log lines printed above it.
//
//   SnapshotBar      which table the bar shows and its rate; the text
//   ProgressLineSink the spdlog sink that keeps the bar under the log lines
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "heliosdb/cdc/processor.h"

namespace heliosdb::cdc::cli {

// 1234567 -> "1,234,567".
std::string group_thousands(uint64_t n);

// The bar's text for `table` (the `index`-th of `count`, from 1) at `rate`
// rows/s (nullopt: not known yet), cut to `width` columns minus one (a line
// as wide as the terminal wraps on some, and "\r" no longer reaches its
// start). With an estimate:
//   snapshot public.users [#####.....] 52% 520,000/1,000,000 rows 98,000 rows/s ETA 5s
// without one:
//   snapshot public.logs 4,000 rows 800 rows/s ETA unknown
// and " (table 2 of 5)" after it when the snapshot has more than one table.
std::string render_snapshot_bar(const SnapshotTableProgress& table, std::optional<double> rate,
                                size_t index, size_t count, size_t width);

// What the bar shows for each progress it is given: the first table that
// has started and is not done (else the first not started), its rate over
// the last few seconds of progress. Times are given, not read (tests).
class SnapshotBar {
 public:
  using Clock = std::chrono::steady_clock;
  // The rate is measured over this much of the latest progress.
  static constexpr std::chrono::seconds kRateWindow{5};

  // The bar's text now; empty: no bar (no snapshot runs, or every table is
  // done).
  std::string update(Clock::time_point now, const SnapshotProgress& progress, size_t width);

 private:
  std::string table_;                                           // the table the samples are of
  std::deque<std::pair<Clock::time_point, uint64_t>> samples_;  // (when, its rows)
};

// An spdlog sink for the terminal: log lines go to `lines` (the console
// sink, writing to `out`), and a progress bar set with show() stays as the
// last line of `out`. For each log line it clears the bar ("\r\x1b[K"),
// writes the line and draws the bar again, all under the sink's one mutex,
// which show() takes too: a log line and a redraw never interleave.
class ProgressLineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // `out` must outlive the sink; `lines` writes to `out`.
  ProgressLineSink(std::FILE* out, std::unique_ptr<spdlog::sinks::sink> lines);

  // Draws `bar` in place of the current one ("" removes it). Safe from any
  // thread.
  void show(const std::string& bar);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;
  // The logger's pattern is the console sink's.
  void set_pattern_(const std::string& pattern) override;
  void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override;

 private:
  void write(const std::string& bytes);

  std::FILE* out_;
  std::unique_ptr<spdlog::sinks::sink> lines_;
  std::string bar_;  // drawn now; empty: none
};

}  // namespace heliosdb::cdc::cli
