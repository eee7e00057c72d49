// TxnAssembler: commit order, aborts, and the restart positions a checkpoint
// records for interleaved transactions (where a resumed reader must start so
// that no change of a still-open transaction is skipped).
#include "source/txn_assembler.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <vector>

#include "source/wal_source.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

// A TransactionHandler calling two functions: on_change and on_commit.
template <typename OnChange, typename OnCommit>
class Callbacks final : public TransactionHandler {
 public:
  Callbacks(OnChange on_change, OnCommit on_commit)
      : on_change_(std::move(on_change)), on_commit_(std::move(on_commit)) {}
  Status on_change(const CommitInfo& info, const CommittedChange& c) override {
    return on_change_(info, c);
  }
  Status on_commit(const CommitInfo& info) override { return on_commit_(info); }

 private:
  OnChange on_change_;
  OnCommit on_commit_;
};

struct Recorded {
  std::vector<uint64_t> changes;    // sequences, in emission order
  std::vector<CommitInfo> commits;  // in commit order
};

class Feeder {
 public:
  // `first_sequence`: the sequence of the first entry fed (a resumed reader
  // starts in the middle of the WAL).
  explicit Feeder(uint64_t first_sequence = 1)
      : assembler_(nullptr, "db", 1 << 20), sequence_(first_sequence - 1) {}
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
    Callbacks handler(
        [&](const CommitInfo&, const CommittedChange& c) {
          out.changes.push_back(c.sequence);
          return Status::ok();
        },
        [&](const CommitInfo& info) {
          out.commits.push_back(info);
          return Status::ok();
        });
    Status st = assembler_.add(e, handler);
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

// The default logger's warnings while it lives.
class CapturedWarnings {
 public:
  CapturedWarnings() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100)) {
    sink_->set_level(spdlog::level::warn);
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~CapturedWarnings() { spdlog::default_logger()->sinks().pop_back(); }
  std::string text() const {
    std::string out;
    for (const auto& line : sink_->last_formatted()) out += line;
    return out;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

// A checkpoint taken after commit 4 while transaction 2 was open restarts
// reading at 2, the BEGIN of transaction 2: transaction 1 began before it
// (BEGIN at 1) and its change at 3 shows up without a BEGIN. Routine, so no
// warning; a change without a BEGIN after the resumed commit still warns.
TEST(TxnAssembler, ChangesOfTransactionsBegunBeforeTheRestartPointAreNotReported) {
  CapturedWarnings warnings;
  Feeder f(2);
  f.assembler_.resume_after_commit(4);
  f.add(WalEntryKind::Begin, 2);   // 2
  f.add(WalEntryKind::Insert, 1);  // 3: transaction 1's BEGIN (1) is before the restart point
  f.add(WalEntryKind::Commit, 1);  // 4: delivered before the restart
  f.add(WalEntryKind::Insert, 2);  // 5
  f.add(WalEntryKind::Commit, 2);  // 6
  EXPECT_EQ(warnings.text(), "");
  EXPECT_EQ(f.out.changes, (std::vector<uint64_t>{3, 5}));  // the processor skips 3 as delivered

  f.add(WalEntryKind::Insert, 7);  // 7: no BEGIN anywhere, after the resumed commit
  EXPECT_NE(warnings.text().find("transaction 7 has changes without a BEGIN (first seen at "
                                 "sequence 7)"),
            std::string::npos)
      << warnings.text();
}

// Without a checkpoint every change without a BEGIN is reported.
TEST(TxnAssembler, ChangesWithoutABeginAreReportedOnAFreshStart) {
  CapturedWarnings warnings;
  Feeder f(10);
  f.add(WalEntryKind::Insert, 3);  // 10
  EXPECT_NE(warnings.text().find("transaction 3 has changes without a BEGIN (first seen at "
                                 "sequence 10)"),
            std::string::npos)
      << warnings.text();
}

// Heap bytes in use (glibc's own count), independent of the assembler's
// accounting.
int64_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<int64_t>(m.uordblks + m.hblkhd);
}

// 12 interleaved transactions of 3 rows of ~1 MiB each (36 MiB) under an
// 8 MiB limit: the limit bounds what they hold together (each alone was
// under it, so none was spilled and all 36 MiB were held), every change
// still comes out once, in commit order, and once they are committed the
// assembler keeps no large buffers for reuse.
TEST(TxnAssembler, OpenTransactionsTogetherStayWithinMaxTransactionMemoryBytes) {
  testing::TempDir dir;
  constexpr uint64_t kLimit = 8 << 20;
  constexpr uint64_t kTxns = 12;
  constexpr int kRows = 3;
  constexpr size_t kRowBytes = (1 << 20) - 4096;
  {
    WalWriterOptions o;
    o.dir = dir.path();
    o.sync_policy = WalSyncPolicy::kNever;
    auto w = WalWriter::open(o);
    ASSERT_TRUE(w) << w.status().to_string();
    auto append = [&](WalEntryKind kind, uint64_t txn, std::string key = "",
                      std::string value = "") {
      WalEntry e;
      e.kind = kind;
      e.transaction_id = txn;
      e.database = "db";
      e.table = kind == WalEntryKind::Insert ? "t" : "";
      e.key = key;
      if (kind == WalEntryKind::Insert) e.value = value;
      ASSERT_TRUE((*w)->append(e));
    };
    for (uint64_t t = 1; t <= kTxns; ++t) append(WalEntryKind::Begin, t);
    for (int r = 0; r < kRows; ++r) {
      for (uint64_t t = 1; t <= kTxns; ++t) {
        append(WalEntryKind::Insert, t, "t" + std::to_string(t) + "r" + std::to_string(r),
               std::string(kRowBytes, static_cast<char>('a' + t)));
      }
    }
    for (uint64_t t = 1; t <= kTxns; ++t) append(WalEntryKind::Commit, t);
    ASSERT_TRUE((*w)->close().is_ok());
  }
  auto source = open_wal_entry_reader(dir.path(), 0);
  ASSERT_TRUE(source) << source.status().to_string();
  std::vector<std::string> keys;
  size_t bad_values = 0;
  int64_t most = 0;
  int64_t baseline = 0;
  {
    TxnAssembler assembler(source->get(), "db", kLimit);
    baseline = heap_in_use();
    WalEntry e;
    while (true) {
      auto r = (*source)->next(e);
      ASSERT_TRUE(r) << r.status().to_string();
      if (*r == WalReadStatus::kEndOfLog) break;
      Callbacks handler(
          [&](const CommitInfo& info, const CommittedChange& c) {
            keys.emplace_back(c.key);
            const char want = static_cast<char>('a' + info.transaction_id);
            if (!c.value || c.value->size() != kRowBytes ||
                std::count(c.value->begin(), c.value->end(), want) !=
                    static_cast<std::ptrdiff_t>(kRowBytes)) {
              ++bad_values;
            }
            return Status::ok();
          },
          [](const CommitInfo&) { return Status::ok(); });
      Status st = assembler.add(e, handler);
      ASSERT_TRUE(st.is_ok()) << st.to_string();
      most = std::max(most, heap_in_use() - baseline);
    }
    // Slack: the reader's reassembly buffer for the 1 MiB row it just read.
    EXPECT_LE(most, static_cast<int64_t>(kLimit + (3 << 20)));
    EXPECT_GT(assembler.spilled_transactions(), 0u);
    // Committed: what the assembler keeps for reuse is small.
    EXPECT_LE(heap_in_use() - baseline, 2 << 20);
  }
  std::vector<std::string> expected;
  for (uint64_t t = 1; t <= kTxns; ++t) {
    for (int r = 0; r < kRows; ++r)
      expected.push_back("t" + std::to_string(t) + "r" + std::to_string(r));
  }
  EXPECT_EQ(keys, expected);
  EXPECT_EQ(bad_values, 0u);
}

}  // namespace
}  // namespace heliosdb::cdc
