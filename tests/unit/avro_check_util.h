// Test helpers for the Avro tests: run tests/python/avro_check.py (Debian's
// python3-avro, an independent Avro implementation) on bytes we wrote, and
// build the text form it prints from CdcEvents so the two can be compared.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/event.h"
#include "testing/test_util.h"

namespace heliosdb::cdc::avro_test {

inline std::string hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// The record as avro_check.py prints it.
inline std::string render(const CdcEvent& e) {
  auto opt = [](const std::optional<std::string>& v) { return v ? hex(*v) : "null"; };
  std::ostringstream o;
  o << "record\n"
    << "event_id=" << hex(e.event_id) << "\n"
    << "timestamp=" << e.timestamp << "\n"
    << "sequence=" << static_cast<int64_t>(e.sequence) << "\n"
    << "operation=" << hex(operation_name(e.operation)) << "\n"
    << "database=" << hex(e.database) << "\n"
    << "table=" << hex(e.table) << "\n"
    << "key=" << hex(e.key) << "\n"
    << "value=" << opt(e.value) << "\n"
    << "old_value=" << opt(e.old_value) << "\n"
    << "transaction_id=" << opt(e.transaction_id) << "\n"
    << "metadata=" << e.metadata.size();
  // std::map<std::string> orders by bytes, like the script's sort.
  for (const auto& [k, v] : e.metadata) o << "\n " << hex(k) << "=" << hex(v);
  return o.str();
}

inline std::string python3() {
  // Debian's interpreter, where python3-avro is installed (a pyenv or venv
  // python3 earlier in PATH may not have it).
  return ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

// Runs avro_check.py `mode` on `file`; fails the test (with python's error)
// unless it succeeds. Returns its standard output.
inline std::string run_check(const std::string& mode, const std::string& file) {
  auto r = testing::run_command(
      {python3(), testing::source_dir() + "/tests/python/avro_check.py", mode, file});
  EXPECT_EQ(r.exit_code, 0) << "python3-avro failed to decode (" << mode << "):\n"
                            << r.err.substr(0, 4000);
  return r.out;
}

// Compares line by line so a mismatch in a 1 MiB value prints one short line.
inline void expect_same_text(const std::string& got, const std::string& want) {
  if (got == want) return;
  std::vector<std::string> g, w;
  std::istringstream gs(got), ws(want);
  for (std::string l; std::getline(gs, l);) g.push_back(l);
  for (std::string l; std::getline(ws, l);) w.push_back(l);
  size_t n = std::min(g.size(), w.size());
  for (size_t i = 0; i < n; ++i) {
    if (g[i] != w[i]) {
      ADD_FAILURE() << "decoded output differs at line " << i + 1
                    << ":\n  python: " << g[i].substr(0, 200)
                    << "\n  wanted: " << w[i].substr(0, 200);
      return;
    }
  }
  ADD_FAILURE() << "decoded output has " << g.size() << " lines, wanted " << w.size();
}

// Events covering every edge case of the schema.
inline std::vector<CdcEvent> edge_case_events() {
  std::vector<CdcEvent> events;
  auto base = [](uint64_t seq) {
    CdcEvent e;
    e.database = "mydb";
    e.table = "users";
    e.sequence = seq;
    e.event_id = make_event_id(e.database, seq);
    e.timestamp = 1234567890000;
    e.operation = OperationType::Insert;
    e.key = "user123";
    e.value = std::string("{\"name\":\"Alice\"}");
    e.transaction_id = "txn_789";
    e.metadata = {{"source", "heliosdb"}};
    return e;
  };
  events.push_back(base(42));  // the seed's example

  CdcEvent nulls = base(1);  // every nullable field null, empty map
  nulls.value.reset();
  nulls.old_value.reset();
  nulls.transaction_id.reset();
  nulls.metadata.clear();
  nulls.operation = OperationType::Delete;
  events.push_back(nulls);

  CdcEvent empty = base(2);  // empty strings and bytes (present, not null)
  empty.event_id = "";
  empty.database = "";
  empty.table = "";
  empty.key = "";
  empty.value = std::string();
  empty.old_value = std::string();
  empty.transaction_id = std::string();
  empty.metadata = {{"", ""}};
  empty.operation = OperationType::Update;
  events.push_back(empty);

  CdcEvent big = base(3);  // 1 MiB values with every byte value
  std::string mib(1 << 20, '\0');
  for (size_t i = 0; i < mib.size(); ++i) mib[i] = static_cast<char>((i * 7 + i / 256) & 0xFF);
  big.value = mib;
  std::reverse(mib.begin(), mib.end());
  big.old_value = mib;
  big.key = std::string("\0\x01\xff\x80key", 7);
  big.operation = OperationType::Update;
  events.push_back(big);

  // Longs: negative, boundaries of each varint length, extremes.
  const int64_t longs[] = {0,         -1,           1,         -64,       63,           64,
                           -65,       8191,         8192,      -8193,     INT32_MAX,    INT32_MIN,
                           1LL << 40, -(1LL << 40), INT64_MAX, INT64_MIN, INT64_MAX - 1};
  for (int64_t v : longs) {
    CdcEvent e = base(static_cast<uint64_t>(v));
    e.timestamp = v;
    e.event_id = "evt_long";
    events.push_back(e);
  }
  CdcEvent top = base(UINT64_MAX);  // sequences >= 2^63 read back as negative longs
  top.timestamp = -1;
  events.push_back(top);

  CdcEvent unicode = base(5);  // non-ASCII names and metadata
  unicode.database = "données";
  unicode.table = "ユーザー_表";
  unicode.event_id = make_event_id(unicode.database, 5);
  unicode.transaction_id = "txn_ü";
  unicode.metadata = {{"région", "Île-de-France"}, {"emoji", "\xF0\x9F\x93\xA6"}};
  unicode.operation = OperationType::Truncate;
  events.push_back(unicode);

  CdcEvent read = base(7);  // a PostgreSQL snapshot row: READ, no transaction
  read.operation = OperationType::Read;
  read.event_id = "evt_mydb_snap_1_abc";
  read.transaction_id.reset();
  read.metadata = {{"snapshot", "last"}};
  events.push_back(read);

  CdcEvent many = base(6);  // a large metadata map (multi-byte counts and lengths)
  many.metadata.clear();
  for (int i = 0; i < 2000; ++i) {
    many.metadata["key_" + std::to_string(i)] = std::string(static_cast<size_t>(i % 300), 'v');
  }
  many.metadata["long"] = std::string(100000, 'x');
  events.push_back(many);
  return events;
}

}  // namespace heliosdb::cdc::avro_test
