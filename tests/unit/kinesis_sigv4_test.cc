// SigV4 signer against cases of AWS's published signature test suite
// (awslabs/aws-c-auth, tests/aws-signing-test-suite/v4/<case>/): the request,
// the expected canonical request, string to sign and signature are copied
// from the suite's files. Plus randomized property checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "sink/aws/crypto.h"
#include "sink/aws/sigv4.h"

namespace heliosdb::cdc::aws {
namespace {

// 2015-08-30T12:36:00Z, the suite's timestamp.
std::chrono::system_clock::time_point suite_time() {
  return std::chrono::system_clock::time_point(std::chrono::seconds(1440938160));
}

Credentials suite_credentials(std::string token = {}) {
  return Credentials{AccessKeyId{"AKIDEXAMPLE"},
                     SecretAccessKey{"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
                     SessionToken{std::move(token)}, "test"};
}

struct SuiteCase {
  const char* name;
  const char* method;
  const char* query;
  HttpHeaders headers;
  const char* payload;
  bool sign_body;
  const char* token;
  const char* canonical_request;
  const char* string_to_sign;
  const char* signature;
};

std::vector<SuiteCase> suite_cases() {
  return {
      {"get-vanilla",
       "GET",
       "",
       {{"Host", "example.amazonaws.com"}},
       "",
       false,
       "",
       "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
       "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"post-x-www-form-urlencoded",
       "POST",
       "",
       {{"Content-Type", "application/x-www-form-urlencoded"},
        {"Host", "example.amazonaws.com"},
        {"Content-Length", "13"}},
       "Param1=value1",
       true,
       "",
       "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\n"
       "host:example.amazonaws.com\n"
       "x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\n"
       "x-amz-date:20150830T123600Z\n\n"
       "content-length;content-type;host;x-amz-content-sha256;x-amz-date\n"
       "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
       "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
       "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
      {"get-vanilla-query-order-key-case",
       "GET",
       "Param2=value2&Param1=value1",
       {{"Host", "example.amazonaws.com"}},
       "",
       false,
       "",
       "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
       "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
       "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"post-header-key-sort",
       "POST",
       "",
       {{"Host", "example.amazonaws.com"}, {"My-Header1", "value1"}},
       "",
       false,
       "",
       "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\n"
       "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
       "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
       "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
      {"get-header-value-trim",
       "GET",
       "",
       {{"Host", "example.amazonaws.com"},
        {"My-Header1", " value1"},
        {"My-Header2", " \"a   b   c\""}},
       "",
       false,
       "",
       "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
       "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
       "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"get-vanilla-with-session-token",
       "GET",
       "",
       {{"Host", "example.amazonaws.com"}},
       "",
       false,
       "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
       "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
       "x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\n"
       "host;x-amz-date;x-amz-security-token\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
       "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
       "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
      {"get-vanilla-query-unreserved",
       "GET",
       "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789"
       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
       {{"Host", "example.amazonaws.com"}},
       "",
       false,
       "",
       "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789"
       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\nhost:example.amazonaws.com\n"
       "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
       "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
       "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
      {"get-vanilla-utf8-query",
       "GET",
       "\xE1\x88\xB4=bar",
       {{"Host", "example.amazonaws.com"}},
       "",
       false,
       "",
       "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
       "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
       "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
  };
}

SignedRequest sign_case(const SuiteCase& c) {
  SigV4Signer signer(Region{"us-east-1"}, ServiceName{"service"}, suite_time);
  SigningRequest req;
  req.method = c.method;
  req.path = "/";
  req.query = c.query;
  req.headers = &c.headers;
  req.payload = c.payload;
  SigningOptions opts;
  opts.add_content_sha256_header = c.sign_body;
  return signer.sign(req, suite_credentials(c.token), opts);
}

TEST(SigV4SuiteTest, MatchesPublishedCanonicalRequestStringToSignAndSignature) {
  for (const SuiteCase& c : suite_cases()) {
    SCOPED_TRACE(c.name);
    SignedRequest s = sign_case(c);
    EXPECT_EQ(s.canonical_request, c.canonical_request);
    EXPECT_EQ(s.string_to_sign, c.string_to_sign);
    EXPECT_EQ(s.signature, c.signature);
  }
}

TEST(SigV4SuiteTest, AuthorizationHeaderMatchesGetVanillaSignedRequest) {
  SignedRequest s = sign_case(suite_cases()[0]);
  ASSERT_FALSE(s.headers_to_add.empty());
  EXPECT_EQ(s.headers_to_add.front(),
            (std::pair<std::string, std::string>{"X-Amz-Date", "20150830T123600Z"}));
  EXPECT_EQ(s.headers_to_add.back().first, "Authorization");
  EXPECT_EQ(s.headers_to_add.back().second,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4SuiteTest, SessionTokenIsAddedAsHeaderAndSigned) {
  SignedRequest s = sign_case(suite_cases()[5]);
  bool found = false;
  for (const auto& [k, v] : s.headers_to_add) {
    if (k == "X-Amz-Security-Token") {
      found = true;
      EXPECT_EQ(v, "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267");
    }
  }
  EXPECT_TRUE(found);
}

TEST(SigV4Test, SecretNeverAppearsInSignedOutput) {
  for (const SuiteCase& c : suite_cases()) {
    SignedRequest s = sign_case(c);
    std::string all = s.canonical_request + s.string_to_sign + s.signature;
    for (const auto& [k, v] : s.headers_to_add) all += k + v;
    EXPECT_EQ(all.find("wJalrXUtnFEMI"), std::string::npos) << c.name;
  }
}

TEST(SigV4Test, SigningKeyCacheFollowsDateAndSecretChanges) {
  auto now = suite_time();
  SigV4Signer signer(Region{"us-east-1"}, ServiceName{"service"}, [&] { return now; });
  HttpHeaders h{{"Host", "example.amazonaws.com"}};
  SigningRequest req{"GET", "/", "", &h, ""};
  std::string first = signer.sign(req, suite_credentials()).signature;
  EXPECT_EQ(first, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(signer.sign(req, suite_credentials()).signature, first);
  Credentials other = suite_credentials();
  other.secret_access_key.value += "x";
  EXPECT_NE(signer.sign(req, other).signature, first);
  EXPECT_EQ(signer.sign(req, suite_credentials()).signature, first);
  now += std::chrono::hours(24);
  std::string next_day = signer.sign(req, suite_credentials()).signature;
  EXPECT_NE(next_day, first);
  // A fresh signer at the same time agrees (no stale cache).
  SigV4Signer fresh(Region{"us-east-1"}, ServiceName{"service"}, [&] { return now; });
  EXPECT_EQ(fresh.sign(req, suite_credentials()).signature, next_day);
}

TEST(SigV4Test, AmzDateFormatsUtc) {
  EXPECT_EQ(amz_date(suite_time()), "20150830T123600Z");
  EXPECT_EQ(amz_date(std::chrono::system_clock::time_point{}), "19700101T000000Z");
}

TEST(SigV4Test, UriEncodeKeepsUnreservedOnly) {
  EXPECT_EQ(uri_encode("a-b_c.d~e", false), "a-b_c.d~e");
  EXPECT_EQ(uri_encode("a b/c+=", false), "a%20b%2Fc%2B%3D");
  EXPECT_EQ(uri_encode("/a b/", true), "/a%20b/");
  EXPECT_EQ(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
  EXPECT_EQ(canonical_query("k%20x=v%2f"), "k%20x=v%2F");
  EXPECT_EQ(canonical_query(""), "");
  EXPECT_EQ(canonical_query("flag"), "flag=");
}

// Randomized properties: header order and case, extra whitespace and query
// order never change the signature; any change to a signed part does.
TEST(SigV4FuzzTest, RandomRequestsAreCanonicalUnderReorderingAndSensitiveToChanges) {
  std::mt19937_64 rng(20150830);
  auto rand_str = [&](size_t min_len, size_t max_len, std::string_view alphabet) {
    std::uniform_int_distribution<size_t> len(min_len, max_len);
    std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
    std::string s(len(rng), ' ');
    for (char& c : s) c = alphabet[pick(rng)];
    return s;
  };
  const std::string name_chars = "abcdefghijklmnopqrstuvwxyz0123456789-";
  const std::string value_chars = "abcXYZ019 -_./:;=\"'()";
  const std::string any_bytes = [] {
    std::string s;
    for (int c = 0; c < 256; ++c) s.push_back(static_cast<char>(c));
    return s;
  }();
  for (int iter = 0; iter < 300; ++iter) {
    SigV4Signer signer(Region{"eu-west-1"}, ServiceName{"kinesis"}, suite_time);
    HttpHeaders headers{{"Host", "kinesis.eu-west-1.amazonaws.com"}};
    std::uniform_int_distribution<int> nh(0, 6);
    int n = nh(rng);
    for (int i = 0; i < n; ++i) {
      headers.emplace_back("x-h" + std::to_string(i) + "-" + rand_str(1, 8, name_chars),
                           "v" + rand_str(0, 20, value_chars) + "v");
    }
    std::vector<std::string> params;
    int np = nh(rng);
    for (int i = 0; i < np; ++i) {
      params.push_back("p" + std::to_string(i) + "=" +
                       uri_encode(rand_str(0, 10, any_bytes), false));
    }
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& p : v) s += (s.empty() ? "" : "&") + p;
      return s;
    };
    std::string query = join(params);
    std::string payload = rand_str(0, 200, any_bytes);
    Credentials creds{AccessKeyId{"AKID" + rand_str(8, 16, "ABCDEFGHIJ0123456789")},
                      SecretAccessKey{rand_str(20, 40, any_bytes)}, SessionToken{}, "test"};
    SigningRequest req{"POST", "/", query, &headers, payload};
    SignedRequest base = signer.sign(req, creds);
    ASSERT_EQ(base.signature.size(), 64u);

    // Shuffled headers, upper-cased names, padded values; shuffled query.
    HttpHeaders shuffled = headers;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    for (auto& [k, v] : shuffled) {
      for (char& c : k) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      v = "  " + v + "\t ";
    }
    std::vector<std::string> shuffled_params = params;
    std::shuffle(shuffled_params.begin(), shuffled_params.end(), rng);
    std::string query2 = join(shuffled_params);
    SigningRequest req2{"POST", "/", query2, &shuffled, payload};
    EXPECT_EQ(signer.sign(req2, creds).signature, base.signature) << "iteration " << iter;

    // Any change to payload, a header value, the method or the region differs.
    std::string payload2 = payload + "x";
    SigningRequest req3{"POST", "/", query, &headers, payload2};
    EXPECT_NE(signer.sign(req3, creds).signature, base.signature);
    HttpHeaders changed = headers;
    changed.back().second += "!";
    SigningRequest req4{"POST", "/", query, &changed, payload};
    EXPECT_NE(signer.sign(req4, creds).signature, base.signature);
    SigningRequest req5{"PUT", "/", query, &headers, payload};
    EXPECT_NE(signer.sign(req5, creds).signature, base.signature);
    SigV4Signer other_region(Region{"eu-west-2"}, ServiceName{"kinesis"}, suite_time);
    EXPECT_NE(other_region.sign(req, creds).signature, base.signature);
  }
}

TEST(CryptoTest, Base64RoundTripsAllLengthsAndRejectsGarbage) {
  std::mt19937 rng(7);
  for (size_t n = 0; n < 70; ++n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    std::string enc = base64_encode(s);
    EXPECT_EQ(enc.size(), base64_encoded_size(n));
    auto dec = base64_decode(enc);
    ASSERT_TRUE(dec.has_value());
    EXPECT_EQ(*dec, s);
  }
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_FALSE(base64_decode("aGVsbG8").has_value());
  EXPECT_FALSE(base64_decode("aG!sbG8=").has_value());
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace heliosdb::cdc::aws
