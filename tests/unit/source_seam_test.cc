// The source seam: a source that is not the HeliosDB WAL plugs into the
// processor through SourceFactory alone. Its positions are its own (here a
// fake LSN), the checkpoint keeps their encoding opaquely, and on restart the
// processor hands the checkpointed position back to the source and delivers
// only what it does not cover.
#include <gtest/gtest.h>

#include <charconv>
#include <mutex>
#include <vector>

#include "heliosdb/cdc/processor.h"
#include "pipeline/checkpoint_store.h"
#include "source/source.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

// One committed transaction of a source that delivers them already
// committed (as PostgreSQL's logical replication does).
struct FakeTxn {
  uint64_t id = 0;
  uint64_t commit_lsn = 0;
  std::vector<std::pair<uint64_t, std::string>> changes;  // (lsn, key)
};

class FakeCodec final : public SourcePositionCodec {
 public:
  std::string_view source_type() const override { return "fake-lsn"; }
  const std::string& source_id() const override { return id_; }
  std::string description() const override { return "the fake source"; }
  std::string encode(const DeliveryPosition& p) const override {
    return "lsn " + std::to_string(p.commit_sequence) + "/" + std::to_string(p.event_sequence);
  }
  Result<DeliveryPosition> decode(std::string_view bytes) const override {
    DeliveryPosition p;
    if (!bytes.starts_with("lsn ")) return corruption("not a fake lsn");
    bytes.remove_prefix(4);
    const auto slash = bytes.find('/');
    if (slash == std::string_view::npos) return corruption("no slash");
    std::from_chars(bytes.data(), bytes.data() + slash, p.commit_sequence);
    std::from_chars(bytes.data() + slash + 1, bytes.data() + bytes.size(), p.event_sequence);
    p.restart_sequence = p.commit_sequence;
    return p;
  }

 private:
  std::string id_ = "fake-slot-1";
};

class FakeSource final : public ChangeSource {
 public:
  explicit FakeSource(std::vector<FakeTxn> txns) : txns_(std::move(txns)) {}
  Result<SourceReadStatus> read(TransactionHandler& handler, size_t) override {
    if (next_ == txns_.size()) return SourceReadStatus::kCaughtUp;
    const FakeTxn& t = txns_[next_++];
    CommitInfo info;
    info.transaction_id = t.id;
    info.commit_sequence = t.commit_lsn;
    info.restart_during = info.restart_after = t.commit_lsn;
    info.change_count = t.changes.size();
    info.commit_time_ms = 1700000000000;
    info.database = "pg";
    HELIOSDB_RETURN_IF_ERROR(handler.on_begin(info));
    for (const auto& [lsn, key] : t.changes) {
      CommittedChange c;
      c.transaction_id = t.id;
      c.sequence = lsn;
      c.timestamp_ms = info.commit_time_ms;
      c.kind = OperationType::Update;
      c.table = "accounts";
      c.key = key;
      c.value = "new";
      c.old_value = "old";
      HELIOSDB_RETURN_IF_ERROR(handler.on_change(info, c));
    }
    HELIOSDB_RETURN_IF_ERROR(handler.on_commit(info));
    return SourceReadStatus::kMore;
  }
  void wait_for_data(std::chrono::milliseconds) override {}
  SourceProgress progress() const override {
    return {next_ ? txns_[next_ - 1].commit_lsn : 0, 0, 0};
  }
  std::string description() const override { return "fake source"; }

 private:
  std::vector<FakeTxn> txns_;
  size_t next_ = 0;
};

class FakeFactory final : public SourceFactory {
 public:
  FakeFactory(std::vector<FakeTxn> txns, std::vector<DeliveryPosition>* opened_at)
      : txns_(std::move(txns)), opened_at_(opened_at) {}
  Result<std::unique_ptr<SourcePositionCodec>> open_position_codec() override {
    return std::unique_ptr<SourcePositionCodec>(std::make_unique<FakeCodec>());
  }
  Result<std::unique_ptr<ChangeSource>> open(const DeliveryPosition& resume,
                                             const std::string&) override {
    opened_at_->push_back(resume);
    // Re-sends from the start of the transaction at the resume point, as a
    // replication slot does: the processor skips what it covers.
    std::vector<FakeTxn> rest;
    for (const FakeTxn& t : txns_) {
      if (t.commit_lsn >= resume.commit_sequence) rest.push_back(t);
    }
    return std::unique_ptr<ChangeSource>(std::make_unique<FakeSource>(std::move(rest)));
  }
  std::string start_description() const override { return "the oldest fake change"; }

 private:
  std::vector<FakeTxn> txns_;
  std::vector<DeliveryPosition>* opened_at_;
};

// Acknowledges every event but the one with key `fail_key` (none by default).
class KeySink final : public EventSink {
 public:
  explicit KeySink(std::vector<CdcEvent>* out, std::string fail_key = "")
      : out_(out), fail_key_(std::move(fail_key)) {}
  Status send(const CdcEvent& e) override {
    if (e.key == fail_key_) return Status(ErrorCode::kUnavailable, "refused " + e.key);
    out_->push_back(e);
    return Status::ok();
  }
  Status flush() override { return Status::ok(); }
  Status close() override { return Status::ok(); }
  std::string_view name() const override { return "keys"; }

 private:
  std::vector<CdcEvent>* out_;
  std::string fail_key_;
};

std::vector<FakeTxn> three_transactions() {
  return {{7, 100, {{90, "a"}, {95, "b"}}}, {8, 200, {{150, "c"}}}, {9, 300, {{250, "d"}}}};
}

CdcConfig config_in(const TempDir& dir) {
  CdcConfig c;
  c.database = "pg";
  c.wal_path = dir.file("no-wal-here");  // never opened: the fake source is used
  c.checkpoint_dir = dir.file("ckpt");
  c.batch_size = 2;
  c.buffer_size = 8;
  return c;
}

std::vector<std::string> keys_of(const std::vector<CdcEvent>& events) {
  std::vector<std::string> keys;
  for (const CdcEvent& e : events) keys.push_back(e.key);
  return keys;
}

TEST(SourceSeam, AnotherSourcesTransactionsAreDeliveredAndItsPositionCheckpointedOpaquely) {
  TempDir dir;
  std::vector<DeliveryPosition> opened_at;
  std::vector<CdcEvent> events;
  EventProcessor p(config_in(dir), std::make_unique<KeySink>(&events));
  p.with_source(std::make_unique<FakeFactory>(three_transactions(), &opened_at));
  ASSERT_TRUE(p.run_once().is_ok());

  EXPECT_EQ(keys_of(events), (std::vector<std::string>{"a", "b", "c", "d"}));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].operation, OperationType::Update);
  EXPECT_EQ(events[0].table, "accounts");
  EXPECT_EQ(events[0].old_value, "old");
  EXPECT_EQ(events[0].transaction_id, "txn_7");
  EXPECT_EQ(events[0].sequence, 90u);
  ASSERT_EQ(opened_at.size(), 1u);
  EXPECT_EQ(opened_at[0], DeliveryPosition{});

  FileCheckpointStore store(dir.file("ckpt"), "pg");
  auto loaded = store.load();
  ASSERT_TRUE(loaded && loaded->has_value());
  EXPECT_EQ((*loaded)->source.source_type, "fake-lsn");
  EXPECT_EQ((*loaded)->source.source_id, "fake-slot-1");
  EXPECT_EQ((*loaded)->source.position, "lsn 300/300");
}

TEST(SourceSeam, ARestartResumesTheSourceAtItsCheckpointAndSkipsWhatItCovers) {
  TempDir dir;
  std::vector<DeliveryPosition> opened_at;
  std::vector<CdcEvent> first, second;
  {
    // "c" fails: delivery stops before it, the checkpoint stays after "b".
    EventProcessor p(config_in(dir), std::make_unique<KeySink>(&first, "c"));
    p.with_source(std::make_unique<FakeFactory>(three_transactions(), &opened_at));
    EXPECT_FALSE(p.run_once().is_ok());
  }
  EXPECT_EQ(keys_of(first), (std::vector<std::string>{"a", "b"}));
  {
    EventProcessor p(config_in(dir), std::make_unique<KeySink>(&second));
    p.with_source(std::make_unique<FakeFactory>(three_transactions(), &opened_at));
    ASSERT_TRUE(p.run_once().is_ok());
  }
  ASSERT_EQ(opened_at.size(), 2u);
  EXPECT_EQ(opened_at[1].commit_sequence, 100u);  // decoded from "lsn 100/100"
  EXPECT_EQ(keys_of(second), (std::vector<std::string>{"c", "d"}));
}

}  // namespace
}  // namespace heliosdb::cdc
