// The generator's workload is realistic and consistent: well-formed
// transactions, updates whose old_value is the row's current image, repeating
// keys, a share of aborts, JSON-looking values, deterministic per seed.
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "testing/test_util.h"
#include "wal/generator.h"
#include "wal_test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

std::vector<OwnedWalEntry> run(wal::GeneratorOptions o, wal::GeneratorSummary* sum = nullptr) {
  std::vector<OwnedWalEntry> out;
  auto r = wal::generate_wal(o, nullptr,
                             [&](const WalEntry& e) { out.push_back(OwnedWalEntry::from(e)); });
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  if (sum && r) *sum = *r;
  return out;
}

TEST(WalGenerator, CommittedHistoryIsConsistentRowByRow) {
  TempDir dir;
  wal::GeneratorOptions o;
  o.dir = dir.path();
  o.events = 3000;
  o.abort_ratio = 0.2;
  o.value_bytes = 150;
  o.sync_policy = WalSyncPolicy::kNever;
  wal::GeneratorSummary sum;
  auto entries = run(o, &sum);
  EXPECT_EQ(sum.changes, 3000u);
  EXPECT_EQ(sum.entries, entries.size());
  EXPECT_EQ(sum.first_sequence, 1u);
  EXPECT_EQ(sum.last_sequence, entries.size());
  // What the WAL holds is exactly what was reported.
  EXPECT_EQ(testing::read_wal(dir.path()).entries, entries);

  std::map<std::pair<std::string, std::string>, std::string> rows;  // committed state
  std::map<uint64_t, std::vector<OwnedWalEntry>> open;
  std::map<std::string, int> kinds;
  size_t updates_hitting_rows = 0;
  for (const auto& e : entries) {
    ++kinds[std::string(wal_entry_kind_name(e.kind))];
    EXPECT_EQ(e.database, "mydb");
    switch (e.kind) {
      case WalEntryKind::Begin:
        ASSERT_EQ(open.count(e.transaction_id), 0u);
        open[e.transaction_id];
        break;
      case WalEntryKind::Commit:
        for (const auto& c : open[e.transaction_id]) {
          auto k = std::make_pair(c.table, c.key);
          if (c.kind == WalEntryKind::Insert) {
            EXPECT_EQ(rows.count(k), 0u) << "insert of an existing row " << c.key;
            rows[k] = *c.value;
          } else if (c.kind == WalEntryKind::Update) {
            ASSERT_EQ(rows.count(k), 1u);
            EXPECT_EQ(rows[k], *c.old_value) << "old_value is not the current row image";
            rows[k] = *c.value;
            ++updates_hitting_rows;
          } else if (c.kind == WalEntryKind::Delete) {
            ASSERT_EQ(rows.count(k), 1u);
            EXPECT_EQ(rows[k], *c.old_value);
            rows.erase(k);
          }
        }
        open.erase(e.transaction_id);
        break;
      case WalEntryKind::Abort:
        open.erase(e.transaction_id);
        break;
      default:
        ASSERT_EQ(open.count(e.transaction_id), 1u);
        if (e.value) {
          EXPECT_EQ(e.value->size(), 150u);
          EXPECT_EQ(e.value->front(), '{');
          EXPECT_EQ(e.value->back(), '}');
          EXPECT_NE(e.value->find("\"id\":"), std::string::npos);
        }
        open[e.transaction_id].push_back(e);
    }
  }
  EXPECT_TRUE(open.empty());
  EXPECT_GT(kinds["INSERT"], 500);
  EXPECT_GT(kinds["UPDATE"], 500);
  EXPECT_GT(kinds["DELETE"], 100);
  EXPECT_GT(updates_hitting_rows, 300u);
  double abort_share =
      static_cast<double>(sum.txns_aborted) / (sum.txns_aborted + sum.txns_committed);
  EXPECT_NEAR(abort_share, 0.2, 0.06);
  EXPECT_GT(sum.txns_committed + sum.txns_aborted, 500u);  // multi-change transactions
  EXPECT_LT(sum.txns_committed + sum.txns_aborted, 1500u);
}

TEST(WalGenerator, InterleavedTransactionsOverlapAndStayWellFormed) {
  TempDir dir;
  wal::GeneratorOptions o;
  o.dir = dir.path();
  o.events = 1000;
  o.interleave = 4;
  o.sync_policy = WalSyncPolicy::kNever;
  auto entries = run(o);
  std::set<uint64_t> open;
  size_t max_open = 0;
  for (const auto& e : entries) {
    if (e.kind == WalEntryKind::Begin)
      open.insert(e.transaction_id);
    else if (e.kind == WalEntryKind::Commit || e.kind == WalEntryKind::Abort) {
      EXPECT_EQ(open.erase(e.transaction_id), 1u);
    } else {
      EXPECT_EQ(open.count(e.transaction_id), 1u);
    }
    max_open = std::max(max_open, open.size());
  }
  EXPECT_TRUE(open.empty());
  EXPECT_GE(max_open, 3u);
  EXPECT_LE(max_open, 4u);
}

TEST(WalGenerator, AppendingContinuesSequenceWithFreshTransactionAndRowIds) {
  TempDir dir;
  wal::GeneratorOptions o;
  o.dir = dir.path();
  o.events = 200;
  o.sync_policy = WalSyncPolicy::kNever;
  auto first = run(o);
  auto second = run(o);
  EXPECT_EQ(second.front().sequence, first.back().sequence + 1);
  std::set<uint64_t> txns;
  for (const auto& e : first) txns.insert(e.transaction_id);
  for (const auto& e : second) EXPECT_EQ(txns.count(e.transaction_id), 0u);
  std::set<std::string> keys;
  for (const auto& e : first)
    if (e.kind == WalEntryKind::Insert) keys.insert(e.key);
  for (const auto& e : second) {
    if (e.kind == WalEntryKind::Insert) EXPECT_EQ(keys.count(e.key), 0u) << e.key;
  }
}

TEST(WalGenerator, InvalidOptionsAreRejected) {
  wal::GeneratorOptions o;
  o.dir = "/tmp/x";
  o.tables = {};
  EXPECT_FALSE(wal::generate_wal(o).is_ok());
  o.tables = {"a"};
  o.abort_ratio = 2;
  EXPECT_NE(wal::validate_generator_options(o), "");
  o.abort_ratio = 0;
  o.txn_size = 0;
  EXPECT_NE(wal::validate_generator_options(o), "");
}

}  // namespace
}  // namespace heliosdb::cdc
