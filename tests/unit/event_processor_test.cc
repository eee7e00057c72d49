// EventProcessor semantics with in-process sinks: commit order, aborts,
// other databases, checkpoints and resume, failures, backpressure, stop.
#include <gtest/gtest.h>
#include <pthread.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <zlib.h>
#include <csignal>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "heliosdb/cdc/processor.h"
#include "heliosdb/cdc/serialization.h"
#include "heliosdb/cdc/wal.h"
#include "pipeline/checkpoint_store.h"
#include "pipeline/pipeline_lock.h"
#include "testing/checkpoint_util.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

// Writes WAL entries in the given order; sequences are assigned by the writer.
class WalBuilder {
 public:
  explicit WalBuilder(const std::string& dir, uint64_t segment_bytes = 1 << 20) {
    WalWriterOptions o;
    o.dir = dir;
    o.segment_bytes = segment_bytes;
    o.sync_policy = WalSyncPolicy::kNever;
    auto w = WalWriter::open(o);
    EXPECT_TRUE(w) << w.status().to_string();
    writer_ = std::move(*w);
  }
  uint64_t add(WalEntryKind kind, uint64_t txn, std::string_view table = "",
               std::string_view key = "", std::optional<std::string_view> value = std::nullopt,
               std::optional<std::string_view> old_value = std::nullopt,
               std::string_view database = "mydb") {
    WalEntry e;
    e.kind = kind;
    e.transaction_id = txn;
    e.timestamp_ms = 1700000000000 + static_cast<int64_t>(writer_->next_sequence());
    e.database = database;
    e.table = table;
    e.key = key;
    e.value = value;
    e.old_value = old_value;
    auto seq = writer_->append(e);
    EXPECT_TRUE(seq) << seq.status().to_string();
    return *seq;
  }
  void close() { EXPECT_TRUE(writer_->close().is_ok()); }

 private:
  std::unique_ptr<WalWriter> writer_;
};

// `transactions` committed transactions of one INSERT each (users/k = v).
void write_one_insert_transactions(const std::string& dir, uint64_t transactions) {
  WalBuilder wal(dir);
  for (uint64_t t = 1; t <= transactions; ++t) {
    wal.add(WalEntryKind::Begin, t);
    wal.add(WalEntryKind::Insert, t, "users", "k", "v");
    wal.add(WalEntryKind::Commit, t);
  }
  wal.close();
}

// Records events; acknowledges synchronously (the seed's simple sink form).
class RecordingSink : public EventSink {
 public:
  explicit RecordingSink(std::shared_ptr<std::vector<CdcEvent>> out) : out_(std::move(out)) {}
  Status send(const CdcEvent& e) override {
    std::lock_guard lock(mu_);
    out_->push_back(e);
    return Status::ok();
  }
  Status flush() override { return Status::ok(); }
  Status close() override { return Status::ok(); }
  std::string_view name() const override { return "recording"; }

 private:
  std::mutex mu_;
  std::shared_ptr<std::vector<CdcEvent>> out_;
};

// Fails the event with sequence `fail_at`: everything before it is
// acknowledged, nothing after it.
class FailingSink : public EventSink {
 public:
  explicit FailingSink(uint64_t fail_at, bool concurrent = false)
      : fail_at_(fail_at), concurrent_(concurrent) {}
  bool supports_concurrent_poll() const override { return concurrent_; }
  Status send(const CdcEvent&) override { return Status::ok(); }
  Status flush() override { return Status::ok(); }
  Status close() override { return Status::ok(); }
  std::string_view name() const override { return "failing"; }
  Status send_batch(const EventBatch& batch, AckReceiver& acks) override {
    for (size_t i = 0; i < batch.events.size(); ++i) {
      if (failed_ || batch.events[i].sequence == fail_at_) {
        if (!failed_) acks.fail(batch.first_ticket + i, unavailable("destination rejected it"));
        failed_ = true;
        continue;
      }
      acks.acknowledge(batch.first_ticket + i, 1);
    }
    return Status::ok();
  }

 private:
  uint64_t fail_at_;
  bool concurrent_;
  bool failed_ = false;
};

// Holds every event unacknowledged until uncorked (a stalled destination).
class CorkedSink : public EventSink {
 public:
  explicit CorkedSink(bool concurrent = false) : concurrent_(concurrent) {}
  bool supports_concurrent_poll() const override { return concurrent_; }
  Status send(const CdcEvent&) override { return Status::ok(); }
  Status flush() override { return Status::ok(); }
  Status close() override { return Status::ok(); }
  std::string_view name() const override { return "corked"; }
  Status send_batch(const EventBatch& batch, AckReceiver& acks) override {
    std::lock_guard lock(mu);
    acks_ = &acks;
    held.push_back({batch.first_ticket, batch.events.size()});
    received += batch.events.size();
    return release_if_uncorked();
  }
  Status poll(std::chrono::milliseconds timeout) override {
    std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(2)));
    std::lock_guard lock(mu);
    return release_if_uncorked();
  }
  Status drain(std::chrono::milliseconds) override { return Status::ok(); }
  std::atomic<bool> corked{true};
  std::atomic<uint64_t> received{0};
  std::mutex mu;

 private:
  Status release_if_uncorked() {
    if (corked) return Status::ok();
    for (auto [first, count] : held) acks_->acknowledge(first, count);
    held.clear();
    return Status::ok();
  }
  bool concurrent_;
  AckReceiver* acks_ = nullptr;
  std::vector<std::pair<uint64_t, uint64_t>> held;
};

// An asynchronous sink that allows poll() during send_batch(): it keeps what
// it is sent and acknowledges it from poll(), and notes which threads call
// what.
class ConcurrentPollSink : public EventSink {
 public:
  Status send(const CdcEvent&) override { return Status::ok(); }
  Status flush() override { return Status::ok(); }
  Status close() override { return Status::ok(); }
  std::string_view name() const override { return "concurrent"; }
  bool supports_concurrent_poll() const override { return true; }
  Status send_batch(const EventBatch& batch, AckReceiver& acks) override {
    std::lock_guard lock(mu);
    acks_ = &acks;
    send_threads.insert(std::this_thread::get_id());
    for (const auto& e : batch.events) events.push_back(e);
    held.push_back({batch.first_ticket, batch.events.size()});
    unacknowledged += batch.events.size();
    most_unacknowledged = std::max(most_unacknowledged, unacknowledged);
    return Status::ok();
  }
  Status poll(std::chrono::milliseconds timeout) override {
    std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(1)));
    std::lock_guard lock(mu);
    poll_threads.insert(std::this_thread::get_id());
    for (auto [first, count] : held) acks_->acknowledge(first, count);
    held.clear();
    unacknowledged = 0;
    return Status::ok();
  }
  Status drain(std::chrono::milliseconds timeout) override { return poll(timeout); }
  std::mutex mu;
  std::vector<CdcEvent> events;
  size_t unacknowledged = 0, most_unacknowledged = 0;
  std::set<std::thread::id> send_threads, poll_threads;

 private:
  AckReceiver* acks_ = nullptr;
  std::vector<std::pair<uint64_t, uint64_t>> held;
};

// Allows concurrent poll(); its first send_batch() blocks (a destination
// whose queue never drains) until interrupt(), then reports kCancelled.
// poll() fails with `poll_error` once set.
class StuckSink : public EventSink {
 public:
  Status send(const CdcEvent&) override { return Status::ok(); }
  Status flush() override { return Status::ok(); }
  Status close() override { return Status::ok(); }
  std::string_view name() const override { return "stuck"; }
  bool supports_concurrent_poll() const override { return true; }
  Status send_batch(const EventBatch&, AckReceiver&) override {
    std::unique_lock lock(mu_);
    blocked = true;
    cv_.wait(lock, [&] { return interrupted_; });
    return Status(ErrorCode::kCancelled, "stuck: interrupted");
  }
  Status poll(std::chrono::milliseconds timeout) override {
    std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(2)));
    std::lock_guard lock(mu_);
    return poll_error;
  }
  Status drain(std::chrono::milliseconds) override { return Status::ok(); }
  void interrupt() override {
    std::lock_guard lock(mu_);
    interrupted_ = true;
    interrupted_at = std::chrono::steady_clock::now();
    cv_.notify_all();
  }
  std::atomic<bool> blocked{false};
  // Waits up to 5 s for the first send_batch() to block.
  bool wait_until_blocked() const {
    for (int i = 0; i < 500 && !blocked; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return blocked;
  }
  Status poll_error;  // guarded by mu_; set through set_poll_error()
  std::chrono::steady_clock::time_point interrupted_at;
  void set_poll_error(Status st) {
    std::lock_guard lock(mu_);
    poll_error = std::move(st);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

CdcConfig make_config(const TempDir& dir) {
  auto c = CdcConfig::builder()
               .wal_path(dir.file("wal"))
               .database("mydb")
               .checkpoint_dir(dir.file("ckpt"))
               .batch_size(4)
               .buffer_size(16)
               .poll_interval_ms(5)
               .enable_metrics(false)
               .build();
  EXPECT_TRUE(c) << c.status().to_string();
  return *c;
}

std::vector<CdcEvent> run_once(const CdcConfig& config, Status* status = nullptr) {
  auto events = std::make_shared<std::vector<CdcEvent>>();
  EventProcessor p(config, std::make_unique<RecordingSink>(events));
  p.handle_signals(false);
  Status st = p.run_once();
  if (status) {
    *status = st;
  } else {
    EXPECT_TRUE(st.is_ok()) << st.to_string();
  }
  return *events;
}

std::vector<uint64_t> sequences(const std::vector<CdcEvent>& events) {
  std::vector<uint64_t> out;
  for (const auto& e : events) out.push_back(e.sequence);
  return out;
}

TEST(EventProcessor, EmitsOnlyCommittedChangesInCommitOrder) {
  TempDir dir;
  WalBuilder wal(dir.file("wal"));
  wal.add(WalEntryKind::Begin, 1);                                     // 1
  wal.add(WalEntryKind::Begin, 2);                                     // 2
  wal.add(WalEntryKind::Insert, 1, "users", "u1", "{\"n\":1}");        // 3
  wal.add(WalEntryKind::Update, 2, "orders", "o1", "new", "old");      // 4
  wal.add(WalEntryKind::Begin, 3);                                     // 5
  wal.add(WalEntryKind::Delete, 3, "users", "u9", std::nullopt, "x");  // 6
  wal.add(WalEntryKind::Commit, 2);                                    // 7
  wal.add(WalEntryKind::Delete, 1, "users", "u2", std::nullopt, "y");  // 8
  wal.add(WalEntryKind::Abort, 3);                                     // 9
  wal.add(WalEntryKind::Commit, 1);                                    // 10
  wal.close();

  auto events = run_once(make_config(dir));
  ASSERT_EQ(sequences(events), (std::vector<uint64_t>{4, 3, 8}));
  EXPECT_EQ(event_to_json(events[0]),
            R"({"event_id":"evt_mydb_4","timestamp":1700000000004,"sequence":4,)"
            R"("operation":"UPDATE","database":"mydb","table":"orders","key":"bzE=",)"
            R"("value":"bmV3","old_value":"b2xk","transaction_id":"txn_2","metadata":{}})");
  EXPECT_EQ(events[1].transaction_id, "txn_1");
  EXPECT_EQ(events[2].operation, OperationType::Delete);
  EXPECT_FALSE(events[2].value.has_value());
}

// A WAL of one committed transaction with one INSERT.
void write_one_insert(const TempDir& dir) {
  WalBuilder wal(dir.file("wal"));
  wal.add(WalEntryKind::Begin, 1);
  wal.add(WalEntryKind::Insert, 1, "users", "u1", "v");
  wal.add(WalEntryKind::Commit, 1);
  wal.close();
}

TEST(EventProcessor, UnwritableCheckpointDirStopsBeforeDeliveringAnything) {
  TempDir dir;
  write_one_insert(dir);
  testing::write_file(dir.file("plain-file"), "x");
  CdcConfig config = make_config(dir);
  config.checkpoint_dir = dir.file("plain-file") + "/ckpt";
  Status st;
  auto events = run_once(config, &st);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.to_string().find("plain-file/ckpt"), std::string::npos) << st.to_string();
  EXPECT_TRUE(events.empty());
}

// stop() before start() (the daemon's SIGTERM while it loads its config):
// start() returns OK at once, reads nothing and writes no checkpoint.
TEST(EventProcessor, StopBeforeStartEndsTheRunAtOnceAndDeliversNothing) {
  TempDir dir;
  write_one_insert(dir);
  auto events = std::make_shared<std::vector<CdcEvent>>();
  EventProcessor p(make_config(dir), std::make_unique<RecordingSink>(events));
  p.stop();
  // start() follows the WAL until stopped: if the early stop were lost it
  // would run on, so a watchdog ends it and the test fails.
  std::atomic<bool> finished{false}, watchdog_fired{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 500 && !finished; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!finished) {
      watchdog_fired = true;
      p.stop();
    }
  });
  Status st = p.start();
  finished = true;
  watchdog.join();
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  EXPECT_FALSE(watchdog_fired.load()) << "a stop() before start() was lost";
  EXPECT_TRUE(events->empty());
  auto ckpt = FileCheckpointStore(make_config(dir).checkpoint_dir, "mydb").load();
  ASSERT_TRUE(ckpt) << ckpt.status().to_string();
  EXPECT_FALSE(ckpt->has_value()) << "a stopped start-up wrote a checkpoint";
  // The stop ended that run only: the next one delivers.
  Status again;
  std::thread stopper([&] {
    for (int i = 0; i < 500 && events->empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    p.stop();
  });
  again = p.start();
  stopper.join();
  EXPECT_TRUE(again.is_ok()) << again.to_string();
  EXPECT_EQ(events->size(), 1u);
}

// A sink whose open() waits for its destination (Kafka with unreachable
// brokers) until interrupt() or a 10 s timeout of its own.
class SlowOpenSink : public RecordingSink {
 public:
  using RecordingSink::RecordingSink;
  Status open() override {
    std::unique_lock lock(mu_);
    opening = true;
    cv_.notify_all();
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return interrupted_; })) {
      return unavailable("destination unreachable");
    }
    return Status(ErrorCode::kCancelled, "interrupted while opening");
  }
  void interrupt() override {
    std::lock_guard lock(mu_);
    interrupted_ = true;
    cv_.notify_all();
  }
  bool wait_until_opening() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return opening; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool opening = false;
  bool interrupted_ = false;
};

// stop() during the sink's open() interrupts it, and the run ends cleanly:
// OK, nothing delivered, no checkpoint.
TEST(EventProcessor, StopDuringTheSinkOpenInterruptsItAndEndsTheRunCleanly) {
  TempDir dir;
  write_one_insert(dir);
  auto events = std::make_shared<std::vector<CdcEvent>>();
  auto sink = std::make_unique<SlowOpenSink>(events);
  SlowOpenSink* slow = sink.get();
  EventProcessor p(make_config(dir), std::move(sink));
  Status st = internal_error("not run");
  std::thread runner([&] { st = p.start(); });
  ASSERT_TRUE(slow->wait_until_opening());
  auto t0 = std::chrono::steady_clock::now();
  p.stop();
  runner.join();
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  EXPECT_LT(took, std::chrono::seconds(3)) << "the stop did not interrupt open()";
  EXPECT_TRUE(events->empty());
  auto ckpt = FileCheckpointStore(make_config(dir).checkpoint_dir, "mydb").load();
  ASSERT_TRUE(ckpt) << ckpt.status().to_string();
  EXPECT_FALSE(ckpt->has_value());
}

// A sink whose destination closes for good (stdout's reader went away)
// returns kCancelled from send_batch(): the run ends cleanly, checkpointing
// exactly what was acknowledged before.
class ClosingSink : public EventSink {
 public:
  Status send(const CdcEvent&) override { return Status::ok(); }
  Status flush() override { return Status::ok(); }
  Status close() override { return Status::ok(); }
  std::string_view name() const override { return "closing"; }
  Status send_batch(const EventBatch& batch, AckReceiver& acks) override {
    if (++batches > 1) return Status(ErrorCode::kCancelled, "destination closed");
    for (const CdcEvent& e : batch.events) delivered.push_back(e.sequence);
    acks.acknowledge(batch.first_ticket, batch.events.size());
    return Status::ok();
  }
  int batches = 0;
  std::vector<uint64_t> delivered;
};

TEST(EventProcessor, SinkThatReportsItsDestinationClosedEndsTheRunCleanly) {
  TempDir dir;
  write_one_insert_transactions(dir.file("wal"), 40);  // batch_size 4: many batches
  auto sink = std::make_unique<ClosingSink>();
  ClosingSink* closing = sink.get();
  CdcConfig config = make_config(dir);
  EventProcessor p(config, std::move(sink));
  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 500 && !finished; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!finished) p.stop();
  });
  Status st = p.start();  // follows the WAL: only the sink can end it early
  finished = true;
  watchdog.join();
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  ASSERT_EQ(closing->delivered.size(), 4u);
  auto ckpt = testing::load_wal_checkpoint(config.checkpoint_dir, "mydb");
  ASSERT_TRUE(ckpt);
  // Through the 4th event (sequence 11, committed at 12), not into the 5th.
  EXPECT_EQ(closing->delivered.back(), 11u);
  EXPECT_EQ(ckpt->commit_sequence, 12u);
  EXPECT_GE(ckpt->event_sequence, 11u);
  EXPECT_LE(ckpt->event_sequence, 12u);
}

TEST(EventProcessor, IgnoresOtherDatabases) {
  TempDir dir;
  WalBuilder wal(dir.file("wal"));
  wal.add(WalEntryKind::Begin, 1, "", "", std::nullopt, std::nullopt, "other");
  wal.add(WalEntryKind::Insert, 1, "t", "k", "v", std::nullopt, "other");
  wal.add(WalEntryKind::Commit, 1, "", "", std::nullopt, std::nullopt, "other");
  wal.add(WalEntryKind::Begin, 2);
  wal.add(WalEntryKind::Insert, 2, "t", "k", "v");
  wal.add(WalEntryKind::Commit, 2);
  wal.close();
  auto events = run_once(make_config(dir));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].database, "mydb");
  EXPECT_EQ(events[0].sequence, 5u);
}

// Every committed change the filter drops is counted once, also when no
// change at all is kept (the counts used to be published only with a batch
// handed to the sink, so an include rule matching nothing counted 0).
TEST(EventProcessor, FilteredChangesAreCountedWhenNoneIsKept) {
  TempDir dir;
  {
    WalBuilder wal(dir.file("wal"));
    for (uint64_t t = 1; t <= 30; ++t) {
      wal.add(WalEntryKind::Begin, t);
      for (int i = 0; i < 3; ++i) wal.add(WalEntryKind::Insert, t, "users", "k", "v");
      wal.add(WalEntryKind::Commit, t);
    }
    wal.close();
  }
  for (const char* kept_table : {"nomatch", "users"}) {
    TempDir ckpt;
    CdcConfig config = make_config(dir);
    config.checkpoint_dir = ckpt.file("ckpt");
    auto events = std::make_shared<std::vector<CdcEvent>>();
    EventProcessor p(config, std::make_unique<RecordingSink>(events));
    p.handle_signals(false);
    p.with_filter(EventFilter().add_rule(FilterRule::include(FilterCondition::table(kept_table))));
    ASSERT_TRUE(p.run_once().is_ok());
    const bool none_kept = std::string(kept_table) == "nomatch";
    EXPECT_EQ(events->size(), none_kept ? 0u : 90u) << kept_table;
    EXPECT_EQ(p.stats().events_filtered.load(), none_kept ? 90u : 0u) << kept_table;
    EXPECT_EQ(p.stats().events_read.load(), 90u) << kept_table;
  }
}

// A restart resumes at the BEGIN of the oldest transaction open at the
// checkpoint; transactions that began before it and committed before the
// checkpoint show changes without their BEGIN. That is routine and must not
// be reported ("transaction 1 has changes without a BEGIN" on every restart).
TEST(EventProcessor, RestartInsideInterleavedTransactionsWarnsOfNoMissingBegin) {
  TempDir dir;
  {
    WalBuilder wal(dir.file("wal"));
    wal.add(WalEntryKind::Begin, 1);                      // 1
    wal.add(WalEntryKind::Begin, 2);                      // 2: open at the checkpoint
    wal.add(WalEntryKind::Insert, 1, "users", "a", "v");  // 3
    wal.add(WalEntryKind::Commit, 1);                     // 4: delivered, restart point 2
    wal.close();
  }
  CdcConfig config = make_config(dir);
  ASSERT_EQ(run_once(config).size(), 1u);
  {
    WalBuilder wal(dir.file("wal"));
    wal.add(WalEntryKind::Insert, 2, "users", "b", "v");  // 5
    wal.add(WalEntryKind::Commit, 2);                     // 6
    wal.add(WalEntryKind::Insert, 9, "users", "c", "v");  // 7: a BEGIN really missing
    wal.add(WalEntryKind::Commit, 9);                     // 8
    wal.close();
  }
  auto warnings = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  warnings->set_level(spdlog::level::warn);
  spdlog::default_logger()->sinks().push_back(warnings);
  auto second = run_once(config);
  spdlog::default_logger()->sinks().pop_back();
  std::string logged;
  for (const auto& line : warnings->last_formatted()) logged += line;
  ASSERT_EQ(sequences(second), (std::vector<uint64_t>{5, 7}));
  EXPECT_EQ(logged.find("transaction 1 "), std::string::npos) << logged;
  EXPECT_NE(logged.find("transaction 9 has changes without a BEGIN (first seen at sequence 7)"),
            std::string::npos)
      << logged;
}

TEST(EventProcessor, SecondRunResendsNothingAndThirdPicksUpNewCommits) {
  TempDir dir;
  {
    WalBuilder wal(dir.file("wal"));
    for (uint64_t t = 1; t <= 20; ++t) {
      wal.add(WalEntryKind::Begin, t);
      wal.add(WalEntryKind::Insert, t, "users", "k" + std::to_string(t), "v");
      wal.add(WalEntryKind::Commit, t);
    }
    wal.add(WalEntryKind::Begin, 99);  // still open at the end of the first run
    wal.add(WalEntryKind::Insert, 99, "users", "open", "v");
    wal.close();
  }
  CdcConfig config = make_config(dir);
  EXPECT_EQ(run_once(config).size(), 20u);
  EXPECT_EQ(run_once(config).size(), 0u);
  {
    WalBuilder wal(dir.file("wal"));  // reopening continues the sequence
    wal.add(WalEntryKind::Commit, 99);
    wal.close();
  }
  auto third = run_once(config);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].key, "open");
}

TEST(EventProcessor, FailedEventStopsTheRunAndTheCheckpointNeverPassesIt) {
  TempDir dir;
  {
    WalBuilder wal(dir.file("wal"));
    for (uint64_t t = 1; t <= 10; ++t) {
      wal.add(WalEntryKind::Begin, t);
      wal.add(WalEntryKind::Insert, t, "users", "a", "v");
      wal.add(WalEntryKind::Insert, t, "users", "b", "v");
      wal.add(WalEntryKind::Commit, t);
    }
    wal.close();
  }
  for (bool concurrent : {false, true}) {
    SCOPED_TRACE(concurrent ? "sent from the reader thread" : "sent from the sink thread");
    TempDir ckpt_dir;
    CdcConfig config = make_config(dir);
    config.checkpoint_dir = ckpt_dir.file("ckpt");
    // Sequence 18 is the second change of transaction 5 (entries 17..20).
    EventProcessor p(config, std::make_unique<FailingSink>(19, concurrent));
    p.handle_signals(false);
    Status st = p.run_once();
    ASSERT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find("destination rejected it"), std::string::npos) << st.to_string();
    auto ckpt = testing::load_wal_checkpoint(config.checkpoint_dir, "mydb");
    ASSERT_TRUE(ckpt);
    EXPECT_TRUE(ckpt->covers(20, 18));
    EXPECT_FALSE(ckpt->covers(20, 19));
    // The next run starts exactly at the failed event: nothing lost, nothing repeated.
    auto rest = run_once(config);
    ASSERT_FALSE(rest.empty());
    EXPECT_EQ(rest.front().sequence, 19u);
    EXPECT_EQ(rest.size(), 20u - 9u);
  }
}

TEST(EventProcessor, StalledSinkBoundsUnacknowledgedEventsByBufferSize) {
  TempDir dir;
  write_one_insert_transactions(dir.file("wal"), 500);
  for (bool concurrent : {false, true}) {
    SCOPED_TRACE(concurrent ? "sent from the reader thread" : "sent from the sink thread");
    TempDir ckpt_dir;
    CdcConfig config = make_config(dir);  // buffer_size 16
    config.checkpoint_dir = ckpt_dir.file("ckpt");
    auto sink = std::make_unique<CorkedSink>(concurrent);
    CorkedSink* corked = sink.get();
    EventProcessor p(config, std::move(sink));
    p.handle_signals(false);
    Status st;
    std::thread runner([&] { st = p.run_once(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_LE(corked->received.load(), 16u);
    EXPECT_LE(p.stats().events_emitted.load() - p.stats().events_acknowledged.load(), 16u);
    corked->corked = false;
    runner.join();
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    EXPECT_EQ(corked->received.load(), 500u);
    EXPECT_EQ(p.stats().events_acknowledged.load(), 500u);
  }
}

// Row bytes (key + value + old_value) emitted and not yet acknowledged, as
// the observer sees them: `most` is the largest seen when an event was
// emitted; `alone_violations` counts events emitted beside others although
// the total went past `budget` (only a row emitted with nothing else in
// flight may do that).
class InFlightBytesObserver : public PipelineObserver {
 public:
  explicit InFlightBytesObserver(uint64_t budget) : budget_(budget) {}
  void on_emitted(const CdcEvent& e) override {
    const uint64_t bytes =
        e.key.size() + (e.value ? e.value->size() : 0) + (e.old_value ? e.old_value->size() : 0);
    const uint64_t before = emitted_ - acked_.load();  // acked_ may lag: an overestimate
    emitted_ += bytes;
    if (before + bytes > most) most = before + bytes;
    if (before > 0 && before + bytes > budget_) ++alone_violations;
    if (bytes > budget_ && before == 0) ++passed_alone;
  }
  void on_acknowledged_batch(std::span<const AckedEvent> events) override {
    uint64_t bytes = 0;
    for (const AckedEvent& a : events) bytes += a.bytes;
    acked_ += bytes;
  }
  std::atomic<uint64_t> most{0}, alone_violations{0}, passed_alone{0};

 private:
  const uint64_t budget_;
  uint64_t emitted_ = 0;  // reader thread only
  std::atomic<uint64_t> acked_{0};
};

// Values of `sizes[i]` bytes ('a' + i % 26), one committed INSERT each.
void write_rows(const std::string& dir, const std::vector<size_t>& sizes) {
  WalBuilder wal(dir, 8 << 20);
  for (size_t i = 0; i < sizes.size(); ++i) {
    const uint64_t txn = i + 1;
    wal.add(WalEntryKind::Begin, txn);
    wal.add(WalEntryKind::Insert, txn, "blobs", "k" + std::to_string(i),
            std::string(sizes[i], static_cast<char>('a' + i % 26)));
    wal.add(WalEntryKind::Commit, txn);
  }
  wal.close();
}

// make_config() with `buffer_bytes` and a buffer_size that admits every row
// of these tests, so that only the bytes bound.
CdcConfig byte_bound_config(const TempDir& dir, const TempDir& ckpt_dir, uint64_t buffer_bytes) {
  CdcConfig config = make_config(dir);
  config.checkpoint_dir = ckpt_dir.file("ckpt");
  config.buffer_size = 1000;
  config.buffer_bytes = buffer_bytes;
  return config;
}

TEST(EventProcessor, StalledSinkHoldsNoMoreRowBytesThanBufferBytes) {
  TempDir dir;
  constexpr uint64_t kBudget = 1 << 20;
  // 300 rows of 64 KiB: 18.75 MiB, all of which buffer_size would admit.
  write_rows(dir.file("wal"), std::vector<size_t>(300, 64 * 1024));
  for (bool concurrent : {false, true}) {
    SCOPED_TRACE(concurrent ? "sent from the reader thread" : "sent from the sink thread");
    TempDir ckpt_dir;
    CdcConfig config = byte_bound_config(dir, ckpt_dir, kBudget);
    auto sink = std::make_unique<CorkedSink>(concurrent);
    CorkedSink* corked = sink.get();
    auto observer = std::make_shared<InFlightBytesObserver>(kBudget);
    EventProcessor p(config, std::move(sink));
    p.with_observer(observer).handle_signals(false);
    Status st;
    std::thread runner([&] { st = p.run_once(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // The reader stopped at the budget: far fewer than 300 rows are out.
    EXPECT_LE(corked->received.load() * 64 * 1024, kBudget);
    EXPECT_LE(p.stats().events_emitted.load() * 64 * 1024, kBudget);
    EXPECT_GT(p.stats().events_emitted.load(), 0u);
    corked->corked = false;
    runner.join();
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    EXPECT_LE(observer->most.load(), kBudget);
    EXPECT_EQ(observer->alone_violations.load(), 0u);
    // Nothing lost: every row once, checkpointed.
    EXPECT_EQ(corked->received.load(), 300u);
    EXPECT_EQ(p.stats().events_acknowledged.load(), 300u);
    auto ckpt = testing::load_wal_checkpoint(config.checkpoint_dir, "mydb");
    ASSERT_TRUE(ckpt);
    EXPECT_EQ(ckpt->commit_sequence, 900u);
  }
}

TEST(EventProcessor, RowLargerThanBufferBytesPassesAloneAndNothingIsLost) {
  TempDir dir;
  constexpr uint64_t kBudget = 1 << 20;
  std::vector<size_t> sizes(40, 100 * 1024);
  sizes[20] = 3 * kBudget;  // one row three times the budget
  write_rows(dir.file("wal"), sizes);
  for (bool concurrent : {false, true}) {
    SCOPED_TRACE(concurrent ? "sent from the reader thread" : "sent from the sink thread");
    TempDir ckpt_dir;
    CdcConfig config = byte_bound_config(dir, ckpt_dir, kBudget);
    // Acknowledging from poll() (sent by the reader), or within send_batch().
    auto recorded = std::make_shared<std::vector<CdcEvent>>();
    auto polled = std::make_unique<ConcurrentPollSink>();
    const std::vector<CdcEvent>& events = concurrent ? polled->events : *recorded;
    std::unique_ptr<EventSink> sink;
    if (concurrent) {
      sink = std::move(polled);
    } else {
      sink = std::make_unique<RecordingSink>(recorded);
    }
    auto observer = std::make_shared<InFlightBytesObserver>(kBudget);
    EventProcessor p(config, std::move(sink));
    p.with_observer(observer).handle_signals(false);
    Status st = p.run_once();
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    EXPECT_EQ(observer->passed_alone.load(), 1u);
    EXPECT_EQ(observer->alone_violations.load(), 0u);
    ASSERT_EQ(events.size(), sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i) {
      ASSERT_EQ(events[i].key, "k" + std::to_string(i));
      ASSERT_EQ(events[i].value, std::string(sizes[i], static_cast<char>('a' + i % 26)));
    }
  }
}

TEST(EventProcessor, StopWhileTheSinkIsStalledEndsTheRunWithoutLosingAnything) {
  TempDir dir;
  write_one_insert_transactions(dir.file("wal"), 300);
  for (bool concurrent : {false, true}) {
    SCOPED_TRACE(concurrent ? "sent from the reader thread" : "sent from the sink thread");
    TempDir ckpt_dir;
    CdcConfig config = make_config(dir);  // buffer_size 16: the reader blocks at once
    config.checkpoint_dir = ckpt_dir.file("ckpt");
    auto sink = std::make_unique<CorkedSink>(concurrent);
    EventProcessor p(config, std::move(sink));
    p.handle_signals(false);
    Status st = internal_error("not run");
    std::thread runner([&] { st = p.start(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto asked = std::chrono::steady_clock::now();
    p.stop();
    runner.join();
    EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(5));
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    // Nothing was acknowledged, so nothing is checkpointed: all 300 come again.
    auto ckpt = testing::load_wal_checkpoint(config.checkpoint_dir, "mydb");
    EXPECT_FALSE(ckpt.has_value());
    EXPECT_EQ(run_once(config).size(), 300u);
  }
}

TEST(EventProcessor, SinkThatAllowsConcurrentPollIsSentFromTheReaderThread) {
  TempDir dir;
  {
    WalBuilder wal(dir.file("wal"));
    for (uint64_t t = 1; t <= 200; ++t) {
      wal.add(WalEntryKind::Begin, t);
      wal.add(WalEntryKind::Insert, t, "users", "k" + std::to_string(t), "v");
      wal.add(WalEntryKind::Update, t, "orders", "o", "new", "old");
      wal.add(WalEntryKind::Commit, t);
    }
    wal.close();
  }
  CdcConfig config = make_config(dir);
  auto sink = std::make_unique<ConcurrentPollSink>();
  ConcurrentPollSink* s = sink.get();
  EventProcessor p(config, std::move(sink));
  p.handle_signals(false);
  Status st = p.run_once();
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  // Every committed change once, in commit order.
  std::vector<uint64_t> expected;
  for (uint64_t t = 0; t < 200; ++t) {
    expected.push_back(4 * t + 2);
    expected.push_back(4 * t + 3);
  }
  EXPECT_EQ(sequences(s->events), expected);
  EXPECT_EQ(p.stats().events_acknowledged.load(), 400u);
  // Sent from one thread (the reader); polled from the caller's thread,
  // which runs the sink loop, and from the reader whenever the window
  // (buffer_size 16) was full.
  ASSERT_EQ(s->send_threads.size(), 1u);
  EXPECT_NE(*s->send_threads.begin(), std::this_thread::get_id());
  EXPECT_TRUE(s->poll_threads.count(std::this_thread::get_id()));
  EXPECT_TRUE(s->poll_threads.count(*s->send_threads.begin()));
  EXPECT_LE(s->most_unacknowledged, 16u);
  auto ckpt = testing::load_wal_checkpoint(config.checkpoint_dir, "mydb");
  ASSERT_TRUE(ckpt);
  EXPECT_TRUE(ckpt->covers(800, 800));
  EXPECT_TRUE(run_once(config).empty());
}

TEST(EventProcessor, StopWhileTheReaderIsStuckInSendBatchInterruptsItAfterTenSeconds) {
  TempDir dir;
  write_one_insert_transactions(dir.file("wal"), 50);
  CdcConfig config = make_config(dir);
  auto sink = std::make_unique<StuckSink>();
  StuckSink* stuck = sink.get();
  EventProcessor p(config, std::move(sink));
  p.handle_signals(false);
  Status st = internal_error("not run");
  std::thread runner([&] { st = p.start(); });
  ASSERT_TRUE(stuck->wait_until_blocked());
  auto asked = std::chrono::steady_clock::now();
  p.stop();
  runner.join();
  auto took = std::chrono::steady_clock::now() - asked;
  EXPECT_GE(stuck->interrupted_at - asked, std::chrono::seconds(10));
  EXPECT_LT(took, std::chrono::seconds(15));
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  auto ckpt = testing::load_wal_checkpoint(config.checkpoint_dir, "mydb");
  EXPECT_FALSE(ckpt.has_value());  // nothing was acknowledged
}

TEST(EventProcessor, SinkErrorWhileTheReaderIsStuckInSendBatchStopsAtOnce) {
  TempDir dir;
  write_one_insert_transactions(dir.file("wal"), 50);
  CdcConfig config = make_config(dir);
  auto sink = std::make_unique<StuckSink>();
  StuckSink* stuck = sink.get();
  EventProcessor p(config, std::move(sink));
  p.handle_signals(false);
  Status st;
  std::thread runner([&] { st = p.start(); });
  ASSERT_TRUE(stuck->wait_until_blocked());
  auto failed_at = std::chrono::steady_clock::now();
  stuck->set_poll_error(Status(ErrorCode::kPermissionDenied, "stuck: credentials revoked"));
  runner.join();
  EXPECT_LT(std::chrono::steady_clock::now() - failed_at, std::chrono::seconds(5));
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("credentials revoked"), std::string::npos) << st.to_string();
}

TEST(EventProcessor, LargeTransactionIsStreamedFromTheWalWithBoundedMemory) {
  TempDir dir;
  std::string value(100, 'x');
  {
    WalBuilder wal(dir.file("wal"), 64 * 1024);  // spans several segments too
    wal.add(WalEntryKind::Begin, 1);
    wal.add(WalEntryKind::Begin, 2);
    for (int i = 0; i < 2000; ++i) {
      wal.add(WalEntryKind::Insert, 1, "big", "k" + std::to_string(i), value);
      if (i == 1000) wal.add(WalEntryKind::Insert, 2, "small", "s", "v");
    }
    wal.add(WalEntryKind::Commit, 2);
    wal.add(WalEntryKind::Commit, 1);
    wal.close();
  }
  CdcConfig config = make_config(dir);
  config.max_transaction_memory_bytes = 4096;
  auto events = run_once(config);
  ASSERT_EQ(events.size(), 2001u);
  EXPECT_EQ(events[0].table, "small");
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(events[1 + i].key, "k" + std::to_string(i));
    ASSERT_EQ(events[1 + i].value, value);
  }
}

TEST(EventProcessor, CheckpointBeyondTheWalIsAnErrorNamingBothSequences) {
  TempDir dir;
  {
    WalBuilder wal(dir.file("wal"));
    wal.add(WalEntryKind::Begin, 1);
    wal.add(WalEntryKind::Insert, 1, "t", "k", "v");
    wal.add(WalEntryKind::Commit, 1);
    wal.close();
  }
  CdcConfig config = make_config(dir);
  ASSERT_TRUE(
      testing::save_wal_checkpoint(config.checkpoint_dir, "mydb", config.wal_path, {3, 5000, 5000})
          .is_ok());
  Status st;
  run_once(config, &st);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("5000"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("3"), std::string::npos) << st.message();
}

TEST(EventProcessor, CaughtUpCheckpointResumesCleanlyButNotOnAShorterWal) {
  TempDir dir;
  {
    WalBuilder wal(dir.file("wal"));
    for (uint64_t t = 1; t <= 3; ++t) {
      wal.add(WalEntryKind::Begin, t);
      wal.add(WalEntryKind::Insert, t, "t", "k", "v");
      wal.add(WalEntryKind::Commit, t);
    }
    wal.close();
  }
  CdcConfig config = make_config(dir);
  EXPECT_EQ(run_once(config).size(), 3u);
  auto ckpt = testing::load_wal_checkpoint(config.checkpoint_dir, "mydb");
  ASSERT_TRUE(ckpt);
  EXPECT_EQ(*ckpt, (DeliveryPosition{10, 9, 9}));
  EXPECT_EQ(run_once(config).size(), 0u);  // caught up: nothing, and no error
  // A checkpoint from a longer WAL, with nothing open: restart after commit 20.
  ASSERT_TRUE(
      testing::save_wal_checkpoint(config.checkpoint_dir, "mydb", config.wal_path, {21, 20, 20})
          .is_ok());
  Status st;
  run_once(config, &st);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("beyond the end of the WAL"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("commit sequence 20"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("ends at sequence 9"), std::string::npos) << st.message();
}

TEST(EventProcessor, MissingWalSegmentsForTheCheckpointAreAnError) {
  TempDir dir;
  {
    WalBuilder wal(dir.file("wal"), 4096);
    for (uint64_t t = 1; t <= 200; ++t) {
      wal.add(WalEntryKind::Begin, t);
      wal.add(WalEntryKind::Insert, t, "t", "k", std::string(100, 'v'));
      wal.add(WalEntryKind::Commit, t);
    }
    wal.close();
  }
  CdcConfig config = make_config(dir);
  ASSERT_TRUE(
      testing::save_wal_checkpoint(config.checkpoint_dir, "mydb", config.wal_path, {4, 3, 3})
          .is_ok());
  // Retention removed the oldest segment.
  auto segments = list_wal_segments(config.wal_path);
  ASSERT_TRUE(segments && segments->size() > 2);
  std::filesystem::remove(segments->front().path);
  Status st;
  run_once(config, &st);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("sequence 4"), std::string::npos) << st.message();
}

TEST(EventProcessor, StopEndsAFollowingRunWithAFinalCheckpoint) {
  TempDir dir;
  {
    WalBuilder wal(dir.file("wal"));
    wal.add(WalEntryKind::Begin, 1);
    wal.add(WalEntryKind::Insert, 1, "t", "k", "v");
    wal.add(WalEntryKind::Commit, 1);
    wal.close();
  }
  CdcConfig config = make_config(dir);
  auto events = std::make_shared<std::vector<CdcEvent>>();
  EventProcessor p(config, std::make_unique<RecordingSink>(events));
  p.handle_signals(false);
  Status st = internal_error("not run");
  std::thread runner([&] { st = p.start(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  p.stop();
  runner.join();
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  EXPECT_EQ(events->size(), 1u);
  auto ckpt = testing::load_wal_checkpoint(config.checkpoint_dir, "mydb");
  ASSERT_TRUE(ckpt);
  EXPECT_EQ(ckpt->commit_sequence, 3u);
}

TEST(EventProcessor, FollowsAWalThatGrowsWhileRunning) {
  TempDir dir;
  CdcConfig config = make_config(dir);
  std::filesystem::create_directories(config.wal_path);
  auto events = std::make_shared<std::vector<CdcEvent>>();
  EventProcessor p(config, std::make_unique<RecordingSink>(events));
  p.handle_signals(false);
  {
    WalBuilder wal(dir.file("wal"));
    wal.add(WalEntryKind::Begin, 1);
    wal.add(WalEntryKind::Insert, 1, "t", "first", "v");
    wal.add(WalEntryKind::Commit, 1);
    Status st;
    std::thread runner([&] { st = p.start(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    wal.add(WalEntryKind::Begin, 2);
    wal.add(WalEntryKind::Insert, 2, "t", "second", "v");
    wal.add(WalEntryKind::Commit, 2);
    for (int i = 0; i < 200 && p.stats().events_acknowledged.load() < 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    p.stop();
    runner.join();
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    wal.close();
  }
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].key, "second");
}

// ---- checkpoints: identity, format v1, one pipeline per checkpoint --------

// Moves a WAL of `transactions` one-insert transactions to `dir`, where a
// WAL was before: the HeliosDB data directory was replaced or re-initialized.
void replace_wal(const std::string& dir, uint64_t transactions) {
  std::filesystem::remove_all(dir);
  write_one_insert_transactions(dir, transactions);
}

TEST(EventProcessor, AReplacedWalIsRefusedNamingBothIdentitiesAndTheCheckpoint) {
  TempDir dir;
  CdcConfig config = make_config(dir);
  write_one_insert_transactions(config.wal_path, 3);
  EXPECT_EQ(run_once(config).size(), 3u);
  const std::string old_id = **read_wal_identity(config.wal_path);
  // A longer WAL at the same path holds every sequence of the old one, so
  // only its identity tells it apart: without it, its first three
  // transactions were silently skipped.
  replace_wal(config.wal_path, 6);
  const std::string new_id = **read_wal_identity(config.wal_path);
  ASSERT_NE(old_id, new_id);
  Status st;
  auto events = run_once(config, &st);
  ASSERT_FALSE(st.is_ok());
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(st.code(), ErrorCode::kFailedPrecondition);
  const std::string file = FileCheckpointStore(config.checkpoint_dir, "mydb").path();
  EXPECT_NE(st.message().find("checkpoint file " + file + " belongs to identity " + old_id +
                              ", but the WAL in " + config.wal_path + " has identity " + new_id),
            std::string::npos)
      << st.message();
  // Deleting the checkpoint, as the message says, starts the new WAL over.
  std::filesystem::remove(file);
  EXPECT_EQ(run_once(config).size(), 6u);
}

TEST(EventProcessor, ACheckpointWithAnIdentityIsRefusedOnAWalWithout) {
  TempDir dir;
  CdcConfig config = make_config(dir);
  write_one_insert_transactions(config.wal_path, 3);
  EXPECT_EQ(run_once(config).size(), 3u);
  std::filesystem::remove(config.wal_path + "/IDENTITY");
  Status st;
  run_once(config, &st);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("but the WAL in " + config.wal_path + " has no identity"),
            std::string::npos)
      << st.message();
}

TEST(EventProcessor, AV1CheckpointResumesAndTheNextOneIsV2WithTheWalIdentity) {
  TempDir dir;
  CdcConfig config = make_config(dir);
  write_one_insert_transactions(config.wal_path, 3);  // commits at 3, 6, 9
  // What the previous version wrote after delivering the first transaction.
  std::string body =
      "heliosdb-cdc checkpoint v1\ndatabase=mydb\nrestart_sequence=4\ncommit_sequence=3\n"
      "event_sequence=3\nupdated_at_ms=1764081600000\n";
  char crc[16];
  std::snprintf(crc, sizeof crc, "%08lx",
                crc32(0L, reinterpret_cast<const Bytef*>(body.data()), body.size()));
  std::filesystem::create_directories(config.checkpoint_dir);
  const std::string file = FileCheckpointStore(config.checkpoint_dir, "mydb").path();
  testing::write_file(file, body + "crc32=" + crc + "\n");
  EXPECT_EQ(sequences(run_once(config)), (std::vector<uint64_t>{5, 8}));
  const std::string id = **read_wal_identity(config.wal_path);
  EXPECT_EQ(testing::read_file(file).rfind("heliosdb-cdc checkpoint v2\npipeline=mydb\n"
                                           "source=heliosdb-wal\nsource_id=" +
                                               id + "\nposition=restart 10 commit 9 event 9\n",
                                           0),
            0u)
      << testing::read_file(file);
}

TEST(EventProcessor, ASecondPipelineOnTheSameCheckpointFailsAtOnceNamingTheLock) {
  TempDir dir;
  CdcConfig config = make_config(dir);
  write_one_insert_transactions(config.wal_path, 3);
  auto events = std::make_shared<std::vector<CdcEvent>>();
  EventProcessor first(config, std::make_unique<RecordingSink>(events));
  first.handle_signals(false);
  Status first_status = internal_error("not run");
  std::thread runner([&] { first_status = first.start(); });
  while (first.stats().events_acknowledged.load() < 3) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Status st;
  auto second = run_once(config, &st);
  EXPECT_TRUE(second.empty());
  EXPECT_EQ(st.code(), ErrorCode::kFailedPrecondition);  // (no ASSERT: `runner` must be joined)
  EXPECT_NE(st.message().find("checkpoint lock " + config.checkpoint_dir + "/mydb.lock is held"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("(pid " + std::to_string(::getpid()) + ")"), std::string::npos)
      << st.message();
  first.stop();
  runner.join();
  ASSERT_TRUE(first_status.is_ok()) << first_status.to_string();
  // Once the first has stopped, the lock is free: the next run resumes.
  Status after;
  EXPECT_TRUE(run_once(config, &after).empty());
  EXPECT_TRUE(after.is_ok()) << after.to_string();
}

TEST(CdcConfig, BuilderHasTheSeedDefaultsAndNamesTheBadOption) {
  auto ok = CdcConfig::builder().database("mydb").build();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->wal_path, "/var/lib/heliosdb/wal");
  EXPECT_EQ(ok->checkpoint_interval, 1000u);
  EXPECT_EQ(ok->batch_size, 100u);
  EXPECT_EQ(ok->buffer_size, 10000u);
  EXPECT_EQ(ok->poll_interval_ms, 100u);
  EXPECT_TRUE(ok->enable_metrics);

  auto no_db = CdcConfig::builder().build();
  ASSERT_FALSE(no_db);
  EXPECT_EQ(no_db.status().message().rfind("database:", 0), 0u) << no_db.status().message();
  auto bad = CdcConfig::builder().database("d").batch_size(0).build();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().message().rfind("batch_size:", 0), 0u);
  auto small = CdcConfig::builder().database("d").batch_size(500).buffer_size(100).build();
  ASSERT_FALSE(small);
  EXPECT_EQ(small.status().message().rfind("buffer_size:", 0), 0u);
  EXPECT_EQ(ok->buffer_bytes, 256u * 1024 * 1024);
  auto tiny = CdcConfig::builder().database("d").buffer_bytes(1024 * 1024 - 1).build();
  ASSERT_FALSE(tiny);
  EXPECT_EQ(tiny.status().message(),
            "buffer_bytes: must be at least 1048576 (1 MiB); set with .buffer_bytes()");
  EXPECT_TRUE(CdcConfig::builder().database("d").buffer_bytes(1024 * 1024).build());
}

// An error before the pipeline ran (no WAL to read) is the only thing said:
// no "stopped: ... checkpoint at commit sequence 0" line, as though a run
// had ended and checkpointed.
TEST(EventProcessor, AMissingWalFailsWithoutTheFinalStatusLine) {
  TempDir dir;
  CdcConfig config = make_config(dir);  // dir.file("wal") was never created
  auto logs = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  logs->set_level(spdlog::level::info);
  const auto level = spdlog::default_logger()->level();
  spdlog::default_logger()->set_level(spdlog::level::info);
  spdlog::default_logger()->sinks().push_back(logs);
  Status st;
  run_once(config, &st);
  spdlog::default_logger()->sinks().pop_back();
  spdlog::default_logger()->set_level(level);
  std::string logged;
  for (const auto& line : logs->last_formatted()) logged += line;
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find(config.wal_path), std::string::npos) << st.message();
  EXPECT_EQ(logged.find("stopped"), std::string::npos) << logged;
  EXPECT_EQ(logged.find("checkpoint at commit sequence"), std::string::npos) << logged;
}

// A store kept in memory: what a non-file store (a Kafka topic) plugs in as.
class MemoryCheckpointStore final : public CheckpointStore {
 public:
  explicit MemoryCheckpointStore(std::string lock_path) : lock_path_(std::move(lock_path)) {}
  Result<std::optional<Checkpoint>> load() const override { return saved_; }
  Status save(const SourcePosition& position) override {
    Checkpoint c;
    c.pipeline = "mydb";
    c.source = position;
    saved_ = c;
    ++saves_;
    return Status::ok();
  }
  Status prepare(const SourcePosition&) const override { return Status::ok(); }
  Result<std::unique_ptr<PipelineLock>> lock() const override {
    return PipelineLock::acquire(lock_path_);
  }
  const std::string& path() const override { return name_; }
  const std::optional<Checkpoint>& saved() const { return saved_; }

 private:
  std::string lock_path_;
  std::string name_ = "memory";
  std::optional<Checkpoint> saved_;
  int saves_ = 0;
};

TEST(EventProcessor, AnInjectedCheckpointStoreKeepsTheCheckpointInsteadOfTheFile) {
  TempDir dir;
  {
    WalBuilder wal(dir.file("wal"));
    wal.add(WalEntryKind::Begin, 1);
    wal.add(WalEntryKind::Insert, 1, "users", "a", "v");
    wal.add(WalEntryKind::Commit, 1);
    wal.close();
  }
  CdcConfig config = make_config(dir);
  auto events = std::make_shared<std::vector<CdcEvent>>();
  auto store = std::make_unique<MemoryCheckpointStore>(dir.file("memory.lock"));
  MemoryCheckpointStore* kept = store.get();
  EventProcessor p(config, std::make_unique<RecordingSink>(events));
  p.with_checkpoint_store(std::move(store));
  ASSERT_TRUE(p.run_once().is_ok());
  ASSERT_EQ(events->size(), 1u);
  ASSERT_TRUE(kept->saved().has_value());
  EXPECT_EQ(kept->saved()->source.position, "restart 4 commit 3 event 3");
  EXPECT_FALSE(std::filesystem::exists(FileCheckpointStore(config.checkpoint_dir, "mydb").path()));
  // The second run resumes from the injected store: nothing is sent again.
  ASSERT_TRUE(p.run_once().is_ok());
  EXPECT_EQ(events->size(), 1u);
}

TEST(CdcConfigTest, StopInterruptDelayAndDrainTimeoutDefaultAndAreChecked) {
  auto c = CdcConfig::builder().database("d").build();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->stop_interrupt_delay_ms, 10000u);
  EXPECT_EQ(c->drain_timeout_ms, 30000u);
  auto zero = CdcConfig::builder().database("d").stop_interrupt_delay_ms(0).build();
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.status().message().find("stop_interrupt_delay_ms"), std::string::npos);
  auto huge = CdcConfig::builder().database("d").drain_timeout_ms(3600001).build();
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.status().message().find("drain_timeout_ms"), std::string::npos);
  EXPECT_TRUE(
      CdcConfig::builder().database("d").stop_interrupt_delay_ms(250).drain_timeout_ms(1).build());
}

TEST(EventProcessor, TheStopInterruptDelayComesFromTheConfig) {
  TempDir dir;
  write_one_insert_transactions(dir.file("wal"), 50);
  CdcConfig config = make_config(dir);
  config.stop_interrupt_delay_ms = 300;
  auto sink = std::make_unique<StuckSink>();
  StuckSink* stuck = sink.get();
  EventProcessor p(config, std::move(sink));
  Status st = internal_error("not run");
  std::thread runner([&] { st = p.start(); });
  ASSERT_TRUE(stuck->wait_until_blocked());
  auto asked = std::chrono::steady_clock::now();
  p.stop();
  runner.join();
  EXPECT_GE(stuck->interrupted_at - asked, std::chrono::milliseconds(300));
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(5));
  ASSERT_TRUE(st.is_ok()) << st.to_string();
}

}  // namespace
}  // namespace heliosdb::cdc
