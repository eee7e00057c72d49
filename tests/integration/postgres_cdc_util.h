// Running the real `heliosdb-cdc` binary against the test PostgreSQL server
// (tests of the PostgreSQL source: postgres_events_test, postgres_errors_test):
// a config with a file sink in a temporary directory, `run --once`, and the
// JSON lines it wrote decoded (the project's JSON reader and base64 decoder).
//
// The DSN's password comes through `${HELIOSDB_TEST_PGPW}` substitution
// (set in the test process; the child inherits it) unless a test writes its
// own DSN.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/base64.h"
#include "common/json_reader.h"
#include "postgres_test_util.h"
#include "testing/test_util.h"

namespace heliosdb::cdc::pg_test {

// One event line of the file sink, decoded. key/value/old_value are the
// base64-decoded bytes (nullopt: JSON null) and, when they are JSON
// objects, parsed.
struct CdcEvent {
  std::string line;
  JsonValue json;
  std::string event_id, operation, database, table, transaction_id;
  int64_t timestamp = 0;
  int64_t sequence = 0;
  std::optional<std::string> key, value, old_value;
  JsonValue key_json, value_json, old_json;  // kNull when the bytes are absent or empty
  const JsonValue* metadata() const { return json.get("metadata"); }
};

// Decodes one line; fails the test (non-fatally) on anything malformed.
inline CdcEvent decode_event(const std::string& line) {
  CdcEvent e;
  e.line = line;
  auto parsed = parse_json(line);
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().to_string() << "\n" << line;
  if (!parsed.is_ok()) return e;
  e.json = std::move(*parsed);
  e.event_id = e.json.get_string("event_id").value_or("");
  e.operation = e.json.get_string("operation").value_or("");
  e.database = e.json.get_string("database").value_or("");
  e.table = e.json.get_string("table").value_or("");
  e.transaction_id = e.json.get_string("transaction_id").value_or("");
  e.timestamp = e.json.get_integer("timestamp").value_or(-1);
  e.sequence = e.json.get_integer("sequence").value_or(-1);
  auto bytes = [&](const char* name, std::optional<std::string>& out, JsonValue& tree) {
    const JsonValue* v = e.json.get(name);
    EXPECT_NE(v, nullptr) << name << " missing: " << line;
    if (!v || v->type() == JsonValue::Type::kNull) return;
    EXPECT_TRUE(v->is_string()) << name << ": " << line;
    auto decoded = base64_decode(v->string());
    EXPECT_TRUE(decoded.has_value()) << name << " is not base64: " << line;
    if (!decoded) return;
    out = *decoded;
    if (out->empty()) return;
    auto t = parse_json(*out);
    EXPECT_TRUE(t.is_ok()) << name << " is not JSON: " << *out;
    if (t.is_ok()) tree = std::move(*t);
  };
  bytes("key", e.key, e.key_json);
  bytes("value", e.value, e.value_json);
  bytes("old_value", e.old_value, e.old_json);
  return e;
}

inline std::vector<CdcEvent> read_events(const std::string& path) {
  std::vector<CdcEvent> out;
  for (const std::string& line : testing::read_lines(path)) {
    if (!line.empty()) out.push_back(decode_event(line));
  }
  return out;
}

// The events of `table` ("public.x") among `events`.
inline std::vector<CdcEvent> of_table(const std::vector<CdcEvent>& events,
                                      const std::string& table) {
  std::vector<CdcEvent> out;
  for (const auto& e : events) {
    if (e.table == table) out.push_back(e);
  }
  return out;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A daemon config in its own temporary directory: the PostgreSQL source on
// slot/publication, checkpoints under dir/ckpt, the file sink writing
// dir/events.jsonl.
class CdcDaemon {
 public:
  CdcDaemon(std::string slot, std::string publication, std::vector<std::string> tables = {})
      : slot_(std::move(slot)), publication_(std::move(publication)), tables_(std::move(tables)) {
    ::setenv("HELIOSDB_TEST_PGPW", password_of("heliosdb_repl").c_str(), 1);
    dsn_ = "host=" + host() + " port=" + std::to_string(port()) +
           " dbname=heliosdb_test user=heliosdb_repl password=${HELIOSDB_TEST_PGPW} "
           "sslmode=disable connect_timeout=10";
  }

  // Replaces the DSN (written into the config as is).
  void set_dsn(const std::string& dsn) { dsn_ = dsn; }
  // Lines added to [source.postgres] (e.g. `unchanged_toast = "omit"`).
  void add_source_option(const std::string& line) { source_extra_ += line + "\n"; }
  // [source.postgres] snapshot; "never" unless a test reads snapshots, so
  // the rows a test writes before the first run come as changes only.
  void set_snapshot(const std::string& mode) { snapshot_ = mode; }
  // Lines added to [cdc].
  void add_cdc_option(const std::string& line) { cdc_extra_ += line + "\n"; }

  std::string config_text() const {
    std::string t = "[source]\ntype = \"postgres\"\n\n[source.postgres]\ndsn = \"" + dsn_ +
                    "\"\nslot = \"" + slot_ + "\"\npublication = \"" + publication_ + "\"\n";
    if (!tables_.empty()) {
      t += "tables = [";
      for (size_t i = 0; i < tables_.size(); ++i) {
        t += (i ? ", \"" : "\"") + tables_[i] + "\"";
      }
      t += "]\n";
    }
    t += "status_interval_ms = 1000\n";
    t += "snapshot = \"" + snapshot_ + "\"\n";
    t += source_extra_;
    t += "\n[cdc]\ncheckpoint_dir = \"" + dir_.file("ckpt") + "\"\nenable_metrics = false\n";
    t += cdc_extra_;
    t += "\n[sink]\ntype = \"file\"\n\n[sink.file]\npath = \"" + events_path() + "\"\n";
    return t;
  }

  std::string config_path() const { return dir_.file("cdc.toml"); }
  std::string events_path() const { return dir_.file("events.jsonl"); }
  std::string checkpoint_path() const { return dir_.file("ckpt") + "/heliosdb_test.checkpoint"; }
  const testing::TempDir& dir() const { return dir_; }

  // `heliosdb-cdc run --once --config F`.
  testing::CommandResult run_once() {
    testing::write_file(config_path(), config_text());
    return testing::run_cli({"run", "--once", "--config", config_path()});
  }

  // Every event the file sink holds (all runs so far).
  std::vector<CdcEvent> events() const { return read_events(events_path()); }

  // The checkpoint's `position=pg1 <restart> <commit> <event>` line's LSNs;
  // empty strings when there is none.
  struct Position {
    std::string restart, commit, event;
  };
  Position checkpoint_position() const {
    Position p;
    for (const std::string& line : testing::read_lines(checkpoint_path())) {
      if (line.rfind("position=pg1 ", 0) != 0) continue;
      std::vector<std::string> parts;
      size_t i = 0;
      while (i <= line.size()) {
        size_t sp = line.find(' ', i);
        if (sp == std::string::npos) sp = line.size();
        parts.push_back(line.substr(i, sp - i));
        i = sp + 1;
      }
      if (parts.size() == 4) p = {parts[1], parts[2], parts[3]};
    }
    return p;
  }

 private:
  testing::TempDir dir_;
  std::string slot_, publication_;
  std::vector<std::string> tables_;
  std::string dsn_;
  std::string source_extra_, cdc_extra_;
  std::string snapshot_ = "never";
};

// Prints a run's output for a failure message.
inline std::string describe(const testing::CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// Runs `sql` (each a statement) when it goes out of scope, ignoring errors:
// the test's objects are dropped even when it fails half-way.
struct Cleanup {
  std::vector<std::string> sql;
  std::vector<std::string> slots;
  ~Cleanup() {
    for (const auto& s : slots) {
      try {
        pg_test::drop_slot_if_exists(s);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "dropping slot " << s << ": " << e.what();
      }
    }
    for (auto it = sql.rbegin(); it != sql.rend(); ++it) {
      try {
        pg_test::superuser().exec(*it);
      } catch (const std::exception&) {
      }
    }
  }
};

// A table `(id int PRIMARY KEY)` and a publication for it, both dropped by
// `cleanup` (some errors need a publication that is there).
inline void table_and_publication(Connection& c, const std::string& table, const std::string& pub,
                                  Cleanup& cleanup) {
  c.exec("CREATE TABLE " + table + " (id int PRIMARY KEY)");
  cleanup.sql.push_back("DROP TABLE IF EXISTS " + table);
  c.exec("CREATE PUBLICATION " + pub + " FOR TABLE " + table);
  cleanup.sql.push_back("DROP PUBLICATION IF EXISTS " + pub);
}

}  // namespace heliosdb::cdc::pg_test
