// Avro binary encoding of one CdcEvent, hand-written for the seed's schema
// (avro_schema.h). No framing: this is the bare datum, as inside a Confluent
// wire-format message or an object container file block.
//
// Encoding rules used (Avro 1.11 specification, "Binary Encoding"):
//  * long: zigzag, then base-128 varint, low group first.
//  * string / bytes: long length, then the raw bytes (strings are written as
//    given; HeliosDB names are UTF-8).
//  * union ["null", T]: long branch index (0 = null, nothing follows;
//    1 = T, then T's encoding).
//  * map: one block of `count` entries (long count, then key string and
//    value string for each), then a 0 count ending the map. An empty map is
//    the single byte 0.
//
// `sequence` is an unsigned 64-bit number in CdcEvent and an Avro long: it is
// written as the same 64 bits read as signed (sequences >= 2^63 appear
// negative to readers; the WAL does not produce them in practice).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "heliosdb/cdc/event.h"

namespace heliosdb::cdc::avro {

// Maximum bytes of a zigzag varint long.
inline constexpr size_t kMaxVarintBytes = 10;

// Writes `value` as a zigzag varint at `p`; returns the end. `p` must have
// room for kMaxVarintBytes.
inline char* write_long(char* p, int64_t value) {
  uint64_t n = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  while (n >= 0x80) {
    *p++ = static_cast<char>((n & 0x7F) | 0x80);
    n >>= 7;
  }
  *p++ = static_cast<char>(n);
  return p;
}

// Appends `value` as a zigzag varint long.
void append_long(std::string& out, int64_t value);
// Appends `bytes` as Avro bytes/string (length, then the bytes).
void append_bytes(std::string& out, std::string_view bytes);

// An upper bound of the encoded size of `event`.
size_t max_encoded_size(const CdcEvent& event);

// Encodes `event` at `p`, which must have max_encoded_size(event) bytes of
// room; returns the end of the encoding.
char* encode_event(const CdcEvent& event, char* p);

// Appends the Avro binary encoding of `event` to `out` (one allocation at
// most, none when `out` has the capacity).
void append_event(const CdcEvent& event, std::string& out);

}  // namespace heliosdb::cdc::avro
