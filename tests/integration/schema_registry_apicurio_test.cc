// The schema-registry client and the Avro serializer against a real
// Confluent-compatible registry: Apicurio Registry 3.3.3 (ccompat API, global
// compatibility BACKWARD, in-memory storage) started by
// scripts/services/apicurio.sh through the ctest fixture "apicurio".
// Without the registry these tests fail with the reason; they never skip.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "avro_check_util.h"
#include "serde/avro_encoder.h"
#include "serde/avro_schema.h"
#include "serde/avro_serializer.h"
#include "serde/schema_registry_client.h"
#include "serde/schema_registry_json.h"
#include "serde/serializer_factory.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

const std::string kRegistry = "http://127.0.0.1:18081/apis/ccompat/v7";

std::string script() { return testing::source_dir() + "/scripts/services/apicurio.sh"; }

int run_script(const std::string& command) {
  std::string cmd = script() + " " + command + " >&2";
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

std::string unique(const std::string& prefix) {
  static std::mt19937_64 rng(std::random_device{}());
  return prefix + "-" + std::to_string(rng() % 1000000000ULL);
}

size_t collect(char* d, size_t s, size_t n, void* u) {
  static_cast<std::string*>(u)->append(d, s * n);
  return s * n;
}

// A plain HTTP call with libcurl, independent of the client under test.
struct Http {
  long status = 0;
  std::string body;
};
Http http(const std::string& method, const std::string& path, const std::string& body = "") {
  Http r;
  CURL* c = curl_easy_init();
  std::string url = kRegistry + path;
  curl_slist* h =
      curl_slist_append(nullptr, "Content-Type: application/vnd.schemaregistry.v1+json");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty()) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return r;
}

class ApicurioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Http ready = http("GET", "/subjects");
    ASSERT_EQ(ready.status, 200)
        << "no Apicurio Registry at " << kRegistry
        << "; these tests need the ctest fixture apicurio (scripts/services/apicurio.sh start)";
  }

  std::unique_ptr<SchemaRegistryClient> client(int max_retries = 2) {
    SchemaRegistrySettings s;
    s.url = kRegistry;
    s.max_retries = max_retries;
    s.retry_backoff_ms = 200;
    s.retry_backoff_max_ms = 1000;
    auto c = make_schema_registry_client(s);
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    return std::move(c).value();
  }
};

TEST_F(ApicurioTest, RegistersOncePerSubjectAndCachesTheId) {
  auto c = client();
  const std::string subject = unique("orders") + "-value";
  auto first = c->schema_id(subject, avro::cdc_event_schema_json());
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  for (int i = 0; i < 10; ++i) {
    auto again = c->schema_id(subject, avro::cdc_event_schema_json());
    ASSERT_TRUE(again.is_ok());
    EXPECT_EQ(*again, *first);
  }
  EXPECT_EQ(c->requests(), 1u);
  EXPECT_EQ(c->registrations(), 1u);
  // The registry holds exactly one version, and serves our schema by id.
  Http versions = http("GET", "/subjects/" + subject + "/versions");
  EXPECT_EQ(versions.status, 200);
  EXPECT_EQ(versions.body, "[1]");
  Http by_id = http("GET", "/schemas/ids/" + std::to_string(*first));
  ASSERT_EQ(by_id.status, 200) << by_id.body;
  testing::TempDir dir;
  std::string schema_text;
  {
    // {"schema":"..."}: reuse the client's JSON reader through a message field.
    std::string body = by_id.body;
    auto pos = body.find("\"schema\"");
    ASSERT_NE(pos, std::string::npos) << body;
    body.replace(pos, 8, "\"message\"");
    auto answer = schema_registry::parse_registry_answer(body);
    ASSERT_TRUE(answer && answer->message) << by_id.body;
    schema_text = *answer->message;
  }
  testing::write_file(dir.file("schema.json"), schema_text);
  EXPECT_EQ(avro_test::run_check("schema", dir.file("schema.json")), "schema ok\n");

  // A second client (e.g. after a restart) gets the same id back.
  auto other = client();
  auto same = other->schema_id(subject, avro::cdc_event_schema_json());
  ASSERT_TRUE(same.is_ok());
  EXPECT_EQ(*same, *first);
}

TEST_F(ApicurioTest, SerializedMessagesCarryTheRegisteredIdAndDecode) {
  SerdeSettings settings;
  settings.registry.url = kRegistry;
  auto ser = make_serializer(SerializationFormat::Avro, settings);
  ASSERT_TRUE(ser.is_ok()) << ser.status().to_string();
  const std::string topic = unique("cdc.users");
  std::string file, want;
  int32_t id = -1;
  for (const auto& e : avro_test::edge_case_events()) {
    std::string msg;
    Status st = (*ser)->serialize(e, topic, msg);
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    ASSERT_GE(msg.size(), 5u);
    int32_t msg_id =
        static_cast<int32_t>((uint32_t(uint8_t(msg[1])) << 24) | (uint32_t(uint8_t(msg[2])) << 16) |
                             (uint32_t(uint8_t(msg[3])) << 8) | uint8_t(msg[4]));
    if (id < 0) id = msg_id;
    EXPECT_EQ(msg_id, id);
    uint32_t n = static_cast<uint32_t>(msg.size());
    const char len[4] = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
    file.append(len, 4);
    file += msg;
    want += "schema_id=" + std::to_string(id) + "\n" + avro_test::render(e) + "\n";
  }
  // The id is the one the registry has for the topic's subject.
  Http latest = http("GET", "/subjects/" + topic + "-value/versions/latest");
  ASSERT_EQ(latest.status, 200) << latest.body;
  auto answer = schema_registry::parse_registry_answer(latest.body);
  ASSERT_TRUE(answer && answer->id);
  EXPECT_EQ(*answer->id, id);
  testing::TempDir dir;
  testing::write_file(dir.file("framed.bin"), file);
  avro_test::expect_same_text(avro_test::run_check("framed", dir.file("framed.bin")), want);
}

TEST_F(ApicurioTest, SubjectStrategiesNameTheSubjects) {
  const std::string topic = unique("strategy");
  struct Case {
    std::string strategy;
    std::string subject;
  };
  for (const Case& c :
       {Case{"topic_name", topic + "-value"}, Case{"record_name", "heliosdb.cdc.CdcEvent"},
        Case{"topic_record_name", topic + "-heliosdb.cdc.CdcEvent"}}) {
    SerdeSettings settings;
    settings.registry.url = kRegistry;
    settings.registry.subject_strategy = c.strategy;
    auto ser = make_serializer(SerializationFormat::Avro, settings);
    ASSERT_TRUE(ser.is_ok());
    std::string msg;
    Status st = (*ser)->serialize(avro_test::edge_case_events()[0], topic, msg);
    ASSERT_TRUE(st.is_ok()) << c.strategy << ": " << st.to_string();
    Http versions = http("GET", "/subjects/" + c.subject + "/versions");
    EXPECT_EQ(versions.status, 200) << c.strategy << ": subject " << c.subject << " not found";
  }
}

TEST_F(ApicurioTest, IncompatibleSchemaIsAClearErrorQuotingTheRegistry) {
  // An earlier version of the subject that our schema cannot read (BACKWARD:
  // the new schema must read old data; our fields have no defaults).
  const std::string subject = unique("legacy") + "-value";
  Http old = http("POST", "/subjects/" + subject + "/versions",
                  schema_registry::registration_body(
                      R"({"type":"record","name":"CdcEvent","namespace":"heliosdb.cdc",)"
                      R"("fields":[{"name":"legacy_id","type":"int"}]})"));
  ASSERT_EQ(old.status, 200) << old.body;
  auto c = client();
  auto id = c->schema_id(subject, avro::cdc_event_schema_json());
  ASSERT_FALSE(id.is_ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kFailedPrecondition);
  const std::string& m = id.status().message();
  EXPECT_NE(m.find("HTTP 409"), std::string::npos) << m;
  EXPECT_NE(m.find("incompatible"), std::string::npos) << m;
  EXPECT_NE(m.find(subject), std::string::npos) << m;
  // The registry's own message (Apicurio: "... Incompatible artifact: <subject> ...").
  EXPECT_NE(m.find("Incompatible artifact"), std::string::npos) << m;
  EXPECT_EQ(c->requests(), 1u) << "a 409 must not be retried";
}

// One registry restart for both halves (a JVM start is the slow part).
TEST_F(ApicurioTest, RegistryDownGivesUpClearlyThenRetriesUntilItComesBack) {
  ASSERT_EQ(run_script("stop"), 0);

  // Down, small retry budget: a clear error naming the registry.
  auto short_budget = client(/*max_retries=*/3);
  auto failed = short_budget->schema_id(unique("down") + "-value", avro::cdc_event_schema_json());
  ASSERT_FALSE(failed.is_ok());
  EXPECT_EQ(failed.status().code(), ErrorCode::kUnavailable);
  const std::string& m = failed.status().message();
  EXPECT_NE(m.find("schema registry " + kRegistry), std::string::npos) << m;
  EXPECT_NE(m.find("is unavailable after 4 attempts"), std::string::npos) << m;
  EXPECT_NE(m.find("Couldn't connect"), std::string::npos) << m;

  // Down, then up a moment later: the retries carry the registration through.
  std::thread restarter([] {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    run_script("start");
  });
  auto c = client(/*max_retries=*/150);  // 200 ms doubling to 1 s: ~2.5 minutes budget
  auto start = std::chrono::steady_clock::now();
  auto id = c->schema_id(unique("comeback") + "-value", avro::cdc_event_schema_json());
  restarter.join();
  ASSERT_EQ(run_script("start"), 0);  // running for the other tests whatever happened
  ASSERT_TRUE(id.is_ok()) << id.status().to_string();
  EXPECT_GT(c->requests(), 1u) << "the first attempt should have found the registry down";
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

}  // namespace
}  // namespace heliosdb::cdc
