// Redaction of secrets before anything is printed: `config check` output,
// log lines and error messages. Every place that shows a URL or a
// configuration value whose name may hold a secret goes through here, so the
// rules are defined once:
//
//  - URL userinfo: "https://user:pass@host:8081/x" -> "https://***@host:8081/x"
//    (scheme, host, port, path and fragment kept; user alone or percent-
//    encoded, it is still replaced whole).
//  - URL query parameters with a sensitive name ("?access_token=abc&x=1" ->
//    "?access_token=***&x=1"); other parameters are kept.
//  - Values of sensitive settings (is_sensitive_setting) are not shown at all:
//    kRedactedValue.
#pragma once

#include <string>
#include <string_view>

namespace heliosdb::cdc {

// What `config check` prints instead of a secret value.
inline constexpr std::string_view kRedactedValue = "<redacted>";
// What replaces the userinfo of a URL and the value of a sensitive query
// parameter.
inline constexpr std::string_view kRedactedPart = "***";

// One URL (with or without "scheme://") with its userinfo and sensitive
// query values replaced. Text without userinfo or such parameters is
// returned unchanged.
std::string redact_url(std::string_view url);

// Free text (an error message, a librdkafka error string, a property value)
// with every URL in it redacted as by redact_url. A URL starts at a scheme
// ("letters://") and ends at whitespace or a quote.
std::string redact_urls_in(std::string_view text);

// Whether a setting's value is a secret, from its name (case-insensitive):
// it contains "password", "secret", "token", "credential" or "key" as a
// word part (sasl.password, ssl.key.password, ssl.keystore.password,
// ssl.key.pem, sasl.oauthbearer.client.secret, secret_access_key), or is
// sasl.oauthbearer.config / sasl.jaas.config, whose text carries secrets.
// Names ending in "url" or "endpoint" are not: their values are URLs, shown
// as redact_url shows them.
bool is_sensitive_setting(std::string_view name);

// A setting's value as it may be printed: kRedactedValue when the setting is
// sensitive, else the value with its URLs redacted.
std::string printable_setting_value(std::string_view name, std::string_view value);

// `text` with every occurrence of `secret` (when not empty) replaced by
// kRedactedPart: for messages of other libraries that echo a value back
// (librdkafka's "Invalid value \"...\" for configuration property").
std::string scrub(std::string_view text, std::string_view secret);

}  // namespace heliosdb::cdc
