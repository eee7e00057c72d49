// Kafka end to end with Avro: KafkaConnector with format = Avro registers the
// schema with the real registry (Apicurio, fixture "apicurio") and produces
// to the real broker (fixture kafka_broker); an independent librdkafka
// consumer reads the messages back, each must carry the Confluent framing
// (magic 0, the subject's schema id) and decode with python3-avro to the
// events that were sent.
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "avro_check_util.h"
#include "heliosdb/cdc/kafka.h"
#include "kafka_test_util.h"
#include "serde/schema_registry_json.h"
#include "testing/ack_recorder.h"
#include "testing/test_util.h"

#include <curl/curl.h>

namespace heliosdb::cdc {
namespace {

using namespace std::chrono_literals;

const std::string kRegistry = "http://127.0.0.1:18081/apis/ccompat/v7";

size_t collect(char* d, size_t s, size_t n, void* u) {
  static_cast<std::string*>(u)->append(d, s * n);
  return s * n;
}

// The id the registry holds for `subject` (latest version), -1 if it has
// none, -2 if the registry did not answer.
int64_t registry_id(const std::string& subject) {
  std::string body;
  long status = 0;
  CURL* c = curl_easy_init();
  std::string url = kRegistry + "/subjects/" + subject + "/versions/latest";
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  if (status == 0) return -2;
  auto answer = schema_registry::parse_registry_answer(body);
  return status == 200 && answer && answer->id ? *answer->id : -1;
}

TEST(KafkaAvroEndToEnd, ConsumedMessagesCarryTheFramingAndDecode) {
  ASSERT_NO_FATAL_FAILURE(kafka_test::require_broker());
  ASSERT_NE(registry_id("nonexistent-subject"), -2)
      << "no schema registry at " << kRegistry
      << "; this test needs the ctest fixture apicurio (scripts/services/apicurio.sh start)";
  const std::string topic = kafka_test::unique_name("avro-e2e");
  ASSERT_NO_FATAL_FAILURE(kafka_test::create_topic(topic, 1));  // one partition: one order

  // The edge cases, minus the 1 MiB ones (over the broker's default message
  // size), in sequence order.
  std::vector<CdcEvent> events;
  for (auto& e : avro_test::edge_case_events()) {
    if (e.value && e.value->size() > 500000) continue;
    events.push_back(e);
  }
  for (size_t i = 0; i < events.size(); ++i) events[i].key = "key-" + std::to_string(i);

  KafkaOptions o;
  o.brokers = kafka_test::brokers();
  o.topic = topic;
  o.format = SerializationFormat::Avro;
  o.schema_registry_url = kRegistry;
  o.startup_timeout = 10s;
  auto kafka = KafkaConnector::create(o);
  ASSERT_TRUE(kafka.is_ok()) << kafka.status().to_string();
  ASSERT_TRUE((*kafka)->open().is_ok());
  testing::AckRecorder acks;
  Status st = (*kafka)->send_batch({events, 0}, acks);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  ASSERT_TRUE((*kafka)->drain(30s).is_ok());
  EXPECT_EQ(acks.acked_count(), events.size());
  EXPECT_TRUE(acks.failure_texts().empty()) << acks.failure_texts()[0];
  ASSERT_TRUE((*kafka)->close().is_ok());

  const int64_t id = registry_id(topic + "-value");
  ASSERT_GE(id, 0) << "subject " << topic << "-value not registered";

  auto msgs = kafka_test::consume_all(topic, events.size());
  ASSERT_EQ(msgs.size(), events.size());
  std::string framed, want;
  for (size_t i = 0; i < msgs.size(); ++i) {
    const std::string& v = msgs[i].value;
    ASSERT_GE(v.size(), 5u);
    EXPECT_EQ(v[0], '\0') << "magic byte";
    uint32_t n = static_cast<uint32_t>(v.size());
    const char len[4] = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
    framed.append(len, 4);
    framed += v;
    want += "schema_id=" + std::to_string(id) + "\n" + avro_test::render(events[i]) + "\n";
  }
  testing::TempDir dir;
  testing::write_file(dir.file("consumed.bin"), framed);
  avro_test::expect_same_text(avro_test::run_check("framed", dir.file("consumed.bin")), want);
}

}  // namespace
}  // namespace heliosdb::cdc
