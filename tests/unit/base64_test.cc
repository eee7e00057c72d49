// The hand-written base64 encoder (common/base64.h) against RFC 4648's test
// vectors and against OpenSSL's encoder as an independent oracle.
#include "common/base64.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>

namespace heliosdb::cdc {
namespace {

std::string openssl_base64(std::string_view bytes) {
  std::string out(base64_encoded_size(bytes.size()) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

TEST(Base64, Rfc4648TestVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00\x10", 4)), "//4AEA==");
}

TEST(Base64, MatchesOpenSslForEveryLengthAndByte) {
  std::mt19937 rng(42);
  for (size_t n = 0; n <= 300; ++n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    const std::string ours = base64_encode(s);
    ASSERT_EQ(ours, openssl_base64(s)) << "length " << n;
    ASSERT_EQ(base64_decode(ours), s) << "length " << n;
  }
  std::string large(100003, '\0');
  for (char& c : large) c = static_cast<char>(rng());
  EXPECT_EQ(base64_encode(large), openssl_base64(large));
  std::string all(256, '\0');
  for (int i = 0; i < 256; ++i) all[i] = static_cast<char>(i);
  EXPECT_EQ(base64_encode(all), openssl_base64(all));
}

TEST(Base64, AppendKeepsWhatIsThere) {
  std::string out = "x:";
  base64_append("hi", out);
  EXPECT_EQ(out, "x:aGk=");
}

TEST(Base64, DecodeRejectsMalformedInput) {
  EXPECT_FALSE(base64_decode("Zm9").has_value());       // not a multiple of 4
  EXPECT_FALSE(base64_decode("Zm!v").has_value());      // outside the alphabet
  EXPECT_FALSE(base64_decode("Zg==Zm9v").has_value());  // padding before the end
}

}  // namespace
}  // namespace heliosdb::cdc
