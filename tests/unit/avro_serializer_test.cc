// Confluent wire format and subject strategies of the Avro serializer, with
// a fixed-id provider standing in for the registry (the real registry is in
// tests/integration/schema_registry_apicurio_test.cc).
#include "serde/avro_serializer.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "avro_check_util.h"
#include "options/config_section.h"
#include "serde/avro_encoder.h"
#include "serde/avro_schema.h"
#include "serde/serializer_factory.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

// Test double: hands out ids 0x01020304, 0x01020305, ... per new subject and
// records every request.
class FakeIds : public SchemaIdProvider {
 public:
  Result<int32_t> schema_id(const std::string& subject, std::string_view schema) override {
    std::lock_guard lock(mu);
    calls.push_back(subject);
    last_schema = std::string(schema);
    if (fail) return *fail;
    for (size_t i = 0; i < subjects.size(); ++i) {
      if (subjects[i] == subject) return 0x01020304 + static_cast<int32_t>(i);
    }
    subjects.push_back(subject);
    return 0x01020304 + static_cast<int32_t>(subjects.size() - 1);
  }
  std::mutex mu;
  std::vector<std::string> calls, subjects;
  std::string last_schema;
  std::optional<Status> fail;
};

CdcEvent sample() { return avro_test::edge_case_events()[0]; }

TEST(AvroSerializer, ConfluentFramingIsMagicZeroBigEndianIdBody) {
  auto ids = std::make_shared<FakeIds>();
  AvroSerializer s(ids, SubjectStrategy::kTopicName);
  std::string out;
  ASSERT_TRUE(s.serialize(sample(), "orders", out).is_ok());
  std::string body;
  avro::append_event(sample(), body);
  EXPECT_EQ(avro_test::hex(out.substr(0, 5)), "0001020304");
  EXPECT_EQ(out.substr(5), body);
  EXPECT_EQ(ids->last_schema, avro::cdc_event_schema_json());
}

TEST(AvroSerializer, FramedMessagesDecodeWithPythonAvro) {
  auto ids = std::make_shared<FakeIds>();
  AvroSerializer s(ids, SubjectStrategy::kTopicName);
  std::string file, want;
  for (const auto& e : avro_test::edge_case_events()) {
    std::string msg;
    ASSERT_TRUE(s.serialize(e, "topic-a", msg).is_ok());
    uint32_t n = static_cast<uint32_t>(msg.size());
    const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                         static_cast<char>(n >> 8), static_cast<char>(n)};
    file.append(len, 4);
    file += msg;
    want += "schema_id=" + std::to_string(0x01020304) + "\n" + avro_test::render(e) + "\n";
  }
  testing::TempDir dir;
  testing::write_file(dir.file("framed.bin"), file);
  avro_test::expect_same_text(avro_test::run_check("framed", dir.file("framed.bin")), want);
}

TEST(AvroSerializer, RegistersOncePerSubjectNotPerEvent) {
  auto ids = std::make_shared<FakeIds>();
  AvroSerializer s(ids, SubjectStrategy::kTopicName);
  std::string out;
  for (int i = 0; i < 100; ++i) {
    out.clear();
    ASSERT_TRUE(s.serialize(sample(), i % 2 ? "a" : "b", out).is_ok());
  }
  EXPECT_EQ(ids->calls, (std::vector<std::string>{"b-value", "a-value"}));
  EXPECT_EQ(avro_test::hex(out.substr(0, 5)), "0001020305");  // "a" got the second id
}

TEST(AvroSerializer, PrepareRegistersBeforeTheFirstEvent) {
  auto ids = std::make_shared<FakeIds>();
  AvroSerializer s(ids, SubjectStrategy::kTopicName);
  ASSERT_TRUE(s.prepare("orders").is_ok());
  EXPECT_EQ(ids->calls, std::vector<std::string>{"orders-value"});
  std::string out;
  ASSERT_TRUE(s.serialize(sample(), "orders", out).is_ok());
  EXPECT_EQ(ids->calls.size(), 1u) << "prepared subject registered again";
  ids->fail = Status(ErrorCode::kUnavailable, "registry down");
  EXPECT_EQ(s.prepare("other").code(), ErrorCode::kUnavailable);
  auto json = make_json_serializer();
  EXPECT_TRUE(json->prepare("orders").is_ok());
}

TEST(AvroSerializer, SubjectStrategies) {
  EXPECT_EQ(subject_for(SubjectStrategy::kTopicName, "cdc.users"), "cdc.users-value");
  EXPECT_EQ(subject_for(SubjectStrategy::kRecordName, "cdc.users"), "heliosdb.cdc.CdcEvent");
  EXPECT_EQ(subject_for(SubjectStrategy::kTopicRecordName, "cdc.users"),
            "cdc.users-heliosdb.cdc.CdcEvent");
  EXPECT_EQ(parse_subject_strategy("topic_name"), SubjectStrategy::kTopicName);
  EXPECT_EQ(parse_subject_strategy("RecordNameStrategy"), SubjectStrategy::kRecordName);
  EXPECT_EQ(parse_subject_strategy("topic_record_name"), SubjectStrategy::kTopicRecordName);
  EXPECT_FALSE(parse_subject_strategy("subject_name").has_value());

  auto ids = std::make_shared<FakeIds>();
  AvroSerializer by_record(ids, SubjectStrategy::kRecordName);
  std::string out;
  ASSERT_TRUE(by_record.serialize(sample(), "t1", out).is_ok());
  ASSERT_TRUE(by_record.serialize(sample(), "t2", out).is_ok());
  EXPECT_EQ(ids->subjects, std::vector<std::string>{"heliosdb.cdc.CdcEvent"});
}

TEST(AvroSerializer, RegistryErrorIsReturnedAndNothingIsWritten) {
  auto ids = std::make_shared<FakeIds>();
  ids->fail = Status(ErrorCode::kFailedPrecondition, "incompatible (HTTP 409): details");
  AvroSerializer s(ids, SubjectStrategy::kTopicName);
  std::string out = "keep";
  Status st = s.serialize(sample(), "t", out);
  EXPECT_EQ(st.code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), "incompatible (HTTP 409): details");
  EXPECT_EQ(out, "keep");
  ids->fail.reset();  // a later call tries again
  EXPECT_TRUE(s.serialize(sample(), "t", out).is_ok());
}

// --- make_serializer and [schema_registry] ---------------------------------

config::ConfigSection section_of(const toml::table& root, const std::string& name,
                                 std::shared_ptr<config::ConfigReport> report) {
  const toml::node* node = root.get(name);
  return config::ConfigSection(node ? node->as_table() : nullptr, name, report);
}

TEST(SerializerFactory, AvroWithoutRegistryUrlIsAConfigError) {
  auto s = make_serializer(SerializationFormat::Avro, SerdeSettings{});
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kConfig);
  EXPECT_NE(s.status().message().find("[schema_registry]"), std::string::npos);
}

TEST(SerializerFactory, MakesJsonAndAvro) {
  auto json = make_serializer(SerializationFormat::Json, SerdeSettings{});
  ASSERT_TRUE(json.is_ok());
  EXPECT_EQ((*json)->format(), SerializationFormat::Json);
  SerdeSettings settings;
  settings.registry.url = "http://127.0.0.1:1/apis/ccompat/v7";
  auto avro = make_serializer(SerializationFormat::Avro, settings);
  ASSERT_TRUE(avro.is_ok()) << avro.status().to_string();
  EXPECT_EQ((*avro)->format(), SerializationFormat::Avro);
}

TEST(SerializerFactory, ReadsTheSchemaRegistrySection) {
  ::setenv("HELIOSDB_TEST_REGISTRY_PASSWORD", "s3cr3t", 1);
  auto root = config::parse_toml_string(R"(
[schema_registry]
url = "https://registry.example:8081"
username = "cdc"
password = "${HELIOSDB_TEST_REGISTRY_PASSWORD}"
subject_strategy = "topic_record_name"
max_retries = 3
retry_backoff_ms = 100
retry_backoff_max_ms = 2000
request_timeout_ms = 3000
)",
                                        "test.toml");
  ASSERT_TRUE(root.is_ok());
  auto report = std::make_shared<config::ConfigReport>();
  report->file = "test.toml";
  auto section = section_of(*root, "schema_registry", report);
  SchemaRegistrySettings r = parse_schema_registry_section(section);
  EXPECT_TRUE(report->ok()) << report->to_status().message();
  EXPECT_EQ(r.url, "https://registry.example:8081");
  EXPECT_EQ(r.username, "cdc");
  EXPECT_EQ(r.password, "s3cr3t");
  EXPECT_EQ(r.subject_strategy, "topic_record_name");
  EXPECT_EQ(r.max_retries, 3);
  EXPECT_EQ(r.retry_backoff_ms, 100);
  EXPECT_EQ(r.retry_backoff_max_ms, 2000);
  EXPECT_EQ(r.request_timeout_ms, 3000);
  for (const auto& resolved : report->resolved) {
    EXPECT_EQ(resolved.value.find("s3cr3t"), std::string::npos) << resolved.key;
  }
}

TEST(SerializerFactory, SchemaRegistrySectionErrorsNameKeyAndLine) {
  auto root = config::parse_toml_string(R"([schema_registry]
url = "registry:8081"
subject_strategy = "subject"
username = "only-user"
colour = "blue"
)",
                                        "cfg.toml");
  ASSERT_TRUE(root.is_ok());
  auto report = std::make_shared<config::ConfigReport>();
  report->file = "cfg.toml";
  auto section = section_of(*root, "schema_registry", report);
  parse_schema_registry_section(section);
  std::string all = report->to_status().message();
  EXPECT_NE(all.find("cfg.toml:2: schema_registry.url"), std::string::npos) << all;
  EXPECT_NE(all.find("cfg.toml:3: schema_registry.subject_strategy"), std::string::npos) << all;
  EXPECT_NE(all.find("cfg.toml:4: schema_registry.username: is set but password is not"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("cfg.toml:5: schema_registry.colour: unknown key"), std::string::npos) << all;
}

TEST(SerializerFactory, AbsentSectionMeansNoRegistry) {
  auto report = std::make_shared<config::ConfigReport>();
  config::ConfigSection section(nullptr, "schema_registry", report);
  SchemaRegistrySettings r = parse_schema_registry_section(section);
  EXPECT_TRUE(r.url.empty());
  EXPECT_TRUE(report->ok());
}

}  // namespace
}  // namespace heliosdb::cdc
