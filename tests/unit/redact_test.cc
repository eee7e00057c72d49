// common/redact: URL userinfo and sensitive query values, sensitive setting
// names, and values echoed back by other libraries.
#include "common/redact.h"

#include <gtest/gtest.h>

namespace heliosdb::cdc {
namespace {

TEST(RedactUrl, UserinfoBecomesStarsAndTheRestIsKept) {
  EXPECT_EQ(redact_url("https://user:pass@reg.example:8081/x/y#frag"),
            "https://***@reg.example:8081/x/y#frag");
  EXPECT_EQ(redact_url("https://user@reg:8081"), "https://***@reg:8081");
  EXPECT_EQ(redact_url("https://us%40er:p%40ss%3Aw@reg/"), "https://***@reg/");
  // A raw '@' in the password (it should be %40): everything up to the
  // host's '@' goes.
  EXPECT_EQ(redact_url("http://u:p@ss@reg:1/"), "http://***@reg:1/");
  EXPECT_EQ(redact_url("http://user:pw@[::1]:8081/api"), "http://***@[::1]:8081/api");
  EXPECT_EQ(redact_url("user:pw@host:9092"), "***@host:9092");
}

TEST(RedactUrl, UrlsWithoutSecretsAreUnchanged) {
  for (const char* url : {"http://reg", "http://reg:8081/a@b", "https://[::1]:443/",
                          "https://h/p?q=1&x=y", "https://h/#?token=x", ""}) {
    EXPECT_EQ(redact_url(url), url);
  }
}

TEST(RedactUrl, SensitiveQueryValuesBecomeStars) {
  EXPECT_EQ(redact_url("https://h/p?access_token=abc&x=1"), "https://h/p?access_token=***&x=1");
  EXPECT_EQ(redact_url("https://h/?x=1&password=p&api_key=k#f"),
            "https://h/?x=1&password=***&api_key=***#f");
  EXPECT_EQ(redact_url("https://h/?X-Amz-Signature=abc&X-Amz-Credential=c"),
            "https://h/?X-Amz-Signature=***&X-Amz-Credential=***");
  EXPECT_EQ(redact_url("https://u:p@h/?token="), "https://***@h/?token=***");
}

TEST(RedactUrlsIn, EveryUrlInATextIsRedacted) {
  EXPECT_EQ(redact_urls_in("cannot reach 'https://a:b@h1/x' nor \"http://c@h2:1\" or "
                           "http://h3/?token=t."),
            "cannot reach 'https://***@h1/x' nor \"http://***@h2:1\" or http://h3/?token=***.");
  EXPECT_EQ(redact_urls_in("no url here: a://"), "no url here: a://");
  EXPECT_EQ(redact_urls_in("://user:pw@h"), "://user:pw@h");  // no scheme: not a URL
  EXPECT_EQ(redact_urls_in("plain text"), "plain text");
}

TEST(SensitiveSettings, LibrdkafkaSecretsAreRecognised) {
  for (const char* name :
       {"sasl.password", "ssl.key.password", "ssl.keystore.password", "ssl.key.pem",
        "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config", "sasl.jaas.config",
        "SASL.PASSWORD", "secret_access_key", "session_token", "my.credentials"}) {
    EXPECT_TRUE(is_sensitive_setting(name)) << name;
  }
  for (const char* name : {"sasl.username", "sasl.mechanism", "security.protocol", "linger.ms",
                           "sasl.oauthbearer.token.endpoint.url"}) {
    EXPECT_FALSE(is_sensitive_setting(name)) << name;
  }
}

TEST(SensitiveSettings, PrintableValues) {
  EXPECT_EQ(printable_setting_value("sasl.oauthbearer.config", "principal=a secret=s"),
            "<redacted>");
  EXPECT_EQ(printable_setting_value("sasl.oauthbearer.token.endpoint.url",
                                    "https://client:s3cret@idp/token"),
            "https://***@idp/token");
  EXPECT_EQ(printable_setting_value("linger.ms", "5"), "5");
}

TEST(Scrub, EchoedValuesAreRemoved) {
  EXPECT_EQ(scrub("Invalid value \"hunter2\" for \"x\" (hunter2)", "hunter2"),
            "Invalid value \"***\" for \"x\" (***)");
  EXPECT_EQ(scrub("nothing", ""), "nothing");
}

}  // namespace
}  // namespace heliosdb::cdc
