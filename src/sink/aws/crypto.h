// Small hashing and encoding helpers on top of OpenSSL, used by the AWS
// signer and the Kinesis client. All functions are pure and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/base64.h"

namespace heliosdb::cdc::aws {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(std::string_view data);
Sha256Digest hmac_sha256(std::string_view key, std::string_view data);

// Lower-case hex of `bytes`.
std::string hex_encode(std::string_view bytes);
std::string hex_encode(const Sha256Digest& digest);
inline std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

// Standard base64, shared with the JSON serializer (common/base64.h).
using ::heliosdb::cdc::base64_append;
using ::heliosdb::cdc::base64_decode;
using ::heliosdb::cdc::base64_encode;
using ::heliosdb::cdc::base64_encoded_size;

}  // namespace heliosdb::cdc::aws
