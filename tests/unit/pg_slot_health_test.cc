#include "source/postgres/slot_health.h"

#include <gtest/gtest.h>

namespace heliosdb::cdc::pg {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

SlotSample sample(Clock::time_point at, Lsn server, Lsn restart, Lsn flushed) {
  SlotSample s;
  s.at = at;
  s.server_lsn = server;
  s.restart_lsn = restart;
  s.wal_status = "reserved";
  s.flushed = flushed;
  return s;
}

PostgresSourceOptions options() {
  PostgresSourceOptions o;
  o.slot = "cdc";
  o.stall_timeout_s = 10;
  return o;
}

TEST(PgSlotHealth, HeartbeatRoundTripsAndRejectsMalformedContent) {
  auto h = decode_heartbeat(encode_heartbeat({"cdc_slot", 1733389200123456}));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->slot, "cdc_slot");
  EXPECT_EQ(h->sent_unix_micros, 1733389200123456);
  EXPECT_FALSE(decode_heartbeat("cdc_slot"));
  EXPECT_FALSE(decode_heartbeat(" 12"));
  EXPECT_FALSE(decode_heartbeat("cdc 12x"));
  EXPECT_FALSE(decode_heartbeat("cdc "));
}

TEST(PgSlotHealth, RetainedAndLagBytesComeFromTheServerPosition) {
  SlotHealthJudge j(options());
  auto v = j.judge(sample(Clock::now(), 0x5000, 0x1000, 0x4000));
  EXPECT_EQ(v.health.retained_wal_bytes, 0x4000);
  EXPECT_EQ(v.health.lag_bytes, 0x1000);
  EXPECT_EQ(v.health.slot_wal_status, "reserved");
  EXPECT_EQ(v.health.problem, "");
  EXPECT_FALSE(v.health.failing);
}

TEST(PgSlotHealth, AFlushPositionStillWhileTheServerMovesOnIsAStallUntilItMoves) {
  SlotHealthJudge j(options());
  const auto t0 = Clock::now();
  EXPECT_FALSE(j.judge(sample(t0, 0x5000, 0x1000, 0x4000)).health.failing);
  EXPECT_FALSE(j.judge(sample(t0 + 9s, 0x6000, 0x1000, 0x4000)).health.failing);
  auto stalled = j.judge(sample(t0 + 10s, 0x7000, 0x1000, 0x4000));
  EXPECT_TRUE(stalled.health.failing);
  EXPECT_EQ(stalled.health.problem,
            "the flush position 0/4000 has not moved for 10 s while the server's WAL is at 0/7000 "
            "(stall_timeout_s = 10): the sink acknowledges nothing, or the pipeline is stuck");
  auto moved = j.judge(sample(t0 + 11s, 0x7000, 0x1000, 0x7000));
  EXPECT_FALSE(moved.health.failing);
  EXPECT_EQ(moved.health.problem, "");
}

TEST(PgSlotHealth, AnIdleServerWithEverythingFlushedIsNoStall) {
  SlotHealthJudge j(options());
  const auto t0 = Clock::now();
  j.judge(sample(t0, 0x5000, 0x1000, 0x5000));
  EXPECT_FALSE(j.judge(sample(t0 + 60s, 0x5000, 0x1000, 0x5000)).health.failing);
}

TEST(PgSlotHealth, PastTheBudgetAlertWarnsOnceAMinuteAndStaysDegraded) {
  PostgresSourceOptions o = options();
  o.max_retained_wal_bytes = 0x2000;
  SlotHealthJudge j(o);
  const auto t0 = Clock::now();
  auto v = j.judge(sample(t0, 0x5000, 0x1000, 0x5000));
  ASSERT_TRUE(v.warning);
  EXPECT_EQ(*v.warning,
            "replication slot cdc holds 16384 bytes of WAL on the server, past "
            "max_retained_wal_bytes = 8192");
  EXPECT_EQ(v.health.problem, *v.warning);
  EXPECT_FALSE(v.health.failing);
  EXPECT_TRUE(v.fail.is_ok());
  EXPECT_FALSE(j.judge(sample(t0 + 59s, 0x5000, 0x1000, 0x5000)).warning);
  EXPECT_TRUE(j.judge(sample(t0 + 60s, 0x5000, 0x1000, 0x5000)).warning);
  EXPECT_EQ(j.judge(sample(t0 + 61s, 0x5000, 0x4000, 0x5000)).health.problem, "");
}

TEST(PgSlotHealth, PastTheBudgetFailStopsNamingTheBudget) {
  PostgresSourceOptions o = options();
  o.max_retained_wal_bytes = 0x2000;
  o.on_wal_budget_exceeded = "fail";
  SlotHealthJudge j(o);
  auto v = j.judge(sample(Clock::now(), 0x5000, 0x1000, 0x5000));
  ASSERT_FALSE(v.fail.is_ok());
  EXPECT_NE(v.fail.message().find("past max_retained_wal_bytes = 8192 (on_wal_budget_exceeded = "
                                  "\"fail\")"),
            std::string::npos)
      << v.fail.message();
}

TEST(PgSlotHealth, ALostSlotHasNoRetainedFigureAndFails) {
  SlotHealthJudge j(options());
  SlotSample s = sample(Clock::now(), 0x5000, 0, 0x4000);
  s.restart_lsn.reset();
  s.wal_status = "lost";
  auto v = j.judge(s);
  EXPECT_EQ(v.health.retained_wal_bytes, -1);
  EXPECT_EQ(v.health.slot_wal_status, "lost");
  EXPECT_TRUE(v.health.failing);
  EXPECT_NE(v.health.problem.find("invalidated"), std::string::npos);
}

}  // namespace
}  // namespace heliosdb::cdc::pg
