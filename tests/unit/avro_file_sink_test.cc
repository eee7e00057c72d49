// The file sink with format = "avro": container files that python3-avro's
// DataFileReader opens, acknowledgements only after fsync, appending after a
// restart, a torn block cut off, foreign files refused.
#include "sink/avro_file_sink.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <vector>

#include "avro_check_util.h"
#include "options/config_section.h"
#include "serde/avro_container_writer.h"
#include "sink/sink_registry.h"
#include "testing/ack_recorder.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

std::string expected(const std::vector<CdcEvent>& events) {
  std::string want = "codec=null\nschema_matches_seed=1\n";
  for (const auto& e : events) want += avro_test::render(e) + "\n";
  return want;
}

FileSinkOptions options_for(const std::string& path) {
  FileSinkOptions o;
  o.path = path;
  o.format = SerializationFormat::Avro;
  o.sync_interval = std::chrono::hours(1);  // only explicit polls sync
  return o;
}

TEST(AvroFileSink, BatchesBecomeBlocksAckedOnlyAfterSync) {
  testing::TempDir dir;
  auto events = avro_test::edge_case_events();
  auto sink = make_file_sink(options_for(dir.file("out.avro")));  // dispatches on format
  ASSERT_TRUE(sink->open().is_ok());
  testing::AckRecorder acks;
  ASSERT_TRUE(sink->send_batch({std::span(events).subspan(0, 3), 100}, acks).is_ok());
  ASSERT_TRUE(sink->send_batch({std::span(events).subspan(3), 103}, acks).is_ok());
  EXPECT_TRUE(acks.acked_in_order().empty()) << "acknowledged before fsync";
  ASSERT_TRUE(sink->poll(std::chrono::milliseconds(10)).is_ok());
  ASSERT_EQ(acks.acked_count(), events.size());
  EXPECT_EQ(acks.acked_in_order().front(), 100u);
  EXPECT_EQ(acks.acked_in_order().back(), 100u + events.size() - 1);
  ASSERT_TRUE(sink->close().is_ok());
  avro_test::expect_same_text(avro_test::run_check("container", dir.file("out.avro")),
                              expected(events));
}

TEST(AvroFileSink, AppendsAfterRestartAndCutsATornBlock) {
  testing::TempDir dir;
  const std::string path = dir.file("out.avro");
  auto events = avro_test::edge_case_events();
  testing::AckRecorder acks;
  {
    auto sink = make_avro_file_sink(options_for(path));
    ASSERT_TRUE(sink->send_batch({std::span(events).subspan(0, 2), 0}, acks).is_ok());
    ASSERT_TRUE(sink->close().is_ok());
  }
  // A crash in the middle of writing the next block: half a block at the end.
  std::string file = testing::read_file(path);
  auto info = avro::scan_container(file);
  ASSERT_TRUE(info.is_ok());
  avro::AvroContainerWriter w(info->sync);
  w.add(events[5]);
  std::string block;
  w.append_block(block);
  testing::write_file(path, file + block.substr(0, block.size() / 2));
  {
    auto sink = make_avro_file_sink(options_for(path));
    ASSERT_TRUE(sink->open().is_ok());
    ASSERT_TRUE(sink->send_batch({std::span(events).subspan(2, 2), 2}, acks).is_ok());
    ASSERT_TRUE(sink->close().is_ok());
  }
  avro_test::expect_same_text(avro_test::run_check("container", path),
                              expected({events[0], events[1], events[2], events[3]}));
}

TEST(AvroFileSink, SimpleSendAndFlushWriteABlock) {
  testing::TempDir dir;
  auto events = avro_test::edge_case_events();
  auto sink = make_avro_file_sink(options_for(dir.file("simple.avro")));
  ASSERT_TRUE(sink->send(events[0]).is_ok());
  ASSERT_TRUE(sink->send(events[1]).is_ok());
  ASSERT_TRUE(sink->flush().is_ok());
  ASSERT_TRUE(sink->close().is_ok());
  avro_test::expect_same_text(avro_test::run_check("container", dir.file("simple.avro")),
                              expected({events[0], events[1]}));
}

TEST(AvroFileSink, RefusesToAppendToAJsonLinesFile) {
  testing::TempDir dir;
  const std::string path = dir.file("events.jsonl");
  const std::string json = "{\"event_id\":\"evt_mydb_1\"}\n";
  testing::write_file(path, json);
  auto sink = make_avro_file_sink(options_for(path));
  Status st = sink->open();
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("not an Avro container file"), std::string::npos) << st.message();
  EXPECT_EQ(testing::read_file(path), json) << "the file must be left alone";
}

TEST(AvroFileSink, ConfigFormatAvroSelectsTheContainerWriter) {
  testing::TempDir dir;
  const std::string path = dir.file("cfg.avro");
  auto root =
      config::parse_toml_string("[file]\npath = \"" + path + "\"\nformat = \"avro\"\n", "t.toml");
  ASSERT_TRUE(root.is_ok());
  auto report = std::make_shared<config::ConfigReport>();
  report->file = "t.toml";
  config::ConfigSection section((*root)["file"].as_table(), "sink.file", report);
  const auto& types = sink_types();
  auto it =
      std::find_if(types.begin(), types.end(), [](const SinkType& t) { return t.name == "file"; });
  ASSERT_NE(it, types.end());
  SinkCreator create = it->parse(section, SinkSettings{});
  section.finish();
  ASSERT_TRUE(report->ok()) << report->to_status().message();
  auto sink = create();
  ASSERT_TRUE(sink.is_ok());
  auto events = avro_test::edge_case_events();
  testing::AckRecorder acks;
  ASSERT_TRUE((*sink)->send_batch({std::span(events).subspan(0, 1), 0}, acks).is_ok());
  ASSERT_TRUE((*sink)->close().is_ok());
  EXPECT_EQ(acks.acked_in_order(), std::vector<uint64_t>{0});
  avro_test::expect_same_text(avro_test::run_check("container", path), expected({events[0]}));
}

// Rotation by rename, then request_reopen() (SIGHUP): the renamed file is a
// complete container with the events before; the path gets a new container
// with its own header (and sync marker) for the events after.
TEST(AvroFileSink, RenameThenReopenStartsANewContainerWithItsHeader) {
  testing::TempDir dir;
  const std::string path = dir.file("out.avro");
  auto events = avro_test::edge_case_events();
  ASSERT_GE(events.size(), 4u);
  auto sink = make_avro_file_sink(options_for(path));
  ASSERT_TRUE(sink->open().is_ok());
  testing::AckRecorder acks;
  ASSERT_TRUE(sink->send_batch({std::span(events).subspan(0, 2), 0}, acks).is_ok());
  std::filesystem::rename(path, dir.file("out.avro.1"));
  sink->request_reopen();
  ASSERT_TRUE(sink->send_batch({std::span(events).subspan(2, 2), 2}, acks).is_ok());
  ASSERT_TRUE(sink->close().is_ok());
  EXPECT_EQ(acks.acked_in_order(), (std::vector<uint64_t>{0, 1, 2, 3}));
  avro_test::expect_same_text(avro_test::run_check("container", dir.file("out.avro.1")),
                              expected({events[0], events[1]}));
  avro_test::expect_same_text(avro_test::run_check("container", path),
                              expected({events[2], events[3]}));
  auto old_info = avro::scan_container(testing::read_file(dir.file("out.avro.1")));
  auto new_info = avro::scan_container(testing::read_file(path));
  ASSERT_TRUE(old_info.is_ok() && new_info.is_ok());
  EXPECT_NE(old_info->sync, new_info->sync) << "the new container reuses the old sync marker";
}

// Deleted or truncated under the sink: an error naming the file, and the
// events written since the last acknowledgement are not acknowledged.
TEST(AvroFileSink, OutputFileDeletedOrTruncatedUnderTheSinkFailsWithoutAcknowledging) {
  for (const bool deleted : {true, false}) {
    testing::TempDir dir;
    const std::string path = dir.file("out.avro");
    auto events = avro_test::edge_case_events();
    auto sink = make_avro_file_sink(options_for(path));
    ASSERT_TRUE(sink->open().is_ok());
    testing::AckRecorder acks;
    ASSERT_TRUE(sink->send_batch({std::span(events).subspan(0, 2), 0}, acks).is_ok());
    ASSERT_TRUE(sink->poll(std::chrono::milliseconds(10)).is_ok());
    ASSERT_EQ(acks.acked_in_order(), (std::vector<uint64_t>{0, 1}));
    if (deleted) {
      ASSERT_TRUE(std::filesystem::remove(path));
    } else {
      ASSERT_EQ(::truncate(path.c_str(), 0), 0);
    }
    Status st = sink->send_batch({std::span(events).subspan(2, 2), 2}, acks);
    if (st.is_ok()) st = sink->poll(std::chrono::milliseconds(10));
    ASSERT_FALSE(st.is_ok()) << (deleted ? "deleted" : "truncated");
    EXPECT_NE(st.message().find(path + (deleted ? " was deleted" : " was truncated")),
              std::string::npos)
        << st.message();
    EXPECT_EQ(acks.acked_in_order(), (std::vector<uint64_t>{0, 1}));
    sink->close().is_ok();
  }
}

}  // namespace
}  // namespace heliosdb::cdc
