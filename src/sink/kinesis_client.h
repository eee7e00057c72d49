// The Kinesis Data Streams API calls the sink (and its tests) use, over the
// AWS JSON 1.1 protocol, signed with SigV4. KinesisApi is the seam: the sink
// talks to it, unit tests put a fake behind it.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/status.h"
#include "sink/aws/credentials.h"
#include "sink/aws/http_client.h"
#include "sink/aws/sigv4.h"

namespace heliosdb::cdc::kinesis {

struct PutRecordsEntry {
  std::string_view data;           // raw bytes (base64 on the wire)
  std::string_view partition_key;  // 1..256 characters
};

struct PutRecordResult {
  bool ok = false;
  std::string shard_id;
  std::string sequence_number;
  std::string error_code;  // e.g. ProvisionedThroughputExceededException, InternalFailure
  std::string error_message;
};

struct StreamSummary {
  std::string status;  // CREATING | DELETING | ACTIVE | UPDATING
  int open_shard_count = 0;
};

struct ShardInfo {
  std::string shard_id;
};

struct GetRecordsRecord {
  std::string data;  // decoded bytes
  std::string partition_key;
  std::string sequence_number;
};

struct GetRecordsResult {
  std::vector<GetRecordsRecord> records;
  std::string next_shard_iterator;  // empty: shard closed
  int64_t millis_behind_latest = 0;
};

// Errors: kUnavailable/kTimeout (throttled, 5xx, network: retry),
// kPermissionDenied (credentials, signature, access), kNotFound (stream),
// kInvalidArgument (request rejected as invalid). Messages say which call,
// the HTTP status, the AWS error type and its message.
class KinesisApi {
 public:
  virtual ~KinesisApi() = default;
  virtual Result<StreamSummary> describe_stream_summary(const std::string& stream) = 0;
  // One result per entry, in request order.
  virtual Result<std::vector<PutRecordResult>> put_records(
      const std::string& stream, std::span<const PutRecordsEntry> entries) = 0;
  // TCP/TLS connections opened so far.
  virtual long connections() const { return 0; }
};

struct KinesisClientOptions {
  std::string region;
  aws::Endpoint endpoint;
  aws::HttpClientOptions http;
  aws::Credentials credentials;
  aws::Clock clock = aws::system_clock();
};

// The default endpoint of a region: https://kinesis.<region>.amazonaws.com
// (".com.cn" for cn- regions).
std::string default_endpoint(std::string_view region);

// Turns a non-200 answer into a Status (see KinesisApi).
Status classify_error(std::string_view operation, long http_status, std::string_view body);

// Reading the bodies of HTTP 200 answers: pure functions of untrusted bytes
// (also run by tests/fuzz/json_answers_fuzz.cc). A body that is not JSON is
// kCorruption.
Result<StreamSummary> parse_stream_summary_answer(std::string_view body);
// One result per entry, in request order; kUnavailable (retry all) if the
// answer does not hold exactly `entries` results.
Result<std::vector<PutRecordResult>> parse_put_records_answer(std::string_view body,
                                                              size_t entries);
Result<GetRecordsResult> parse_get_records_answer(std::string_view body);

// The real client: one kept-alive connection. Not thread-safe.
class KinesisClient : public KinesisApi {
 public:
  explicit KinesisClient(KinesisClientOptions options);

  Result<StreamSummary> describe_stream_summary(const std::string& stream) override;
  Result<std::vector<PutRecordResult>> put_records(
      const std::string& stream, std::span<const PutRecordsEntry> entries) override;
  long connections() const override { return http_.connects(); }

  // For tests and tools (reading a stream back).
  Result<std::vector<ShardInfo>> list_shards(const std::string& stream);
  Result<std::string> get_shard_iterator(const std::string& stream, const std::string& shard_id,
                                         std::string_view iterator_type = "TRIM_HORIZON");
  Result<GetRecordsResult> get_records(const std::string& shard_iterator, int limit = 10000);
  Status create_stream(const std::string& stream, int shard_count);

  // Signs and sends one call; the answer's body on HTTP 200.
  Result<std::string> call(std::string_view operation, const std::string& body);

  // Builds the PutRecords request body (exposed for benchmarks).
  static void build_put_records_body(const std::string& stream,
                                     std::span<const PutRecordsEntry> entries, std::string& out);

 private:
  KinesisClientOptions options_;
  aws::SigV4Signer signer_;
  aws::HttpClient http_;
  std::string body_;  // reused request buffer
  aws::HttpHeaders headers_;
};

}  // namespace heliosdb::cdc::kinesis
