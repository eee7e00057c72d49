#include "sink/aws/http_client.h"

#include <curl/curl.h>

#include <mutex>

#include "common/redact.h"

namespace heliosdb::cdc::aws {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t write_cb(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* out = static_cast<std::string*>(userdata);
  out->append(ptr, size * nmemb);
  return size * nmemb;
}

}  // namespace

std::string Endpoint::host_header() const {
  return port ? host + ":" + std::to_string(port) : host;
}

Result<Endpoint> parse_endpoint(std::string_view url) {
  auto bad = [&](const std::string& why) {
    // The endpoint as given may carry credentials (the reason it is refused).
    return Status(ErrorCode::kInvalidArgument, "endpoint '" + redact_url(url) + "': " + why +
                                                   " (expected http(s)://host[:port][/path])");
  };
  Endpoint ep;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return bad("missing scheme");
  ep.scheme = std::string(url.substr(0, sep));
  if (ep.scheme != "http" && ep.scheme != "https") return bad("scheme must be http or https");
  std::string_view rest = url.substr(sep + 3);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  ep.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (ep.path.find_first_of("?#") != std::string::npos) return bad("query or fragment not allowed");
  if (authority.empty()) return bad("missing host");
  if (authority.find('@') != std::string_view::npos) return bad("user info not allowed");
  std::string_view host = authority;
  if (authority.front() == '[') {  // IPv6 literal
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("bad port");
      authority = after;
    } else {
      authority = {};
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      authority = authority.substr(colon);
    } else {
      authority = {};
    }
  }
  if (!authority.empty()) {
    std::string_view port = authority.substr(1);
    if (port.empty() || port.size() > 5) return bad("bad port");
    int p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return bad("bad port");
      p = p * 10 + (c - '0');
    }
    if (p <= 0 || p > 65535) return bad("port out of range");
    ep.port = p;
  }
  if (host.empty()) return bad("missing host");
  ep.host = std::string(host);
  ep.url = ep.scheme + "://" + ep.host_header() + ep.path;
  return ep;
}

HttpClient::HttpClient(Endpoint endpoint, HttpClientOptions options)
    : endpoint_(std::move(endpoint)), options_(std::move(options)) {
  global_init();
  CURL* c = curl_easy_init();
  curl_ = c;
  curl_easy_setopt(c, CURLOPT_URL, endpoint_.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
}

HttpClient::~HttpClient() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<HttpResponse> HttpClient::post(const HttpHeaders& headers, std::string_view body) {
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) return Status(ErrorCode::kInternal, "curl_easy_init failed");
  curl_slist* list = nullptr;
  std::string line;
  for (const auto& [name, value] : headers) {
    line.assign(name);
    line += ": ";
    line += value;
    list = curl_slist_append(list, line.c_str());
  }
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  HttpResponse resp;
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(list);
  long new_conns = 0;
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &new_conns);
  connects_ += new_conns;
  if (rc != CURLE_OK) {
    std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    ErrorCode code = ErrorCode::kUnavailable;
    if (rc == CURLE_OPERATION_TIMEDOUT) code = ErrorCode::kTimeout;
    std::string hint;
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
        rc == CURLE_SSL_CERTPROBLEM) {
      code = ErrorCode::kFailedPrecondition;  // retrying cannot help
      hint =
          " (TLS verification failed: set ca_file to the endpoint's CA, or verify_tls = false "
          "for a local emulator)";
    }
    return Status(code, "cannot reach " + endpoint_.url + ": " + detail + hint);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

}  // namespace heliosdb::cdc::aws
