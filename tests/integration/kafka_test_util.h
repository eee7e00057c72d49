// Helpers for the tests against the real Kafka broker started by
// scripts/services/kafka.sh (ctest fixture kafka_broker): topic creation with
// librdkafka's admin API, an independent consumer that reads a topic back, and
// broker kill/restart.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace heliosdb::cdc::kafka_test {

inline std::string brokers() {
  const char* b = std::getenv("HELIOSDB_KAFKA_BROKERS");
  return b && *b ? b : "127.0.0.1:19092";
}

inline std::string sasl_brokers() {
  const char* b = std::getenv("HELIOSDB_KAFKA_SASL_BROKERS");
  return b && *b ? b : "127.0.0.1:19094";
}

inline std::string service_script() {
  const char* s = std::getenv("HELIOSDB_KAFKA_SCRIPT");
  return s && *s ? s : std::string(HELIOSDB_CDC_SOURCE_DIR) + "/scripts/services/kafka.sh";
}

// Runs `kafka.sh <command>`; returns its exit code.
inline int service(const std::string& command) {
  std::string cmd = service_script() + " " + command + " >&2";
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

inline std::string unique_name(const std::string& prefix) {
  static std::mt19937_64 rng(std::random_device{}());
  return prefix + "-" + std::to_string(rng() % 1000000000ULL);
}

// The broker must be there (the ctest fixture starts it). Fails loudly, never skips.
inline void require_broker() {
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers().c_str(), errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, nullptr, &md, 10000);
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_destroy(rk);
  ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR)
      << "no Kafka broker at " << brokers()
      << "; these tests need the ctest fixture kafka_broker (scripts/services/kafka.sh start): "
      << rd_kafka_err2str(err);
}

// Creates `topic` with `partitions` partitions (waits until it is usable).
inline void create_topic(const std::string& topic, int partitions) {
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers().c_str(), errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, errstr, sizeof errstr);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, 10000, errstr, sizeof errstr);
  rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 20000);
  ASSERT_NE(ev, nullptr) << "CreateTopics timed out";
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
  size_t n = 0;
  const rd_kafka_topic_result_t** tr = rd_kafka_CreateTopics_result_topics(res, &n);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(rd_kafka_topic_result_error(tr[0]), RD_KAFKA_RESP_ERR_NO_ERROR)
      << "create topic " << topic << ": " << rd_kafka_topic_result_error_string(tr[0]);
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  // Wait until metadata shows every partition with a leader.
  for (int i = 0; i < 100; ++i) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    bool ready = false;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ready = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
              md->topics[0].partition_cnt == partitions;
      for (int p = 0; ready && p < md->topics[0].partition_cnt; ++p) {
        ready = md->topics[0].partitions[p].leader >= 0;
      }
      rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    if (ready) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rd_kafka_destroy(rk);
}

struct Message {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  bool has_key = false;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
  int64_t timestamp_ms = -1;  // the record's timestamp
  rd_kafka_timestamp_type_t timestamp_type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
};

// Reads `topic` from the beginning of every partition with a plain librdkafka
// consumer (no group, no commit) until `expected` messages arrived and the
// topic stayed quiet for `quiet`, or `timeout` passed.
inline std::vector<Message> consume_all(
    const std::string& topic, size_t expected,
    std::chrono::milliseconds timeout = std::chrono::seconds(60),
    std::chrono::milliseconds quiet = std::chrono::milliseconds(500)) {
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers().c_str(), errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "group.id", "heliosdb-cdc-test-reader", errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "enable.partition.eof", "false", errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "isolation.level", "read_committed", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  int partitions = 0;
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md->topic_cnt == 1) partitions = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(rkt);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);

  std::vector<Message> out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto last = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    auto now = std::chrono::steady_clock::now();
    if (!m) {
      if (out.size() >= expected && now - last >= quiet) break;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      Message msg;
      msg.topic = rd_kafka_topic_name(m->rkt);
      msg.partition = m->partition;
      msg.offset = m->offset;
      msg.timestamp_ms = rd_kafka_message_timestamp(m, &msg.timestamp_type);
      msg.has_key = m->key != nullptr;
      if (m->key) msg.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) msg.value.assign(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* v;
        size_t n;
        for (size_t i = 0;
             rd_kafka_header_get_all(hdrs, i, &name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
          msg.headers[name] = v ? std::string(static_cast<const char*>(v), n) : "";
        }
      }
      out.push_back(std::move(msg));
      last = now;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

}  // namespace heliosdb::cdc::kafka_test
