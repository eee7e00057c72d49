// TxnAssembler: commit order, aborts, and the restart positions a checkpoint
// records for interleaved transactions (where a resumed reader must start so
// that no change of a still-open transaction is skipped).
#include "pipeline/txn_assembler.h"

#include <gtest/gtest.h>

#include <vector>

namespace heliosdb::cdc {
namespace {

struct Recorded {
  std::vector<uint64_t> changes;    // sequences, in emission order
  std::vector<CommitInfo> commits;  // in commit order
};

class Feeder {
 public:
  Feeder() : assembler_(nullptr, "db", 1 << 20) {}
  void add(WalEntryKind kind, uint64_t txn, std::string_view key = "k") {
    WalEntry e;
    e.sequence = ++sequence_;
    e.timestamp_ms = 1000 + static_cast<int64_t>(sequence_);
    e.transaction_id = txn;
    e.kind = kind;
    e.database = "db";
    e.table = "t";
    e.key = key;
    if (kind == WalEntryKind::Insert) e.value = "v";
    Status st = assembler_.add(
        e,
        [&](const CommitInfo&, const CommittedChange& c) {
          out.changes.push_back(c.sequence);
          return Status::ok();
        },
        [&](const CommitInfo& info) {
          out.commits.push_back(info);
          return Status::ok();
        });
    ASSERT_TRUE(st.is_ok()) << st.to_string();
  }
  Recorded out;
  TxnAssembler assembler_;

 private:
  uint64_t sequence_ = 0;
};

TEST(TxnAssembler, InterleavedCommitsRecordWhereAResumedReaderMustStart) {
  Feeder f;
  f.add(WalEntryKind::Begin, 1);   // 1
  f.add(WalEntryKind::Insert, 1);  // 2
  f.add(WalEntryKind::Begin, 2);   // 3
  f.add(WalEntryKind::Insert, 2);  // 4
  f.add(WalEntryKind::Begin, 3);   // 5
  f.add(WalEntryKind::Insert, 3);  // 6
  f.add(WalEntryKind::Commit, 2);  // 7: 1 and 3 still open
  f.add(WalEntryKind::Insert, 1);  // 8
  f.add(WalEntryKind::Commit, 1);  // 9: 3 still open
  f.add(WalEntryKind::Abort, 3);   // 10
  f.add(WalEntryKind::Begin, 4);   // 11
  f.add(WalEntryKind::Insert, 4);  // 12
  f.add(WalEntryKind::Commit, 4);  // 13: nothing else open

  EXPECT_EQ(f.out.changes, (std::vector<uint64_t>{4, 2, 8, 12}));
  ASSERT_EQ(f.out.commits.size(), 3u);
  // Txn 2 commits while 1 (BEGIN 1) is open: during and after it, a reader
  // must restart at 1.
  EXPECT_EQ(f.out.commits[0].commit_sequence, 7u);
  EXPECT_EQ(f.out.commits[0].restart_during, 1u);
  EXPECT_EQ(f.out.commits[0].restart_after, 1u);
  // Txn 1 commits; during it restart at its own BEGIN (1), after it at the
  // oldest other open BEGIN: txn 3's, 5.
  EXPECT_EQ(f.out.commits[1].commit_sequence, 9u);
  EXPECT_EQ(f.out.commits[1].restart_during, 1u);
  EXPECT_EQ(f.out.commits[1].restart_after, 5u);
  EXPECT_EQ(f.out.commits[1].change_count, 2u);
  // Txn 4 commits alone: after it, the entry after its COMMIT.
  EXPECT_EQ(f.out.commits[2].restart_during, 11u);
  EXPECT_EQ(f.out.commits[2].restart_after, 14u);
  EXPECT_EQ(f.assembler_.aborted_transactions(), 1u);
  EXPECT_EQ(f.assembler_.aborted_changes(), 1u);
  EXPECT_EQ(f.assembler_.open_transactions(), 0u);
}

TEST(TxnAssembler, RecycledTransactionsStartEmpty) {
  Feeder f;
  for (uint64_t t = 1; t <= 3; ++t) {
    f.add(WalEntryKind::Begin, t);
    f.add(WalEntryKind::Insert, t);
    f.add(WalEntryKind::Insert, t);
    f.add(t == 2 ? WalEntryKind::Abort : WalEntryKind::Commit, t);
  }
  EXPECT_EQ(f.out.changes, (std::vector<uint64_t>{2, 3, 10, 11}));
  ASSERT_EQ(f.out.commits.size(), 2u);
  EXPECT_EQ(f.out.commits[1].change_count, 2u);
  EXPECT_EQ(f.assembler_.buffered_bytes(), 0u);
}

}  // namespace
}  // namespace heliosdb::cdc
