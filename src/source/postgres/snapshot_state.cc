#include "source/postgres/snapshot_state.h"

#include <charconv>

namespace heliosdb::cdc::pg {

namespace {

// Bytes the encodings use as separators, and anything unprintable, are
// %XX-escaped.
bool plain(unsigned char c) {
  return c > 0x20 && c < 0x7f && c != '%' && c != ';' && c != ':' && c != ',' && c != '=' &&
         c != ' ';
}

void escape_into(std::string& out, std::string_view v) {
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : v) {
    if (plain(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> unescape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out.push_back(v[i]);
      continue;
    }
    if (i + 2 >= v.size()) return std::nullopt;
    // Two hex digits exactly: from_chars alone would take "-1" too.
    const int hi = hex_value(v[i + 1]), lo = hex_value(v[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (true) {
    size_t j = s.find(sep, i);
    if (j == std::string_view::npos) {
      parts.push_back(s.substr(i));
      return parts;
    }
    parts.push_back(s.substr(i, j - i));
    i = j + 1;
  }
}

bool parse_u64(std::string_view s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string_view phase_name(SnapshotTableState::Phase p) {
  switch (p) {
    case SnapshotTableState::Phase::kPending:
      return "pending";
    case SnapshotTableState::Phase::kRunning:
      return "running";
    case SnapshotTableState::Phase::kDone:
      return "done";
  }
  return "pending";
}

bool SnapshotState::active() const { return current() != nullptr; }

SnapshotTableState* SnapshotState::current() {
  for (auto& t : tables) {
    if (t.phase != SnapshotTableState::Phase::kDone) return &t;
  }
  return nullptr;
}

const SnapshotTableState* SnapshotState::current() const {
  return const_cast<SnapshotState*>(this)->current();
}

bool SnapshotState::has_unfinished(std::string_view table) const {
  for (const auto& t : tables) {
    if (t.phase != SnapshotTableState::Phase::kDone && t.table == table) return true;
  }
  return false;
}

std::string encode_snapshot_state(const SnapshotState& s) {
  std::string out = "run=" + std::to_string(s.run) + ";req=" + format_lsn(s.last_request);
  for (const auto& t : s.tables) {
    out += ";t=";
    escape_into(out, t.table);
    out += ':';
    out += phase_name(t.phase);
    out += ':';
    out += std::to_string(t.rows);
    out += ':';
    for (size_t i = 0; i < t.after.size(); ++i) {
      if (i) out += ',';
      // An empty value is "%" alone: it tells one empty column from none.
      if (t.after[i].empty()) {
        out += '%';
      } else {
        escape_into(out, t.after[i]);
      }
    }
  }
  return out;
}

Result<SnapshotState> decode_snapshot_state(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status(ErrorCode::kCorruption,
                  "snapshot progress '" + std::string(text.substr(0, 120)) + "': " + why);
  };
  SnapshotState s;
  auto fields = split(text, ';');
  if (fields.size() < 2 || fields[0].substr(0, 4) != "run=" || fields[1].substr(0, 4) != "req=") {
    return bad("expected run=<n>;req=<LSN>");
  }
  if (!parse_u64(fields[0].substr(4), s.run)) return bad("bad run number");
  auto req = parse_lsn(fields[1].substr(4));
  if (!req) return bad("bad request LSN");
  s.last_request = *req;
  for (size_t i = 2; i < fields.size(); ++i) {
    std::string_view f = fields[i];
    if (f.substr(0, 2) != "t=") return bad("expected t=<table>:<phase>:<rows>:<key>");
    auto parts = split(f.substr(2), ':');
    if (parts.size() != 4) return bad("expected t=<table>:<phase>:<rows>:<key>");
    SnapshotTableState t;
    auto name = unescape(parts[0]);
    if (!name || name->empty()) return bad("bad table name");
    t.table = std::move(*name);
    if (parts[1] == "pending") {
      t.phase = SnapshotTableState::Phase::kPending;
    } else if (parts[1] == "running") {
      t.phase = SnapshotTableState::Phase::kRunning;
    } else if (parts[1] == "done") {
      t.phase = SnapshotTableState::Phase::kDone;
    } else {
      return bad("unknown phase '" + std::string(parts[1]) + "'");
    }
    if (!parse_u64(parts[2], t.rows)) return bad("bad row count of " + t.table);
    if (!parts[3].empty()) {
      for (std::string_view v : split(parts[3], ',')) {
        if (v == "%") {
          t.after.emplace_back();
          continue;
        }
        auto u = unescape(v);
        if (!u) return bad("bad key of " + t.table);
        t.after.push_back(std::move(*u));
      }
    }
    s.tables.push_back(std::move(t));
  }
  return s;
}

std::string encode_watermark(const Watermark& w) {
  std::string out;
  escape_into(out, w.slot);
  out += w.high ? " high " : " low ";
  escape_into(out, w.chunk_id);
  return out;
}

std::optional<Watermark> decode_watermark(std::string_view content) {
  auto parts = split(content, ' ');
  if (parts.size() != 3 || (parts[1] != "low" && parts[1] != "high")) return std::nullopt;
  auto slot = unescape(parts[0]);
  auto id = unescape(parts[2]);
  if (!slot || !id) return std::nullopt;
  return Watermark{std::move(*slot), parts[1] == "high", std::move(*id)};
}

std::string encode_snapshot_request(const SnapshotRequest& r) {
  std::string out = "slot=";
  escape_into(out, r.slot);
  out += " tables=";
  for (size_t i = 0; i < r.tables.size(); ++i) {
    if (i) out += ',';
    escape_into(out, r.tables[i]);
  }
  return out;
}

std::optional<SnapshotRequest> decode_snapshot_request(std::string_view content) {
  auto parts = split(content, ' ');
  if (parts.size() != 2 || parts[0].substr(0, 5) != "slot=" || parts[1].substr(0, 7) != "tables=") {
    return std::nullopt;
  }
  SnapshotRequest r;
  auto slot = unescape(parts[0].substr(5));
  if (!slot) return std::nullopt;
  r.slot = std::move(*slot);
  if (parts[1].size() > 7) {
    for (std::string_view t : split(parts[1].substr(7), ',')) {
      auto u = unescape(t);
      if (!u || u->empty()) return std::nullopt;
      r.tables.push_back(std::move(*u));
    }
  }
  if (r.tables.empty()) return std::nullopt;
  return r;
}

}  // namespace heliosdb::cdc::pg
