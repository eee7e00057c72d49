#include "cli/snapshot_bar.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/pattern_formatter.h>

#include "pipeline/snapshot_report.h"

namespace heliosdb::cdc::cli {
namespace {

constexpr size_t kBarCells = 10;
// Back to the line's start, then erase to its end.
constexpr std::string_view kClearLine = "\r\x1b[K";

// `text` cut to at most `max` bytes, never inside a UTF-8 sequence.
std::string cut(std::string text, size_t max) {
  if (text.size() <= max) return text;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text;
}

}  // namespace

std::string group_thousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string render_snapshot_bar(const SnapshotTableProgress& table, std::optional<double> rate,
                                size_t index, size_t count, size_t width) {
  const SnapshotEstimate e = estimate_of(table);
  std::string text = "snapshot " + table.table;
  if (e.percent) {
    const size_t filled = static_cast<size_t>(*e.percent) * kBarCells / 100;
    text += " [" + std::string(filled, '#') + std::string(kBarCells - filled, '.') + "] ";
    text += fmt::format("{}% {}/{} rows", *e.percent, group_thousands(table.rows),
                        group_thousands(static_cast<uint64_t>(table.estimated_rows)));
  } else {
    text += " " + group_thousands(table.rows) + " rows";
  }
  if (rate) text += " " + group_thousands(static_cast<uint64_t>(*rate + 0.5)) + " rows/s";
  text += " ETA " + format_eta(e, rate);
  if (count > 1) text += fmt::format(" (table {} of {})", index, count);
  return width > 1 ? cut(std::move(text), width - 1) : text;
}

std::string SnapshotBar::update(Clock::time_point now, const SnapshotProgress& progress,
                                size_t width) {
  const SnapshotTableProgress* shown = nullptr;
  size_t index = 0;
  if (progress.running) {
    for (size_t i = 0; i < progress.tables.size() && !shown; ++i) {
      const SnapshotTableProgress& t = progress.tables[i];
      if (!t.done && t.rows > 0) shown = &t, index = i;
    }
    for (size_t i = 0; i < progress.tables.size() && !shown; ++i) {
      if (!progress.tables[i].done) shown = &progress.tables[i], index = i;
    }
  }
  if (!shown) {
    table_.clear();
    samples_.clear();
    return "";
  }
  // Another table, or the same one started again: its own samples.
  if (shown->table != table_ || (!samples_.empty() && shown->rows < samples_.back().second)) {
    table_ = shown->table;
    samples_.clear();
  }
  samples_.emplace_back(now, shown->rows);
  // Keeps the newest sample at least kRateWindow old, so the rate spans the
  // window once there is that much history.
  while (samples_.size() > 2 && now - samples_[1].first >= kRateWindow) samples_.pop_front();
  std::optional<double> rate;
  const double span = std::chrono::duration<double>(now - samples_.front().first).count();
  // Less than a second of samples says little: 200 ms of a chunk or none.
  if (span >= 1.0) {
    rate = static_cast<double>(shown->rows - samples_.front().second) / span;
  }
  return render_snapshot_bar(*shown, rate, index + 1, progress.tables.size(), width);
}

ProgressLineSink::ProgressLineSink(std::FILE* out, std::unique_ptr<spdlog::sinks::sink> lines)
    : out_(out), lines_(std::move(lines)) {}

void ProgressLineSink::show(const std::string& bar) {
  std::lock_guard lock(mutex_);
  if (bar == bar_) return;
  // An empty bar clears the line and leaves the cursor at its start.
  if (!bar_.empty() || !bar.empty()) write(std::string(kClearLine) + bar);
  bar_ = bar;
}

void ProgressLineSink::sink_it_(const spdlog::details::log_msg& msg) {
  if (!bar_.empty()) write(std::string(kClearLine));
  lines_->log(msg);
  if (!bar_.empty()) write(bar_);
}

void ProgressLineSink::flush_() {
  lines_->flush();
  std::fflush(out_);
}

void ProgressLineSink::set_pattern_(const std::string& pattern) { lines_->set_pattern(pattern); }

void ProgressLineSink::set_formatter_(std::unique_ptr<spdlog::formatter> formatter) {
  lines_->set_formatter(std::move(formatter));
}

void ProgressLineSink::write(const std::string& bytes) {
  std::fwrite(bytes.data(), 1, bytes.size(), out_);
  std::fflush(out_);
}

}  // namespace heliosdb::cdc::cli
