// HTTP GET (libcurl) and the Prometheus text format, for the tests that
// scrape /metrics and /health: the metrics service's unit tests, the
// exporter's, and the daemon's metrics integration tests.
#pragma once

#include <curl/curl.h>

#include <map>
#include <set>
#include <sstream>
#include <string>

namespace heliosdb::cdc::testing {

struct HttpAnswer {
  long status = 0;  // 0: no answer (connection refused, timeout)
  std::string body;
  std::string content_type;
};

inline size_t append_http_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

inline HttpAnswer http_get(const std::string& url, long timeout_ms = 5000) {
  HttpAnswer a;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_http_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
    char* ct = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) a.content_type = ct;
  }
  curl_easy_cleanup(curl);
  return a;
}

// "name{labels}" -> value, from the Prometheus text format.
inline std::map<std::string, double> parse_samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

// The metric family names of a scrape: the names of its "# TYPE" lines.
inline std::set<std::string> metric_family_names(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::string rest = line.substr(7);
    out.insert(rest.substr(0, rest.find(' ')));
  }
  return out;
}

}  // namespace heliosdb::cdc::testing
