#include <gtest/gtest.h>
#include <unistd.h>

#include <mutex>
#include <set>

#include "heliosdb/cdc/serialization.h"
#include "sink/file_sink.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

class RecordingAcks : public AckReceiver {
 public:
  void acknowledge(uint64_t first, uint64_t count) override {
    std::lock_guard lock(mu);
    for (uint64_t t = first; t < first + count; ++t) acked.insert(t);
  }
  void fail(uint64_t ticket, Status) override {
    std::lock_guard lock(mu);
    failed.insert(ticket);
  }
  size_t acked_count() {
    std::lock_guard lock(mu);
    return acked.size();
  }
  std::mutex mu;
  std::set<uint64_t> acked, failed;
};

CdcEvent event(uint64_t seq) {
  CdcEvent e;
  e.event_id = make_event_id("db", seq);
  e.sequence = seq;
  e.database = "db";
  e.table = "t";
  e.key = "k" + std::to_string(seq);
  e.value = std::string("v");
  return e;
}

TEST(FileSink, WritesOneJsonLinePerEventAndAcknowledgesOnlyAfterSync) {
  TempDir dir;
  FileSinkOptions o;
  o.path = dir.file("out.jsonl");
  o.sync_interval = std::chrono::hours(1);  // only an explicit request syncs
  auto sink = make_file_sink(o);
  ASSERT_TRUE(sink->open().is_ok());
  std::vector<CdcEvent> events{event(1), event(2), event(3)};
  RecordingAcks acks;
  ASSERT_TRUE(sink->send_batch({std::span<const CdcEvent>(events), 10}, acks).is_ok());
  ASSERT_TRUE(sink->poll(std::chrono::milliseconds(0)).is_ok());
  EXPECT_EQ(acks.acked_count(), 0u) << "acknowledged before fsync was requested";
  ASSERT_TRUE(sink->drain(std::chrono::seconds(10)).is_ok());
  EXPECT_EQ(acks.acked, (std::set<uint64_t>{10, 11, 12}));
  ASSERT_TRUE(sink->close().is_ok());
  auto lines = testing::read_lines(o.path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], event_to_json(events[0]));
  EXPECT_EQ(lines[2], event_to_json(events[2]));
}

TEST(FileSink, IdlePollSyncsAndAcknowledges) {
  TempDir dir;
  FileSinkOptions o;
  o.path = dir.file("out.jsonl");
  o.sync_interval = std::chrono::hours(1);
  auto sink = make_file_sink(o);
  ASSERT_TRUE(sink->open().is_ok());
  std::vector<CdcEvent> events{event(1)};
  RecordingAcks acks;
  ASSERT_TRUE(sink->send_batch({std::span<const CdcEvent>(events), 0}, acks).is_ok());
  ASSERT_TRUE(sink->poll(std::chrono::milliseconds(5)).is_ok());
  for (int i = 0; i < 500 && acks.acked_count() == 0; ++i) usleep(2000);
  EXPECT_EQ(acks.acked_count(), 1u);
  ASSERT_TRUE(sink->close().is_ok());
}

TEST(FileSink, PartialLastLineLeftByACrashIsCutOnOpen) {
  TempDir dir;
  std::string path = dir.file("out.jsonl");
  testing::write_file(path, "{\"complete\":1}\n{\"torn\":");
  FileSinkOptions o;
  o.path = path;
  auto sink = make_file_sink(o);
  ASSERT_TRUE(sink->open().is_ok());
  std::vector<CdcEvent> events{event(7)};
  RecordingAcks acks;
  ASSERT_TRUE(sink->send_batch({std::span<const CdcEvent>(events), 0}, acks).is_ok());
  ASSERT_TRUE(sink->close().is_ok());
  auto lines = testing::read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "{\"complete\":1}");
  EXPECT_EQ(lines[1], event_to_json(events[0]));
}

TEST(FileSink, FileWithoutAnyNewlineIsEmptiedOnOpen) {
  TempDir dir;
  std::string path = dir.file("out.jsonl");
  testing::write_file(path, "{\"torn\":");
  FileSinkOptions o;
  o.path = path;
  auto sink = make_file_sink(o);
  ASSERT_TRUE(sink->open().is_ok());
  ASSERT_TRUE(sink->close().is_ok());
  EXPECT_EQ(testing::read_file(path), "");
}

TEST(FileSink, UnwritablePathIsAnErrorNamingIt) {
  FileSinkOptions o;
  o.path = "/nonexistent-dir-heliosdb/out.jsonl";
  auto sink = make_file_sink(o);
  Status st = sink->open();
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find(o.path), std::string::npos) << st.message();
}

TEST(StdoutSink, WritesJsonLinesToStdoutAndAcknowledgesAtOnce) {
  TempDir dir;
  int saved = dup(STDOUT_FILENO);
  FILE* capture = fopen(dir.file("stdout").c_str(), "w");
  dup2(fileno(capture), STDOUT_FILENO);
  auto sink = make_stdout_sink();
  RecordingAcks acks;
  std::vector<CdcEvent> events{event(1), event(2)};
  Status st = sink->open();
  if (st.is_ok()) st = sink->send_batch({std::span<const CdcEvent>(events), 5}, acks);
  if (st.is_ok()) st = sink->close();
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  fclose(capture);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  EXPECT_EQ(acks.acked, (std::set<uint64_t>{5, 6}));
  EXPECT_EQ(testing::read_file(dir.file("stdout")),
            event_to_json(events[0]) + "\n" + event_to_json(events[1]) + "\n");
  EXPECT_EQ(sink->name(), "stdout");
}

}  // namespace
}  // namespace heliosdb::cdc
