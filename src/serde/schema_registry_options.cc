#include "serde/schema_registry_options.h"

#include <unistd.h>

#include "common/redact.h"

namespace heliosdb::cdc {
namespace {

options::Table make_schema_registry_table() {
  const SchemaRegistrySettings d;
  options::Table t;
  t.section = "schema_registry";
  auto& v = t.options;
  v.push_back(options::string_option(
      "url", d.url,
      "KafkaOptions::schema_registry_url, KinesisConnectorBuilder::schema_registry_url()",
      "Base URL of the registry's Confluent API, `http://` or `https://`, e.g. "
      "`https://registry:8081` or `http://127.0.0.1:8080/apis/ccompat/v7`. Empty/absent: no "
      "registry (`format = \"avro\"` on Kafka/Kinesis is then an error). Credentials in the URL "
      "(`https://user:pw@registry:8081`) are used, and printed as `https://***@registry:8081`."));
  v.push_back(options::string_option("username", d.username, "",
                                     "HTTP basic auth user. Needs `password`."));
  options::Option password = options::string_option(
      "password", d.password, "",
      "HTTP basic auth password (use `\"${VAR}\"`; never logged). Needs `username`.");
  password.secret = options::Secret::kYes;
  v.push_back(std::move(password));
  v.push_back(options::string_option(
      "ca_file", d.ca_file, "",
      "PEM CA bundle that signed the registry's certificate (https). Default: the system's "
      "trust store. Must be readable."));
  options::Option strategy = options::enum_option(
      "subject_strategy", d.subject_strategy, {"topic_name", "record_name", "topic_record_name"},
      "", "Subject the schema is registered under:");
  strategy.allowed_docs = {"`<topic>-value`", "`heliosdb.cdc.CdcEvent`",
                           "`<topic>-heliosdb.cdc.CdcEvent`"};
  v.push_back(std::move(strategy));
  v.push_back(options::int_option(
      "max_retries", d.max_retries, 0, 1000, "",
      "Retries of a registration when the registry is unreachable, times out or answers "
      "408/429/5xx. Then the sink fails with the last error. 409 (incompatible), 401/403, 404 "
      "and 422 are never retried."));
  v.push_back(options::int_option("retry_backoff_ms", d.retry_backoff_ms, 1, 600000, "",
                                  "First wait between attempts; doubles each retry."));
  v.push_back(options::int_option(
      "retry_backoff_max_ms", d.retry_backoff_max_ms, 1, 3600000, "",
      "Longest wait between attempts (at least `retry_backoff_ms`). With the defaults the "
      "registry gets about 27 s to come up."));
  v.push_back(options::int_option("connect_timeout_ms", d.connect_timeout_ms, 1, 600000, "",
                                  "TCP/TLS connect timeout of one attempt."));
  v.push_back(options::int_option("request_timeout_ms", d.request_timeout_ms, 1, 600000, "",
                                  "Whole-request timeout of one attempt."));
  return t;
}

}  // namespace

const options::Table& schema_registry_option_table() {
  static const options::Table table = make_schema_registry_table();
  return table;
}

options::Problems schema_registry_problems(const SchemaRegistrySettings& r) {
  options::Problems p(schema_registry_option_table());
  if (!r.url.empty()) {
    std::string_view u = r.url;
    if (!(u.starts_with("http://") || u.starts_with("https://")) || u.size() <= 8) {
      p.add("url", "\"" + redact_url(r.url) + "\" is not an http:// or https:// URL");
    }
  }
  if (!r.username.empty() && r.password.empty()) {
    p.add("username", "is set but password is not (HTTP basic auth needs both)");
  } else if (r.username.empty() && !r.password.empty()) {
    p.add("password", "is set but username is not (HTTP basic auth needs both)");
  }
  if (!r.ca_file.empty() && ::access(r.ca_file.c_str(), R_OK) != 0) {
    p.add("ca_file", "cannot read " + r.ca_file);
  }
  p.one_of("subject_strategy", r.subject_strategy);
  p.limit("max_retries", r.max_retries);
  p.limit("retry_backoff_ms", r.retry_backoff_ms);
  p.limit("retry_backoff_max_ms", r.retry_backoff_max_ms);
  if (r.retry_backoff_max_ms < r.retry_backoff_ms) {
    p.add("retry_backoff_max_ms", "must be at least retry_backoff_ms");
  }
  p.limit("connect_timeout_ms", r.connect_timeout_ms);
  p.limit("request_timeout_ms", r.request_timeout_ms);
  return p;
}

}  // namespace heliosdb::cdc
