// The identity of a WAL directory (docs/wal-format.md, section 1.1): 32
// lowercase hex digits of random bits in <dir>/IDENTITY, written once when a
// WalWriter first opens the directory. A checkpoint records it, so a
// checkpoint is never applied to another WAL that was put at the same path.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::wal {

inline constexpr std::string_view kIdentityFileName = "IDENTITY";
inline constexpr size_t kIdentityHexDigits = 32;

// Returns the directory's identity, creating the file first if it has none
// (a new directory, or one written by a version before identities). The
// caller holds the writer lock, so no two writers race to create it.
// `sync`: fsync the file and the directory (the writer's sync policy).
Result<std::string> ensure_identity(const std::string& dir, bool sync);

}  // namespace heliosdb::cdc::wal
