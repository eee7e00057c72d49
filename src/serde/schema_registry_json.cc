#include "serde/schema_registry_json.h"

#include "common/json_text.h"

#include <charconv>
#include <cstdio>

namespace heliosdb::cdc::schema_registry {
namespace {

constexpr int kMaxDepth = 64;

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  void skip_ws() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool at_end() {
    skip_ws();
    return pos_ == in_.size();
  }
  bool consume(char c) {
    skip_ws();
    if (pos_ < in_.size() && in_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  char peek() {
    skip_ws();
    return pos_ < in_.size() ? in_[pos_] : '\0';
  }

  // A string literal, unescaped into `out` (UTF-8).
  bool string(std::string* out) {
    if (!consume('"')) return false;
    while (pos_ < in_.size()) {
      char c = in_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        if (out) out->push_back(c);
        continue;
      }
      if (pos_ >= in_.size()) return false;
      char e = in_[pos_++];
      char plain = 0;
      switch (e) {
        case '"':
          plain = '"';
          break;
        case '\\':
          plain = '\\';
          break;
        case '/':
          plain = '/';
          break;
        case 'b':
          plain = '\b';
          break;
        case 'f':
          plain = '\f';
          break;
        case 'n':
          plain = '\n';
          break;
        case 'r':
          plain = '\r';
          break;
        case 't':
          plain = '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {  // high surrogate: a low one must follow
            uint32_t low;
            if (pos_ + 1 >= in_.size() || in_[pos_] != '\\' || in_[pos_ + 1] != 'u') return false;
            pos_ += 2;
            if (!hex4(&low) || low < 0xDC00 || low >= 0xE000) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            return false;
          }
          if (out) append_utf8(*out, cp);
          continue;
        }
        default:
          return false;
      }
      if (out) out->push_back(plain);
    }
    return false;
  }

  // A number; `out` receives it if it is an integer that fits int64.
  bool number(std::optional<int64_t>* out) {
    skip_ws();
    size_t start = pos_;
    if (pos_ < in_.size() && in_[pos_] == '-') ++pos_;
    size_t digits = pos_;
    while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') ++pos_;
    if (pos_ == digits) return false;
    bool integer = true;
    if (pos_ < in_.size() && in_[pos_] == '.') {
      integer = false;
      ++pos_;
      size_t frac = pos_;
      while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') ++pos_;
      if (pos_ == frac) return false;
    }
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      integer = false;
      ++pos_;
      if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-')) ++pos_;
      size_t exp = pos_;
      while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') ++pos_;
      if (pos_ == exp) return false;
    }
    if (out && integer) {
      int64_t v;
      auto [ptr, ec] = std::from_chars(in_.data() + start, in_.data() + pos_, v);
      if (ec == std::errc() && ptr == in_.data() + pos_) *out = v;
    }
    return true;
  }

  bool literal(std::string_view word) {
    skip_ws();
    if (in_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  // Any JSON value, discarded.
  bool skip_value(int depth) {
    if (depth > kMaxDepth) return false;
    switch (peek()) {
      case '"':
        return string(nullptr);
      case '{': {
        consume('{');
        if (consume('}')) return true;
        do {
          if (!string(nullptr) || !consume(':') || !skip_value(depth + 1)) return false;
        } while (consume(','));
        return consume('}');
      }
      case '[': {
        consume('[');
        if (consume(']')) return true;
        do {
          if (!skip_value(depth + 1)) return false;
        } while (consume(','));
        return consume(']');
      }
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number(nullptr);
    }
  }

 private:
  bool hex4(uint32_t* out) {
    if (in_.size() - pos_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = in_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    *out = v;
    return true;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
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

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

void append_json_string(std::string& out, std::string_view text) { append_json_quoted(out, text); }

std::string registration_body(std::string_view schema) {
  std::string body = "{\"schema\":";
  append_json_string(body, schema);
  body += "}";
  return body;
}

std::optional<RegistryAnswer> parse_registry_answer(std::string_view body) {
  Reader r(body);
  RegistryAnswer answer;
  if (!r.consume('{')) return std::nullopt;
  if (!r.consume('}')) {
    do {
      std::string name;
      if (!r.string(&name) || !r.consume(':')) return std::nullopt;
      if ((name == "id" || name == "error_code") && r.peek() != '"' && r.peek() != '{' &&
          r.peek() != '[' && r.peek() != 't' && r.peek() != 'f' && r.peek() != 'n') {
        std::optional<int64_t> v;
        if (!r.number(&v)) return std::nullopt;
        (name == "id" ? answer.id : answer.error_code) = v;
      } else if (name == "message" && r.peek() == '"') {
        std::string message;
        if (!r.string(&message)) return std::nullopt;
        answer.message = std::move(message);
      } else if (!r.skip_value(1)) {
        return std::nullopt;
      }
    } while (r.consume(','));
    if (!r.consume('}')) return std::nullopt;
  }
  if (!r.at_end()) return std::nullopt;
  return answer;
}

}  // namespace heliosdb::cdc::schema_registry
