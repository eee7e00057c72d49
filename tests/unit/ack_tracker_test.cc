#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "pipeline/ack_tracker.h"
#include "pipeline/memory_budget.h"

namespace heliosdb::cdc {
namespace {

DeliveryPosition at(uint64_t commit, uint64_t event) { return {commit, commit, event}; }

TEST(AckTracker, OutOfOrderAcksAdvanceOnlyOverADonePrefix) {
  std::atomic<bool> stop_flag{false};
  auto stop = [&] { return stop_flag.load(); };
  AckTracker t(10, {});
  for (uint64_t i = 1; i <= 3; ++i) ASSERT_EQ(t.register_event(at(10, i), 0, stop), i - 1);
  t.acknowledge(2, 1);
  EXPECT_EQ(t.delivered(), DeliveryPosition{});
  t.acknowledge(1, 1);
  EXPECT_EQ(t.delivered(), DeliveryPosition{});
  t.acknowledge(0, 1);
  EXPECT_EQ(t.delivered(), at(10, 3));
  EXPECT_EQ(t.acknowledged_count(), 3u);
}

TEST(AckTracker, TransactionEndMovesThePositionOnceItsEventsAreDone) {
  std::atomic<bool> stop_flag{false};
  auto stop = [&] { return stop_flag.load(); };
  AckTracker t(10, {});
  ASSERT_TRUE(t.register_event(at(20, 15), 0, stop));
  t.advance_after_last({21, 20, 20});
  EXPECT_EQ(t.delivered(), DeliveryPosition{});
  t.acknowledge(0, 1);
  EXPECT_EQ(t.delivered(), (DeliveryPosition{21, 20, 20}));
  // A fully filtered transaction with nothing outstanding moves it at once.
  t.advance_after_last({31, 30, 30});
  EXPECT_EQ(t.delivered(), (DeliveryPosition{31, 30, 30}));
}

TEST(AckTracker, FailureNeverLetsThePositionPassTheFailedEvent) {
  std::atomic<bool> stop_flag{false};
  auto stop = [&] { return stop_flag.load(); };
  AckTracker t(10, {});
  for (uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(t.register_event(at(10, i), 0, stop));
  t.acknowledge(0, 1);
  t.fail(1, unavailable("broker said no"));
  t.acknowledge(2, 1);
  EXPECT_EQ(t.delivered(), at(10, 1));
  ASSERT_TRUE(t.failure().has_value());
  EXPECT_NE(t.failure()->message().find("broker said no"), std::string::npos);
}

TEST(AckTracker, AGiveUpErrorNamesTheEventByIdTableAndPositionNotByTicket) {
  auto stop = [] { return false; };
  AckTracker t(10, {});
  t.set_database("shop");
  CdcEvent ev;
  ev.table = "orders";
  ASSERT_EQ(t.register_event(at(45, 42), ev, stop), 0u);
  t.fail(0, unavailable("broker said no"));
  ASSERT_TRUE(t.failure().has_value());
  const std::string message = t.failure()->message();
  EXPECT_EQ(message.find("ticket"), std::string::npos) << message;
  EXPECT_NE(message.find("evt_shop_42"), std::string::npos) << message;
  EXPECT_NE(message.find("orders"), std::string::npos) << message;
  EXPECT_NE(message.find("commit sequence 45"), std::string::npos) << message;
  EXPECT_NE(message.find("broker said no"), std::string::npos) << message;
}

TEST(AckTracker, RegisterBlocksWhenFullUntilAnAckMakesRoom) {
  std::atomic<bool> stop_flag{false};
  auto stop = [&] { return stop_flag.load(); };
  AckTracker t(2, {});
  ASSERT_TRUE(t.register_event(at(1, 1), 0, stop));
  ASSERT_TRUE(t.register_event(at(1, 2), 0, stop));
  std::atomic<bool> registered{false};
  std::thread producer([&] {
    auto ticket = t.register_event(at(1, 3), 0, stop);
    registered = ticket.has_value();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(registered.load());
  t.acknowledge(0, 1);
  producer.join();
  EXPECT_TRUE(registered.load());
  EXPECT_EQ(t.outstanding(), 2u);
}

TEST(AckTracker, StopReleasesABlockedRegistration) {
  std::atomic<bool> stop_flag{false};
  auto stop = [&] { return stop_flag.load(); };
  AckTracker t(1, {});
  ASSERT_TRUE(t.register_event(at(1, 1), 0, stop));
  std::optional<uint64_t> result = 7;
  std::thread producer([&] { result = t.register_event(at(1, 2), 0, stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop_flag = true;
  t.wake_all();
  producer.join();
  EXPECT_FALSE(result.has_value());
}

TEST(AckTracker, DuplicateAndStaleAcksAreIgnored) {
  std::atomic<bool> stop_flag{false};
  auto stop = [&] { return stop_flag.load(); };
  AckTracker t(10, {});
  ASSERT_TRUE(t.register_event(at(1, 1), 0, stop));
  t.acknowledge(0, 1);
  t.acknowledge(0, 1);
  t.acknowledge(99, 1);
  EXPECT_EQ(t.acknowledged_count(), 1u);
  EXPECT_EQ(t.oldest_unacked_ms(), 0);
}

std::vector<AckTracker::PendingEvent> pending(uint64_t commit, uint64_t first, uint64_t n) {
  std::vector<AckTracker::PendingEvent> out(n);
  for (uint64_t i = 0; i < n; ++i) out[i].position = at(commit, first + i);
  return out;
}

TEST(AckTracker, HasRoomForSaysWhetherRegisteringWouldWait) {
  auto never = [] { return false; };
  AckTracker t(5, {});
  EXPECT_TRUE(t.has_room_for(5));
  EXPECT_TRUE(t.has_room_for(8));  // larger than the window: fits once nothing is outstanding
  ASSERT_TRUE(t.register_batch(pending(1, 1, 3), never));
  EXPECT_TRUE(t.has_room_for(2));
  EXPECT_FALSE(t.has_room_for(3));
  EXPECT_FALSE(t.has_room_for(8));
  t.acknowledge(0, 1);
  EXPECT_TRUE(t.has_room_for(3));
  t.acknowledge(1, 2);
  EXPECT_TRUE(t.has_room_for(8));
}

TEST(AckTracker, BatchesGetConsecutiveTicketsAndWaitUntilTheyFit) {
  std::atomic<bool> stop_flag{false};
  auto stop = [&] { return stop_flag.load(); };
  AckTracker t(5, {});
  auto a = pending(1, 1, 3), b = pending(1, 4, 3);
  ASSERT_EQ(t.register_batch(a, stop), 0u);
  EXPECT_EQ(t.outstanding(), 3u);
  // 3 + 3 > 5: the second batch waits until the first is acknowledged.
  std::optional<uint64_t> second;
  std::atomic<bool> registered{false};
  std::thread producer([&] {
    second = t.register_batch(b, stop);
    registered = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(registered.load());
  t.acknowledge(0, 1);  // 2 outstanding + 3 = 5: fits
  producer.join();
  ASSERT_EQ(second, 3u);
  EXPECT_EQ(t.outstanding(), 5u);
  t.acknowledge(1, 5);
  EXPECT_EQ(t.delivered(), at(1, 6));
  EXPECT_EQ(t.acknowledged_count(), 6u);
}

TEST(AckTracker, ABatchLargerThanTheCapacityWaitsForAnEmptyTracker) {
  std::atomic<bool> stop_flag{false};
  auto stop = [&] { return stop_flag.load(); };
  AckTracker t(2, {});
  ASSERT_EQ(t.register_batch(pending(1, 1, 1), stop), 0u);
  std::optional<uint64_t> big;
  std::thread producer([&] { big = t.register_batch(pending(1, 2, 4), stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(t.outstanding(), 1u);
  t.acknowledge(0, 1);
  producer.join();
  ASSERT_EQ(big, 1u);
  EXPECT_EQ(t.outstanding(), 4u);
}

struct TableRecorder : PipelineObserver {
  std::vector<std::string> tables;
  void on_acknowledged(const AckedEvent& e) override { tables.emplace_back(e.table); }
};

// Table names are interned (ids reused, names reported back exactly) for
// more tables than the recent-name cache holds, in any order.
TEST(AckTracker, InternedTablesReportTheirNamesBackForManyTables) {
  auto stop = [] { return false; };
  AckTracker t(1000, {});
  auto recorder = std::make_shared<TableRecorder>();
  t.set_observer(recorder);
  std::vector<std::string> expected;
  std::vector<AckTracker::PendingEvent> batch;
  for (int i = 0; i < 60; ++i) {
    std::string name = "table_" + std::to_string((i * 7) % 20);
    AckTracker::PendingEvent e;
    e.position = at(1, i + 1);
    e.table = t.intern_table(name);
    EXPECT_EQ(e.table, t.intern_table(std::string(name)));  // same id, other storage
    batch.push_back(e);
    expected.push_back(name);
  }
  ASSERT_EQ(t.register_batch(batch, stop), 0u);
  t.acknowledge(0, batch.size());
  EXPECT_EQ(recorder->tables, expected);
}

// Each acknowledged event gives its bytes back to the budget, once, after
// the observer has seen it; an unacknowledged one keeps them charged.
TEST(AckTracker, AcknowledgedEventsReleaseTheirBytesFromTheBudget) {
  auto stop = [] { return false; };
  MemoryBudget budget(1000);
  AckTracker t(10, {});
  struct UsedAtAck : PipelineObserver {
    MemoryBudget* budget = nullptr;
    std::vector<uint64_t> used;
    void on_acknowledged(const AckedEvent&) override { used.push_back(budget->used()); }
  };
  auto observer = std::make_shared<UsedAtAck>();
  observer->budget = &budget;
  t.set_observer(observer);
  t.set_budget(&budget);
  std::vector<AckTracker::PendingEvent> batch(3);
  for (uint64_t i = 0; i < 3; ++i) {
    batch[i].position = at(1, i + 1);
    batch[i].bytes = 100 * (i + 1);
  }
  budget.charge(600);
  ASSERT_EQ(t.register_batch(batch, stop), 0u);
  t.acknowledge(1, 1);
  EXPECT_EQ(budget.used(), 400u);
  t.acknowledge(1, 2);  // ticket 1 again: released once
  EXPECT_EQ(budget.used(), 100u);
  EXPECT_EQ(observer->used, (std::vector<uint64_t>{600, 400}));  // before each release
}

TEST(MemoryBudget, ARowLargerThanTheLimitFitsOnlyWhenNothingIsCharged) {
  MemoryBudget budget(1000);
  EXPECT_TRUE(budget.fits(0, 5000));   // nothing in flight: passes alone
  EXPECT_FALSE(budget.fits(1, 5000));  // the caller holds a byte
  EXPECT_TRUE(budget.fits(400, 600));
  EXPECT_FALSE(budget.fits(400, 601));
  budget.charge(1);
  EXPECT_FALSE(budget.fits(0, 5000));
  EXPECT_TRUE(budget.fits(0, 999));
  budget.release(1);
  EXPECT_TRUE(budget.fits(0, 5000));
}

TEST(MemoryBudget, AWaitingReaderIsWokenByARelease) {
  MemoryBudget budget(1000);
  budget.charge(900);
  std::atomic<bool> admitted{false};
  std::thread reader([&] {
    EXPECT_TRUE(budget.wait_for_room(500, [] { return false; }));
    admitted = true;
  });
  for (int i = 0; i < 500 && !budget.has_waiter(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(budget.has_waiter());
  EXPECT_FALSE(admitted.load());
  budget.release(300);  // 600 + 500 still does not fit
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(admitted.load());
  budget.release(100);
  reader.join();
  EXPECT_TRUE(admitted.load());
  // A stop ends a wait that nothing would end.
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    stop = true;
  });
  EXPECT_FALSE(budget.wait_for_room(5000, [&] { return stop.load(); }));
  stopper.join();
}

}  // namespace
}  // namespace heliosdb::cdc
