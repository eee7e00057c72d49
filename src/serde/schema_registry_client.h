// A client of a Confluent-compatible schema registry (Confluent Schema
// Registry, Apicurio Registry's /apis/ccompat/v7, ...): registers the CdcEvent
// schema under a subject and returns its id, once per subject.
//
// Only the REST call the producer side needs is used:
//   POST {url}/subjects/{subject}/versions  {"schema":"..."}  ->  {"id":N}
// The registry answers with the existing id when the schema is already
// registered under the subject, so registering is idempotent.
//
// Failures:
//  * registry unreachable, timeout, HTTP 408/429/5xx: retried with
//    exponential backoff (retry_backoff doubling up to retry_backoff_max,
//    max_retries times); then kUnavailable naming the URL, the attempts and
//    the last error.
//  * HTTP 409 (schema incompatible with the subject's versions under its
//    compatibility rule): kFailedPrecondition quoting the registry's message.
//  * HTTP 401/403: kPermissionDenied. 422 (invalid schema): kInvalidArgument.
//    404: kNotFound (the URL does not point at the Confluent API). Not retried.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

// Maps a subject and schema to the registry's schema id. The registry client
// implements it; tests and benchmarks use fixed ids.
class SchemaIdProvider {
 public:
  virtual ~SchemaIdProvider() = default;
  // The id of `schema` under `subject`, registering it if needed.
  // Thread-safe.
  virtual Result<int32_t> schema_id(const std::string& subject, std::string_view schema) = 0;
};

struct SchemaRegistryOptions {
  // Base URL of the Confluent API, e.g. "https://registry:8081" or, for
  // Apicurio, "http://127.0.0.1:8080/apis/ccompat/v7". http or https.
  std::string url;
  std::string username;  // HTTP basic auth when not empty
  std::string password;  // secret: never logged
  std::string ca_file;   // PEM CA bundle for https (default: the system's)
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{10000};
  int max_retries = 8;  // retries after the first attempt
  std::chrono::milliseconds retry_backoff{250};
  std::chrono::milliseconds retry_backoff_max{5000};
  // How to wait between attempts (tests inject a fake).
  std::function<void(std::chrono::milliseconds)> sleep;
};

class SchemaRegistryClient final : public SchemaIdProvider {
 public:
  // Checks the options (no network I/O).
  static Result<std::unique_ptr<SchemaRegistryClient>> create(SchemaRegistryOptions options);
  ~SchemaRegistryClient() override;
  SchemaRegistryClient(const SchemaRegistryClient&) = delete;
  SchemaRegistryClient& operator=(const SchemaRegistryClient&) = delete;

  // Registers `schema` under `subject` on first use and caches the id; later
  // calls for the subject return the cached id without contacting the
  // registry.
  Result<int32_t> schema_id(const std::string& subject, std::string_view schema) override;

  // Successful registrations made over HTTP (for tests: 1 per subject).
  uint64_t registrations() const;
  // HTTP requests made, failed ones included.
  uint64_t requests() const;

  // The URL with any user:password@ part removed (for messages).
  const std::string& display_url() const { return display_url_; }

 private:
  explicit SchemaRegistryClient(SchemaRegistryOptions options);
  struct HttpReply;
  Result<int32_t> register_with_retries(const std::string& subject, std::string_view schema);
  HttpReply post(const std::string& url, const std::string& body);

  SchemaRegistryOptions options_;
  std::string base_url_;  // without a trailing '/'
  std::string display_url_;
  mutable std::mutex mu_;
  void* curl_ = nullptr;                             // CURL*, reused for keep-alive; guarded by mu_
  std::map<std::string, int32_t, std::less<>> ids_;  // guarded by mu_
  uint64_t registrations_ = 0;                       // guarded by mu_
  uint64_t requests_ = 0;                            // guarded by mu_
};

}  // namespace heliosdb::cdc
