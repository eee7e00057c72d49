// Kinesis end to end with Avro: KinesisConnector with format = Avro registers
// the schema with the real registry (Apicurio, fixture "apicurio") and puts
// records into the real kinesis-mock (fixture kinesis_service). The records
// are read back independently (ListShards, GetShardIterator, GetRecords);
// each must carry the Confluent framing (magic 0, the id the registry holds
// for the subject "<stream>-value"), decode with python3-avro to the event
// that was sent, and have the partition key docs/kinesis.md derives from the
// event key. Every event is acknowledged exactly once.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <mutex>
#include <vector>

#include "avro_check_util.h"
#include "common/json_reader.h"
#include "heliosdb/cdc/kinesis.h"
#include "kinesis_test_util.h"
#include "sink/aws/crypto.h"
#include "testing/ack_recorder.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using namespace std::chrono_literals;

const std::string kRegistry = "http://127.0.0.1:18081/apis/ccompat/v7";

size_t collect(char* d, size_t s, size_t n, void* u) {
  static_cast<std::string*>(u)->append(d, s * n);
  return s * n;
}

struct Http {
  long status = 0;  // 0: no answer
  std::string body;
};

// A GET on the registry's Confluent API with plain libcurl, independent of
// the client under test.
Http registry_get(const std::string& path) {
  Http r;
  CURL* c = curl_easy_init();
  std::string url = kRegistry + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_cleanup(c);
  return r;
}

// Registers an Avro record schema of its own (a field named after `unique`)
// under a subject of its own, so a schema registered after it gets an id
// other than the registry's first: a framing with a fixed id cannot pass.
void register_decoy(const std::string& unique) {
  std::string field = "f_" + unique;
  for (char& c : field) c = (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  const std::string body = R"({"schema":"{\"type\":\"record\",\"name\":\"Decoy\",)"
                           R"(\"fields\":[{\"name\":\")" +
                           field + R"(\",\"type\":\"string\"}]}"})";
  std::string answer;
  long status = 0;
  CURL* c = curl_easy_init();
  std::string url = kRegistry + "/subjects/" + unique + "/versions";
  curl_slist* h =
      curl_slist_append(nullptr, "Content-Type: application/vnd.schemaregistry.v1+json");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  ASSERT_EQ(status, 200) << "registering a decoy schema: " << answer;
}

// The subjects of the registry that contain `text`.
std::vector<std::string> subjects_containing(const std::string& text) {
  Http r = registry_get("/subjects");
  EXPECT_EQ(r.status, 200) << r.body;
  auto list = parse_json(r.body);
  EXPECT_TRUE(list.is_ok() && list->is_array()) << r.body.substr(0, 300);
  std::vector<std::string> out;
  if (!list.is_ok() || !list->is_array()) return out;
  for (const auto& s : list->array()) {
    if (s.is_string() && s.string().find(text) != std::string::npos) out.push_back(s.string());
  }
  return out;
}

struct Registered {
  int64_t id = -1;
  std::string schema;
};

// The latest version the registry holds for `subject` (id -1 if none).
Registered registered(const std::string& subject) {
  Registered out;
  Http r = registry_get("/subjects/" + subject + "/versions/latest");
  if (r.status != 200) return out;
  auto j = parse_json(r.body);
  EXPECT_TRUE(j.is_ok()) << r.body.substr(0, 300);
  if (!j.is_ok()) return out;
  EXPECT_EQ(j->get_string("subject").value_or(""), subject);
  out.id = j->get_integer("id").value_or(-1);
  out.schema = j->get_string("schema").value_or("");
  return out;
}

uint32_t big_endian_id(const std::string& data) {
  return static_cast<uint32_t>(static_cast<uint8_t>(data[1])) << 24 |
         static_cast<uint32_t>(static_cast<uint8_t>(data[2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(data[3])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(data[4]));
}

struct Sent {
  CdcEvent event;
  std::string partition_key;  // docs/kinesis.md, "Partition keys", written out here
};

// The edge cases of the schema (without the 1 MiB values: over Kinesis' 1 MiB
// record limit), each with a key of its own so its record can be found by
// partition key, plus keys for each rule of the partition-key table.
void events_to_send(std::vector<Sent>& out) {
  for (auto& e : avro_test::edge_case_events()) {
    if (e.value && e.value->size() > 500000) continue;
    out.push_back({e, ""});
  }
  for (size_t i = 0; i < out.size(); ++i) {
    CdcEvent& e = out[i].event;
    if (e.key.empty()) {
      // Empty key: "<database>.<table>"; this event has both empty too.
      ASSERT_EQ(e.database + e.table, "");
      out[i].partition_key = ".";
    } else {
      e.key = "key-" + std::to_string(i);
      out[i].partition_key = e.key;
    }
  }
  auto add = [&](std::string key, std::string partition_key) {
    CdcEvent e = out.front().event;
    e.sequence = 1000 + out.size();
    e.event_id = make_event_id(e.database, e.sequence);
    e.key = std::move(key);
    out.push_back({e, std::move(partition_key)});
  };
  add(std::string(256, 'p'), std::string(256, 'p'));  // longest key used as it is
  add(std::string("\x00\x01\xff", 3), "b64:AAH/");    // binary: the docs' example
  add("cl\xC3\xA9", "b64:Y2zDqQ==");                  // non-ASCII UTF-8 "clé"
  const std::string long_key(300, 'L');               // printable but over 256
  add(long_key, "sha256:" + aws::sha256_hex(long_key));
}

class KinesisAvroEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(kinesis_test::require_service());
    kinesis_test::proxy("/__reset");  // not used here; make sure no fault lingers
    ASSERT_EQ(registry_get("/subjects").status, 200)
        << "no schema registry at " << kRegistry
        << "; this test needs the ctest fixture apicurio (scripts/services/apicurio.sh start)";
  }

  static std::unique_ptr<KinesisConnector> connector(const std::string& stream) {
    KinesisOptions o = kinesis_test::options(stream, kinesis_test::kPlainEndpoint);
    o.format = SerializationFormat::Avro;
    o.schema_registry_url = kRegistry;
    o.max_retries = 10;  // kinesis-mock may throttle; retries must not duplicate
    auto k = KinesisConnectorBuilder(o.region, o.stream_name).options(o).build();
    EXPECT_TRUE(k.is_ok()) << k.status().to_string();
    return k.is_ok() ? std::move(k).value() : nullptr;
  }
};

TEST_F(KinesisAvroEndToEnd, RecordsCarryTheSubjectsSchemaIdDecodeAndAreKeyedByTheEventKey) {
  const std::string stream = kinesis_test::unique_name("avro-kinesis");
  const std::string subject = stream + "-value";  // topic_name strategy, the stream as topic
  ASSERT_NO_FATAL_FAILURE(kinesis_test::create_stream(stream, 2));
  ASSERT_NO_FATAL_FAILURE(register_decoy(kinesis_test::unique_name("decoy")));
  std::vector<Sent> sent;
  ASSERT_NO_FATAL_FAILURE(events_to_send(sent));
  std::vector<CdcEvent> events;
  for (const auto& s : sent) events.push_back(s.event);

  auto kinesis = connector(stream);
  ASSERT_NE(kinesis, nullptr);
  Status st = kinesis->open();
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  // open() registers the schema, before any event.
  EXPECT_EQ(subjects_containing(stream), std::vector<std::string>{subject});

  // Two batches, tickets not starting at 0.
  const uint64_t first_ticket = 5000;
  const size_t half = events.size() / 2;
  testing::AckRecorder acks;
  std::span<const CdcEvent> all(events);
  st = kinesis->send_batch({all.first(half), first_ticket}, acks);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  st = kinesis->send_batch({all.subspan(half), first_ticket + half}, acks);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  st = kinesis->drain(60s);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  acks.expect_each_acknowledged_once(first_ticket, events.size());
  KinesisSinkStats stats = kinesis->stats();
  EXPECT_EQ(stats.records_acked, events.size());
  EXPECT_EQ(stats.records_failed, 0u);
  ASSERT_TRUE(kinesis->close().is_ok());

  // The registry holds exactly one subject for the stream, "<stream>-value",
  // with the seed's schema.
  EXPECT_EQ(subjects_containing(stream), std::vector<std::string>{subject});
  Registered reg = registered(subject);
  ASSERT_GE(reg.id, 0) << "subject " << subject << " not registered";
  testing::TempDir dir;
  testing::write_file(dir.file("schema.json"), reg.schema);
  EXPECT_EQ(avro_test::run_check("schema", dir.file("schema.json")), "schema ok\n");
  // What a consumer does with the id in the framing: look the schema up by id.
  Http by_id = registry_get("/schemas/ids/" + std::to_string(reg.id));
  ASSERT_EQ(by_id.status, 200) << by_id.body;
  auto by_id_json = parse_json(by_id.body);
  ASSERT_TRUE(by_id_json.is_ok()) << by_id.body.substr(0, 300);
  testing::write_file(dir.file("schema_by_id.json"), by_id_json->get_string("schema").value_or(""));
  EXPECT_EQ(avro_test::run_check("schema", dir.file("schema_by_id.json")), "schema ok\n");

  // Read back from every shard; find each event's record by its partition key.
  auto records = kinesis_test::read_all(stream, events.size());
  ASSERT_EQ(records.size(), events.size()) << "records in the stream";
  std::map<std::string, size_t> event_of_key;
  for (size_t i = 0; i < sent.size(); ++i) {
    ASSERT_TRUE(event_of_key.emplace(sent[i].partition_key, i).second) << "test keys not unique";
  }
  std::vector<const kinesis_test::ReadRecord*> record_of_event(sent.size(), nullptr);
  for (const auto& r : records) {
    auto it = event_of_key.find(r.partition_key);
    ASSERT_TRUE(it != event_of_key.end())
        << "record with unexpected partition key '" << r.partition_key.substr(0, 80) << "'";
    EXPECT_EQ(record_of_event[it->second], nullptr)
        << "two records with partition key '" << r.partition_key.substr(0, 80) << "'";
    record_of_event[it->second] = &r;
  }

  // Each record: magic 0, the subject's id big-endian, then the Avro datum of
  // the event sent with that key (decoded by python3-avro, in event order).
  std::string framed, want;
  for (size_t i = 0; i < sent.size(); ++i) {
    ASSERT_NE(record_of_event[i], nullptr)
        << "no record with partition key '" << sent[i].partition_key.substr(0, 80) << "'";
    const std::string& data = record_of_event[i]->data;
    ASSERT_GE(data.size(), 5u);
    EXPECT_EQ(data[0], '\0') << "magic byte of event " << i;
    EXPECT_EQ(big_endian_id(data), static_cast<uint32_t>(reg.id)) << "schema id of event " << i;
    uint32_t n = static_cast<uint32_t>(data.size());
    const char len[4] = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
    framed.append(len, 4);
    framed += data;
    want += "schema_id=" + std::to_string(reg.id) + "\n" + avro_test::render(sent[i].event) + "\n";
  }
  testing::write_file(dir.file("records.bin"), framed);
  avro_test::expect_same_text(avro_test::run_check("framed", dir.file("records.bin")), want);
}

TEST_F(KinesisAvroEndToEnd, ReopenedConnectorReusesTheRegisteredSchemaId) {
  const std::string stream = kinesis_test::unique_name("avro-kinesis-reopen");
  const std::string subject = stream + "-value";
  ASSERT_NO_FATAL_FAILURE(kinesis_test::create_stream(stream, 1));
  CdcEvent event = avro_test::edge_case_events().front();
  for (int run = 0; run < 2; ++run) {  // a restart: new connector, new registry client
    auto kinesis = connector(stream);
    ASSERT_NE(kinesis, nullptr);
    testing::AckRecorder acks;
    Status st = kinesis->send_batch({std::span<const CdcEvent>(&event, 1), 0}, acks);
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    ASSERT_TRUE(kinesis->drain(30s).is_ok());
    acks.expect_each_acknowledged_once(0, 1);
    ASSERT_TRUE(kinesis->close().is_ok());
  }
  Http versions = registry_get("/subjects/" + subject + "/versions");
  EXPECT_EQ(versions.status, 200);
  EXPECT_EQ(versions.body, "[1]") << "registering again must not add a version";
  Registered reg = registered(subject);
  ASSERT_GE(reg.id, 0);
  auto records = kinesis_test::read_all(stream, 2);
  ASSERT_EQ(records.size(), 2u);
  for (const auto& r : records) {
    ASSERT_GE(r.data.size(), 5u);
    EXPECT_EQ(r.data[0], '\0');
    EXPECT_EQ(big_endian_id(r.data), static_cast<uint32_t>(reg.id));
    EXPECT_EQ(r.partition_key, event.key);  // "user123": printable, used as it is
  }
}

}  // namespace
}  // namespace heliosdb::cdc
