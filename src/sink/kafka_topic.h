// Kafka topic names from a fixed name or a template like "{database}.{table}".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/event.h"
#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::kafka {

// Checks a Kafka topic name: 1..249 characters of [A-Za-z0-9._-], not "." or
// "..". The error says what is wrong with `name`.
Status validate_topic_name(std::string_view name);

class TopicTemplate {
 public:
  // Parses `text`. Placeholders: {database}, {table}. Anything else in braces
  // is an error naming it; a text without placeholders is a fixed topic and
  // must itself be a valid topic name.
  static Result<TopicTemplate> parse(std::string_view text);

  bool is_fixed() const { return fixed_; }
  const std::string& text() const { return text_; }

  // Writes the topic of `event` into `out` (reusing its capacity).
  void render(const CdcEvent& event, std::string& out) const;

 private:
  enum class Part { kLiteral, kDatabase, kTable };
  struct Piece {
    Part part;
    std::string literal;
  };
  std::string text_;
  bool fixed_ = true;
  std::vector<Piece> pieces_;
};

}  // namespace heliosdb::cdc::kafka
