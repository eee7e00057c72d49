// The one JSON reader of the project, for answers that come over the network
// (Kinesis' JSON protocol, the schema registry's REST API): untrusted bytes.
// Parses into a tree; never throws; never reads past the input; limits
// nesting depth; rejects anything that is not exactly one well-formed JSON
// value (RFC 8259), including unpaired UTF-16 surrogates in \u escapes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type() const { return type_; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_number() const { return type_ == Type::kNumber; }

  // Member of an object, or null if absent / not an object.
  const JsonValue* get(std::string_view key) const;
  // String member, or nullopt.
  std::optional<std::string> get_string(std::string_view key) const;
  // Number member, or nullopt.
  std::optional<double> get_number(std::string_view key) const;
  // Number member written as an integer that fits int64 (no fraction, no
  // exponent), or nullopt.
  std::optional<int64_t> get_integer(std::string_view key) const;

  const std::string& string() const { return string_; }
  double number() const { return number_; }
  // The number exactly, if it was written as an integer that fits int64.
  std::optional<int64_t> integer() const { return integer_; }
  bool boolean() const { return bool_; }
  const std::vector<JsonValue>& array() const { return array_; }
  const std::vector<std::pair<std::string, JsonValue>>& object() const { return object_; }

 private:
  friend class JsonParser;
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::optional<int64_t> integer_;
  std::string string_;
  std::vector<JsonValue> array_;
  std::vector<std::pair<std::string, JsonValue>> object_;
};

// kCorruption with the byte offset on malformed input.
Result<JsonValue> parse_json(std::string_view text);

}  // namespace heliosdb::cdc
