// A small JSON reader for AWS JSON-protocol answers (Kinesis). Parses into a
// tree; never throws; limits nesting depth. Untrusted input: answers come
// over the network.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::aws {

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

  const std::string& string() const { return string_; }
  double number() const { return number_; }
  bool boolean() const { return bool_; }
  const std::vector<JsonValue>& array() const { return array_; }
  const std::vector<std::pair<std::string, JsonValue>>& object() const { return object_; }

 private:
  friend class JsonParser;
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<JsonValue> array_;
  std::vector<std::pair<std::string, JsonValue>> object_;
};

// kCorruption with the byte offset on malformed input.
Result<JsonValue> parse_json(std::string_view text);

// Appends `s` as a JSON string literal (with quotes), escaping as needed.
void append_json_string(std::string_view s, std::string& out);

}  // namespace heliosdb::cdc::aws
