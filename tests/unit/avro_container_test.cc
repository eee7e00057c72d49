// Avro object container files: opened by python3-avro's DataFileReader with
// the same values, and scanned back by scan_container() (appending after a
// restart, torn tails, damage).
#include "serde/avro_container_writer.h"

#include <gtest/gtest.h>

#include "avro_check_util.h"
#include "serde/avro_encoder.h"
#include "serde/avro_schema.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using avro::AvroContainerWriter;

std::string expected_container_text(const std::vector<CdcEvent>& events) {
  std::string want = "codec=null\nschema_matches_seed=1\n";
  for (const auto& e : events) want += avro_test::render(e) + "\n";
  return want;
}

TEST(AvroContainer, PythonDataFileReaderReadsEveryBlock) {
  auto events = avro_test::edge_case_events();
  AvroContainerWriter writer;
  std::string file;
  writer.append_header(file);
  // Blocks of 1, 2, 3, ... events.
  size_t i = 0, block = 1;
  while (i < events.size()) {
    for (size_t n = 0; n < block && i < events.size(); ++n) writer.add(events[i++]);
    writer.append_block(file);
    ++block;
  }
  EXPECT_EQ(writer.pending_events(), 0u);
  testing::TempDir dir;
  testing::write_file(dir.file("events.avro"), file);
  avro_test::expect_same_text(avro_test::run_check("container", dir.file("events.avro")),
                              expected_container_text(events));
}

TEST(AvroContainer, HeaderOnlyFileIsAnEmptyContainer) {
  AvroContainerWriter writer;
  std::string file;
  writer.append_header(file);
  writer.append_block(file);  // nothing pending: no block
  testing::TempDir dir;
  testing::write_file(dir.file("empty.avro"), file);
  EXPECT_EQ(avro_test::run_check("container", dir.file("empty.avro")),
            "codec=null\nschema_matches_seed=1\n");
}

TEST(AvroContainer, HeaderLayoutIsByteExact) {
  avro::SyncMarker sync;
  for (size_t i = 0; i < sync.size(); ++i) sync[i] = static_cast<char>(0xA0 + i);
  AvroContainerWriter writer(sync);
  std::string file;
  writer.append_header(file);
  std::string schema(avro::cdc_event_schema_json());
  std::string want = std::string("Obj\x01", 4);
  want += '\x04';  // map block of 2 entries
  want += '\x16' + std::string("avro.schema");
  avro::append_long(want, static_cast<int64_t>(schema.size()));
  want += schema;
  want += '\x14' + std::string("avro.codec") + '\x08' + "null";
  want += '\0';
  want.append(sync.data(), sync.size());
  EXPECT_EQ(avro_test::hex(file), avro_test::hex(want));
}

TEST(AvroContainer, AppendingAfterRestartKeepsTheFileReadable) {
  auto events = avro_test::edge_case_events();
  std::string file;
  {
    AvroContainerWriter first;
    first.append_header(file);
    first.add(events[0]);
    first.add(events[1]);
    first.append_block(file);
  }
  auto info = avro::scan_container(file);
  ASSERT_TRUE(info.is_ok()) << info.status().to_string();
  EXPECT_EQ(info->events, 2u);
  EXPECT_EQ(info->complete_size, file.size());
  AvroContainerWriter second(info->sync);  // the existing file's marker
  second.add(events[2]);
  second.append_block(file);
  testing::TempDir dir;
  testing::write_file(dir.file("appended.avro"), file);
  avro_test::expect_same_text(avro_test::run_check("container", dir.file("appended.avro")),
                              expected_container_text({events[0], events[1], events[2]}));
}

TEST(AvroContainer, TornLastBlockIsLeftOutOfCompleteSize) {
  auto events = avro_test::edge_case_events();
  AvroContainerWriter writer;
  std::string file;
  writer.append_header(file);
  writer.add(events[0]);
  writer.append_block(file);
  size_t good = file.size();
  writer.add(events[1]);
  writer.append_block(file);
  for (size_t cut = good + 1; cut < file.size(); cut += 7) {
    auto info = avro::scan_container(std::string_view(file).substr(0, cut));
    ASSERT_TRUE(info.is_ok()) << "cut at " << cut << ": " << info.status().to_string();
    EXPECT_EQ(info->complete_size, good) << "cut at " << cut;
    EXPECT_EQ(info->events, 1u);
  }
}

TEST(AvroContainer, WrongBlockSyncMarkerIsCorruptionWithOffset) {
  AvroContainerWriter writer;
  std::string file;
  writer.append_header(file);
  writer.add(avro_test::edge_case_events()[0]);
  writer.append_block(file);
  file[file.size() - 3] ^= 0x55;
  auto info = avro::scan_container(file);
  ASSERT_FALSE(info.is_ok());
  EXPECT_EQ(info.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(info.status().message().find("at byte " + std::to_string(file.size() - 16)),
            std::string::npos)
      << info.status().message();
}

TEST(AvroContainer, NotAContainerFileIsCorruption) {
  auto info = avro::scan_container("{\"event_id\":\"x\"}\n");
  ASSERT_FALSE(info.is_ok());
  EXPECT_EQ(info.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(info.status().message().find("magic"), std::string::npos);
}

TEST(AvroContainer, OtherSchemaOrCodecIsRefused) {
  std::string file("Obj\x01", 4);
  avro::append_long(file, 2);
  avro::append_bytes(file, "avro.schema");
  avro::append_bytes(file, "\"string\"");
  avro::append_bytes(file, "avro.codec");
  avro::append_bytes(file, "null");
  avro::append_long(file, 0);
  file.append(16, 'S');
  auto info = avro::scan_container(file);
  ASSERT_FALSE(info.is_ok());
  EXPECT_EQ(info.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(info.status().message().find("different schema"), std::string::npos);
}

}  // namespace
}  // namespace heliosdb::cdc
