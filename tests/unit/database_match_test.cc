// DatabaseMatchCounter: the warning for a `database` that matches nothing,
// with a fake clock for the 60 s repetition.
#include "source/database_match.h"

#include <gtest/gtest.h>

namespace heliosdb::cdc {
namespace {

using Clock = DatabaseMatchCounter::Clock;

TEST(DatabaseMatchCounter, WarnsNamingTheDatabaseAndTheOnesSeen) {
  DatabaseMatchCounter c("mydb", "WAL /w", Clock::time_point{});
  EXPECT_FALSE(c.warning()) << "nothing read: nothing to say";
  EXPECT_FALSE(c.count("shop"));
  EXPECT_FALSE(c.count("shop"));
  EXPECT_FALSE(c.count("bad\nname"));
  auto w = c.warning();
  ASSERT_TRUE(w);
  EXPECT_EQ(*w,
            "none of the 3 entries read from WAL /w is of database \"mydb\" (databases seen: "
            "\"shop\", \"bad\\x0aname\"); nothing is delivered: check [cdc] database");
}

TEST(DatabaseMatchCounter, OneEntryOfTheDatabaseSilencesIt) {
  DatabaseMatchCounter c("mydb", "WAL /w", Clock::time_point{});
  c.count("shop");
  EXPECT_TRUE(c.count("mydb"));
  c.count("shop");
  EXPECT_FALSE(c.warning());
  EXPECT_FALSE(c.periodic_warning(Clock::time_point{} + std::chrono::hours(1)));
  EXPECT_EQ(c.entries(), 3u);
  EXPECT_EQ(c.matched(), 1u);
}

TEST(DatabaseMatchCounter, KeepsOnlyTheFirstFewNames) {
  DatabaseMatchCounter c("mydb", "WAL /w", Clock::time_point{});
  for (int i = 0; i < 50; ++i) c.count("db" + std::to_string(i));
  auto w = c.warning();
  ASSERT_TRUE(w);
  EXPECT_NE(w->find("(first databases seen: \"db0\", \"db1\", \"db2\", \"db3\", \"db4\")"),
            std::string::npos)
      << *w;
}

TEST(DatabaseMatchCounter, RepeatsEverySixtySecondsWhileNothingMatches) {
  const Clock::time_point t0{};
  DatabaseMatchCounter c("mydb", "WAL /w", t0);
  c.count("shop");
  EXPECT_FALSE(c.periodic_warning(t0 + std::chrono::seconds(59)));
  EXPECT_TRUE(c.periodic_warning(t0 + std::chrono::seconds(60)));
  EXPECT_FALSE(c.periodic_warning(t0 + std::chrono::seconds(100)));
  EXPECT_TRUE(c.periodic_warning(t0 + std::chrono::seconds(121)));
}

}  // namespace
}  // namespace heliosdb::cdc
