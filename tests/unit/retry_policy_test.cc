// The sinks' shared retry policy (sink/retry_policy.h) and acknowledgement
// runs (sink/ack_adapter.h).
#include <gtest/gtest.h>

#include "sink/ack_adapter.h"
#include "sink/retry_policy.h"
#include "testing/ack_recorder.h"

namespace heliosdb::cdc::sink_internal {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicy, CeilingDoublesFromTheBaseUpToTheCap) {
  RetryPolicy p(milliseconds(10), milliseconds(100), 5, 1);
  EXPECT_EQ(p.ceiling(0), milliseconds(10));
  EXPECT_EQ(p.ceiling(1), milliseconds(20));
  EXPECT_EQ(p.ceiling(2), milliseconds(40));
  EXPECT_EQ(p.ceiling(3), milliseconds(80));
  EXPECT_EQ(p.ceiling(4), milliseconds(100));
  EXPECT_EQ(p.ceiling(30), milliseconds(100));
}

TEST(RetryPolicy, BackoffIsFullJitterWithinTheCeiling) {
  RetryPolicy p(milliseconds(10), milliseconds(100), 5, 42);
  bool below_half = false;
  for (int i = 0; i < 200; ++i) {
    auto d = p.backoff(3);
    EXPECT_GE(d.count(), 0);
    EXPECT_LE(d, milliseconds(80));
    below_half = below_half || d < milliseconds(40);
  }
  EXPECT_TRUE(below_half) << "full jitter draws from [0, ceiling], not near the ceiling only";
}

TEST(RetryPolicy, TheSameSeedGivesTheSameSchedule) {
  RetryPolicy a(milliseconds(5), milliseconds(1000), 5, 7),
      b(milliseconds(5), milliseconds(1000), 5, 7);
  for (int i = 1; i < 8; ++i) EXPECT_EQ(a.backoff(i), b.backoff(i)) << i;
}

TEST(RetryPolicy, ZeroDelaysNeverWait) {
  RetryPolicy p(milliseconds(0), milliseconds(0), 3);
  EXPECT_EQ(p.backoff(1), milliseconds(0));
  EXPECT_EQ(p.backoff(10), milliseconds(0));
}

TEST(RetryPolicy, ExhaustedAfterMaxRetriesRetries) {
  RetryPolicy p(milliseconds(1), milliseconds(2), 2);
  EXPECT_FALSE(p.exhausted(1));
  EXPECT_FALSE(p.exhausted(2));
  EXPECT_TRUE(p.exhausted(3));
  RetryPolicy none(milliseconds(1), milliseconds(2), 0);
  EXPECT_TRUE(none.exhausted(1));
}

TEST(RetryPolicy, RetriableErrorsAreThoseWhoseCodeSaysSo) {
  EXPECT_TRUE(RetryPolicy::retriable(Status(ErrorCode::kUnavailable, "down")));
  EXPECT_TRUE(RetryPolicy::retriable(Status(ErrorCode::kTimeout, "slow")));
  EXPECT_FALSE(RetryPolicy::retriable(Status(ErrorCode::kInvalidArgument, "bad")));
  EXPECT_FALSE(RetryPolicy::retriable(Status(ErrorCode::kPermissionDenied, "no")));
}

TEST(AckRuns, TicketsReportedOutOfOrderAreAcknowledgedAsSortedRuns) {
  AckRuns runs;
  testing::AckRecorder acks;
  for (uint64_t t : {3, 0, 4, 1, 2, 9, 7, 8}) runs.add(t);
  runs.flush(&acks);
  EXPECT_EQ(acks.ack_calls(), 2u);  // [0, 5) and [7, 10)
  EXPECT_EQ(acks.acked(), (std::set<uint64_t>{0, 1, 2, 3, 4, 7, 8, 9}));
  EXPECT_EQ(acks.acked_in_order(), (std::vector<uint64_t>{0, 1, 2, 3, 4, 7, 8, 9}));
}

TEST(AckRuns, AFlushWithoutReceiverDropsAndAnEmptyFlushReportsNothing) {
  AckRuns runs;
  testing::AckRecorder acks;
  runs.add(1);
  runs.flush(nullptr);
  runs.flush(&acks);
  EXPECT_EQ(acks.ack_calls(), 0u);
}

}  // namespace
}  // namespace heliosdb::cdc::sink_internal
