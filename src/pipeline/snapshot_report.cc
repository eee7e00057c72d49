#include "pipeline/snapshot_report.h"

#include <spdlog/fmt/fmt.h>

#include <cmath>

namespace heliosdb::cdc {
namespace {

double seconds_between(SnapshotReporter::Clock::time_point from,
                       SnapshotReporter::Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

uint64_t total_rows(const SnapshotProgress& p) {
  uint64_t n = 0;
  for (const SnapshotTableProgress& t : p.tables) n += t.rows;
  return n;
}

const SnapshotTableProgress* find_table(const SnapshotProgress& p, std::string_view table) {
  for (const SnapshotTableProgress& t : p.tables) {
    if (t.table == table) return &t;
  }
  return nullptr;
}

double average(uint64_t rows, double seconds) {
  return seconds > 0 ? static_cast<double>(rows) / seconds : 0.0;
}

}  // namespace

SnapshotEstimate estimate_of(const SnapshotTableProgress& t) {
  SnapshotEstimate e;
  if (t.estimated_rows < 0) return e;
  const auto estimated = static_cast<uint64_t>(t.estimated_rows);
  if (t.done) {
    e.percent = 100;
    e.remaining = 0;
  } else if (t.rows < estimated) {
    // Rounded down, so 100 % means done.
    e.percent = static_cast<int>(t.rows * 100 / estimated);
    e.remaining = estimated - t.rows;
    e.eta_known = true;
  } else {
    // Past the estimate: nearly done, but how nearly is unknown.
    e.percent = 99;
    e.remaining = 0;
  }
  return e;
}

std::optional<double> snapshot_rate(const SnapshotTableProgress* previous,
                                    const SnapshotTableProgress& current, double elapsed_seconds) {
  const uint64_t before = previous ? previous->rows : 0;
  if (elapsed_seconds <= 0 || current.rows < before) return std::nullopt;
  return static_cast<double>(current.rows - before) / elapsed_seconds;
}

std::string format_eta(const SnapshotEstimate& estimate, std::optional<double> rate) {
  if (!estimate.eta_known || !estimate.remaining || !rate || *rate <= 0) return "unknown";
  const double seconds = std::ceil(static_cast<double>(*estimate.remaining) / *rate);
  // Beyond this the figure means nothing (and would not fit an integer).
  if (seconds >= 100.0 * 24 * 3600) return "unknown";
  const auto s = static_cast<uint64_t>(seconds);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
}

std::vector<std::string> snapshot_progress_lines(const SnapshotProgress& previous,
                                                 const SnapshotProgress& current,
                                                 double elapsed_seconds) {
  std::vector<std::string> lines;
  for (const SnapshotTableProgress& t : current.tables) {
    if (t.done || t.rows == 0) continue;  // done (its own line said so) or not started
    const std::optional<double> rate =
        snapshot_rate(find_table(previous, t.table), t, elapsed_seconds);
    const SnapshotEstimate e = estimate_of(t);
    const std::string rows =
        e.percent ? fmt::format("{} of ~{} rows ({}%)", t.rows, t.estimated_rows, *e.percent)
                  : fmt::format("{} rows (no estimate)", t.rows);
    const std::string speed = rate ? fmt::format("{:.0f} rows/s", *rate) : "rate unknown";
    lines.push_back(
        fmt::format("snapshot {}: {}, {}, ETA {}", t.table, rows, speed, format_eta(e, rate)));
  }
  return lines;
}

std::string snapshot_table_done_line(std::string_view table, uint64_t rows, uint64_t rows_read,
                                     double seconds) {
  return fmt::format("snapshot {} done: {} rows in {:.1f} s ({:.0f} rows/s)", table, rows, seconds,
                     average(rows_read, seconds));
}

std::string snapshot_done_line(const SnapshotProgress& last, uint64_t rows_read, double seconds) {
  size_t done = 0;
  for (const SnapshotTableProgress& t : last.tables) done += t.done ? 1 : 0;
  const std::string rows = fmt::format("{} rows in {:.1f} s ({:.0f} rows/s)", total_rows(last),
                                       seconds, average(rows_read, seconds));
  if (done == last.tables.size()) {
    return fmt::format("snapshot done: {} tables, {}", last.tables.size(), rows);
  }
  return fmt::format("snapshot stopped: {} of {} tables done, {}", done, last.tables.size(), rows);
}

std::vector<std::string> SnapshotReporter::observe(Clock::time_point now,
                                                   const SnapshotProgress& current) {
  std::vector<std::string> lines;
  if (!watching_) {
    if (!current.running) return lines;
    // The first look: tables done already (a snapshot resumed after a
    // restart) are not announced again.
    watching_ = true;
    started_ = last_look_ = last_report_ = now;
    base_rows_ = total_rows(current);
    reported_ = current;
    tables_.clear();
    for (const SnapshotTableProgress& t : current.tables) {
      tables_[t.table] = Table{now, t.rows, t.done};
    }
    return lines;
  }
  for (const SnapshotTableProgress& t : current.tables) {
    // A table new since the last look started after it.
    auto [it, added] = tables_.try_emplace(t.table, Table{last_look_, 0, false});
    Table& seen = it->second;
    if (!t.done) {
      // Not started yet, or started again (a requested snapshot of it).
      if (t.rows == 0 || t.rows < seen.base || seen.done) seen = Table{now, t.rows, false};
      continue;
    }
    if (seen.done) continue;
    seen.done = true;
    const uint64_t read = t.rows >= seen.base ? t.rows - seen.base : t.rows;
    lines.push_back(
        snapshot_table_done_line(t.table, t.rows, read, seconds_between(seen.start, now)));
  }
  if (!current.running) {
    const uint64_t rows = total_rows(current);
    lines.push_back(snapshot_done_line(current, rows >= base_rows_ ? rows - base_rows_ : rows,
                                       seconds_between(started_, now)));
    watching_ = false;
  } else if (now - last_report_ >= kInterval) {
    for (std::string& line :
         snapshot_progress_lines(reported_, current, seconds_between(last_report_, now))) {
      lines.push_back(std::move(line));
    }
    reported_ = current;
    last_report_ = now;
  }
  last_look_ = now;
  return lines;
}

}  // namespace heliosdb::cdc
