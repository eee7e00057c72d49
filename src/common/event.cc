#include "heliosdb/cdc/event.h"

#include <charconv>

namespace heliosdb::cdc {

std::string_view operation_name(OperationType op) {
  switch (op) {
    case OperationType::Insert:
      return "INSERT";
    case OperationType::Update:
      return "UPDATE";
    case OperationType::Delete:
      return "DELETE";
    case OperationType::Truncate:
      return "TRUNCATE";
    case OperationType::Read:
      return "READ";
  }
  return "UNKNOWN";
}

std::optional<OperationType> parse_operation(std::string_view name) {
  auto eq = [&](std::string_view want) {
    if (name.size() != want.size()) return false;
    for (size_t i = 0; i < name.size(); ++i) {
      char c = name[i];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (c != want[i]) return false;
    }
    return true;
  };
  if (eq("INSERT")) return OperationType::Insert;
  if (eq("UPDATE")) return OperationType::Update;
  if (eq("DELETE")) return OperationType::Delete;
  if (eq("TRUNCATE")) return OperationType::Truncate;
  if (eq("READ")) return OperationType::Read;
  return std::nullopt;
}

void assign_event_id(std::string& out, std::string_view database, uint64_t sequence) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, sequence);
  out.assign("evt_");
  out.append(database);
  out.push_back('_');
  out.append(digits, end);
}

std::string make_event_id(std::string_view database, uint64_t sequence) {
  std::string out;
  assign_event_id(out, database, sequence);
  return out;
}

void assign_transaction_id(std::string& out, uint64_t txn_id) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, txn_id);
  out.assign("txn_");
  out.append(digits, end);
}

}  // namespace heliosdb::cdc
