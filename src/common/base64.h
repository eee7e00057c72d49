// Standard base64 (RFC 4648, with padding). The encoder is on the hot path of
// every JSON event (key, value and old_value are bytes), so it is written by
// hand: 12 bytes per SSSE3 step where the CPU has it, else a table of digit
// pairs (two lookups per three bytes), both through a raw pointer. OpenSSL's
// EVP_EncodeBlock, used before, was a sixth of the JSON sink thread's time in
// perf.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace heliosdb::cdc {

constexpr size_t base64_encoded_size(size_t n) { return (n + 2) / 3 * 4; }
// Writes base64_encoded_size(bytes.size()) characters at `out`; returns the
// end of what it wrote.
char* base64_encode_to(char* out, std::string_view bytes);
void base64_append(std::string_view bytes, std::string& out);
std::string base64_encode(std::string_view bytes);
// nullopt on malformed input (wrong length, a byte outside the alphabet,
// padding anywhere but the end).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace heliosdb::cdc
