// Kinesis PutRecords limits, the partition key derived from an event, and
// which per-entry error codes are worth resending (sink/retry_policy.h holds
// the schedule).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "heliosdb/cdc/event.h"

namespace heliosdb::cdc::kinesis {

inline constexpr size_t kMaxRecordsPerCall = 500;
inline constexpr size_t kMaxBytesPerCall = 5 * 1024 * 1024;  // data + partition keys
inline constexpr size_t kMaxBytesPerRecord = 1024 * 1024;    // data + partition key
inline constexpr size_t kMaxPartitionKeyLength = 256;

// The partition key for an event key (raw bytes):
//  * 1..256 bytes, all printable ASCII (0x20..0x7E): the key itself;
//  * other keys of up to 189 bytes: "b64:" + standard base64 (<= 256 chars);
//  * longer keys: "sha256:" + lower-case hex SHA-256 of the key (71 chars).
// An empty key (e.g. TRUNCATE) uses "<database>.<table>" under the same rules.
// Stable across runs and versions: the same key always maps to the same shard.
std::string partition_key_for_key(std::string_view key);
std::string partition_key_for(const CdcEvent& event);

// Per-entry PutRecords error codes worth resending (throttling, transient
// service errors); any other code rejects the record for good.
bool retriable_record_error(std::string_view code);

}  // namespace heliosdb::cdc::kinesis
