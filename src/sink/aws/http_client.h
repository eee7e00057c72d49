// One HTTP(S) connection to one endpoint, kept alive between requests
// (libcurl easy handle reused). Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "heliosdb/cdc/status.h"
#include "sink/aws/sigv4.h"

namespace heliosdb::cdc::aws {

// "https://host:port/path" split into parts.
struct Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // without port
  int port = 0;        // explicit port, 0 if none
  std::string path;    // "/" if none
  std::string url;     // normalized scheme://host[:port]path

  // Host header value: host, plus ":port" when a port is given.
  std::string host_header() const;
};

// kInvalidArgument naming the problem for anything but http(s)://host[:port][/path].
Result<Endpoint> parse_endpoint(std::string_view url);

struct HttpClientOptions {
  bool verify_tls = true;
  std::string ca_file;  // empty: system trust store
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
};

struct HttpResponse {
  long status = 0;
  std::string body;
};

class HttpClient {
 public:
  HttpClient(Endpoint endpoint, HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs `body` with `headers` to the endpoint. Network and TLS failures
  // are kUnavailable ("cannot reach <url>: <curl error>"); any HTTP status is
  // a response.
  Result<HttpResponse> post(const HttpHeaders& headers, std::string_view body);

  const Endpoint& endpoint() const { return endpoint_; }
  // Connections opened so far (1 when keep-alive works).
  long connects() const { return connects_; }

 private:
  Endpoint endpoint_;
  HttpClientOptions options_;
  void* curl_ = nullptr;  // CURL*
  long connects_ = 0;
};

}  // namespace heliosdb::cdc::aws
