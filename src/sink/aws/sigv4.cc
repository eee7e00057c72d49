#include "sink/aws/sigv4.h"

#include <algorithm>
#include <ctime>

#include "sink/aws/crypto.h"

namespace heliosdb::cdc::aws {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Trims and collapses runs of spaces to one, as the canonical form requires.
std::string canonical_header_value(std::string_view v) {
  v = trim(v);
  std::string out;
  out.reserve(v.size());
  bool prev_space = false;
  for (char c : v) {
    bool space = c == ' ' || c == '\t';
    if (space) {
      if (!prev_space) out.push_back(' ');
    } else {
      out.push_back(c);
    }
    prev_space = space;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string to_string(const Sha256Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace

Clock system_clock() {
  return [] { return std::chrono::system_clock::now(); };
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string canonical_query(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t pos = 0;
  while (pos <= raw_query.size() && !raw_query.empty()) {
    size_t amp = raw_query.find('&', pos);
    if (amp == std::string_view::npos) amp = raw_query.size();
    std::string_view part = raw_query.substr(pos, amp - pos);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string_view k = part.substr(0, eq);
      std::string_view v = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
      params.emplace_back(uri_encode(percent_decode(k), false),
                          uri_encode(percent_decode(v), false));
    }
    pos = amp + 1;
    if (amp == raw_query.size()) break;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

SigV4Signer::SigV4Signer(Region region, ServiceName service, Clock clock)
    : region_(std::move(region)), service_(std::move(service)), clock_(std::move(clock)) {}

const std::string& SigV4Signer::signing_key(const std::string& date,
                                            const Credentials& credentials) {
  std::string fingerprint = to_string(sha256(credentials.secret_access_key.value));
  if (date == cached_date_ && credentials.access_key_id.value == cached_access_key_ &&
      fingerprint == cached_secret_fingerprint_ && !cached_key_.empty()) {
    return cached_key_;
  }
  std::string k = to_string(hmac_sha256("AWS4" + credentials.secret_access_key.value, date));
  k = to_string(hmac_sha256(k, region_.value));
  k = to_string(hmac_sha256(k, service_.value));
  k = to_string(hmac_sha256(k, "aws4_request"));
  cached_date_ = date;
  cached_access_key_ = credentials.access_key_id.value;
  cached_secret_fingerprint_ = std::move(fingerprint);
  cached_key_ = std::move(k);
  return cached_key_;
}

SignedRequest SigV4Signer::sign(const SigningRequest& request, const Credentials& credentials,
                                const SigningOptions& options) {
  SignedRequest out;
  const std::string timestamp = amz_date(clock_());
  const std::string date = timestamp.substr(0, 8);
  const std::string payload_hash = sha256_hex(request.payload);

  out.headers_to_add.emplace_back("X-Amz-Date", timestamp);
  if (!credentials.session_token.value.empty()) {
    out.headers_to_add.emplace_back("X-Amz-Security-Token", credentials.session_token.value);
  }
  if (options.add_content_sha256_header) {
    out.headers_to_add.emplace_back("x-amz-content-sha256", payload_hash);
  }

  // Canonical headers: lower-case names, sorted, values trimmed; repeated
  // names joined with ','.
  std::vector<std::pair<std::string, std::string>> headers;
  if (request.headers) {
    for (const auto& [name, value] : *request.headers) {
      headers.emplace_back(lower(name), canonical_header_value(value));
    }
  }
  for (const auto& [name, value] : out.headers_to_add) {
    headers.emplace_back(lower(name), canonical_header_value(value));
  }
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers;
  std::string signed_headers;
  for (size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.pop_back();  // the '\n'
      canonical_headers += "," + headers[i].second + "\n";
      continue;
    }
    canonical_headers += headers[i].first + ":" + headers[i].second + "\n";
    if (!signed_headers.empty()) signed_headers.push_back(';');
    signed_headers += headers[i].first;
  }

  std::string& cr = out.canonical_request;
  cr.reserve(256 + canonical_headers.size());
  cr += request.method;
  cr += '\n';
  cr += request.path.empty() ? std::string("/") : uri_encode(request.path, true);
  cr += '\n';
  cr += canonical_query(request.query);
  cr += '\n';
  cr += canonical_headers;
  cr += '\n';
  cr += signed_headers;
  cr += '\n';
  cr += payload_hash;

  const std::string scope = date + "/" + region_.value + "/" + service_.value + "/aws4_request";
  out.string_to_sign =
      "AWS4-HMAC-SHA256\n" + timestamp + "\n" + scope + "\n" + sha256_hex(out.canonical_request);
  out.signature = hex_encode(hmac_sha256(signing_key(date, credentials), out.string_to_sign));
  out.headers_to_add.emplace_back(
      "Authorization", "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id.value + "/" +
                           scope + ", SignedHeaders=" + signed_headers +
                           ", Signature=" + out.signature);
  return out;
}

}  // namespace heliosdb::cdc::aws
