#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <set>

#include "heliosdb/cdc/serialization.h"
#include "sink/file_sink.h"
#include "testing/ack_recorder.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

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
  testing::AckRecorder acks;
  ASSERT_TRUE(sink->send_batch({std::span<const CdcEvent>(events), 10}, acks).is_ok());
  ASSERT_TRUE(sink->poll(std::chrono::milliseconds(0)).is_ok());
  EXPECT_EQ(acks.acked_count(), 0u) << "acknowledged before fsync was requested";
  ASSERT_TRUE(sink->drain(std::chrono::seconds(10)).is_ok());
  EXPECT_EQ(acks.acked(), (std::set<uint64_t>{10, 11, 12}));
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
  testing::AckRecorder acks;
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
  testing::AckRecorder acks;
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
  testing::AckRecorder acks;
  std::vector<CdcEvent> events{event(1), event(2)};
  Status st = sink->open();
  if (st.is_ok()) st = sink->send_batch({std::span<const CdcEvent>(events), 5}, acks);
  if (st.is_ok()) st = sink->close();
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  fclose(capture);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  EXPECT_EQ(acks.acked(), (std::set<uint64_t>{5, 6}));
  EXPECT_EQ(testing::read_file(dir.file("stdout")),
            event_to_json(events[0]) + "\n" + event_to_json(events[1]) + "\n");
  EXPECT_EQ(sink->name(), "stdout");
}

// A file sink on out.jsonl in `dir` that syncs only when asked (drain()).
FileSinkOptions synced_on_request(const TempDir& dir) {
  FileSinkOptions o;
  o.path = dir.file("out.jsonl");
  o.sync_interval = std::chrono::hours(1);
  return o;
}

// Sends `events` as tickets first..., then drains: the sink's status.
Status send_and_drain(EventSink& sink, const std::vector<CdcEvent>& events, uint64_t first,
                      testing::AckRecorder& acks) {
  Status st = sink.send_batch({std::span<const CdcEvent>(events), first}, acks);
  if (!st.is_ok()) return st;
  return sink.drain(std::chrono::seconds(10));
}

// The output file deleted under the sink (what is written to the unlinked
// inode is lost) or truncated (copytruncate): what was written since is not
// acknowledged, and the error names the file.
TEST(FileSink, OutputFileDeletedOrTruncatedUnderTheSinkFailsWithoutAcknowledging) {
  for (const bool deleted : {true, false}) {
    TempDir dir;
    FileSinkOptions o = synced_on_request(dir);
    auto sink = make_file_sink(o);
    ASSERT_TRUE(sink->open().is_ok());
    testing::AckRecorder acks;
    ASSERT_TRUE(send_and_drain(*sink, {event(1), event(2)}, 0, acks).is_ok());
    ASSERT_EQ(acks.acked(), (std::set<uint64_t>{0, 1}));
    if (deleted) {
      ASSERT_TRUE(std::filesystem::remove(o.path));
    } else {
      ASSERT_EQ(::truncate(o.path.c_str(), 0), 0);
    }
    Status st = send_and_drain(*sink, {event(3), event(4)}, 2, acks);
    ASSERT_FALSE(st.is_ok()) << (deleted ? "deleted" : "truncated");
    EXPECT_NE(st.message().find(o.path + (deleted ? " was deleted" : " was truncated")),
              std::string::npos)
        << st.message();
    if (!deleted) EXPECT_NE(st.message().find("copytruncate"), std::string::npos);
    EXPECT_EQ(acks.acked(), (std::set<uint64_t>{0, 1})) << "events in a lost file acknowledged";
    sink->close().is_ok();
  }
}

// Rotation by rename, then request_reopen() (SIGHUP): the events before stay
// in the renamed file and are acknowledged, the later ones go to a new file
// at the path; nothing is lost or written twice.
TEST(FileSink, RenameThenReopenKeepsTheOldEventsInTheRotatedFile) {
  TempDir dir;
  FileSinkOptions o = synced_on_request(dir);
  auto sink = make_file_sink(o);
  ASSERT_TRUE(sink->open().is_ok());
  testing::AckRecorder acks;
  std::vector<CdcEvent> before{event(1), event(2)}, after{event(3)};
  ASSERT_TRUE(sink->send_batch({std::span<const CdcEvent>(before), 0}, acks).is_ok());
  // Renamed with events written but not yet synced or acknowledged.
  std::filesystem::rename(o.path, dir.file("out.jsonl.1"));
  sink->request_reopen();
  ASSERT_TRUE(send_and_drain(*sink, after, 2, acks).is_ok());
  ASSERT_TRUE(sink->close().is_ok());
  EXPECT_EQ(acks.acked(), (std::set<uint64_t>{0, 1, 2}));
  EXPECT_EQ(testing::read_file(dir.file("out.jsonl.1")),
            event_to_json(before[0]) + "\n" + event_to_json(before[1]) + "\n");
  EXPECT_EQ(testing::read_file(o.path), event_to_json(after[0]) + "\n");
}

// A renamed file still holds its bytes: writing on to it is no loss.
TEST(FileSink, RenamedWithoutReopenGoesOnWritingToTheRenamedFile) {
  TempDir dir;
  FileSinkOptions o;
  o.path = dir.file("out.jsonl");
  auto sink = make_file_sink(o);
  ASSERT_TRUE(sink->open().is_ok());
  testing::AckRecorder acks;
  ASSERT_TRUE(send_and_drain(*sink, {event(1)}, 0, acks).is_ok());
  std::filesystem::rename(o.path, dir.file("out.jsonl.1"));
  ASSERT_TRUE(send_and_drain(*sink, {event(2)}, 1, acks).is_ok());
  ASSERT_TRUE(sink->close().is_ok());
  EXPECT_EQ(acks.acked(), (std::set<uint64_t>{0, 1}));
  EXPECT_EQ(testing::count_complete_lines(dir.file("out.jsonl.1")), 2u);
}

// Runs `body` with stdout redirected to a pipe whose reader has gone away
// (SIGPIPE ignored, as the daemon does): writes fail with EPIPE.
template <typename Body>
void with_stdout_closed_by_its_reader(Body body) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ::close(fds[0]);
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);
  int saved = dup(STDOUT_FILENO);
  dup2(fds[1], STDOUT_FILENO);
  body();
  dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(fds[1]);
  sigaction(SIGPIPE, &old, nullptr);
}

// `run | head`: the stdout sink reports kCancelled (the run ends cleanly)
// and acknowledges nothing it could not write.
TEST(StdoutSink, ReaderGoneAwayEndsTheRunWithCancelledAndAcknowledgesNothingUnwritten) {
  auto sink = make_stdout_sink();
  testing::AckRecorder acks;
  Status first, second, drained, closed;
  with_stdout_closed_by_its_reader([&] {
    std::vector<CdcEvent> events{event(1), event(2)};
    first = sink->open();
    if (first.is_ok()) first = sink->send_batch({std::span<const CdcEvent>(events), 0}, acks);
    second = sink->send_batch({std::span<const CdcEvent>(events), 2}, acks);
    drained = sink->drain(std::chrono::seconds(1));
    closed = sink->close();
  });
  EXPECT_EQ(first.code(), ErrorCode::kCancelled) << first.to_string();
  EXPECT_NE(first.message().find("EPIPE"), std::string::npos) << first.message();
  EXPECT_EQ(second.code(), ErrorCode::kCancelled) << second.to_string();
  EXPECT_TRUE(drained.is_ok()) << drained.to_string();
  EXPECT_TRUE(closed.is_ok()) << closed.to_string();
  EXPECT_TRUE(acks.acked().empty());
}

}  // namespace
}  // namespace heliosdb::cdc
