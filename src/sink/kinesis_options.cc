#include "sink/kinesis_options.h"

#include <filesystem>

#include "sink/aws/http_client.h"
#include "sink/kinesis_records.h"

namespace heliosdb::cdc::kinesis {
namespace {

options::Table make_kinesis_table() {
  const KinesisOptions d;
  options::Table t;
  t.section = "sink.kinesis";
  auto& v = t.options;
  v.push_back(
      options::string_option("region", d.region, "KinesisConnectorBuilder(region, stream_name)",
                             "AWS region; part of the signature and of the default endpoint."));
  v.push_back(options::string_option(
      "stream_name", d.stream_name, "KinesisConnectorBuilder(region, stream_name)",
      "Stream to write to (1–128 characters `A-Za-z0-9_.-`). Must exist: start-up checks it "
      "with `DescribeStreamSummary`."));
  v.push_back(options::enum_option(
      "format", std::string(format_name(d.format)), {"json", "avro"}, ".format()",
      "Serialization: `avro` needs `[schema_registry] url` (Confluent wire format, subject "
      "from the stream name)."));
  v.push_back(options::int_option(
      "batch_size", d.batch_size, 1, static_cast<int64_t>(kMaxRecordsPerCall), ".batch_size()",
      "Most records per `PutRecords` call (the API's limit is 500). Calls also stay within "
      "5 MiB."));
  v.push_back(options::int_option(
      "max_retries", d.max_retries, 0, 1000, ".max_retries()",
      "Retries of a failed record or failed call (throttling, 5xx, network), with exponential "
      "backoff and full jitter. Then `on_failure` applies."));
  v.push_back(options::string_option(
      "endpoint", d.endpoint, ".endpoint()",
      "Overrides `https://kinesis.<region>.amazonaws.com`, e.g. a VPC endpoint or an emulator "
      "(`http(s)://host[:port][/path]`). Userinfo, a query or a fragment are refused (the error "
      "shows the URL's userinfo as `***`)."));
  v.push_back(options::string_option(
      "ca_file", d.ca_file, ".ca_file()",
      "PEM CA bundle to verify the endpoint's certificate; default: the system store."));
  v.push_back(options::bool_option(
      "verify_tls", d.verify_tls, ".verify_tls()",
      "Verify the endpoint's certificate and host name. Turn off only for a local emulator."));
  for (const char* key : {"access_key_id", "secret_access_key", "session_token"}) {
    options::Option o = options::string_option(
        key, "", ".credentials()",
        "Explicit credentials (use `${VAR}`); `access_key_id` and `secret_access_key` go "
        "together. Without them: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/"
        "`AWS_SESSION_TOKEN`, then the shared credentials file.");
    o.secret = options::Secret::kYes;
    v.push_back(std::move(o));
  }
  v.push_back(options::string_option(
      "profile", d.profile, ".profile()",
      "Profile of the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default "
      "`~/.aws/credentials`); default `AWS_PROFILE`, else `default`."));
  v.push_back(options::int_option(
      "max_in_flight", d.max_in_flight, 1, 64, ".max_in_flight()",
      "Concurrent `PutRecords` calls (lanes, one kept-alive connection each)."));
  options::Option on_failure = options::enum_option(
      "on_failure", d.on_failure == KinesisFailurePolicy::kRetry ? "retry" : "stop",
      {"stop", "retry"}, ".on_failure()",
      "After `max_retries` (auth errors, a missing stream and rejected requests always stop):");
  on_failure.allowed_docs = {
      "the event is failed; the daemon exits 1 naming it, and the checkpoint never passes it",
      "keep retrying with capped backoff: lag grows, nothing is skipped"};
  v.push_back(std::move(on_failure));
  v.push_back(options::int_option(
      "retry_base_delay_ms", d.retry_base_delay.count(), 0, 60000,
      "KinesisOptions::retry_base_delay (.options())",
      "Backoff before retry *n*: random in [0, min(`retry_max_delay_ms`, base × 2^n)]."));
  v.push_back(options::int_option("retry_max_delay_ms", d.retry_max_delay.count(), 0, 600000,
                                  "KinesisOptions::retry_max_delay (.options())",
                                  "Cap of one backoff sleep; at least `retry_base_delay_ms`."));
  v.push_back(options::int_option("request_timeout_ms", d.request_timeout.count(), 100, 600000,
                                  "KinesisOptions::request_timeout (.options())",
                                  "Timeout of one HTTP call."));
  return t;
}

}  // namespace

const options::Table& kinesis_option_table() {
  static const options::Table table = make_kinesis_table();
  return table;
}

bool valid_region(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool valid_stream_name(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.' || c == '-'))
      return false;
  }
  return true;
}

options::Problems option_problems(const KinesisOptions& o) {
  options::Problems p(kinesis_option_table());
  if (!valid_region(o.region)) {
    p.add("region", "'" + o.region + "' is not a region name (e.g. us-east-1)");
  }
  if (!valid_stream_name(o.stream_name)) {
    p.add("stream_name", "'" + o.stream_name +
                             "' is not a valid stream name (1-128 characters a-z A-Z 0-9 _ . -)");
  }
  p.limit("batch_size", o.batch_size);
  p.limit("max_retries", o.max_retries);
  if (!o.endpoint.empty()) {
    auto ep = aws::parse_endpoint(o.endpoint);
    if (!ep.is_ok()) p.add("endpoint", ep.status().message());
  }
  if (!o.ca_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(o.ca_file, ec)) {
      p.add("ca_file", "'" + o.ca_file + "' is not a readable file");
    }
  }
  if (o.access_key_id.empty() != o.secret_access_key.empty()) {
    p.add(o.access_key_id.empty() ? "secret_access_key" : "access_key_id",
          "access_key_id and secret_access_key must be set together");
  }
  p.limit("max_in_flight", o.max_in_flight);
  p.limit("retry_base_delay_ms", o.retry_base_delay.count());
  p.limit("retry_max_delay_ms", o.retry_max_delay.count());
  if (o.retry_max_delay < o.retry_base_delay) {
    p.add("retry_max_delay_ms", "must be at least retry_base_delay_ms (" +
                                    std::to_string(o.retry_base_delay.count()) + ")");
  }
  p.limit("request_timeout_ms", o.request_timeout.count());
  return p;
}

Status check_options(const KinesisOptions& o) {
  Status st = options::library_error(option_problems(o));
  if (st.is_ok()) return st;
  return Status(st.code(), "kinesis " + st.message());
}

}  // namespace heliosdb::cdc::kinesis
