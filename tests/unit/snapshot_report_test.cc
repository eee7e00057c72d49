// The snapshot's log lines (src/pipeline/snapshot_report.h): exact text of
// each line, the estimate's edge cases, and when SnapshotReporter says a
// line is due, at times the test gives it.
#include "pipeline/snapshot_report.h"

#include <gtest/gtest.h>

namespace heliosdb::cdc {
namespace {

using Clock = SnapshotReporter::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

SnapshotTableProgress table(std::string name, uint64_t rows, int64_t estimated, bool done = false) {
  return {std::move(name), rows, estimated, done};
}

SnapshotProgress running(std::vector<SnapshotTableProgress> tables) {
  return {true, std::move(tables)};
}

TEST(SnapshotEstimate, BelowTheEstimateIsRoundedDownAndLeavesTheRest) {
  SnapshotEstimate e = estimate_of(table("t", 999, 1000));
  EXPECT_EQ(e.percent, 99);
  EXPECT_EQ(e.remaining, 1u);
  EXPECT_TRUE(e.eta_known);
}

TEST(SnapshotEstimate, PastTheEstimateIsNinetyNinePercentWithNothingLeftAndNoEta) {
  SnapshotEstimate e = estimate_of(table("t", 1500, 1000));
  EXPECT_EQ(e.percent, 99);
  EXPECT_EQ(e.remaining, 0u);
  EXPECT_FALSE(e.eta_known);
  // An empty-looking table (reltuples 0) that has rows is past it at once.
  EXPECT_EQ(estimate_of(table("t", 1, 0)).percent, 99);
}

TEST(SnapshotEstimate, DoneIsAHundredPercentWithNothingLeft) {
  SnapshotEstimate e = estimate_of(table("t", 10, 1000, true));
  EXPECT_EQ(e.percent, 100);
  EXPECT_EQ(e.remaining, 0u);
  EXPECT_FALSE(e.eta_known);
}

TEST(SnapshotEstimate, UnknownEstimateHasNoPercentAndNoRemaining) {
  SnapshotEstimate e = estimate_of(table("t", 10, -1));
  EXPECT_FALSE(e.percent.has_value());
  EXPECT_FALSE(e.remaining.has_value());
  EXPECT_FALSE(e.eta_known);
}

TEST(SnapshotRate, RowsSinceThePreviousOverTheElapsedTime) {
  SnapshotTableProgress before = table("t", 100, -1);
  EXPECT_EQ(snapshot_rate(&before, table("t", 600, -1), 2.0), 250.0);
  EXPECT_EQ(snapshot_rate(nullptr, table("t", 600, -1), 2.0), 300.0);
  EXPECT_FALSE(snapshot_rate(&before, table("t", 600, -1), 0.0).has_value());
  // Fewer rows than before: a new snapshot of the table, no rate yet.
  EXPECT_FALSE(snapshot_rate(&before, table("t", 50, -1), 2.0).has_value());
}

TEST(SnapshotEta, RoundedUpInSecondsMinutesOrHours) {
  SnapshotEstimate e = estimate_of(table("t", 0, 1000));
  EXPECT_EQ(format_eta(e, 1000.0), "1s");
  EXPECT_EQ(format_eta(e, 300.0), "4s");  // 3.33 s
  EXPECT_EQ(format_eta(e, 10.0), "1m40s");
  EXPECT_EQ(format_eta(estimate_of(table("t", 0, 7500)), 1.0), "2h05m");
}

TEST(SnapshotEta, UnknownWithoutEstimateRateOrWhenPastTheEstimate) {
  EXPECT_EQ(format_eta(estimate_of(table("t", 0, -1)), 100.0), "unknown");
  EXPECT_EQ(format_eta(estimate_of(table("t", 0, 1000)), std::nullopt), "unknown");
  EXPECT_EQ(format_eta(estimate_of(table("t", 0, 1000)), 0.0), "unknown");
  EXPECT_EQ(format_eta(estimate_of(table("t", 2000, 1000)), 100.0), "unknown");
  // 10^12 rows at 1 row/s: no figure worth printing.
  EXPECT_EQ(format_eta(estimate_of(table("t", 0, 1'000'000'000'000)), 1.0), "unknown");
}

TEST(SnapshotProgressLines, OneLinePerStartedTableNotDone) {
  SnapshotProgress before =
      running({table("public.a", 1000, 1000, true), table("public.users", 100000, 1000000),
               table("public.logs", 0, -1), table("public.z", 0, 10)});
  SnapshotProgress now =
      running({table("public.a", 1000, 1000, true), table("public.users", 520000, 1000000),
               table("public.logs", 4000, -1), table("public.z", 0, 10)});
  std::vector<std::string> lines = snapshot_progress_lines(before, now, 10.0);
  ASSERT_EQ(lines.size(), 2u);
  // 420000 rows in 10 s; 480000 left at 42000 rows/s: 11.4 s.
  EXPECT_EQ(lines[0],
            "snapshot public.users: 520000 of ~1000000 rows (52%), 42000 rows/s, ETA 12s");
  EXPECT_EQ(lines[1], "snapshot public.logs: 4000 rows (no estimate), 400 rows/s, ETA unknown");
}

TEST(SnapshotProgressLines, ATableNewSinceThePreviousCountsFromZero) {
  std::vector<std::string> lines =
      snapshot_progress_lines(running({}), running({table("public.users", 500, 1000)}), 10.0);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "snapshot public.users: 500 of ~1000 rows (50%), 50 rows/s, ETA 10s");
}

TEST(SnapshotProgressLines, NoRateWhenNoTimePassedOrTheTableRestarted) {
  SnapshotProgress before = running({table("public.users", 900, 1000)});
  SnapshotProgress now = running({table("public.users", 300, 1000)});
  std::vector<std::string> lines = snapshot_progress_lines(before, now, 10.0);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "snapshot public.users: 300 of ~1000 rows (30%), rate unknown, ETA unknown");
  EXPECT_EQ(snapshot_progress_lines(now, now, 0.0)[0],
            "snapshot public.users: 300 of ~1000 rows (30%), rate unknown, ETA unknown");
}

TEST(SnapshotDoneLines, TableAndSnapshotWithRowsDurationAndAverageRate) {
  EXPECT_EQ(snapshot_table_done_line("public.users", 1000000, 1000000, 10.2),
            "snapshot public.users done: 1000000 rows in 10.2 s (98039 rows/s)");
  // After a restart: the total, and the rate of what this run read.
  EXPECT_EQ(snapshot_table_done_line("public.users", 1000000, 400000, 4.0),
            "snapshot public.users done: 1000000 rows in 4.0 s (100000 rows/s)");
  EXPECT_EQ(snapshot_table_done_line("public.empty", 0, 0, 0.0),
            "snapshot public.empty done: 0 rows in 0.0 s (0 rows/s)");
  SnapshotProgress all = {false, {table("a", 1000000, -1, true), table("b", 500000, 1, true)}};
  EXPECT_EQ(snapshot_done_line(all, 1500000, 15.3),
            "snapshot done: 2 tables, 1500000 rows in 15.3 s (98039 rows/s)");
  SnapshotProgress part = {false, {table("a", 1000, -1, true), table("b", 500, 10000)}};
  EXPECT_EQ(snapshot_done_line(part, 1500, 3.0),
            "snapshot stopped: 1 of 2 tables done, 1500 rows in 3.0 s (500 rows/s)");
}

class SnapshotReporterTest : public ::testing::Test {
 protected:
  std::vector<std::string> at(milliseconds since_start, const SnapshotProgress& p) {
    return reporter_.observe(t0_ + since_start, p);
  }
  Clock::time_point t0_ = Clock::time_point() + seconds(1000);
  SnapshotReporter reporter_;
};

TEST_F(SnapshotReporterTest, SaysNothingWhileNoSnapshotRuns) {
  EXPECT_TRUE(at(milliseconds(0), {}).empty());
  EXPECT_TRUE(at(seconds(60), {}).empty());
  EXPECT_FALSE(reporter_.watching());
}

TEST_F(SnapshotReporterTest, PeriodicLinesEveryTenSecondsWithTheRateOfThatInterval) {
  EXPECT_TRUE(at(seconds(0), running({table("public.users", 0, 1000)})).empty());
  EXPECT_TRUE(reporter_.watching());
  EXPECT_TRUE(at(seconds(5), running({table("public.users", 100, 1000)})).empty());
  EXPECT_TRUE(at(milliseconds(9999), running({table("public.users", 150, 1000)})).empty());
  std::vector<std::string> lines = at(seconds(10), running({table("public.users", 200, 1000)}));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "snapshot public.users: 200 of ~1000 rows (20%), 20 rows/s, ETA 40s");
  EXPECT_TRUE(at(seconds(15), running({table("public.users", 300, 1000)})).empty());
  lines = at(seconds(20), running({table("public.users", 500, 1000)}));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "snapshot public.users: 500 of ~1000 rows (50%), 30 rows/s, ETA 17s");
}

TEST_F(SnapshotReporterTest, ATableDoneAndTheSnapshotDoneEachGetALine) {
  EXPECT_TRUE(
      at(seconds(0), running({table("public.a", 0, 100), table("public.b", 0, -1)})).empty());
  // public.a started after the look at 1 s (0 rows then).
  EXPECT_TRUE(
      at(seconds(1), running({table("public.a", 0, 100), table("public.b", 0, -1)})).empty());
  std::vector<std::string> lines =
      at(seconds(3), running({table("public.a", 100, 100, true), table("public.b", 10, -1)}));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "snapshot public.a done: 100 rows in 2.0 s (50 rows/s)");
  // public.b started after the look at 1 s too.
  lines = at(seconds(5),
             {false, {table("public.a", 100, 100, true), table("public.b", 400, -1, true)}});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "snapshot public.b done: 400 rows in 4.0 s (100 rows/s)");
  EXPECT_EQ(lines[1], "snapshot done: 2 tables, 500 rows in 5.0 s (100 rows/s)");
  EXPECT_FALSE(reporter_.watching());
  // Already said: the same progress again says nothing.
  EXPECT_TRUE(at(seconds(30),
                 {false, {table("public.a", 100, 100, true), table("public.b", 400, -1, true)}})
                  .empty());
}

TEST_F(SnapshotReporterTest, AResumedSnapshotAnnouncesNoTableDoneBeforeAndRatesOnlyThisRun) {
  // After a restart: public.a was done, public.b half read.
  EXPECT_TRUE(
      at(seconds(0), running({table("public.a", 1000, 1000, true), table("public.b", 500, 1000)}))
          .empty());
  std::vector<std::string> lines =
      at(seconds(5),
         {false, {table("public.a", 1000, 1000, true), table("public.b", 1000, 1000, true)}});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "snapshot public.b done: 1000 rows in 5.0 s (100 rows/s)");
  EXPECT_EQ(lines[1], "snapshot done: 2 tables, 2000 rows in 5.0 s (100 rows/s)");
}

TEST_F(SnapshotReporterTest, ASnapshotThatEndsWithTablesNotDoneIsStopped) {
  EXPECT_TRUE(at(seconds(0), running({table("public.a", 0, 100)})).empty());
  std::vector<std::string> lines = at(seconds(2), {false, {table("public.a", 40, 100)}});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "snapshot stopped: 0 of 1 tables done, 40 rows in 2.0 s (20 rows/s)");
}

TEST_F(SnapshotReporterTest, ATableSnapshottedAgainOnRequestIsAnnouncedAgain) {
  EXPECT_TRUE(at(seconds(0), running({table("public.a", 0, 100)})).empty());
  ASSERT_EQ(at(seconds(1), {false, {table("public.a", 100, 100, true)}}).size(), 2u);
  // A requested snapshot of the same table, later.
  EXPECT_TRUE(at(seconds(100), running({table("public.a", 0, 100)})).empty());
  std::vector<std::string> lines = at(seconds(104), running({table("public.a", 100, 100, true)}));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "snapshot public.a done: 100 rows in 4.0 s (25 rows/s)");
}

}  // namespace
}  // namespace heliosdb::cdc
