// Helpers for the Kinesis integration tests: kinesis-mock (started by
// scripts/services/kinesis.sh through the ctest fixture kinesis_service) and
// the fault-injecting test proxy in front of it.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/json_reader.h"
#include "heliosdb/cdc/kinesis.h"
#include "heliosdb/cdc/wal.h"
#include "sink/aws/crypto.h"
#include "sink/aws/http_client.h"
#include "sink/kinesis_client.h"

namespace heliosdb::cdc::kinesis_test {

inline const std::string kTlsEndpoint = "https://127.0.0.1:14567";
inline const std::string kPlainEndpoint = "http://127.0.0.1:14568";
inline const std::string kProxyEndpoint = "http://127.0.0.1:14569";

inline std::unique_ptr<kinesis::KinesisClient> client(
    const std::string& endpoint = kPlainEndpoint) {
  kinesis::KinesisClientOptions o;
  o.region = "us-east-1";
  o.endpoint = aws::parse_endpoint(endpoint).value();
  o.http.verify_tls = false;
  o.credentials =
      aws::Credentials{aws::AccessKeyId{"AKIDTEST"}, aws::SecretAccessKey{"test-secret"},
                       aws::SessionToken{}, "test"};
  return std::make_unique<kinesis::KinesisClient>(o);
}

inline void require_service() {
  auto c = client();
  auto s = c->describe_stream_summary("heliosdb-test-1");
  ASSERT_TRUE(s.is_ok()) << "kinesis-mock is not answering on " << kPlainEndpoint << " ("
                         << s.status().to_string()
                         << "); start it with scripts/services/kinesis.sh start (ctest fixture "
                            "kinesis_service)";
}

inline std::string unique_name(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
}

inline void create_stream(const std::string& name, int shards) {
  auto c = client();
  Status st = c->create_stream(name, shards);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  for (int i = 0; i < 200; ++i) {
    auto s = c->describe_stream_summary(name);
    if (s.is_ok() && s->status == "ACTIVE") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL() << "stream " << name << " not ACTIVE after 10 s";
}

struct ReadRecord {
  std::string shard_id;
  std::string data;
  std::string partition_key;
};

// Every record of every shard, each shard in stream order. Waits up to
// `timeout` for at least `expected` records.
inline std::vector<ReadRecord> read_all(
    const std::string& stream, size_t expected,
    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto c = client();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<ReadRecord> out;
  while (true) {
    out.clear();
    auto shards = c->list_shards(stream);
    EXPECT_TRUE(shards.is_ok()) << shards.status().to_string();
    if (!shards.is_ok()) return out;
    for (const auto& shard : *shards) {
      auto it = c->get_shard_iterator(stream, shard.shard_id);
      EXPECT_TRUE(it.is_ok()) << it.status().to_string();
      if (!it.is_ok()) return out;
      std::string iter = *it;
      int empty = 0;
      while (!iter.empty() && empty < 2) {
        auto r = c->get_records(iter, 10000);
        EXPECT_TRUE(r.is_ok()) << r.status().to_string();
        if (!r.is_ok()) return out;
        if (r->records.empty()) ++empty;
        for (auto& rec : r->records) {
          out.push_back({shard.shard_id, std::move(rec.data), std::move(rec.partition_key)});
        }
        iter = r->next_shard_iterator;
      }
    }
    if (out.size() >= expected || std::chrono::steady_clock::now() > deadline) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// The fault proxy's control channel.
inline JsonValue proxy(const std::string& path, const std::string& body = "{}") {
  aws::HttpClient http(aws::parse_endpoint(kProxyEndpoint + path).value(), {});
  auto r = http.post({{"Content-Type", "application/json"}}, body);
  EXPECT_TRUE(r.is_ok()) << "fault proxy on " << kProxyEndpoint << ": " << r.status().to_string();
  if (!r.is_ok()) return {};
  EXPECT_EQ(r->status, 200) << r->body;
  auto j = parse_json(r->body);
  return j.is_ok() ? *j : JsonValue{};
}
inline uint64_t proxy_stat(const std::string& name) {
  return static_cast<uint64_t>(proxy("/__stats").get_number(name).value_or(0));
}

inline KinesisOptions options(const std::string& stream, const std::string& endpoint) {
  KinesisOptions o;
  o.region = "us-east-1";
  o.stream_name = stream;
  o.endpoint = endpoint;
  o.verify_tls = false;  // kinesis-mock's certificate is self-signed, without host names
  o.access_key_id = "AKIDTEST";
  o.secret_access_key = "test-secret";
  o.retry_base_delay = std::chrono::milliseconds(5);
  o.retry_max_delay = std::chrono::milliseconds(50);
  return o;
}

// docs/kinesis.md, "Partition keys", written out independently.
inline std::string expected_partition_key(const OwnedWalEntry& e, const std::string& database) {
  std::string key = e.key.empty() ? database + "." + e.table : e.key;
  bool printable = key.size() <= 256;
  for (char c : key) printable = printable && c >= 0x20 && c <= 0x7e;
  if (printable) return key;
  if ((key.size() + 2) / 3 * 4 + 4 <= 256) return "b64:" + aws::base64_encode(key);
  return "sha256:" + aws::sha256_hex(key);
}

}  // namespace heliosdb::cdc::kinesis_test
