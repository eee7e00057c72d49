// Small value types of the public WAL API.
#include <string>

#include "heliosdb/cdc/wal.h"

namespace heliosdb::cdc {

std::string_view wal_entry_kind_name(WalEntryKind kind) {
  switch (kind) {
    case WalEntryKind::Begin:
      return "BEGIN";
    case WalEntryKind::Insert:
      return "INSERT";
    case WalEntryKind::Update:
      return "UPDATE";
    case WalEntryKind::Delete:
      return "DELETE";
    case WalEntryKind::Truncate:
      return "TRUNCATE";
    case WalEntryKind::Commit:
      return "COMMIT";
    case WalEntryKind::Abort:
      return "ABORT";
  }
  return "UNKNOWN";
}

std::optional<WalEntryKind> parse_wal_entry_kind(std::string_view name) {
  for (uint8_t k = 1; k <= 7; ++k) {
    auto kind = static_cast<WalEntryKind>(k);
    std::string_view want = wal_entry_kind_name(kind);
    if (want.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < name.size() && eq; ++i) {
      char c = name[i];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      eq = (c == want[i]);
    }
    if (eq) return kind;
  }
  return std::nullopt;
}

OwnedWalEntry OwnedWalEntry::from(const WalEntry& e) {
  OwnedWalEntry o;
  o.sequence = e.sequence;
  o.timestamp_ms = e.timestamp_ms;
  o.transaction_id = e.transaction_id;
  o.kind = e.kind;
  o.database.assign(e.database);
  o.table.assign(e.table);
  o.key.assign(e.key);
  if (e.value) o.value.emplace(*e.value);
  if (e.old_value) o.old_value.emplace(*e.old_value);
  return o;
}

WalEntry OwnedWalEntry::view() const {
  WalEntry e;
  e.sequence = sequence;
  e.timestamp_ms = timestamp_ms;
  e.transaction_id = transaction_id;
  e.kind = kind;
  e.database = database;
  e.table = table;
  e.key = key;
  if (value) e.value = std::string_view(*value);
  if (old_value) e.old_value = std::string_view(*old_value);
  return e;
}

std::string WalCorruption::to_string() const {
  return file + " at byte " + std::to_string(offset) + ": " + reason;
}

}  // namespace heliosdb::cdc
