#include "source/database_match.h"

#include <algorithm>

namespace heliosdb::cdc {

namespace {

std::string printable(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace

void DatabaseMatchCounter::remember(std::string_view name) {
  if (std::find(others_.begin(), others_.end(), name) != others_.end()) return;
  others_.emplace_back(name);
}

std::optional<std::string> DatabaseMatchCounter::warning() const {
  if (entries_ == 0 || matched_ > 0) return std::nullopt;
  std::string seen;
  for (const std::string& name : others_) {
    if (!seen.empty()) seen += ", ";
    seen += "\"" + printable(name) + "\"";
  }
  // Once kNamesKept are kept, further names are not looked at (hot path).
  const char* seen_label = others_.size() == kNamesKept ? "first databases seen" : "databases seen";
  return "none of the " + std::to_string(entries_) + " entries read from " + source_ +
         " is of database \"" + printable(database_) + "\" (" + seen_label + ": " + seen +
         "); nothing is delivered: check [cdc] database";
}

std::optional<std::string> DatabaseMatchCounter::periodic_warning(Clock::time_point now) {
  if (now < next_warning_) return std::nullopt;
  next_warning_ = now + kWarningInterval;
  return warning();
}

}  // namespace heliosdb::cdc
