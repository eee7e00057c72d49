// AWS Signature Version 4 request signing (header form), as a small pure
// component: no I/O, a clock injected through the constructor so tests sign at
// a fixed time, strong types so a region can never be passed as a key.
//
// Verified against cases of AWS's published SigV4 test suite
// (tests/unit/kinesis_sigv4_test.cc). Scope: the header-based form used by
// JSON APIs such as Kinesis; no presigned URLs, no chunked payloads, no S3
// path rules (the path is URI-encoded once, which is exact for "/").
//
// Not thread-safe: one signer per thread (it caches the derived signing key
// for the current day).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace heliosdb::cdc::aws {

struct Region {
  std::string value;
};
struct ServiceName {
  std::string value;
};
struct AccessKeyId {
  std::string value;
};
// The secret never leaves the signer in any printed form.
struct SecretAccessKey {
  std::string value;
};
struct SessionToken {
  std::string value;  // empty: long-term credentials
};

struct Credentials {
  AccessKeyId access_key_id;
  SecretAccessKey secret_access_key;
  SessionToken session_token;
  // Where they came from, for logs ("environment", "config file",
  // "profile 'x' in /home/u/.aws/credentials"). Never includes a secret.
  std::string source;
};

using Clock = std::function<std::chrono::system_clock::time_point()>;
Clock system_clock();

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct SigningRequest {
  std::string_view method;               // "POST"
  std::string_view path;                 // "/"
  std::string_view query;                // raw query string without '?', may be empty
  const HttpHeaders* headers = nullptr;  // must include Host
  std::string_view payload;
};

struct SigningOptions {
  // Adds and signs x-amz-content-sha256 (S3 style; Kinesis does not need it).
  bool add_content_sha256_header = false;
};

struct SignedRequest {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;  // lower-case hex
  // Headers the caller must add to the request, in this order:
  // X-Amz-Date, [X-Amz-Security-Token], [x-amz-content-sha256], Authorization.
  HttpHeaders headers_to_add;
};

class SigV4Signer {
 public:
  SigV4Signer(Region region, ServiceName service, Clock clock = system_clock());

  SignedRequest sign(const SigningRequest& request, const Credentials& credentials,
                     const SigningOptions& options = {});

  const Region& region() const { return region_; }

 private:
  const std::string& signing_key(const std::string& date, const Credentials& credentials);

  Region region_;
  ServiceName service_;
  Clock clock_;
  // Cache of the derived key for (date, access key id, secret hash).
  std::string cached_date_;
  std::string cached_access_key_;
  std::string cached_secret_fingerprint_;
  std::string cached_key_;
};

// Building blocks, exposed for tests.
// "20150830T123600Z" for the given time (UTC).
std::string amz_date(std::chrono::system_clock::time_point t);
// RFC 3986 unreserved characters kept, everything else %XX (upper case).
std::string uri_encode(std::string_view s, bool keep_slash);
// Sorted, re-encoded query string.
std::string canonical_query(std::string_view raw_query);

}  // namespace heliosdb::cdc::aws
