#include "common/redact.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace heliosdb::cdc {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

constexpr std::array<std::string_view, 6> kSecretWords = {"password", "passwd",     "secret",
                                                          "token",    "credential", "key"};

// Query parameter names whose values are secrets: the words above plus the
// usual names of signed-URL and API-key parameters.
bool is_sensitive_parameter(std::string_view name) {
  const std::string n = lower(name);
  if (is_sensitive_setting(n)) return true;
  for (std::string_view word : {"signature", "auth", "sig", "pwd"}) {
    if (n == word || n.find(word) != std::string::npos) return true;
  }
  return false;
}

bool is_scheme_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
}

// The query's sensitive values replaced; `query` excludes the '?' and any
// fragment.
std::string redact_query(std::string_view query) {
  std::string out;
  size_t i = 0;
  while (i <= query.size()) {
    size_t amp = query.find('&', i);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(i, amp - i);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && is_sensitive_parameter(pair.substr(0, eq))) {
      out.append(pair.substr(0, eq + 1));
      out.append(kRedactedPart);
    } else {
      out.append(pair);
    }
    if (amp == query.size()) break;
    out += '&';
    i = amp + 1;
  }
  return out;
}

}  // namespace

bool is_sensitive_setting(std::string_view name) {
  const std::string n = lower(name);
  if (n == "sasl.oauthbearer.config" || n == "sasl.jaas.config") return true;
  // A URL setting (sasl.oauthbearer.token.endpoint.url) is shown with its
  // URL redacted rather than hidden.
  if (n.ends_with("url") || n.ends_with("endpoint")) return false;
  for (std::string_view word : kSecretWords) {
    if (n.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string redact_url(std::string_view url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = url.size();
  std::string out;
  // The last '@' of the authority ends the userinfo: a raw '@' in a password
  // (which should be %40) stays inside the part replaced.
  size_t at = url.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) {
    out.append(url.substr(0, end));
  } else {
    out.append(url.substr(0, start));
    out.append(kRedactedPart);
    out.append(url.substr(start + at, end - start - at));  // from the '@'
  }
  std::string_view rest = url.substr(end);
  size_t q = rest.find('?');
  size_t hash = rest.find('#');
  if (q == std::string_view::npos || hash < q) {  // no query ('?' in a fragment is not one)
    out.append(rest);
    return out;
  }
  if (hash == std::string_view::npos) hash = rest.size();
  out.append(rest.substr(0, q + 1));
  out.append(redact_query(rest.substr(q + 1, hash - q - 1)));
  out.append(rest.substr(hash));
  return out;
}

std::string redact_urls_in(std::string_view text) {
  std::string out;
  size_t done = 0;
  size_t pos = 0;
  while ((pos = text.find("://", pos)) != std::string_view::npos) {
    size_t begin = pos;
    while (begin > done && is_scheme_char(text[begin - 1])) --begin;
    if (begin == pos) {  // "://" without a scheme: not a URL
      pos += 3;
      continue;
    }
    size_t end = text.find_first_of(" \t\r\n\"'<>`", pos);
    if (end == std::string_view::npos) end = text.size();
    // Punctuation ending a sentence is not part of the URL.
    while (end > pos + 3 &&
           std::string_view(".,;:)").find(text[end - 1]) != std::string_view::npos) {
      --end;
    }
    out.append(text.substr(done, begin - done));
    out.append(redact_url(text.substr(begin, end - begin)));
    done = pos = end;
  }
  out.append(text.substr(done));
  return out;
}

std::string printable_setting_value(std::string_view name, std::string_view value) {
  if (is_sensitive_setting(name)) return std::string(kRedactedValue);
  return redact_urls_in(value);
}

std::string scrub(std::string_view text, std::string_view secret) {
  if (secret.empty()) return std::string(text);
  std::string out;
  size_t i = 0;
  for (size_t at; (at = text.find(secret, i)) != std::string_view::npos; i = at + secret.size()) {
    out.append(text.substr(i, at - i));
    out.append(kRedactedPart);
  }
  out.append(text.substr(i));
  return out;
}

}  // namespace heliosdb::cdc
