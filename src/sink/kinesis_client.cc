#include "sink/kinesis_client.h"

#include <limits>
#include <optional>

#include "common/json_reader.h"
#include "common/json_text.h"
#include "sink/aws/crypto.h"

namespace heliosdb::cdc::kinesis {
namespace {

constexpr std::string_view kTargetPrefix = "Kinesis_20131202.";

bool is_one_of(std::string_view s, std::initializer_list<std::string_view> list) {
  for (auto x : list) {
    if (s == x) return true;
  }
  return false;
}

// A JSON number converted (truncated) to the signed integer type T, or nullopt
// if T cannot hold it: converting such a double is undefined behaviour.
template <typename T>
std::optional<T> to_integer(double v) {
  constexpr double lowest = static_cast<double>(std::numeric_limits<T>::min());  // -2^(bits-1)
  if (!(v >= lowest && v < -lowest)) return std::nullopt;
  return static_cast<T>(v);
}

}  // namespace

std::string default_endpoint(std::string_view region) {
  std::string host = "kinesis." + std::string(region) + ".amazonaws.com";
  if (region.rfind("cn-", 0) == 0) host += ".cn";
  return "https://" + host;
}

Status classify_error(std::string_view operation, long http_status, std::string_view body) {
  std::string type;
  std::string message;
  if (auto parsed = parse_json(body); parsed.is_ok() && parsed->is_object()) {
    type = parsed->get_string("__type").value_or("");
    message = parsed->get_string("message").value_or(parsed->get_string("Message").value_or(""));
  }
  if (size_t hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  std::string text =
      "Kinesis " + std::string(operation) + " failed: HTTP " + std::to_string(http_status);
  if (!type.empty()) text += " " + type;
  if (!message.empty()) text += ": " + message;
  if (type.empty() && message.empty() && !body.empty()) {
    text += ": " + std::string(body.substr(0, 200));
  }

  if (is_one_of(type, {"ProvisionedThroughputExceededException", "LimitExceededException",
                       "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
                       "KMSThrottlingException", "ServiceUnavailable",
                       "ServiceUnavailableException", "InternalFailure", "InternalFailureException",
                       "InternalServerError", "ResourceInUseException"})) {
    return Status(ErrorCode::kUnavailable, text);
  }
  if (is_one_of(type, {"UnrecognizedClientException", "InvalidSignatureException",
                       "IncompleteSignature", "IncompleteSignatureException",
                       "MissingAuthenticationToken", "MissingAuthenticationTokenException",
                       "AccessDeniedException", "ExpiredTokenException", "InvalidClientTokenId",
                       "SignatureDoesNotMatch", "KMSAccessDeniedException"})) {
    return Status(ErrorCode::kPermissionDenied,
                  text + " (check the AWS credentials and the stream's permissions)");
  }
  if (type == "ResourceNotFoundException") return Status(ErrorCode::kNotFound, text);
  if (http_status >= 500 || http_status == 429 || http_status == 408) {
    return Status(ErrorCode::kUnavailable, text);
  }
  if (http_status == 403 || http_status == 401) {
    return Status(ErrorCode::kPermissionDenied, text);
  }
  return Status(ErrorCode::kInvalidArgument, text);
}

KinesisClient::KinesisClient(KinesisClientOptions options)
    : options_(std::move(options)),
      signer_(aws::Region{options_.region}, aws::ServiceName{"kinesis"}, options_.clock),
      http_(options_.endpoint, options_.http) {}

Result<std::string> KinesisClient::call(std::string_view operation, const std::string& body) {
  headers_.clear();
  headers_.emplace_back("Host", options_.endpoint.host_header());
  headers_.emplace_back("Content-Type", "application/x-amz-json-1.1");
  std::string target(kTargetPrefix);
  target += operation;
  headers_.emplace_back("X-Amz-Target", std::move(target));
  aws::SigningRequest req;
  req.method = "POST";
  req.path = options_.endpoint.path;
  req.headers = &headers_;
  req.payload = body;
  aws::SignedRequest signed_req = signer_.sign(req, options_.credentials);
  for (auto& h : signed_req.headers_to_add) headers_.push_back(std::move(h));
  auto resp = http_.post(headers_, body);
  if (!resp.is_ok()) {
    return resp.status().with_context("Kinesis " + std::string(operation));
  }
  if (resp->status != 200) return classify_error(operation, resp->status, resp->body);
  return std::move(resp->body);
}

Result<StreamSummary> KinesisClient::describe_stream_summary(const std::string& stream) {
  std::string body = "{\"StreamName\":";
  append_json_quoted(body, stream);
  body += "}";
  auto resp = call("DescribeStreamSummary", body);
  if (!resp.is_ok()) return resp.status();
  return parse_stream_summary_answer(*resp);
}

Result<StreamSummary> parse_stream_summary_answer(std::string_view body) {
  auto json = parse_json(body);
  if (!json.is_ok()) return json.status().with_context("Kinesis DescribeStreamSummary answer");
  const JsonValue* d = json->get("StreamDescriptionSummary");
  if (!d) return Status(ErrorCode::kCorruption, "Kinesis DescribeStreamSummary: no summary");
  StreamSummary s;
  s.status = d->get_string("StreamStatus").value_or("");
  auto shards = to_integer<int>(d->get_number("OpenShardCount").value_or(0));
  if (!shards) {
    return Status(ErrorCode::kCorruption,
                  "Kinesis DescribeStreamSummary: OpenShardCount out of range");
  }
  s.open_shard_count = *shards;
  return s;
}

void KinesisClient::build_put_records_body(const std::string& stream,
                                           std::span<const PutRecordsEntry> entries,
                                           std::string& out) {
  out.clear();
  size_t need = 64 + stream.size();
  for (const auto& e : entries) {
    need += aws::base64_encoded_size(e.data.size()) + e.partition_key.size() * 2 + 40;
  }
  out.reserve(need);
  out += "{\"StreamName\":";
  append_json_quoted(out, stream);
  out += ",\"Records\":[";
  bool first = true;
  for (const auto& e : entries) {
    if (!first) out.push_back(',');
    first = false;
    out += "{\"Data\":\"";
    aws::base64_append(e.data, out);
    out += "\",\"PartitionKey\":";
    append_json_quoted(out, e.partition_key);
    out.push_back('}');
  }
  out += "]}";
}

Result<std::vector<PutRecordResult>> KinesisClient::put_records(
    const std::string& stream, std::span<const PutRecordsEntry> entries) {
  build_put_records_body(stream, entries, body_);
  auto resp = call("PutRecords", body_);
  if (!resp.is_ok()) return resp.status();
  return parse_put_records_answer(*resp, entries.size());
}

Result<std::vector<PutRecordResult>> parse_put_records_answer(std::string_view body,
                                                              size_t entries) {
  auto json = parse_json(body);
  if (!json.is_ok()) return json.status().with_context("Kinesis PutRecords answer");
  const JsonValue* records = json->get("Records");
  if (!records || !records->is_array() || records->array().size() != entries) {
    // Without one result per entry nothing can be acknowledged: retry all.
    return Status(ErrorCode::kUnavailable,
                  "Kinesis PutRecords answer has " +
                      std::to_string(records && records->is_array() ? records->array().size() : 0) +
                      " results for " + std::to_string(entries) + " records");
  }
  std::vector<PutRecordResult> out(entries);
  for (size_t i = 0; i < entries; ++i) {
    const JsonValue& r = records->array()[i];
    PutRecordResult& o = out[i];
    o.error_code = r.get_string("ErrorCode").value_or("");
    if (o.error_code.empty()) {
      o.sequence_number = r.get_string("SequenceNumber").value_or("");
      o.shard_id = r.get_string("ShardId").value_or("");
      o.ok = !o.sequence_number.empty();
      if (!o.ok) o.error_code = "MissingSequenceNumber";
    } else {
      o.error_message = r.get_string("ErrorMessage").value_or("");
    }
  }
  return out;
}

Result<std::vector<ShardInfo>> KinesisClient::list_shards(const std::string& stream) {
  std::vector<ShardInfo> shards;
  std::string next;
  do {
    std::string body = "{";
    if (next.empty()) {
      body += "\"StreamName\":";
      append_json_quoted(body, stream);
    } else {
      body += "\"NextToken\":";
      append_json_quoted(body, next);
    }
    body += "}";
    auto resp = call("ListShards", body);
    if (!resp.is_ok()) return resp.status();
    auto json = parse_json(*resp);
    if (!json.is_ok()) return json.status();
    if (const auto* arr = json->get("Shards"); arr && arr->is_array()) {
      for (const auto& s : arr->array()) shards.push_back({s.get_string("ShardId").value_or("")});
    }
    next = json->get_string("NextToken").value_or("");
  } while (!next.empty());
  return shards;
}

Result<std::string> KinesisClient::get_shard_iterator(const std::string& stream,
                                                      const std::string& shard_id,
                                                      std::string_view iterator_type) {
  std::string body = "{\"StreamName\":";
  append_json_quoted(body, stream);
  body += ",\"ShardId\":";
  append_json_quoted(body, shard_id);
  body += ",\"ShardIteratorType\":";
  append_json_quoted(body, iterator_type);
  body += "}";
  auto resp = call("GetShardIterator", body);
  if (!resp.is_ok()) return resp.status();
  auto json = parse_json(*resp);
  if (!json.is_ok()) return json.status();
  auto it = json->get_string("ShardIterator");
  if (!it) return Status(ErrorCode::kCorruption, "GetShardIterator: no ShardIterator");
  return *it;
}

Result<GetRecordsResult> KinesisClient::get_records(const std::string& shard_iterator, int limit) {
  std::string body = "{\"ShardIterator\":";
  append_json_quoted(body, shard_iterator);
  body += ",\"Limit\":" + std::to_string(limit) + "}";
  auto resp = call("GetRecords", body);
  if (!resp.is_ok()) return resp.status();
  return parse_get_records_answer(*resp);
}

Result<GetRecordsResult> parse_get_records_answer(std::string_view body) {
  auto json = parse_json(body);
  if (!json.is_ok()) return json.status();
  GetRecordsResult out;
  out.next_shard_iterator = json->get_string("NextShardIterator").value_or("");
  auto behind = to_integer<int64_t>(json->get_number("MillisBehindLatest").value_or(0));
  if (!behind) return Status(ErrorCode::kCorruption, "GetRecords: MillisBehindLatest out of range");
  out.millis_behind_latest = *behind;
  if (const auto* arr = json->get("Records"); arr && arr->is_array()) {
    for (const auto& r : arr->array()) {
      GetRecordsRecord rec;
      auto data = aws::base64_decode(r.get_string("Data").value_or(""));
      if (!data) return Status(ErrorCode::kCorruption, "GetRecords: bad base64 Data");
      rec.data = std::move(*data);
      rec.partition_key = r.get_string("PartitionKey").value_or("");
      rec.sequence_number = r.get_string("SequenceNumber").value_or("");
      out.records.push_back(std::move(rec));
    }
  }
  return out;
}

Status KinesisClient::create_stream(const std::string& stream, int shard_count) {
  std::string body = "{\"StreamName\":";
  append_json_quoted(body, stream);
  body += ",\"ShardCount\":" + std::to_string(shard_count) + "}";
  auto resp = call("CreateStream", body);
  return resp.is_ok() ? Status::ok() : resp.status();
}

}  // namespace heliosdb::cdc::kinesis
