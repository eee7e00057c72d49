// SHA-256 and HMAC-SHA-256 (RFC 2104) on OpenSSL's SHA-256
// (hardware-accelerated where the CPU has SHA extensions): the one copy, used
// by the hash_key transform (filter/) and the AWS signer (sink/aws/).
//
// HmacSha256 absorbs key^ipad and key^opad once at construction, so each
// message costs two SHA-256 finalizations and no heap allocation. The secret
// itself is not kept: only the two midstates derived from it.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include <openssl/sha.h>

namespace heliosdb::cdc {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(std::string_view message);

class HmacSha256 {
 public:
  explicit HmacSha256(std::string_view key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = default;
  HmacSha256& operator=(const HmacSha256&) = default;

  Sha256Digest mac(std::string_view message) const;

 private:
  SHA256_CTX inner_;  // state after absorbing key ^ ipad
  SHA256_CTX outer_;  // state after absorbing key ^ opad
};

// One message under one key (the AWS signer derives a new key per step).
Sha256Digest hmac_sha256(std::string_view key, std::string_view message);

}  // namespace heliosdb::cdc
