// Snapshot rows through the processor: a source hands on CommittedChanges of
// kind READ (as the PostgreSQL source's snapshot does) and the events come
// out with the source's event_id, no transaction_id, and metadata.snapshot
// "true" or "last"; a change without an event_id keeps the id derived from
// its event sequence. The fake source stands in for PostgreSQL, as in
// source_seam_test.cc.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "heliosdb/cdc/filter.h"
#include "heliosdb/cdc/processor.h"
#include "heliosdb/cdc/serialization.h"
#include "source/source.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;
using Mark = CommittedChange::SnapshotMark;

// One change as the fake source hands it on; the strings back the
// CommittedChange's views while the handler runs.
struct FakeChange {
  OperationType kind = OperationType::Read;
  uint64_t event_sequence = 0;
  std::string event_id;  // empty: derived by the processor
  Mark snapshot = Mark::kNone;
  std::string key;
  std::string value;
};

// One unit the source delivers as begin, changes, commit: a transaction, or
// the rows of a snapshot chunk (transaction id 0).
struct FakeCommit {
  uint64_t transaction_id = 0;
  uint64_t commit_lsn = 0;
  std::vector<FakeChange> changes;
};

class FakeCodec final : public SourcePositionCodec {
 public:
  std::string_view source_type() const override { return "fake-snapshot"; }
  const std::string& source_id() const override { return id_; }
  std::string description() const override { return "the fake snapshot source"; }
  std::string encode(const DeliveryPosition& p) const override {
    return std::to_string(p.commit_sequence) + "/" + std::to_string(p.event_sequence);
  }
  Result<DeliveryPosition> decode(std::string_view) const override {
    return corruption("the tests never resume");
  }

 private:
  std::string id_ = "fake-slot";
};

class FakeSource final : public ChangeSource {
 public:
  explicit FakeSource(std::vector<FakeCommit> commits) : commits_(std::move(commits)) {}
  Result<SourceReadStatus> read(TransactionHandler& handler, size_t) override {
    if (next_ == commits_.size()) return SourceReadStatus::kCaughtUp;
    const FakeCommit& t = commits_[next_++];
    CommitInfo info;
    info.transaction_id = t.transaction_id;
    info.commit_sequence = t.commit_lsn;
    info.restart_during = info.restart_after = t.commit_lsn;
    info.change_count = t.changes.size();
    info.commit_time_ms = 1700000000000;
    info.database = "x";
    HELIOSDB_RETURN_IF_ERROR(handler.on_begin(info));
    uint64_t ordinal = 0;
    for (const FakeChange& f : t.changes) {
      CommittedChange c;
      c.transaction_id = t.transaction_id;
      c.sequence = ordinal++;
      c.event_sequence = f.event_sequence;
      c.timestamp_ms = info.commit_time_ms;
      c.kind = f.kind;
      c.table = "public.users";
      c.key = f.key;
      c.value = f.value;
      c.event_id = f.event_id;
      c.snapshot = f.snapshot;
      HELIOSDB_RETURN_IF_ERROR(handler.on_change(info, c));
    }
    HELIOSDB_RETURN_IF_ERROR(handler.on_commit(info));
    return SourceReadStatus::kMore;
  }
  void wait_for_data(std::chrono::milliseconds) override {}
  SourceProgress progress() const override {
    return {next_ ? commits_[next_ - 1].commit_lsn : 0, 0, 0};
  }
  std::string description() const override { return "fake snapshot source"; }

 private:
  std::vector<FakeCommit> commits_;
  size_t next_ = 0;
};

class FakeFactory final : public SourceFactory {
 public:
  explicit FakeFactory(std::vector<FakeCommit> commits) : commits_(std::move(commits)) {}
  Result<std::unique_ptr<SourcePositionCodec>> open_position_codec() override {
    return std::unique_ptr<SourcePositionCodec>(std::make_unique<FakeCodec>());
  }
  Result<std::unique_ptr<ChangeSource>> open(const DeliveryPosition&, const std::string&) override {
    return std::unique_ptr<ChangeSource>(std::make_unique<FakeSource>(commits_));
  }
  std::string start_description() const override { return "the fake snapshot"; }

 private:
  std::vector<FakeCommit> commits_;
};

class RecordingSink final : public EventSink {
 public:
  explicit RecordingSink(std::vector<CdcEvent>* out) : out_(out) {}
  Status send(const CdcEvent& e) override {
    out_->push_back(e);
    return Status::ok();
  }
  Status flush() override { return Status::ok(); }
  Status close() override { return Status::ok(); }
  std::string_view name() const override { return "recording"; }

 private:
  std::vector<CdcEvent>* out_;
};

CdcConfig config_in(const TempDir& dir) {
  CdcConfig c;
  c.database = "x";
  c.wal_path = dir.file("no-wal-here");  // never opened: the fake source is used
  c.checkpoint_dir = dir.file("ckpt");
  c.batch_size = 2;
  c.buffer_size = 8;
  return c;
}

std::vector<CdcEvent> run(std::vector<FakeCommit> commits,
                          std::optional<EventFilter> filter = std::nullopt) {
  TempDir dir;
  std::vector<CdcEvent> events;
  EventProcessor p(config_in(dir), std::make_unique<RecordingSink>(&events));
  p.with_source(std::make_unique<FakeFactory>(std::move(commits)));
  if (filter) p.with_filter(*filter);
  Status st = p.run_once();
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  return events;
}

FakeChange read_row(std::string event_id, uint64_t event_sequence, Mark mark, std::string key) {
  return {OperationType::Read,       event_sequence, std::move(event_id), mark, std::move(key),
          R"({"id":1,"name":"ann"})"};
}

TEST(SnapshotReadEvents, ReadRowKeepsTheSourcesEventIdHasNoTransactionAndIsMarkedLast) {
  auto events = run({{0, 100, {read_row("evt_x_snap_1_abc", 5, Mark::kLast, R"({"id":1})")}}});
  ASSERT_EQ(events.size(), 1u);
  const CdcEvent& e = events[0];
  EXPECT_EQ(e.event_id, "evt_x_snap_1_abc");
  EXPECT_EQ(e.operation, OperationType::Read);
  EXPECT_EQ(e.transaction_id, std::nullopt);
  EXPECT_EQ(e.metadata, (std::map<std::string, std::string>{{"snapshot", "last"}}));
  EXPECT_EQ(e.sequence, 5u);
  // The whole event as a JSON consumer sees it.
  EXPECT_EQ(event_to_json(e),
            R"({"event_id":"evt_x_snap_1_abc","timestamp":1700000000000,"sequence":5,)"
            R"("operation":"READ","database":"x","table":"public.users","key":"eyJpZCI6MX0=",)"
            R"("value":"eyJpZCI6MSwibmFtZSI6ImFubiJ9","old_value":null,"transaction_id":null,)"
            R"("metadata":{"snapshot":"last"}})");
}

TEST(SnapshotReadEvents, ReadRowWithoutAnEventIdKeepsTheDerivedOne) {
  auto events = run({{0,
                      100,
                      {read_row("", 4194305, Mark::kRow, R"({"id":1})"),
                       read_row("", 0, Mark::kNone, R"({"id":2})")}}});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event_id, "evt_x_4194305");
  EXPECT_EQ(events[0].metadata, (std::map<std::string, std::string>{{"snapshot", "true"}}));
  EXPECT_EQ(events[0].transaction_id, std::nullopt);
  // event_sequence 0: derived from the change's own sequence (its ordinal, 1).
  EXPECT_EQ(events[1].event_id, "evt_x_1");
  EXPECT_TRUE(events[1].metadata.empty());
  EXPECT_EQ(events[1].transaction_id, std::nullopt);
}

// The processor reuses event buffers: a READ's null transaction_id and its
// snapshot mark must not leak into the change that next fills its slot, nor
// a change's transaction_id into a READ.
TEST(SnapshotReadEvents, ReadRowsAndChangesAlternatingKeepTheirOwnFields) {
  std::vector<FakeCommit> commits;
  for (uint64_t i = 0; i < 20; ++i) {
    const uint64_t lsn = 100 + i;
    if (i % 2 == 0) {
      commits.push_back({0,
                         lsn,
                         {read_row("evt_x_snap_" + std::to_string(i), 0,
                                   i == 18 ? Mark::kLast : Mark::kRow, std::to_string(i))}});
    } else {
      commits.push_back(
          {1000 + i,
           lsn,
           {{OperationType::Update, lsn * 16, "", Mark::kNone, std::to_string(i), R"({"id":1})"}}});
    }
  }
  auto events = run(std::move(commits));
  ASSERT_EQ(events.size(), 20u);
  for (uint64_t i = 0; i < 20; ++i) {
    const CdcEvent& e = events[i];
    SCOPED_TRACE("event " + std::to_string(i));
    EXPECT_EQ(e.key, std::to_string(i));
    if (i % 2 == 0) {
      EXPECT_EQ(e.operation, OperationType::Read);
      EXPECT_EQ(e.event_id, "evt_x_snap_" + std::to_string(i));
      EXPECT_EQ(e.transaction_id, std::nullopt);
      EXPECT_EQ(e.metadata.at("snapshot"), i == 18 ? "last" : "true");
    } else {
      EXPECT_EQ(e.operation, OperationType::Update);
      EXPECT_EQ(e.event_id, "evt_x_" + std::to_string((100 + i) * 16));
      EXPECT_EQ(e.transaction_id, "txn_" + std::to_string(1000 + i));
      EXPECT_TRUE(e.metadata.empty());
    }
  }
}

// The filter sees READ as an operation of its own.
TEST(SnapshotReadEvents, FilterOnOperationReadKeepsOnlySnapshotRows) {
  EventFilter only_reads;
  only_reads.add_rule(FilterRule::include(FilterCondition::operation(OperationType::Read)));
  auto events = run({{0, 100, {read_row("evt_x_snap_1_a", 0, Mark::kRow, "a")}},
                     {7, 101, {{OperationType::Insert, 0, "", Mark::kNone, "b", "{}"}}},
                     {0, 102, {read_row("evt_x_snap_1_c", 0, Mark::kLast, "c")}}},
                    only_reads);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].key, "a");
  EXPECT_EQ(events[1].key, "c");
}

}  // namespace
}  // namespace heliosdb::cdc
