// Pieces of the Kinesis client that need no network: how answers are
// classified, the exact PutRecords request bytes, endpoint parsing, and the
// JSON reader fed with damaged answers (it parses network input).
#include <gtest/gtest.h>

#include <random>

#include "common/json_reader.h"
#include "common/redact.h"
#include "heliosdb/cdc/kinesis.h"
#include "sink/aws/http_client.h"
#include "sink/kinesis_client.h"

namespace heliosdb::cdc::kinesis {
namespace {

TEST(KinesisErrorTest, ThrottlingAndServerErrorsAreRetriable) {
  for (const char* type : {"ProvisionedThroughputExceededException", "LimitExceededException",
                           "ThrottlingException", "KMSThrottlingException", "InternalFailure"}) {
    Status st = classify_error(
        "PutRecords", 400, std::string(R"({"__type":")") + type + R"(","message":"slow down"})");
    EXPECT_EQ(st.code(), ErrorCode::kUnavailable) << type;
    EXPECT_TRUE(st.retriable()) << type;
    EXPECT_NE(st.message().find(type), std::string::npos);
    EXPECT_NE(st.message().find("slow down"), std::string::npos);
  }
  EXPECT_EQ(classify_error("PutRecords", 500, "<html>oops</html>").code(), ErrorCode::kUnavailable);
  EXPECT_EQ(classify_error("PutRecords", 503, "").code(), ErrorCode::kUnavailable);
  EXPECT_EQ(classify_error("PutRecords", 429, "").code(), ErrorCode::kUnavailable);
}

TEST(KinesisErrorTest, AuthMissingStreamAndInvalidRequestsAreFatal) {
  Status auth = classify_error(
      "PutRecords", 400,
      R"({"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."})");
  EXPECT_EQ(auth.code(), ErrorCode::kPermissionDenied);
  EXPECT_FALSE(auth.retriable());
  EXPECT_EQ(
      classify_error("PutRecords", 403, R"({"__type":"AccessDeniedException","Message":"no"})")
          .code(),
      ErrorCode::kPermissionDenied);
  EXPECT_EQ(classify_error("X", 400, R"({"__type":"InvalidSignatureException"})").code(),
            ErrorCode::kPermissionDenied);
  Status missing = classify_error(
      "DescribeStreamSummary", 400,
      R"({"__type":"com.amazonaws.kinesis.v20131202#ResourceNotFoundException","message":"Stream s under account 1 not found."})");
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.message(),
            "Kinesis DescribeStreamSummary failed: HTTP 400 ResourceNotFoundException: Stream s "
            "under account 1 not found.");
  EXPECT_EQ(classify_error("PutRecords", 400, R"({"__type":"InvalidArgumentException"})").code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(classify_error("PutRecords", 400, R"({"__type":"ValidationException"})").code(),
            ErrorCode::kInvalidArgument);
}

TEST(KinesisRequestTest, PutRecordsBodyIsExact) {
  std::string data1("{\"a\":1}"), data2("\x00\xff\x10", 3);
  std::vector<PutRecordsEntry> entries{{data1, "user-1"}, {data2, "b64:\"quoted\\"}};
  std::string body;
  KinesisClient::build_put_records_body("my-stream", entries, body);
  EXPECT_EQ(
      body,
      R"({"StreamName":"my-stream","Records":[{"Data":"eyJhIjoxfQ==","PartitionKey":"user-1"},)"
      R"({"Data":"AP8Q","PartitionKey":"b64:\"quoted\\"}]})");
  // The body is valid JSON and round-trips.
  auto j = parse_json(body);
  ASSERT_TRUE(j.is_ok());
  EXPECT_EQ(j->get("Records")->array()[1].get_string("PartitionKey"), "b64:\"quoted\\");
}

TEST(KinesisRequestTest, DefaultEndpointsAndEndpointParsing) {
  EXPECT_EQ(default_endpoint("us-east-1"), "https://kinesis.us-east-1.amazonaws.com");
  EXPECT_EQ(default_endpoint("cn-north-1"), "https://kinesis.cn-north-1.amazonaws.com.cn");
  auto ep = aws::parse_endpoint("https://127.0.0.1:14567");
  ASSERT_TRUE(ep.is_ok());
  EXPECT_EQ(ep->host_header(), "127.0.0.1:14567");
  EXPECT_EQ(ep->path, "/");
  EXPECT_EQ(ep->url, "https://127.0.0.1:14567/");
  auto v6 = aws::parse_endpoint("http://[::1]:8080/kinesis");
  ASSERT_TRUE(v6.is_ok());
  EXPECT_EQ(v6->host_header(), "[::1]:8080");
  EXPECT_EQ(v6->path, "/kinesis");
  for (const char* bad : {"127.0.0.1:14567", "ftp://x", "https://", "https://h:0",
                          "https://h:99999", "https://h:x", "https://u@h", "https://h/?q=1"}) {
    auto r = aws::parse_endpoint(bad);
    EXPECT_FALSE(r.is_ok()) << bad;
    if (!r.is_ok()) EXPECT_NE(r.status().message().find(redact_url(bad)), std::string::npos);
  }
}

// The endpoint is refused for its userinfo, and the refusal, which quotes
// it, must not print the credentials (it did: "endpoint 'http://AKIA...:...@").
TEST(KinesisRequestTest, AnEndpointWithCredentialsIsRefusedWithoutPrintingThem) {
  const std::string url = "http://AKIAEXAMPLE:hunter2-secret@127.0.0.1:1/";
  auto ep = aws::parse_endpoint(url);
  ASSERT_FALSE(ep.is_ok());
  EXPECT_EQ(ep.status().message(),
            "endpoint 'http://***@127.0.0.1:1/': user info not allowed (expected "
            "http(s)://host[:port][/path])");
  auto sink = KinesisConnectorBuilder("us-east-1", "s")
                  .endpoint(url)
                  .credentials("AKIAEXAMPLE", "wJalrXUtnFEMI", "")
                  .build();
  ASSERT_FALSE(sink.is_ok());
  for (const char* secret : {"hunter2-secret", "AKIAEXAMPLE", "wJalrXUtnFEMI"}) {
    EXPECT_EQ(sink.status().to_string().find(secret), std::string::npos)
        << sink.status().to_string();
  }
  EXPECT_NE(sink.status().message().find("http://***@127.0.0.1:1/"), std::string::npos);
}

TEST(KinesisAnswerTest, PutRecordsAnswerGivesOneResultPerEntry) {
  auto r = parse_put_records_answer(
      R"({"FailedRecordCount":2,"Records":[{"SequenceNumber":"4959","ShardId":"shardId-0"},)"
      R"({"ErrorCode":"InternalFailure","ErrorMessage":"try again"},{"ShardId":"shardId-1"}]})",
      3);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_TRUE((*r)[0].ok);
  EXPECT_EQ((*r)[0].sequence_number, "4959");
  EXPECT_EQ((*r)[0].shard_id, "shardId-0");
  EXPECT_FALSE((*r)[1].ok);
  EXPECT_EQ((*r)[1].error_code, "InternalFailure");
  EXPECT_EQ((*r)[1].error_message, "try again");
  EXPECT_FALSE((*r)[2].ok);
  EXPECT_EQ((*r)[2].error_code, "MissingSequenceNumber");

  // Fewer or more results than entries: nothing can be acknowledged, retry all.
  auto short_answer = parse_put_records_answer(R"({"Records":[{"SequenceNumber":"1"}]})", 2);
  EXPECT_EQ(short_answer.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(parse_put_records_answer(R"({"Records":{}})", 1).status().code(),
            ErrorCode::kUnavailable);
  EXPECT_EQ(parse_put_records_answer("<html>", 1).status().code(), ErrorCode::kCorruption);
}

// A number no int/int64 holds was converted with static_cast: undefined
// behaviour (UBSan's float-cast-overflow in tests/fuzz/json_answers_fuzz.cc).
TEST(KinesisAnswerTest, OutOfRangeNumbersAreCorruptionNotUndefinedBehaviour) {
  auto summary = parse_stream_summary_answer(
      R"({"StreamDescriptionSummary":{"StreamStatus":"ACTIVE","OpenShardCount":2}})");
  ASSERT_TRUE(summary.is_ok()) << summary.status().to_string();
  EXPECT_EQ(summary->status, "ACTIVE");
  EXPECT_EQ(summary->open_shard_count, 2);
  for (const char* count : {"1e10", "2147483648", "-2147483649", "1e999", "-1e999"}) {
    auto bad = parse_stream_summary_answer(
        std::string(R"({"StreamDescriptionSummary":{"OpenShardCount":)") + count + "}}");
    EXPECT_EQ(bad.status().code(), ErrorCode::kCorruption) << count;
  }

  auto records = parse_get_records_answer(R"({"MillisBehindLatest":1500,"Records":[]})");
  ASSERT_TRUE(records.is_ok()) << records.status().to_string();
  EXPECT_EQ(records->millis_behind_latest, 1500);
  for (const char* behind : {"1e300", "9223372036854775808", "-1e19"}) {
    auto bad = parse_get_records_answer(std::string(R"({"MillisBehindLatest":)") + behind + "}");
    EXPECT_EQ(bad.status().code(), ErrorCode::kCorruption) << behind;
  }
}

TEST(JsonReaderTest, ParsesKinesisAnswers) {
  auto j = parse_json(
      R"({"FailedRecordCount":1,"Records":[{"SequenceNumber":"4959","ShardId":"shardId-000000000000"},)"
      R"({"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded \u00e9\ud83d\ude00"}]})");
  ASSERT_TRUE(j.is_ok()) << j.status().to_string();
  EXPECT_EQ(j->get_number("FailedRecordCount"), 1.0);
  const auto& recs = j->get("Records")->array();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].get_string("SequenceNumber"), "4959");
  EXPECT_EQ(recs[1].get_string("ErrorMessage"), "Rate exceeded \xc3\xa9\xf0\x9f\x98\x80");
}

TEST(JsonReaderTest, RejectsMalformedInputWithOffset) {
  for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "\"abc", "tru", "{}x",
                          "[\"\\x\"]", "[01a]", "-"}) {
    auto r = parse_json(bad);
    EXPECT_FALSE(r.is_ok()) << bad;
    if (!r.is_ok())
      EXPECT_NE(r.status().message().find("malformed JSON at byte"), std::string::npos);
  }
  std::string deep(1000, '[');
  EXPECT_FALSE(parse_json(deep).is_ok());
}

TEST(JsonReaderTest, UnpairedSurrogatesAreMalformedAndIntegersAreExact) {
  for (const char* bad :
       {R"(["\ud83d"])", R"(["\ud83dx"])", R"(["\ud83d\u0041"])", R"(["\ude00"])"}) {
    EXPECT_FALSE(parse_json(bad).is_ok()) << bad;
  }
  auto j = parse_json(R"({"big":9007199254740993,"f":1.5,"e":1e3,"neg":-7})");
  ASSERT_TRUE(j.is_ok());
  EXPECT_EQ(j->get_integer("big"), int64_t{9007199254740993});  // beyond a double's 2^53
  EXPECT_EQ(j->get_integer("f"), std::nullopt);
  EXPECT_EQ(j->get_integer("e"), std::nullopt);
  EXPECT_EQ(j->get_integer("neg"), -7);
  EXPECT_EQ(j->get_number("f"), 1.5);
}

// Fuzz-ish: damaged and truncated answers never crash the reader.
TEST(JsonReaderTest, RandomlyDamagedAnswersNeverCrash) {
  const std::string answer =
      R"({"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"s"},)"
      R"({"ErrorCode":"InternalFailure","ErrorMessage":"x\"y\\z\u0041"}],"EncryptionType":"NONE"})";
  std::mt19937 rng(77);
  size_t ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = answer;
    int edits = 1 + rng() % 4;
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[pos] = static_cast<char>(rng());
          break;
        case 1:
          s.erase(pos, 1 + rng() % 8);
          break;
        default:
          s.resize(pos);
          break;
      }
      if (s.empty()) break;
    }
    auto r = parse_json(s);
    ok += r.is_ok();
  }
  EXPECT_LT(ok, 20000u);
}

}  // namespace
}  // namespace heliosdb::cdc::kinesis
