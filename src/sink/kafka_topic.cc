#include "sink/kafka_topic.h"

namespace heliosdb::cdc::kafka {

Status validate_topic_name(std::string_view name) {
  if (name.empty()) return invalid_argument("topic name is empty");
  if (name.size() > 249) {
    return invalid_argument("topic name '" + std::string(name.substr(0, 40)) + "...' is " +
                            std::to_string(name.size()) +
                            " characters long; Kafka allows at most 249");
  }
  if (name == "." || name == "..") {
    return invalid_argument("topic name '" + std::string(name) + "' is not allowed by Kafka");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      std::string shown = (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                              ? "a control character"
                              : "'" + std::string(1, c) + "'";
      return invalid_argument("topic name '" + std::string(name) + "' contains " + shown +
                              "; Kafka topic names may only contain letters, digits, '.', "
                              "'_' and '-'");
    }
  }
  return Status::ok();
}

Result<TopicTemplate> TopicTemplate::parse(std::string_view text) {
  TopicTemplate t;
  t.text_ = std::string(text);
  std::string literal;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '}') {
      return invalid_argument("topic template '" + t.text_ + "': '}' without '{' at offset " +
                              std::to_string(i));
    }
    if (text[i] != '{') {
      literal.push_back(text[i++]);
      continue;
    }
    size_t close = text.find('}', i);
    if (close == std::string_view::npos) {
      return invalid_argument("topic template '" + t.text_ + "': '{' at offset " +
                              std::to_string(i) + " is never closed");
    }
    std::string_view name = text.substr(i + 1, close - i - 1);
    Part part;
    if (name == "database") {
      part = Part::kDatabase;
    } else if (name == "table") {
      part = Part::kTable;
    } else {
      return invalid_argument("topic template '" + t.text_ + "': unknown placeholder {" +
                              std::string(name) + "}; known: {database}, {table}");
    }
    if (!literal.empty()) t.pieces_.push_back({Part::kLiteral, std::move(literal)});
    literal.clear();
    t.pieces_.push_back({part, {}});
    t.fixed_ = false;
    i = close + 1;
  }
  if (!literal.empty()) t.pieces_.push_back({Part::kLiteral, std::move(literal)});
  if (t.fixed_) {
    Status st = validate_topic_name(t.text_);
    if (!st.is_ok()) return st;
  } else {
    // The literal parts must be legal topic characters too.
    for (const Piece& p : t.pieces_) {
      if (p.part != Part::kLiteral) continue;
      Status st = validate_topic_name(p.literal);
      if (!st.is_ok() && p.literal != "." && p.literal != "..") {
        return invalid_argument("topic template '" + t.text_ + "': " + st.message());
      }
    }
  }
  return t;
}

void TopicTemplate::render(const CdcEvent& event, std::string& out) const {
  out.clear();
  for (const Piece& p : pieces_) {
    switch (p.part) {
      case Part::kLiteral:
        out += p.literal;
        break;
      case Part::kDatabase:
        out += event.database;
        break;
      case Part::kTable:
        out += event.table;
        break;
    }
  }
}

}  // namespace heliosdb::cdc::kafka
