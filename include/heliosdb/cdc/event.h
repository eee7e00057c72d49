// CdcEvent: one committed change, the unit every sink receives.
//
// Field for field the seed's event schema (JSON and Avro). Byte fields (key,
// value, old_value) hold raw bytes in std::string; serializers encode them
// (base64 in JSON, Avro bytes).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace heliosdb::cdc {

enum class OperationType : uint8_t {
  Insert = 1,
  Update = 2,
  Delete = 3,
  Truncate = 4,
  // A row read by a snapshot (the PostgreSQL source's initial or requested
  // snapshots), not a change: the row as it was when its chunk was read.
  Read = 5,
};

// "INSERT", "UPDATE", "DELETE", "TRUNCATE", "READ".
std::string_view operation_name(OperationType op);
// Parses the names above, case-insensitively. nullopt for anything else.
std::optional<OperationType> parse_operation(std::string_view name);

struct CdcEvent {
  // Stable across redelivery: "evt_<database>_<sequence>" for changes; a
  // PostgreSQL snapshot READ derives it from its run, table and key instead.
  std::string event_id;
  int64_t timestamp = 0;  // ms since the Unix epoch, from the WAL entry
  uint64_t sequence = 0;  // WAL sequence of the change
  OperationType operation = OperationType::Insert;
  std::string database;
  std::string table;
  std::string key;                       // raw bytes
  std::optional<std::string> value;      // raw bytes; nullopt -> JSON null
  std::optional<std::string> old_value;  // raw bytes; nullopt -> JSON null
  std::optional<std::string> transaction_id;  // nullopt (JSON null) for READ
  std::map<std::string, std::string> metadata;  // ordered: deterministic output

  bool operator==(const CdcEvent&) const = default;
};

// The stable event id for a change: "evt_<database>_<sequence>". A redelivered
// event carries the same id, so consumers can deduplicate on it.
std::string make_event_id(std::string_view database, uint64_t sequence);
// Writes the same id into `out`, reusing its capacity (hot path).
void assign_event_id(std::string& out, std::string_view database, uint64_t sequence);
// The transaction id as events carry it: "txn_<id>".
void assign_transaction_id(std::string& out, uint64_t txn_id);

}  // namespace heliosdb::cdc
