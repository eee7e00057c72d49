// Hashing and encoding helpers for the AWS signer and the Kinesis client: the
// SHA-256 / HMAC-SHA-256 of common/sha256.h (the one copy) plus hex. All
// functions are pure and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/base64.h"
#include "common/sha256.h"

namespace heliosdb::cdc::aws {

using ::heliosdb::cdc::hmac_sha256;
using ::heliosdb::cdc::sha256;
using ::heliosdb::cdc::Sha256Digest;

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
