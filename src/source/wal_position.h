// The HeliosDB WAL source's checkpoint encoding, apart from the WAL itself:
// the checkpoint store reads format-v1 checkpoints (written before sources
// were pluggable, all by this source) into it.
#pragma once

#include <string>
#include <string_view>

#include "heliosdb/cdc/status.h"
#include "source/position.h"

namespace heliosdb::cdc {

// The HeliosDB WAL source's type tag and position encoding:
// "restart R commit C event E" in decimal (see docs/checkpoint-format.md).
inline constexpr std::string_view kWalSourceType = "heliosdb-wal";
std::string encode_wal_position(const DeliveryPosition& position);
Result<DeliveryPosition> decode_wal_position(std::string_view bytes);

}  // namespace heliosdb::cdc
