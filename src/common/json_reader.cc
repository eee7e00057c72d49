#include "common/json_reader.h"

#include <charconv>
#include <cstdlib>

namespace heliosdb::cdc {

const JsonValue* JsonValue::get(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (const auto& [k, v] : object_) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::optional<std::string> JsonValue::get_string(std::string_view key) const {
  const JsonValue* v = get(key);
  if (!v || !v->is_string()) return std::nullopt;
  return v->string();
}

std::optional<double> JsonValue::get_number(std::string_view key) const {
  const JsonValue* v = get(key);
  if (!v || !v->is_number()) return std::nullopt;
  return v->number();
}

std::optional<int64_t> JsonValue::get_integer(std::string_view key) const {
  const JsonValue* v = get(key);
  if (!v || !v->is_number()) return std::nullopt;
  return v->integer();
}

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text) {}

  Result<JsonValue> parse() {
    JsonValue v;
    if (!value(v, 0)) return error();
    ws();
    if (pos_ != s_.size()) {
      err_ = "trailing characters";
      return error();
    }
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;

  Status error() const {
    return Status(ErrorCode::kCorruption,
                  "malformed JSON at byte " + std::to_string(pos_) + ": " + err_);
  }

  void ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  bool literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) {
      err_ = "unexpected token";
      return false;
    }
    pos_ += lit.size();
    return true;
  }

  bool value(JsonValue& out, int depth) {
    if (depth > kMaxDepth) {
      err_ = "nesting too deep";
      return false;
    }
    ws();
    if (pos_ >= s_.size()) {
      err_ = "unexpected end";
      return false;
    }
    char c = s_[pos_];
    switch (c) {
      case '{':
        return object(out, depth);
      case '[':
        return array(out, depth);
      case '"':
        out.type_ = JsonValue::Type::kString;
        return string(out.string_);
      case 't':
        out.type_ = JsonValue::Type::kBool;
        out.bool_ = true;
        return literal("true");
      case 'f':
        out.type_ = JsonValue::Type::kBool;
        return literal("false");
      case 'n':
        return literal("null");
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return number(out);
        err_ = "unexpected character";
        return false;
    }
  }

  bool number(JsonValue& out) {
    size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    auto digits = [&] {
      size_t b = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ > b;
    };
    if (!digits()) {
      err_ = "bad number";
      return false;
    }
    bool integer = true;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      integer = false;
      ++pos_;
      if (!digits()) {
        err_ = "bad number";
        return false;
      }
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integer = false;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) {
        err_ = "bad number";
        return false;
      }
    }
    std::string tmp(s_.substr(start, pos_ - start));
    out.type_ = JsonValue::Type::kNumber;
    out.number_ = std::strtod(tmp.c_str(), nullptr);
    if (integer) {
      int64_t v;
      auto [end, ec] = std::from_chars(tmp.data(), tmp.data() + tmp.size(), v);
      if (ec == std::errc() && end == tmp.data() + tmp.size()) out.integer_ = v;
    }
    return true;
  }

  static void append_utf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool hex4(uint32_t& v) {
    if (pos_ + 4 > s_.size()) {
      err_ = "short \\u escape";
      return false;
    }
    v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v |= c - 'A' + 10;
      else {
        err_ = "bad \\u escape";
        return false;
      }
    }
    return true;
  }

  bool string(std::string& out) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= s_.size()) {
        err_ = "unterminated string";
        return false;
      }
      char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) {
        err_ = "control character in string";
        return false;
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) {
        err_ = "unterminated escape";
        return false;
      }
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xDC00 && cp < 0xE000) {
            err_ = "unpaired low surrogate";
            return false;
          }
          if (cp >= 0xD800 && cp < 0xDC00) {  // must be followed by its low half
            uint32_t lo = 0;
            if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') {
              err_ = "unpaired high surrogate";
              return false;
            }
            pos_ += 2;
            if (!hex4(lo)) return false;
            if (lo < 0xDC00 || lo >= 0xE000) {
              err_ = "unpaired high surrogate";
              return false;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(cp, out);
          break;
        }
        default:
          err_ = "bad escape";
          return false;
      }
    }
  }

  bool array(JsonValue& out, int depth) {
    out.type_ = JsonValue::Type::kArray;
    ++pos_;
    ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      out.array_.emplace_back();
      if (!value(out.array_.back(), depth + 1)) return false;
      ws();
      if (pos_ >= s_.size()) {
        err_ = "unterminated array";
        return false;
      }
      char c = s_[pos_++];
      if (c == ']') return true;
      if (c != ',') {
        err_ = "expected ',' or ']'";
        return false;
      }
    }
  }

  bool object(JsonValue& out, int depth) {
    out.type_ = JsonValue::Type::kObject;
    ++pos_;
    ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') {
        err_ = "expected a member name";
        return false;
      }
      std::string key;
      if (!string(key)) return false;
      ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') {
        err_ = "expected ':'";
        return false;
      }
      ++pos_;
      out.object_.emplace_back(std::move(key), JsonValue());
      if (!value(out.object_.back().second, depth + 1)) return false;
      ws();
      if (pos_ >= s_.size()) {
        err_ = "unterminated object";
        return false;
      }
      char c = s_[pos_++];
      if (c == '}') return true;
      if (c != ',') {
        err_ = "expected ',' or '}'";
        return false;
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string err_;
};

Result<JsonValue> parse_json(std::string_view text) { return JsonParser(text).parse(); }

}  // namespace heliosdb::cdc
