#include "serde/schema_registry_client.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "common/duration_text.h"
#include "common/redact.h"
#include "serde/schema_registry_json.h"

namespace heliosdb::cdc {
namespace {

constexpr size_t kMaxReplyBytes = 1 << 20;  // answers are tiny; cap untrusted input

size_t collect(char* data, size_t size, size_t nmemb, void* user) {
  auto* body = static_cast<std::string*>(user);
  size_t n = size * nmemb;
  if (body->size() + n > kMaxReplyBytes) return 0;  // aborts the transfer
  body->append(data, n);
  return n;
}

void ensure_curl_global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The registry's own words for an error answer: its "message" member, or the
// body itself (shortened) when it is not the documented JSON.
std::string registry_message(const std::string& body) {
  auto answer = schema_registry::parse_registry_answer(body);
  if (answer && answer->message) return *answer->message;
  std::string text = body.substr(0, 500);
  if (text.empty()) return "(empty answer)";
  return text;
}

}  // namespace

struct SchemaRegistryClient::HttpReply {
  long status = 0;                 // HTTP status; 0 when no answer arrived
  std::string transport_error;     // curl's error when status == 0
  bool tls_verify_failed = false;  // the server's certificate was not trusted
  std::string body;
};

Result<std::unique_ptr<SchemaRegistryClient>> SchemaRegistryClient::create(
    SchemaRegistryOptions options) {
  std::string_view url = options.url;
  if (!(url.starts_with("http://") || url.starts_with("https://")) ||
      url.find_first_not_of("/", url.find("://") + 3) == std::string_view::npos) {
    return Status(ErrorCode::kInvalidArgument, "schema registry url \"" + redact_url(url) +
                                                   "\" is not an http:// or https:// URL");
  }
  if (!options.ca_file.empty()) {
    if (FILE* f = std::fopen(options.ca_file.c_str(), "r")) {
      std::fclose(f);
    } else {
      return errno_status("schema registry ca_file " + options.ca_file, errno);
    }
  }
  if (options.max_retries < 0) options.max_retries = 0;
  if (!options.sleep) {
    options.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
  ensure_curl_global_init();
  return std::unique_ptr<SchemaRegistryClient>(new SchemaRegistryClient(std::move(options)));
}

SchemaRegistryClient::SchemaRegistryClient(SchemaRegistryOptions options)
    : options_(std::move(options)) {
  base_url_ = options_.url;
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  display_url_ = redact_url(base_url_);
}

SchemaRegistryClient::~SchemaRegistryClient() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

uint64_t SchemaRegistryClient::registrations() const {
  std::lock_guard lock(mu_);
  return registrations_;
}

uint64_t SchemaRegistryClient::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

Result<int32_t> SchemaRegistryClient::schema_id(const std::string& subject,
                                                std::string_view schema) {
  std::lock_guard lock(mu_);
  if (auto it = ids_.find(subject); it != ids_.end()) return it->second;
  auto id = register_with_retries(subject, schema);
  if (id) {
    ids_.emplace(subject, *id);
    ++registrations_;
  }
  return id;
}

SchemaRegistryClient::HttpReply SchemaRegistryClient::post(const std::string& url,
                                                           const std::string& body) {
  HttpReply reply;
  if (!curl_) curl_ = curl_easy_init();
  CURL* curl = static_cast<CURL*>(curl_);
  if (!curl) {
    reply.transport_error = "cannot initialise libcurl";
    return reply;
  }
  curl_easy_reset(curl);
  char errbuf[CURL_ERROR_SIZE] = {0};
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/vnd.schemaregistry.v1+json");
  headers = curl_slist_append(headers,
                              "Accept: application/vnd.schemaregistry.v1+json, application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!options_.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.password.c_str());
  }
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);

  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    // curl may quote the URL it was given, userinfo included.
    reply.transport_error = redact_urls_in(errbuf[0] ? errbuf : curl_easy_strerror(rc));
    reply.tls_verify_failed =
        rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE;
    reply.body.clear();
    return reply;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

Result<int32_t> SchemaRegistryClient::register_with_retries(const std::string& subject,
                                                            std::string_view schema) {
  std::string url = base_url_ + "/subjects/";
  {
    CURL* escaper = curl_ ? static_cast<CURL*>(curl_) : nullptr;
    char* escaped = curl_easy_escape(escaper, subject.c_str(), static_cast<int>(subject.size()));
    if (!escaped) return internal_error("cannot URL-escape subject " + subject);
    url += escaped;
    curl_free(escaped);
  }
  url += "/versions";
  const std::string body = schema_registry::registration_body(schema);
  const std::string where = "schema registry " + display_url_ + " (subject \"" + subject + "\")";

  auto started = std::chrono::steady_clock::now();
  std::chrono::milliseconds backoff = options_.retry_backoff;
  std::string last_error;
  const int attempts = options_.max_retries + 1;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    ++requests_;
    HttpReply reply = post(url, body);
    if (reply.status == 0 && reply.tls_verify_failed) {
      return Status(ErrorCode::kPermissionDenied,
                    where + ": TLS certificate not trusted: " + reply.transport_error +
                        "; set [schema_registry] ca_file to the CA that signed it");
    } else if (reply.status == 0) {
      last_error = "unreachable: " + reply.transport_error;
    } else if (reply.status >= 200 && reply.status < 300) {
      auto answer = schema_registry::parse_registry_answer(reply.body);
      if (!answer || !answer->id || *answer->id < 0 || *answer->id > INT32_MAX) {
        return Status(ErrorCode::kCorruption,
                      where + ": unexpected answer to a registration (HTTP " +
                          std::to_string(reply.status) +
                          "), no schema id in: " + reply.body.substr(0, 300));
      }
      return static_cast<int32_t>(*answer->id);
    } else if (reply.status == 409) {
      return Status(ErrorCode::kFailedPrecondition,
                    where +
                        " rejected the heliosdb.cdc.CdcEvent schema as incompatible with "
                        "the subject's registered versions (HTTP 409): " +
                        registry_message(reply.body));
    } else if (reply.status == 401 || reply.status == 403) {
      return Status(ErrorCode::kPermissionDenied,
                    where + " refused the credentials (HTTP " + std::to_string(reply.status) +
                        "): " + registry_message(reply.body) +
                        "; check [schema_registry] username and password");
    } else if (reply.status == 422) {
      return Status(
          ErrorCode::kInvalidArgument,
          where + " rejected the schema as invalid (HTTP 422): " + registry_message(reply.body));
    } else if (reply.status == 404) {
      return Status(ErrorCode::kNotFound,
                    where + ": HTTP 404 (" + registry_message(reply.body) +
                        "); is the url the base of a Confluent-compatible API? For Apicurio "
                        "Registry it ends in /apis/ccompat/v7");
    } else if (reply.status == 408 || reply.status == 429 || reply.status >= 500) {
      last_error = "HTTP " + std::to_string(reply.status) + ": " + registry_message(reply.body);
    } else {
      return Status(ErrorCode::kFailedPrecondition, where + ": unexpected HTTP " +
                                                        std::to_string(reply.status) + ": " +
                                                        registry_message(reply.body));
    }
    if (attempt == attempts) break;
    spdlog::warn("{}: {}; attempt {} of {}, retrying in {}", where, last_error, attempt, attempts,
                 format_duration(backoff));
    options_.sleep(backoff);
    backoff = std::min(backoff * 2, options_.retry_backoff_max);
  }
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return Status(ErrorCode::kUnavailable,
                where + " is unavailable after " + std::to_string(attempts) + " attempts over " +
                    format_duration(elapsed) + "; last error: " + last_error +
                    ". Check [schema_registry] url and that the registry is running");
}

}  // namespace heliosdb::cdc
