// The daemon's snapshot progress bar (src/cli/snapshot_bar.h): the bar's
// exact text, which table it shows and its rate at given times, and the
// bytes the sink writes around each log line (into an in-memory stream).
#include "cli/snapshot_bar.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ansicolor_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace heliosdb::cdc::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

SnapshotTableProgress table(std::string name, uint64_t rows, int64_t estimated, bool done = false) {
  return {std::move(name), rows, estimated, done};
}

TEST(SnapshotBarText, GroupsThousands) {
  EXPECT_EQ(group_thousands(0), "0");
  EXPECT_EQ(group_thousands(999), "999");
  EXPECT_EQ(group_thousands(1000), "1,000");
  EXPECT_EQ(group_thousands(1234567), "1,234,567");
  EXPECT_EQ(group_thousands(100000), "100,000");
}

TEST(SnapshotBarText, WithAnEstimate) {
  EXPECT_EQ(render_snapshot_bar(table("public.users", 520000, 1000000), 98000.0, 1, 1, 0),
            "snapshot public.users [#####.....] 52% 520,000/1,000,000 rows 98,000 rows/s ETA 5s");
  EXPECT_EQ(render_snapshot_bar(table("public.users", 0, 1000000), std::nullopt, 1, 1, 0),
            "snapshot public.users [..........] 0% 0/1,000,000 rows ETA unknown");
  // Past the estimate: 99 %, the end unknown.
  EXPECT_EQ(render_snapshot_bar(table("public.users", 1200, 1000), 100.0, 1, 1, 0),
            "snapshot public.users [#########.] 99% 1,200/1,000 rows 100 rows/s ETA unknown");
}

TEST(SnapshotBarText, WithoutAnEstimateAndWithTheTableCount) {
  EXPECT_EQ(render_snapshot_bar(table("public.logs", 4000, -1), 799.6, 2, 5, 0),
            "snapshot public.logs 4,000 rows 800 rows/s ETA unknown (table 2 of 5)");
}

TEST(SnapshotBarText, CutToOneColumnLessThanTheTerminal) {
  EXPECT_EQ(render_snapshot_bar(table("public.users", 520000, 1000000), 98000.0, 1, 1, 31),
            "snapshot public.users [#####..");  // 30 bytes
  // Never inside a UTF-8 sequence: "é" is 2 bytes.
  EXPECT_EQ(render_snapshot_bar(table("é", 1, -1), std::nullopt, 1, 1, 11), "snapshot ");
}

class SnapshotBarModel : public ::testing::Test {
 protected:
  std::string at(milliseconds since_start, const SnapshotProgress& p) {
    return bar_.update(t0_ + since_start, p, 0);
  }
  SnapshotBar::Clock::time_point t0_ = SnapshotBar::Clock::time_point() + seconds(1000);
  SnapshotBar bar_;
};

TEST_F(SnapshotBarModel, NoBarWhileNoSnapshotRunsOrWhenEveryTableIsDone) {
  EXPECT_EQ(at(seconds(0), {}), "");
  EXPECT_EQ(at(seconds(1), {true, {table("a", 10, 10, true)}}), "");
  EXPECT_EQ(at(seconds(2), {false, {table("a", 5, 10)}}), "");
}

TEST_F(SnapshotBarModel, ShowsTheStartedTableAndItsRateOnceASecondHasPassed) {
  SnapshotProgress p{true, {table("a", 10, 10, true), table("b", 0, 1000), table("c", 0, -1)}};
  // Nothing started: the first table not done.
  EXPECT_EQ(at(seconds(0), p),
            "snapshot b [..........] 0% 0/1,000 rows ETA unknown (table 2 of 3)");
  p.tables[2].rows = 50;  // c started (b not yet)
  EXPECT_EQ(at(milliseconds(200), p), "snapshot c 50 rows ETA unknown (table 3 of 3)");
  p.tables[2].rows = 150;
  EXPECT_EQ(at(milliseconds(1200), p), "snapshot c 150 rows 100 rows/s ETA unknown (table 3 of 3)");
}

TEST_F(SnapshotBarModel, TheRateSpansTheLastFiveSeconds) {
  SnapshotProgress p{true, {table("a", 0, 100000)}};
  for (int s = 0; s <= 10; ++s) {
    // 100 rows/s for 5 s, then 1000 rows/s.
    p.tables[0].rows = s <= 5 ? 100 * s : 500 + 1000 * (s - 5);
    at(seconds(s), p);
  }
  // From 5 s (500 rows) to 10 s (5500 rows).
  p.tables[0].rows = 5500;
  EXPECT_EQ(at(seconds(10), p),
            "snapshot a [..........] 5% 5,500/100,000 rows 1,000 rows/s ETA 1m35s");
}

TEST_F(SnapshotBarModel, ATableStartedAgainStartsItsRateAgain) {
  SnapshotProgress p{true, {table("a", 900, 1000)}};
  at(seconds(0), p);
  p.tables[0].rows = 100;
  EXPECT_EQ(at(seconds(2), p), "snapshot a [#.........] 10% 100/1,000 rows ETA unknown");
}

// Reads back what was written to an in-memory FILE*.
class MemoryStream {
 public:
  MemoryStream() : file_(open_memstream(&buffer_, &size_)) {}
  ~MemoryStream() {
    std::fclose(file_);
    std::free(buffer_);
  }
  std::FILE* file() { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(buffer_, size_);
  }

 private:
  char* buffer_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

class ProgressLineSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    using Console = spdlog::sinks::ansicolor_sink<spdlog::details::console_nullmutex>;
    sink_ = std::make_shared<ProgressLineSink>(
        out_.file(), std::make_unique<Console>(out_.file(), spdlog::color_mode::never));
    logger_ = std::make_shared<spdlog::logger>("bar-test", sink_);
    logger_->set_pattern("%l %v");
  }
  MemoryStream out_;
  std::shared_ptr<ProgressLineSink> sink_;
  std::shared_ptr<spdlog::logger> logger_;
};

TEST_F(ProgressLineSinkTest, WithoutABarLinesAreWrittenAsTheyAre) {
  logger_->info("one");
  logger_->warn("two");
  EXPECT_EQ(out_.text(), "info one\nwarning two\n");
}

TEST_F(ProgressLineSinkTest, ALogLineClearsTheBarPrintsAndRedrawsIt) {
  sink_->show("BAR 1");
  EXPECT_EQ(out_.text(), "\r\x1b[KBAR 1");
  logger_->info("hello");
  EXPECT_EQ(out_.text(), "\r\x1b[KBAR 1\r\x1b[Kinfo hello\nBAR 1");
  sink_->show("BAR 2");
  logger_->info("again");
  EXPECT_EQ(out_.text(),
            "\r\x1b[KBAR 1\r\x1b[Kinfo hello\nBAR 1\r\x1b[KBAR 2\r\x1b[Kinfo again\nBAR 2");
}

TEST_F(ProgressLineSinkTest, AnEmptyBarClearsTheLineOnceAndLinesGoOnPlain) {
  sink_->show("BAR");
  sink_->show("BAR");  // unchanged: nothing written
  sink_->show("");
  sink_->show("");
  logger_->info("after");
  EXPECT_EQ(out_.text(), "\r\x1b[KBAR\r\x1b[Kinfo after\n");
}

}  // namespace
}  // namespace heliosdb::cdc::cli
