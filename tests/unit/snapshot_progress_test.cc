// A snapshot's progress through the processor (PipelineStats::snapshot, the
// snapshot listener, the log lines) with a fake source that snapshots two
// tables; and nothing of it with a source that never snapshots.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <regex>
#include <vector>

#include "heliosdb/cdc/processor.h"
#include "source/source.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

class FakeCodec final : public SourcePositionCodec {
 public:
  std::string_view source_type() const override { return "fake-lsn"; }
  const std::string& source_id() const override { return id_; }
  std::string description() const override { return "the fake source"; }
  std::string encode(const DeliveryPosition& p) const override {
    return "lsn " + std::to_string(p.commit_sequence);
  }
  Result<DeliveryPosition> decode(std::string_view bytes) const override {
    DeliveryPosition p;
    if (!bytes.starts_with("lsn ")) return corruption("not a fake lsn");
    std::from_chars(bytes.data() + 4, bytes.data() + bytes.size(), p.commit_sequence);
    p.restart_sequence = p.event_sequence = p.commit_sequence;
    return p;
  }

 private:
  std::string id_ = "fake-slot";
};

// Reads `tables` (name, rows, estimate) one row per read() call, as READ
// events, reporting its snapshot progress as the PostgreSQL source does;
// with `snapshot` false it reads the same rows as INSERTs and reports none.
class SnapshotSource final : public ChangeSource {
 public:
  SnapshotSource(std::vector<SourceProgress::SnapshotTable> tables, bool snapshot)
      : snapshot_(snapshot) {
    progress_.snapshot_running = snapshot;
    for (auto& t : tables) {
      totals_.push_back(t.rows);
      t.rows = 0;
    }
    progress_.snapshot_tables = std::move(tables);
  }
  Result<SourceReadStatus> read(TransactionHandler& handler, size_t) override {
    size_t i = 0;
    while (i < totals_.size() && progress_.snapshot_tables[i].rows == totals_[i]) ++i;
    if (i == totals_.size()) {
      progress_.snapshot_running = false;
      return SourceReadStatus::kCaughtUp;
    }
    SourceProgress::SnapshotTable& t = progress_.snapshot_tables[i];
    CommitInfo info;
    info.transaction_id = ++lsn_;
    info.commit_sequence = info.restart_during = info.restart_after = lsn_;
    info.change_count = 1;
    info.database = "pg";
    HELIOSDB_RETURN_IF_ERROR(handler.on_begin(info));
    CommittedChange c;
    c.sequence = lsn_;
    c.kind = snapshot_ ? OperationType::Read : OperationType::Insert;
    c.table = t.table;
    const std::string key = t.table + "/" + std::to_string(t.rows);
    c.key = key;
    c.value = "row";
    HELIOSDB_RETURN_IF_ERROR(handler.on_change(info, c));
    HELIOSDB_RETURN_IF_ERROR(handler.on_commit(info));
    if (snapshot_ && ++t.rows == totals_[i]) t.done = true;
    if (!snapshot_) ++t.rows;
    return SourceReadStatus::kMore;
  }
  void wait_for_data(std::chrono::milliseconds) override {}
  SourceProgress progress() const override {
    SourceProgress p = snapshot_ ? progress_ : SourceProgress{};
    p.last_position = lsn_;
    return p;
  }
  std::string description() const override { return "snapshot source"; }

 private:
  bool snapshot_;
  SourceProgress progress_;
  std::vector<uint64_t> totals_;
  uint64_t lsn_ = 0;
};

class SnapshotFactory final : public SourceFactory {
 public:
  explicit SnapshotFactory(bool snapshot) : snapshot_(snapshot) {}
  Result<std::unique_ptr<SourcePositionCodec>> open_position_codec() override {
    return std::unique_ptr<SourcePositionCodec>(std::make_unique<FakeCodec>());
  }
  Result<std::unique_ptr<ChangeSource>> open(const DeliveryPosition&, const std::string&) override {
    return std::unique_ptr<ChangeSource>(std::make_unique<SnapshotSource>(
        std::vector<SourceProgress::SnapshotTable>{{"public.a", 3, 3, false},
                                                   {"public.b", 2, -1, false}},
        snapshot_));
  }
  std::string start_description() const override { return "the fake snapshot"; }

 private:
  bool snapshot_;
};

class CountingSink final : public EventSink {
 public:
  explicit CountingSink(std::vector<OperationType>* ops) : ops_(ops) {}
  Status send(const CdcEvent& e) override {
    ops_->push_back(e.operation);
    return Status::ok();
  }
  Status flush() override { return Status::ok(); }
  Status close() override { return Status::ok(); }
  std::string_view name() const override { return "counting"; }

 private:
  std::vector<OperationType>* ops_;
};

// The info lines logged while it lives.
class CapturedLines {
 public:
  CapturedLines() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(200)) {
    sink_->set_pattern("%v");
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~CapturedLines() { spdlog::default_logger()->sinks().pop_back(); }
  std::vector<std::string> matching(const std::string& prefix) const {
    std::vector<std::string> out;
    for (std::string line : sink_->last_formatted()) {
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      if (line.starts_with(prefix)) out.push_back(line);
    }
    return out;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

CdcConfig config_in(const TempDir& dir) {
  CdcConfig c;
  c.database = "pg";
  c.wal_path = dir.file("no-wal-here");  // never opened: the fake source is used
  c.checkpoint_dir = dir.file("ckpt");
  c.batch_size = 2;
  c.buffer_size = 8;
  return c;
}

TEST(SnapshotProgressPipeline, TheBoardTheListenerAndTheLogFollowTheSnapshot) {
  TempDir dir;
  CapturedLines log;
  std::vector<OperationType> ops;
  std::vector<SnapshotProgress> heard;
  EventProcessor p(config_in(dir), std::make_unique<CountingSink>(&ops));
  p.with_source(std::make_unique<SnapshotFactory>(true));
  p.with_snapshot_listener([&heard](const SnapshotProgress& s) { heard.push_back(s); });
  ASSERT_TRUE(p.run_once().is_ok());

  EXPECT_EQ(ops, std::vector<OperationType>(5, OperationType::Read));
  // First before any row was read, last when it ended; others at most every
  // 200 ms in between.
  ASSERT_GE(heard.size(), 2u);
  const SnapshotProgress start{true, {{"public.a", 0, 3, false}, {"public.b", 0, -1, false}}};
  const SnapshotProgress end{false, {{"public.a", 3, 3, true}, {"public.b", 2, -1, true}}};
  EXPECT_EQ(heard.front(), start);
  EXPECT_EQ(heard.back(), end);
  EXPECT_EQ(p.stats().snapshot.read(), end);
  EXPECT_EQ(p.stats().snapshot.version(), heard.size());

  const std::vector<std::string> done = log.matching("snapshot ");
  ASSERT_EQ(done.size(), 3u) << ::testing::PrintToString(done);
  EXPECT_TRUE(std::regex_match(
      done[0], std::regex(R"(snapshot public\.a done: 3 rows in \d+\.\d s \(\d+ rows/s\))")))
      << done[0];
  EXPECT_TRUE(std::regex_match(
      done[1], std::regex(R"(snapshot public\.b done: 2 rows in \d+\.\d s \(\d+ rows/s\))")))
      << done[1];
  EXPECT_TRUE(std::regex_match(
      done[2], std::regex(R"(snapshot done: 2 tables, 5 rows in \d+\.\d s \(\d+ rows/s\))")))
      << done[2];
}

TEST(SnapshotProgressPipeline, ASourceThatNeverSnapshotsPublishesNothing) {
  TempDir dir;
  CapturedLines log;
  std::vector<OperationType> ops;
  int heard = 0;
  EventProcessor p(config_in(dir), std::make_unique<CountingSink>(&ops));
  p.with_source(std::make_unique<SnapshotFactory>(false));
  p.with_snapshot_listener([&heard](const SnapshotProgress&) { ++heard; });
  ASSERT_TRUE(p.run_once().is_ok());

  EXPECT_EQ(ops, std::vector<OperationType>(5, OperationType::Insert));
  EXPECT_EQ(heard, 0);
  EXPECT_EQ(p.stats().snapshot.version(), 0u);
  EXPECT_EQ(p.stats().snapshot.read(), SnapshotProgress{});
  EXPECT_EQ(log.matching("snapshot "), std::vector<std::string>{});
}

}  // namespace
}  // namespace heliosdb::cdc
