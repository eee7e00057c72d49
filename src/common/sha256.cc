// OpenSSL 3 marks the low-level SHA256_* calls deprecated in favour of EVP,
// but EVP digest contexts allocate on every copy; the low-level midstate API is
// what makes a precomputed HMAC allocation-free. It remains in OpenSSL 3.x.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "common/sha256.h"

#include <cstring>

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace heliosdb::cdc {

namespace {
constexpr size_t kBlock = 64;  // SHA-256 block size
}  // namespace

Sha256Digest sha256(std::string_view message) {
  // SHA256() would go through an EVP fetch per call; the context API does not.
  Sha256Digest out;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, message.data(), message.size());
  SHA256_Final(out.data(), &ctx);
  return out;
}

HmacSha256::HmacSha256(std::string_view key) {
  unsigned char block[kBlock] = {};
  if (key.size() > kBlock) {
    Sha256Digest d = sha256(key);  // RFC 2104: keys longer than a block are hashed first
    std::memcpy(block, d.data(), d.size());
    OPENSSL_cleanse(d.data(), d.size());
  } else {
    std::memcpy(block, key.data(), key.size());
  }
  unsigned char pad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&inner_);
  SHA256_Update(&inner_, pad, kBlock);
  for (size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&outer_);
  SHA256_Update(&outer_, pad, kBlock);
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(block, sizeof block);
}

HmacSha256::~HmacSha256() {
  OPENSSL_cleanse(&inner_, sizeof inner_);
  OPENSSL_cleanse(&outer_, sizeof outer_);
}

Sha256Digest HmacSha256::mac(std::string_view message) const {
  SHA256_CTX work = inner_;
  Sha256Digest inner_digest;
  SHA256_Update(&work, message.data(), message.size());
  SHA256_Final(inner_digest.data(), &work);
  Sha256Digest out;
  work = outer_;
  SHA256_Update(&work, inner_digest.data(), inner_digest.size());
  SHA256_Final(out.data(), &work);
  OPENSSL_cleanse(&work, sizeof work);
  return out;
}

Sha256Digest hmac_sha256(std::string_view key, std::string_view message) {
  return HmacSha256(key).mac(message);
}

}  // namespace heliosdb::cdc
