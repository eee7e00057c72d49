// Faults around the PostgreSQL source, with the real `heliosdb-cdc` binary
// against the real server (ctest fixture postgres_server) and the file sink
// (JSON lines), or the stdout sink on a pipe for the stalled-sink tests:
//   - kill -9 of the daemon, 10 times, under a live write load: every
//     committed row change delivered at least once, per-key order kept,
//     duplicates counted per restart; kill -9 inside a 600,000-row
//     transaction (the next run resumes inside it); kill -9 and an immediate
//     restart while the walsender streams (the slot is free again in time);
//   - PostgreSQL restarted (fast stop), crashed (immediate stop) and the
//     daemon's walsender terminated (pg_terminate_backend) mid-stream: the
//     daemon reconnects, nothing is lost, SIGTERM still exits 0; the
//     walsender terminated inside a 600,000-row transaction (no duplicates:
//     the changes handed on before are skipped); SIGTERM while the server is
//     down;
//   - a stalled sink: the slot's confirmed_flush_lsn stays at or below the
//     checkpoint's restart LSN and does not move until the sink drains; the
//     same with a stall longer than wal_sender_timeout (status updates keep
//     going out while the reader is held: the server keeps the connection);
//   - a 2,000,000-row transaction: peak RSS below 64 MiB and within 1.5x +
//     8 MiB of a 200,000-row one's (memory does not grow with the
//     transaction).
//
// The writer tracks every committed row change as (key, version): each key
// carries a version counter the writer increments, so the delivered
// versions of a key must come in commit order. Run under ctest (it sets
// HELIOSDB_PG_PORT and PG_PORT); the restart tests restart the server on
// HELIOSDB_PG_PORT.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "postgres_test_util.h"
#include "testing/http_scrape.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using namespace std::chrono_literals;
using pg_test::Connection;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout,
              std::chrono::milliseconds step = 100ms) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(step);
  }
  return done();
}

// True (and the exit status in *rc) if `pid` has exited; reaps it.
bool has_exited(pid_t pid, int* rc) {
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) != pid) return false;
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

// --- events as the JSON sinks write them ---------------------------------

std::string base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) continue;  // '=' padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

// The text of string field `name` ("name":"...") of a flat JSON line; the
// values read here (operation, table, base64) need no unescaping.
std::optional<std::string_view> string_field(std::string_view line, std::string_view name) {
  const std::string pat = "\"" + std::string(name) + "\":\"";
  size_t p = line.find(pat);
  if (p == std::string_view::npos) return std::nullopt;
  p += pat.size();
  size_t q = line.find('"', p);
  if (q == std::string_view::npos) return std::nullopt;
  return line.substr(p, q - p);
}

std::optional<int64_t> int_field(std::string_view json, std::string_view name) {
  const std::string pat = "\"" + std::string(name) + "\":";
  size_t p = json.find(pat);
  if (p == std::string_view::npos) return std::nullopt;
  p += pat.size();
  bool neg = p < json.size() && json[p] == '-';
  if (neg) ++p;
  if (p >= json.size() || json[p] < '0' || json[p] > '9') return std::nullopt;
  int64_t v = 0;
  while (p < json.size() && json[p] >= '0' && json[p] <= '9') v = v * 10 + (json[p++] - '0');
  return neg ? -v : v;
}

struct Event {
  uint64_t sequence = 0;
  std::string operation;
  std::string table;
  int64_t id = -1;   // value's "id" (the key column of every test table)
  int64_t ver = -1;  // value's "ver", where the table has one
};

std::optional<Event> parse_event(std::string_view line) {
  Event e;
  auto seq = int_field(line, "sequence");
  auto op = string_field(line, "operation");
  auto table = string_field(line, "table");
  if (!seq || !op || !table) return std::nullopt;
  e.sequence = static_cast<uint64_t>(*seq);
  e.operation = std::string(*op);
  e.table = std::string(*table);
  if (auto value = string_field(line, "value")) {
    const std::string row = base64_decode(*value);
    if (auto id = int_field(row, "id")) e.id = *id;
    if (auto ver = int_field(row, "ver")) e.ver = *ver;
  }
  return e;
}

// Every complete line of `text` as an event; *bad counts lines that do not parse.
std::vector<Event> parse_events(const std::string& text, size_t* bad = nullptr) {
  std::vector<Event> out;
  size_t start = 0;
  while (true) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) break;
    auto e = parse_event(std::string_view(text).substr(start, nl - start));
    if (e) {
      out.push_back(std::move(*e));
    } else if (bad) {
      ++*bad;
    }
    start = nl + 1;
  }
  return out;
}

size_t file_size(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
}

uint64_t commit_lsn_of_sequence(uint64_t sequence) { return (sequence >> 20) << 3; }

std::string format_lsn(uint64_t lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xFFFFFFFF));
  return buf;
}

// The restart LSN of the checkpoint file ("position=pg1 <restart> <commit>
// <event>"), or 0 if there is none yet.
uint64_t checkpoint_restart_lsn(const std::string& checkpoint_dir) {
  const std::string text = testing::read_file(checkpoint_dir + "/heliosdb_test.checkpoint");
  size_t p = text.find("position=pg1 ");
  if (p == std::string::npos) return 0;
  p += 13;
  size_t q = text.find(' ', p);
  return pg_test::parse_lsn(text.substr(p, q - p));
}

// --- the database objects of one test --------------------------------------

// A table, a publication for it and a pgoutput slot, created up front (the
// publication before any change, so the slot's decoding sees it), dropped at
// the end.
struct PgObjects {
  std::string table, slot, publication;

  explicit PgObjects(const std::string& prefix, const std::string& columns)
      : table(pg_test::unique_name(prefix)),
        slot(pg_test::unique_name(prefix + "_slot")),
        publication(pg_test::unique_name(prefix + "_pub")) {
    Connection c(pg_test::dsn());
    c.exec("CREATE TABLE " + table + " (" + columns + ")");
    c.exec("CREATE PUBLICATION " + publication + " FOR TABLE " + table);
    c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {slot});
  }
  ~PgObjects() {
    try {
      pg_test::drop_slot_if_exists(slot);
      Connection c(pg_test::dsn());
      c.exec("DROP PUBLICATION IF EXISTS " + publication);
      c.exec("DROP TABLE IF EXISTS " + table);
    } catch (const std::exception& e) {
      std::cerr << "cleanup of " << table << ": " << e.what() << "\n";
    }
  }
  uint64_t confirmed_flush() const {
    return pg_test::parse_lsn(pg_test::confirmed_flush_lsn(slot));
  }
};

struct ConfigOptions {
  std::string sink = "file";  // or "stdout"
  int metrics_port = 0;       // 0: metrics off
  int status_interval_ms = 200;
  std::string extra_cdc;
};

std::string write_config(const TempDir& dir, const PgObjects& pg, const ConfigOptions& o) {
  std::string cfg = "[source]\ntype = \"postgres\"\n[source.postgres]\ndsn = \"" + pg_test::dsn() +
                    "\"\nslot = \"" + pg.slot + "\"\npublication = \"" + pg.publication +
                    "\"\ntables = [\"public." + pg.table +
                    "\"]\nstatus_interval_ms = " + std::to_string(o.status_interval_ms) +
                    "\nreconnect_max_backoff_ms = 2000\nsnapshot = \"never\"\n"
                    "[cdc]\ncheckpoint_dir = \"" +
                    dir.file("ckpt") + "\"\npoll_interval_ms = 20\nenable_metrics = " +
                    (o.metrics_port ? "true" : "false") + "\n" + o.extra_cdc;
  if (o.metrics_port) {
    cfg += "[metrics]\nlisten = \"127.0.0.1:" + std::to_string(o.metrics_port) + "\"\n";
  }
  if (o.sink == "file") {
    cfg += "[sink]\ntype = \"file\"\n[sink.file]\npath = \"" + dir.file("events.jsonl") + "\"\n";
  } else {
    cfg += "[sink]\ntype = \"stdout\"\n";
  }
  const std::string path = dir.file("cdc.toml");
  testing::write_file(path, cfg);
  return path;
}

// write_config with `source_lines` added to [source.postgres].
std::string write_config(const TempDir& dir, const PgObjects& pg, const ConfigOptions& o,
                         const std::string& source_lines) {
  const std::string path = write_config(dir, pg, o);
  std::string text = testing::read_file(path);
  const std::string at = "snapshot = \"never\"\n";
  text.replace(text.find(at), at.size(), at + source_lines);
  testing::write_file(path, text);
  return path;
}

std::vector<std::string> daemon_argv(const std::string& config, bool once = false) {
  std::vector<std::string> argv = {testing::cli_path(), "run", "--config", config};
  if (once) argv.push_back("--once");
  return argv;
}

// --- the writer -------------------------------------------------------------

// Commits small transactions continuously on table (id int primary key, ver
// bigint, pad text): each one upserts 1-5 distinct keys of `keys`, setting
// each key's version to one more than its last committed one. Tolerates an
// outage: a statement that fails on a broken connection is resolved against
// the table after reconnecting (a commit whose result was lost may have
// happened) and retried only if it did not commit.
class Writer {
 public:
  Writer(std::string table, int keys, uint64_t seed)
      : table_(std::move(table)), keys_(keys), rng_(seed), versions_(keys + 1, 0) {}
  ~Writer() { stop(); }

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  // (key, version) in commit order.
  std::vector<std::pair<int64_t, int64_t>> committed() const {
    std::lock_guard lock(mu_);
    return committed_;
  }
  size_t committed_count() const {
    std::lock_guard lock(mu_);
    return committed_.size();
  }
  size_t transactions() const { return transactions_.load(); }
  size_t broken_statements() const { return broken_.load(); }
  size_t lost_results_committed() const { return lost_committed_.load(); }
  size_t lost_results_not_committed() const { return lost_not_committed_.load(); }
  std::string error() const {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  using Change = std::pair<int64_t, int64_t>;

  std::string statement(const std::vector<Change>& txn) {
    std::string sql = "INSERT INTO " + table_ + " (id, ver, pad) VALUES ";
    for (size_t i = 0; i < txn.size(); ++i) {
      if (i) sql += ",";
      sql += "(" + std::to_string(txn[i].first) + "," + std::to_string(txn[i].second) +
             ",repeat('p', 40))";
    }
    return sql + " ON CONFLICT (id) DO UPDATE SET ver = EXCLUDED.ver, pad = EXCLUDED.pad";
  }

  void record(const std::vector<Change>& txn) {
    std::lock_guard lock(mu_);
    for (const auto& c : txn) {
      committed_.push_back(c);
      versions_[c.first] = c.second;
    }
    transactions_.fetch_add(1);
  }

  void fail(const std::string& why) {
    std::lock_guard lock(mu_);
    if (error_.empty()) error_ = why;
  }

  // Whether `txn` (all or nothing) is in the table.
  std::optional<bool> resolve(Connection& c, const std::vector<Change>& txn) {
    std::string ids;
    for (const auto& ch : txn) ids += (ids.empty() ? "" : ",") + std::to_string(ch.first);
    auto rows = c.query("SELECT id, ver FROM " + table_ + " WHERE id IN (" + ids + ")");
    std::map<int64_t, int64_t> now;
    for (const auto& r : rows) now[std::stoll(*r[0])] = std::stoll(*r[1]);
    size_t in = 0;
    for (const auto& ch : txn) {
      auto it = now.find(ch.first);
      if (it != now.end() && it->second == ch.second) {
        ++in;
      } else if (!(it == now.end() ? ch.second == 1 : it->second == ch.second - 1)) {
        fail("key " + std::to_string(ch.first) + " has version " +
             (it == now.end() ? std::string("none") : std::to_string(it->second)) +
             ", neither the attempted " + std::to_string(ch.second) + " nor the one before");
        return std::nullopt;
      }
    }
    if (in != 0 && in != txn.size()) {
      fail("a transaction committed in part");
      return std::nullopt;
    }
    return in == txn.size();
  }

  void run() {
    std::optional<Connection> conn;
    std::vector<Change> pending;  // the transaction being committed
    bool unresolved = false;      // its last attempt's result was lost
    std::uniform_int_distribution<int> nrows(1, 5), key(1, keys_);
    while (!stop_.load()) {
      if (!conn) {
        std::string why;
        conn = Connection::try_connect(pg_test::dsn(), &why);
        if (!conn) {
          std::this_thread::sleep_for(100ms);
          continue;
        }
      }
      try {
        if (unresolved) {
          auto done = resolve(*conn, pending);
          if (!done) return;
          (*done ? lost_committed_ : lost_not_committed_).fetch_add(1);
          if (*done) {
            record(pending);
            pending.clear();
          }
          unresolved = false;
        }
        if (pending.empty()) {
          std::set<int64_t> ks;
          const int n = nrows(rng_);
          while (static_cast<int>(ks.size()) < n) ks.insert(key(rng_));
          std::vector<int64_t> order(ks.begin(), ks.end());
          std::shuffle(order.begin(), order.end(), rng_);
          std::lock_guard lock(mu_);
          for (int64_t k : order) pending.emplace_back(k, versions_[k] + 1);
        }
        conn->exec(statement(pending));
        record(pending);
        pending.clear();
      } catch (const pg_test::PgError& e) {
        if (PQstatus(conn->raw()) == CONNECTION_OK) {
          fail(std::string("writer: ") + e.what());
          return;
        }
        // The connection broke: the statement's result may be lost.
        broken_.fetch_add(1);
        unresolved = !pending.empty();
        conn.reset();
        continue;
      }
      std::this_thread::sleep_for(2ms);
    }
  }

  const std::string table_;
  const int keys_;
  std::mt19937_64 rng_;
  mutable std::mutex mu_;
  std::vector<int64_t> versions_;  // last committed version per key
  std::vector<Change> committed_;
  std::string error_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> transactions_{0}, broken_{0}, lost_committed_{0}, lost_not_committed_{0};
  std::thread thread_;
};

// --- checking what was delivered -------------------------------------------

struct Verdict {
  size_t events = 0;      // lines of the table
  size_t distinct = 0;    // distinct sequences
  size_t duplicates = 0;  // lines whose sequence came before
  size_t lost = 0;        // committed changes never delivered
  size_t phantoms = 0;    // delivered changes the writer did not commit
  size_t order_errors = 0;
  std::vector<std::string> problems;  // the first few, for the failure message
  std::vector<size_t> duplicates_per_segment;

  void problem(const std::string& p) {
    if (problems.size() < 10) problems.push_back(p);
  }
  std::string report() const {
    std::string s;
    for (const auto& p : problems) s += "  " + p + "\n";
    return s;
  }
};

// `events` in file order; `boundaries`: event counts at which a new daemon
// run began (for duplicates per segment).
Verdict verify(const std::vector<Event>& events,
               const std::vector<std::pair<int64_t, int64_t>>& committed, const std::string& table,
               const std::vector<size_t>& boundaries = {}) {
  Verdict v;
  std::unordered_map<uint64_t, std::pair<int64_t, int64_t>> by_sequence;
  std::unordered_map<int64_t, int64_t> last_new_ver;  // per key, the last first-delivered version
  std::set<std::pair<int64_t, int64_t>> delivered;
  uint64_t max_seq = 0;
  size_t segment = 0, segment_dups = 0;
  const std::string qualified = "public." + table;
  size_t index = 0;
  for (const Event& e : events) {
    while (segment < boundaries.size() && index >= boundaries[segment]) {
      v.duplicates_per_segment.push_back(segment_dups);
      segment_dups = 0;
      ++segment;
    }
    ++index;
    if (e.table != qualified) {
      v.problem("an event of table " + e.table);
      continue;
    }
    ++v.events;
    if (e.operation != "INSERT" && e.operation != "UPDATE") {
      v.problem("an event of operation " + e.operation);
      continue;
    }
    const std::pair<int64_t, int64_t> kv{e.id, e.ver};
    auto seen = by_sequence.find(e.sequence);
    if (seen != by_sequence.end()) {
      ++v.duplicates;
      ++segment_dups;
      if (seen->second != kv) {
        ++v.order_errors;
        v.problem("sequence " + std::to_string(e.sequence) + " delivered as key " +
                  std::to_string(e.id) + " v" + std::to_string(e.ver) + " and before as key " +
                  std::to_string(seen->second.first) + " v" + std::to_string(seen->second.second));
      }
      // A replay repeats what came before: never ahead of the key's versions.
      if (e.ver > last_new_ver[e.id]) {
        ++v.order_errors;
        v.problem("replayed key " + std::to_string(e.id) + " v" + std::to_string(e.ver) +
                  " is ahead of its first deliveries");
      }
      continue;
    }
    // A new event: after every event delivered before (replays only repeat a
    // suffix), and the key's next version.
    if (e.sequence < max_seq) {
      ++v.order_errors;
      v.problem("new sequence " + std::to_string(e.sequence) + " after " + std::to_string(max_seq));
    }
    max_seq = std::max(max_seq, e.sequence);
    by_sequence.emplace(e.sequence, kv);
    int64_t& last = last_new_ver[e.id];
    if (e.ver != last + 1) {
      ++v.order_errors;
      v.problem("key " + std::to_string(e.id) + ": v" + std::to_string(e.ver) +
                " delivered after v" + std::to_string(last));
    }
    last = std::max(last, e.ver);
    delivered.insert(kv);
  }
  while (segment <= boundaries.size()) {
    v.duplicates_per_segment.push_back(segment_dups);
    segment_dups = 0;
    ++segment;
  }
  v.distinct = by_sequence.size();
  std::set<std::pair<int64_t, int64_t>> committed_set(committed.begin(), committed.end());
  for (const auto& c : committed) {
    if (!delivered.count(c)) {
      if (++v.lost <= 5) {
        v.problem("lost: key " + std::to_string(c.first) + " v" + std::to_string(c.second));
      }
    }
  }
  for (const auto& d : delivered) {
    if (!committed_set.count(d)) {
      if (++v.phantoms <= 5) {
        v.problem("not committed by the writer: key " + std::to_string(d.first) + " v" +
                  std::to_string(d.second));
      }
    }
  }
  return v;
}

constexpr const char* kVersionedColumns = "id int PRIMARY KEY, ver bigint NOT NULL, pad text";

// --- 1. kill -9 under a live write load ------------------------------------

TEST(PostgresFaults, SigkillTenTimesUnderLiveWritesLosesNothingAndKeepsPerKeyOrder) {
  pg_test::require_server();
  TempDir dir;
  PgObjects pg("faults_kill", kVersionedColumns);
  const std::string config = write_config(dir, pg, {});
  const std::string out = dir.file("events.jsonl");
  const std::string log = dir.file("daemon.log");
  // Not tests/testing/sigkill_restart.h: that scenario's load is a HeliosDB
  // `wal generate`; this one's is a libpq writer, and each kill waits for a
  // delivery first.
  const uint64_t seed = std::random_device{}();
  std::cout << "seed " << seed << "\n";
  std::mt19937_64 rng(seed);
  Writer writer(pg.table, 200, seed);
  writer.start();
  std::vector<size_t> boundaries;  // complete lines when each restarted run began
  std::vector<size_t> lines_per_run;
  constexpr int kKills = 10;
  for (int i = 0; i < kKills; ++i) {
    const size_t before = testing::count_complete_lines(out);
    if (i > 0) boundaries.push_back(before);
    pid_t daemon = testing::spawn_with_output(daemon_argv(config), log, log);
    int rc = -1;
    bool exited = false;
    // It has delivered something of its own.
    const bool delivered = wait_for(
        [&] {
          exited = exited || has_exited(daemon, &rc);
          return exited || testing::count_complete_lines(out) > before;
        },
        30s, 20ms);
    ASSERT_FALSE(exited) << "run " << i << " exited with " << rc << "; log:\n"
                         << testing::read_file(log);
    ASSERT_TRUE(delivered) << "run " << i << " delivered nothing in 30 s; log:\n"
                           << testing::read_file(log);
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 1500)(rng)));
    ASSERT_EQ(kill(daemon, SIGKILL), 0);
    ASSERT_EQ(testing::wait_exit(daemon), 128 + SIGKILL)
        << "run " << i << " exited on its own; log:\n"
        << testing::read_file(log);
    lines_per_run.push_back(testing::count_complete_lines(out) - before);
    ASSERT_TRUE(writer.error().empty()) << writer.error();
  }
  writer.stop();
  ASSERT_TRUE(writer.error().empty()) << writer.error();
  boundaries.push_back(testing::count_complete_lines(out));
  auto drain = testing::run_command(daemon_argv(config, /*once=*/true));
  ASSERT_EQ(drain.exit_code, 0) << drain.err;

  size_t bad = 0;
  // The file sink cut a torn last line at each restart: every line parses.
  const auto events = parse_events(testing::read_file(out), &bad);
  EXPECT_EQ(bad, 0u);
  const auto committed = writer.committed();
  Verdict v = verify(events, committed, pg.table, boundaries);
  std::cout << "committed " << committed.size() << " row changes in " << writer.transactions()
            << " transactions; delivered " << v.events << " events (" << v.distinct
            << " distinct), " << v.duplicates << " duplicates\n  duplicates per restart:";
  for (size_t i = 0; i < v.duplicates_per_segment.size(); ++i) {
    std::cout << " " << v.duplicates_per_segment[i];
  }
  std::cout << " (last: the --once drain)\n  lines per killed run:";
  for (size_t n : lines_per_run) std::cout << " " << n;
  std::cout << "\n";
  EXPECT_GT(committed.size(), 1000u) << "the write load was too light to test anything";
  EXPECT_EQ(v.lost, 0u) << v.report();
  EXPECT_EQ(v.phantoms, 0u) << v.report();
  EXPECT_EQ(v.order_errors, 0u) << v.report();
  EXPECT_TRUE(v.problems.empty()) << v.report();
  EXPECT_EQ(v.distinct, committed.size());
  // A replay starts at the checkpoint: at most what was delivered since.
  EXPECT_EQ(v.duplicates_per_segment.size(), static_cast<size_t>(kKills + 1));
}

// --- 2. the connection to PostgreSQL lost mid-stream -----------------------

enum class Outage { kServerRestart, kServerCrash, kTerminateWalsender };

const char* outage_name(Outage o) {
  switch (o) {
    case Outage::kServerRestart:
      return "server restart";
    case Outage::kServerCrash:
      return "server crash (immediate stop) and start";
    case Outage::kTerminateWalsender:
      return "walsender terminated";
  }
  return "?";
}

void run_outage_test(Outage outage) {
  pg_test::require_server();
  // postgres.sh picks its server by PG_PORT: never restart another one.
  ASSERT_EQ(::setenv("PG_PORT", std::to_string(pg_test::port()).c_str(), 1), 0);
  TempDir dir;
  PgObjects pg(outage == Outage::kTerminateWalsender ? "faults_term" : "faults_restart",
               kVersionedColumns);
  ConfigOptions opts;
  opts.metrics_port = testing::free_loopback_port();
  const std::string config = write_config(dir, pg, opts);
  const std::string out = dir.file("events.jsonl");
  const std::string log = dir.file("daemon.log");
  Writer writer(pg.table, 200, std::random_device{}());
  writer.start();
  pid_t daemon = testing::spawn_with_output(daemon_argv(config), log, log);
  struct Reaper {
    pid_t pid;
    bool done = false;
    ~Reaper() {
      if (!done) {
        kill(pid, SIGKILL);
        testing::wait_exit(pid);
      }
    }
  } reaper{daemon};
  int rc = -1;
  ASSERT_TRUE(wait_for([&] { return testing::count_complete_lines(out) > 100; }, 30s))
      << testing::read_file(log);
  std::this_thread::sleep_for(1s);
  const size_t committed_before = writer.committed_count();
  const auto outage_start = Clock::now();
  if (outage == Outage::kServerRestart) {
    ASSERT_EQ(pg_test::service("restart"), 0);
  } else if (outage == Outage::kServerCrash) {
    ASSERT_EQ(pg_test::service("kill"), 0);
    std::this_thread::sleep_for(1s);
    ASSERT_EQ(pg_test::service("start"), 0);
  } else {
    auto r = pg_test::superuser().query(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
        "WHERE slot_name = $1 AND active_pid IS NOT NULL",
        {pg.slot});
    ASSERT_EQ(r.size(), 1u) << "the daemon's walsender was not active";
    ASSERT_EQ(r[0][0].value_or(""), "t");
  }
  const auto server_back = Clock::now();
  ASSERT_TRUE(
      wait_for([&] { return contains(testing::read_file(log), "reconnected to PostgreSQL"); }, 60s))
      << "no reconnect; log:\n"
      << testing::read_file(log);
  const double reconnect_s = std::chrono::duration<double>(Clock::now() - outage_start).count();
  const double after_back_s = std::chrono::duration<double>(Clock::now() - server_back).count();
  ASSERT_FALSE(has_exited(daemon, &rc)) << rc << testing::read_file(log);
  // The writer goes on too, and the daemon keeps delivering.
  ASSERT_TRUE(wait_for([&] { return writer.committed_count() > committed_before + 500; }, 30s))
      << writer.error();
  writer.stop();
  ASSERT_TRUE(writer.error().empty()) << writer.error();
  const auto committed = writer.committed();
  std::set<std::pair<int64_t, int64_t>> want(committed.begin(), committed.end());
  ASSERT_TRUE(wait_for(
      [&] {
        for (const Event& e : parse_events(testing::read_file(out))) want.erase({e.id, e.ver});
        return want.empty();
      },
      60s, 250ms))
      << want.size() << " committed changes not delivered in 60 s; log:\n"
      << testing::read_file(log);

  auto scrape =
      testing::http_get("http://127.0.0.1:" + std::to_string(opts.metrics_port) + "/metrics");
  auto samples = testing::parse_samples(scrape.body);
  EXPECT_GE(samples["heliosdb_cdc_source_reconnects_total"], 1) << scrape.body;

  ASSERT_EQ(kill(daemon, SIGTERM), 0);
  reaper.done = true;
  const int exit_code = testing::wait_exit(daemon);
  const std::string text = testing::read_file(log);
  EXPECT_EQ(exit_code, 0) << text;
  EXPECT_TRUE(contains(text, "lost the replication connection to PostgreSQL")) << text;

  const auto events = parse_events(testing::read_file(out));
  Verdict v = verify(events, committed, pg.table);
  std::cout << outage_name(outage) << ": reconnected " << reconnect_s
            << " s after the outage began, " << after_back_s
            << " s after the server was back (log); reconnects metric "
            << samples["heliosdb_cdc_source_reconnects_total"] << "; writer: " << committed.size()
            << " changes in " << writer.transactions() << " transactions, "
            << writer.broken_statements() << " broken statements ("
            << writer.lost_results_committed() << " had committed, "
            << writer.lost_results_not_committed() << " had not); delivered " << v.events
            << " events, " << v.duplicates << " duplicates\n";
  EXPECT_EQ(v.lost, 0u) << v.report();
  EXPECT_EQ(v.phantoms, 0u) << v.report();
  EXPECT_EQ(v.order_errors, 0u) << v.report();
  if (outage != Outage::kTerminateWalsender) {
    EXPECT_GE(writer.broken_statements(), 1u) << "the writer never saw the restart";
  }
}

TEST(PostgresFaults, ServerRestartMidStreamReconnectsAndLosesNothing) {
  run_outage_test(Outage::kServerRestart);
}

TEST(PostgresFaults, ServerCrashMidStreamReconnectsAndLosesNothing) {
  run_outage_test(Outage::kServerCrash);
}

TEST(PostgresFaults, TerminatedWalsenderReconnectsAndLosesNothing) {
  run_outage_test(Outage::kTerminateWalsender);
}

// SIGTERM while PostgreSQL is down and the daemon is retrying: it exits 0
// at once with its checkpoint, and a `run --once` after the server is back
// delivers the rest.
TEST(PostgresFaults, SigtermWhileTheServerIsDownExitsCleanly) {
  pg_test::require_server();
  ASSERT_EQ(::setenv("PG_PORT", std::to_string(pg_test::port()).c_str(), 1), 0);
  TempDir dir;
  PgObjects pg("faults_down", kVersionedColumns);
  const std::string config = write_config(dir, pg, {});
  const std::string out = dir.file("events.jsonl");
  const std::string log = dir.file("daemon.log");
  Writer writer(pg.table, 200, std::random_device{}());
  writer.start();
  pid_t daemon = testing::spawn_with_output(daemon_argv(config), log, log);
  struct Guard {
    pid_t pid;
    bool reaped = false;
    ~Guard() {
      if (!reaped) {
        kill(pid, SIGKILL);
        testing::wait_exit(pid);
      }
      pg_test::service("start");  // whatever happened, the next test has its server
    }
  } guard{daemon};
  ASSERT_TRUE(wait_for([&] { return testing::count_complete_lines(out) > 100; }, 30s))
      << testing::read_file(log);
  ASSERT_EQ(pg_test::service("stop"), 0);
  ASSERT_TRUE(wait_for(
      [&] { return contains(testing::read_file(log), "lost the replication connection"); }, 30s))
      << testing::read_file(log);
  std::this_thread::sleep_for(1500ms);  // a failed attempt or two
  const auto term = Clock::now();
  ASSERT_EQ(kill(daemon, SIGTERM), 0);
  const int rc = testing::wait_exit(daemon);
  guard.reaped = true;
  const double took = std::chrono::duration<double>(Clock::now() - term).count();
  const std::string text = testing::read_file(log);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_LT(took, 5.0) << text;
  ASSERT_EQ(pg_test::service("start"), 0);
  std::this_thread::sleep_for(1s);  // the writer commits again
  writer.stop();
  ASSERT_TRUE(writer.error().empty()) << writer.error();
  auto drain = testing::run_command(daemon_argv(config, /*once=*/true));
  ASSERT_EQ(drain.exit_code, 0) << drain.err;
  const auto committed = writer.committed();
  Verdict v = verify(parse_events(testing::read_file(out)), committed, pg.table);
  std::cout << "SIGTERM while the server was down: exit " << rc << " after " << took << " s; then "
            << v.events << " events for " << committed.size() << " changes, " << v.duplicates
            << " duplicates\n";
  EXPECT_EQ(v.lost, 0u) << v.report();
  EXPECT_EQ(v.phantoms, 0u) << v.report();
  EXPECT_EQ(v.order_errors, 0u) << v.report();
}

// --- 2b. faults inside one large transaction --------------------------------

// The events of `text` for ids first..first+rows-1 (INSERTs of `table`):
// how many lines, how many distinct ids, and whether a sequence ever named
// two ids or an id two sequences (a redelivery must be identical).
struct LargeTxnCount {
  size_t lines = 0, ids = 0, bad = 0, inconsistent = 0;
};
LargeTxnCount count_large_txn(const std::string& text, const std::string& table, int64_t first,
                              size_t rows) {
  LargeTxnCount n;
  std::vector<uint64_t> seq_of(rows, 0);
  const std::string qualified = "public." + table;
  for (const Event& e : parse_events(text)) {
    if (e.table != qualified || e.operation != "INSERT" || e.id < first ||
        e.id >= first + static_cast<int64_t>(rows)) {
      ++n.bad;
      continue;
    }
    ++n.lines;
    uint64_t& s = seq_of[e.id - first];
    if (s == 0) {
      s = e.sequence;
      ++n.ids;
    } else if (s != e.sequence) {
      ++n.inconsistent;
    }
  }
  std::vector<uint64_t> sorted;
  for (uint64_t s : seq_of)
    if (s) sorted.push_back(s);
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) ++n.inconsistent;
  return n;
}

// The walsender terminated while the daemon is in the middle of a 600,000-row
// transaction: the server sends the transaction again from its start, and the
// daemon skips the changes it handed on already (no duplicates at all: the
// daemon did not restart), and loses none.
TEST(PostgresFaults, TerminatedWalsenderMidTransactionResumesWithoutDuplicates) {
  pg_test::require_server();
  TempDir dir;
  PgObjects pg("faults_midtxn", "id int PRIMARY KEY, pad text");
  const std::string config = write_config(dir, pg, {});
  const std::string out = dir.file("events.jsonl");
  const std::string log = dir.file("daemon.log");
  constexpr size_t kRows = 600000;
  pid_t daemon = testing::spawn_with_output(daemon_argv(config), log, log);
  struct Reaper {
    pid_t pid;
    bool done = false;
    ~Reaper() {
      if (!done) {
        kill(pid, SIGKILL);
        testing::wait_exit(pid);
      }
    }
  } reaper{daemon};
  ASSERT_TRUE(wait_for([&] { return contains(testing::read_file(log), "streaming slot"); }, 30s))
      << testing::read_file(log);
  Connection(pg_test::dsn())
      .exec("INSERT INTO " + pg.table +
            " (id, pad) SELECT g, repeat('m', 80) FROM generate_series(1, " +
            std::to_string(kRows) + ") g");
  // As soon as the transaction starts coming out: the rest of it takes
  // seconds, so the termination falls inside it.
  ASSERT_TRUE(wait_for([&] { return file_size(out) > 0; }, 60s, 1ms)) << testing::read_file(log);
  const size_t at_termination = testing::count_complete_lines(out);
  auto r = pg_test::superuser().query(
      "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
      "WHERE slot_name = $1 AND active_pid IS NOT NULL",
      {pg.slot});
  ASSERT_EQ(r.size(), 1u);
  ASSERT_TRUE(wait_for([&] { return testing::count_complete_lines(out) >= kRows; }, 60s, 100ms));
  std::this_thread::sleep_for(500ms);  // anything more (duplicates) comes out too
  ASSERT_EQ(kill(daemon, SIGTERM), 0);
  reaper.done = true;
  EXPECT_EQ(testing::wait_exit(daemon), 0);
  const std::string text = testing::read_file(log);
  ASSERT_TRUE(contains(text, "reconnected to PostgreSQL")) << text;
  const LargeTxnCount n = count_large_txn(testing::read_file(out), pg.table, 1, kRows);
  std::cout << "terminated at " << at_termination << " of " << kRows << " lines; delivered "
            << n.lines << " lines, " << n.ids << " ids\n";
  EXPECT_LT(at_termination, kRows) << "the transaction was delivered before the termination";
  EXPECT_EQ(n.bad, 0u);
  EXPECT_EQ(n.ids, kRows);
  EXPECT_EQ(n.lines, kRows) << "duplicates after a reconnect inside a transaction";
  EXPECT_EQ(n.inconsistent, 0u);
}

// kill -9 in the middle of a 600,000-row transaction, then `run --once`: the
// checkpoint falls inside the transaction and the next run resumes inside it
// (replaying only what was delivered since that checkpoint).
TEST(PostgresFaults, SigkillMidTransactionResumesInsideIt) {
  pg_test::require_server();
  TempDir dir;
  PgObjects pg("faults_killtxn", "id int PRIMARY KEY, pad text");
  const std::string config = write_config(dir, pg, {});
  const std::string out = dir.file("events.jsonl");
  const std::string log = dir.file("daemon.log");
  constexpr size_t kRows = 600000;
  Connection(pg_test::dsn())
      .exec("INSERT INTO " + pg.table +
            " (id, pad) SELECT g, repeat('k', 80) FROM generate_series(1, " +
            std::to_string(kRows) + ") g");
  pid_t daemon = testing::spawn_with_output(daemon_argv(config), log, log);
  ASSERT_TRUE(wait_for([&] { return file_size(out) >= kRows * 10; }, 60s, 5ms))
      << testing::read_file(log);
  ASSERT_EQ(kill(daemon, SIGKILL), 0);
  ASSERT_EQ(testing::wait_exit(daemon), 128 + SIGKILL);
  const size_t at_kill = testing::count_complete_lines(out);
  const uint64_t ckpt = checkpoint_restart_lsn(dir.file("ckpt"));
  const std::string ckpt_text = testing::read_file(dir.file("ckpt") + "/heliosdb_test.checkpoint");
  auto drain = testing::run_command(daemon_argv(config, /*once=*/true));
  ASSERT_EQ(drain.exit_code, 0) << drain.err;
  const LargeTxnCount n = count_large_txn(testing::read_file(out), pg.table, 1, kRows);
  std::cout << "killed at " << at_kill << " of " << kRows << " lines (checkpoint "
            << ckpt_text.substr(ckpt_text.find("position=")).substr(0, 60) << "); delivered "
            << n.lines << " lines, " << n.ids << " ids, " << n.lines - n.ids << " duplicates\n";
  EXPECT_LT(at_kill, kRows);
  EXPECT_GT(ckpt, 0u) << "no checkpoint inside the transaction";
  EXPECT_EQ(n.bad, 0u);
  EXPECT_EQ(n.ids, kRows);
  EXPECT_EQ(n.inconsistent, 0u);
  // The replay starts at the checkpoint: at most what the killed run
  // delivered after its last checkpoint (checkpoint_interval = 1000 events).
  EXPECT_LT(n.lines - n.ids, at_kill);
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// kill -9 at random moments while the walsender decodes and streams a
// backlog, restarted at once, 12 times: the next run must not find the slot
// still held by the dead run's walsender ("is in use by another
// connection") and give up.
TEST(PostgresFaults, ImmediateRestartAfterSigkillFindsTheSlotFree) {
  pg_test::require_server();
  TempDir dir;
  PgObjects pg("faults_inuse", "id int PRIMARY KEY, pad text");
  const std::string config = write_config(dir, pg, {});
  const std::string log = dir.file("daemon.log");
  constexpr size_t kRows = 300000;
  Connection(pg_test::dsn())
      .exec("INSERT INTO " + pg.table +
            " (id, pad) SELECT g, repeat('i', 80) FROM generate_series(1, " +
            std::to_string(kRows) + ") g");
  std::mt19937 rng(std::random_device{}());
  int refused = 0;
  constexpr int kRuns = 12;
  for (int i = 0; i < kRuns; ++i) {
    pid_t daemon = testing::spawn_with_output(daemon_argv(config), log, log);
    int rc = -1;
    bool exited = false;
    wait_for(
        [&] {
          exited = exited || has_exited(daemon, &rc);
          return exited ||
                 occurrences(testing::read_file(log), "streaming slot") > static_cast<size_t>(i);
        },
        30s, 5ms);
    if (!exited) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 800)(rng)));
      exited = has_exited(daemon, &rc);
    }
    if (exited) {
      ++refused;
      continue;
    }
    ASSERT_EQ(kill(daemon, SIGKILL), 0);
    ASSERT_EQ(testing::wait_exit(daemon), 128 + SIGKILL);
  }
  const std::string text = testing::read_file(log);
  std::cout << refused << " of " << kRuns << " immediate restarts gave up\n";
  EXPECT_EQ(refused, 0) << text.substr(text.size() > 4000 ? text.size() - 4000 : 0);
}

// --- 3. a stalled sink holds the slot's confirmed_flush_lsn ----------------

// The stdout sink on a pipe the test does not read: its writes wait (the
// file sink cannot write a FIFO: it fsyncs). Reading the pipe unstalls it.
class StalledPipe {
 public:
  explicit StalledPipe(const std::string& path) : path_(path) {
    if (mkfifo(path.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + path);
    fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
    if (fd_ < 0) throw std::runtime_error("open " + path);
  }
  ~StalledPipe() {
    stop_.store(true);
    if (reader_.joinable()) reader_.join();
    ::close(fd_);
  }
  size_t buffered() const {
    int n = 0;
    ioctl(fd_, FIONREAD, &n);
    return static_cast<size_t>(n);
  }
  size_t capacity() const { return static_cast<size_t>(fcntl(fd_, F_GETPIPE_SZ)); }
  void unstall() {
    reader_ = std::thread([this] {
      char buf[65536];
      while (!stop_.load()) {
        pollfd p{fd_, POLLIN, 0};
        ::poll(&p, 1, 50);
        ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n > 0) {
          std::lock_guard lock(mu_);
          data_.append(buf, static_cast<size_t>(n));
        }
      }
    });
  }
  std::string data() const {
    std::lock_guard lock(mu_);
    return data_;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::thread reader_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::string data_;
};

void insert_rows(Connection& c, const std::string& table, int64_t& next_id, int transactions,
                 int rows_each) {
  for (int t = 0; t < transactions; ++t) {
    c.exec("INSERT INTO " + table + " (id, pad) SELECT g, repeat('s', 120) FROM generate_series(" +
           std::to_string(next_id) + "," + std::to_string(next_id + rows_each - 1) + ") g");
    next_id += rows_each;
  }
}

// `sender_timeout`: 0 keeps the server's wal_sender_timeout (60 s, longer
// than the stall); otherwise it is set for the test, shorter than the stall.
void run_stall_test(int sender_timeout_s) {
  pg_test::require_server();
  struct SenderTimeout {
    bool set = false;
    ~SenderTimeout() {
      if (!set) return;
      try {
        auto c = pg_test::superuser();
        c.exec("ALTER SYSTEM RESET wal_sender_timeout");
        c.query("SELECT pg_reload_conf()");
      } catch (const std::exception& e) {
        std::cerr << "resetting wal_sender_timeout: " << e.what() << "\n";
      }
    }
  } sender_timeout;
  if (sender_timeout_s) {
    auto c = pg_test::superuser();
    c.exec("ALTER SYSTEM SET wal_sender_timeout = '" + std::to_string(sender_timeout_s) + "s'");
    c.query("SELECT pg_reload_conf()");
    sender_timeout.set = true;
  }
  TempDir dir;
  PgObjects pg("faults_stall", "id int PRIMARY KEY, pad text");
  // A small window: the reader blocks too once the sink stalls (it then
  // answers no keepalive, as with a long stall of a big backlog).
  const std::string config =
      write_config(dir, pg,
                   {.sink = "stdout",
                    .extra_cdc = "batch_size = 50\nbuffer_size = 200\ncheckpoint_interval = 50\n"});
  const std::string log = dir.file("daemon.log");
  const std::string ckpt = dir.file("ckpt");
  const uint64_t slot_start = pg.confirmed_flush();
  StalledPipe pipe(dir.file("stdout.fifo"));
  pid_t daemon = testing::spawn_with_output(daemon_argv(config), dir.file("stdout.fifo"), log);
  struct Reaper {
    pid_t pid;
    bool done = false;
    ~Reaper() {
      if (!done) {
        kill(pid, SIGKILL);
        testing::wait_exit(pid);
      }
    }
  } reaper{daemon};

  Connection c(pg_test::dsn());
  int64_t next_id = 1;
  constexpr int kTxns = 40, kRows = 25;  // ~330 KB of JSON a phase: 5x the pipe
  insert_rows(c, pg.table, next_id, kTxns, kRows);
  // Stalled: the pipe is full and stays so.
  ASSERT_TRUE(wait_for([&] { return pipe.buffered() + 4096 > pipe.capacity(); }, 30s))
      << pipe.buffered() << " of " << pipe.capacity() << " bytes; log:\n"
      << testing::read_file(log);
  std::this_thread::sleep_for(2s);  // the last acknowledged batch checkpointed
  const size_t in_pipe = pipe.buffered();
  const uint64_t flush0 = pg.confirmed_flush();
  const uint64_t ckpt0 = checkpoint_restart_lsn(ckpt);
  ASSERT_GT(ckpt0, slot_start) << "no checkpoint before the stall; log:\n"
                               << testing::read_file(log);
  EXPECT_LE(flush0, ckpt0) << "confirmed_flush_lsn " << format_lsn(flush0)
                           << " past the checkpoint's " << format_lsn(ckpt0);
  // More changes while stalled.
  insert_rows(c, pg.table, next_id, kTxns, kRows);
  const uint64_t wal_after_writes = pg_test::parse_lsn(pg_test::current_wal_lsn());
  const auto stall_start = Clock::now();
  uint64_t flush_max = flush0, ckpt_max = ckpt0;
  bool slot_inactive_seen = false;
  const auto stall_for = sender_timeout_s ? std::chrono::seconds(3 * sender_timeout_s) : 15s;
  while (Clock::now() - stall_start < stall_for) {
    const uint64_t f = pg.confirmed_flush();
    const uint64_t k = checkpoint_restart_lsn(ckpt);
    flush_max = std::max(flush_max, f);
    ckpt_max = std::max(ckpt_max, k);
    EXPECT_LE(f, k) << "confirmed_flush_lsn " << format_lsn(f) << " past the checkpoint's "
                    << format_lsn(k);
    auto active = pg_test::superuser().scalar(
        "SELECT active::text FROM pg_replication_slots WHERE slot_name = $1", {pg.slot});
    if (active != "true") slot_inactive_seen = true;
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_EQ(flush_max, flush0) << "confirmed_flush_lsn moved while the sink was stalled";
  EXPECT_EQ(ckpt_max, ckpt0) << "the checkpoint moved while the sink was stalled";
  EXPECT_EQ(pipe.buffered(), in_pipe) << "the sink was not stalled";
  std::cout << "stalled " << std::chrono::duration<double>(Clock::now() - stall_start).count()
            << " s with " << in_pipe << " bytes in the pipe: confirmed_flush_lsn "
            << format_lsn(flush0) << ", checkpoint restart LSN " << format_lsn(ckpt0) << ", WAL at "
            << format_lsn(wal_after_writes) << "; walsender "
            << (slot_inactive_seen ? "gone during the stall" : "kept the connection") << "\n";
  // The daemon's status thread answers the server while the reader is held
  // by the stalled sink: the connection survives a stall longer than
  // wal_sender_timeout.
  EXPECT_FALSE(slot_inactive_seen) << "the server dropped the daemon's connection during the stall";

  pipe.unstall();
  const size_t want = 2 * kTxns * kRows;
  std::vector<Event> events;
  ASSERT_TRUE(wait_for(
      [&] {
        events = parse_events(pipe.data());
        std::set<int64_t> ids;
        for (const Event& e : events) ids.insert(e.id);
        return ids.size() >= want;
      },
      60s, 250ms))
      << "delivered " << events.size() << " of " << want << "; log:\n"
      << testing::read_file(log);
  // The slot catches up: past the last transaction's commit record.
  const uint64_t last_commit = commit_lsn_of_sequence(events.back().sequence);
  uint64_t flush_end = 0;
  EXPECT_TRUE(wait_for(
      [&] {
        flush_end = pg.confirmed_flush();
        return flush_end > last_commit;
      },
      20s, 100ms))
      << "confirmed_flush_lsn " << format_lsn(flush_end) << " never passed the last commit at "
      << format_lsn(last_commit);
  // And what was acknowledged during the stall (at most the lines wholly
  // in the pipe) bounds where the slot stood: not past the commit of the
  // first transaction that was not all in the pipe.
  const std::string data = pipe.data();
  uint64_t first_unacked_commit = 0;
  {
    size_t start = 0;
    while (true) {
      size_t nl = data.find('\n', start);
      if (nl == std::string::npos) break;
      if (nl + 1 > in_pipe) {
        auto e = parse_event(std::string_view(data).substr(start, nl - start));
        ASSERT_TRUE(e);
        first_unacked_commit = commit_lsn_of_sequence(e->sequence);
        break;
      }
      start = nl + 1;
    }
  }
  ASSERT_NE(first_unacked_commit, 0u);
  EXPECT_LE(flush0, first_unacked_commit)
      << "the slot confirmed " << format_lsn(flush0) << " while the transaction committed at "
      << format_lsn(first_unacked_commit) << " was not acknowledged";
  EXPECT_LE(ckpt0, first_unacked_commit);
  std::cout << "  first unacknowledged commit at " << format_lsn(first_unacked_commit)
            << "; after the stall confirmed_flush_lsn reached " << format_lsn(flush_end)
            << " (last commit " << format_lsn(last_commit) << ")\n";
  ASSERT_EQ(kill(daemon, SIGTERM), 0);
  reaper.done = true;
  const int rc = testing::wait_exit(daemon);
  const std::string text = testing::read_file(log);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_FALSE(contains(text, "lost the replication connection")) << text;
  // Every row, sequences unique per distinct event.
  std::map<uint64_t, int64_t> seqs;
  for (const Event& e : parse_events(pipe.data())) {
    auto [it, fresh] = seqs.emplace(e.sequence, e.id);
    EXPECT_TRUE(fresh || it->second == e.id) << "sequence " << e.sequence << " reused";
  }
  std::set<int64_t> ids;
  for (const auto& [s, id] : seqs) ids.insert(id);
  EXPECT_EQ(ids.size(), want);
  EXPECT_EQ(seqs.size(), want);
}

TEST(PostgresFaults, StalledSinkHoldsConfirmedFlushAtTheCheckpoint) { run_stall_test(0); }

TEST(PostgresFaults, StallLongerThanWalSenderTimeoutKeepsTheConnectionAndHoldsConfirmedFlush) {
  run_stall_test(3);
}

// --- slot health: a stall on /health, the WAL budget ------------------------

// A daemon writing into a pipe nobody reads, with metrics on.
struct StalledDaemon {
  TempDir dir;
  PgObjects pg;
  ConfigOptions opts;
  std::string log;
  std::unique_ptr<StalledPipe> pipe;
  pid_t pid = -1;
  StalledDaemon(const std::string& name, const std::string& source_extra)
      : pg(name, "id int PRIMARY KEY, pad text") {
    opts.sink = "stdout";
    opts.metrics_port = testing::free_loopback_port();
    opts.extra_cdc = "batch_size = 50\nbuffer_size = 200\ncheckpoint_interval = 50\n";
    const std::string config = write_config(dir, pg, opts, source_extra);
    log = dir.file("daemon.log");
    pipe = std::make_unique<StalledPipe>(dir.file("stdout.fifo"));
    pid = testing::spawn_with_output(daemon_argv(config), dir.file("stdout.fifo"), log);
  }
  ~StalledDaemon() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      testing::wait_exit(pid);
    }
  }
  testing::HttpAnswer get(const std::string& path) const {
    return testing::http_get("http://127.0.0.1:" + std::to_string(opts.metrics_port) + path);
  }
};

TEST(PostgresFaults, AStalledSinkTurnsHealthTo503WithTheReasonAnd200AfterItRecovers) {
  pg_test::require_server();
  StalledDaemon d("health_stall", "stall_timeout_s = 3\nheartbeat_interval_ms = 500\n");
  ASSERT_TRUE(wait_for([&] { return d.get("/health").status == 200; }, 30s))
      << d.get("/health").body << testing::read_file(d.log);
  // The heartbeat goes round while all is well.
  ASSERT_TRUE(wait_for(
      [&] {
        auto m = testing::parse_samples(d.get("/metrics").body);
        return m.count("heliosdb_cdc_source_heartbeat_rtt_seconds") &&
               m.count("heliosdb_cdc_source_retained_wal_bytes") &&
               m.count("heliosdb_cdc_source_lag_bytes");
      },
      20s))
      << d.get("/metrics").body;
  Connection c(pg_test::dsn());
  int64_t next_id = 1;
  insert_rows(c, d.pg.table, next_id, 40, 25);
  ASSERT_TRUE(wait_for([&] { return d.pipe->buffered() + 4096 > d.pipe->capacity(); }, 30s))
      << testing::read_file(d.log);
  insert_rows(c, d.pg.table, next_id, 40, 25);  // newer WAL than the flush position
  testing::HttpAnswer h;
  ASSERT_TRUE(wait_for(
      [&] {
        h = d.get("/health");
        return h.status == 503;
      },
      30s, 250ms))
      << h.status << " " << h.body;
  EXPECT_TRUE(contains(h.body, "\"status\":\"stalled\"")) << h.body;
  EXPECT_TRUE(contains(h.body, "has not moved for")) << h.body;
  EXPECT_TRUE(contains(h.body, "stall_timeout_s = 3")) << h.body;
  const auto m = testing::parse_samples(d.get("/metrics").body);
  EXPECT_GT(m.at("heliosdb_cdc_source_lag_bytes"), 0);
  d.pipe->unstall();
  ASSERT_TRUE(wait_for(
      [&] {
        h = d.get("/health");
        return h.status == 200;
      },
      30s, 250ms))
      << h.status << " " << h.body;
  EXPECT_TRUE(contains(h.body, "\"status\":\"ok\"")) << h.body;
}

TEST(PostgresFaults, PastTheWalBudgetAlertDegradesHealthAndFailExitsNamingTheBudget) {
  pg_test::require_server();
  for (const std::string mode : {"alert", "fail"}) {
    SCOPED_TRACE(mode);
    StalledDaemon d("health_budget_" + mode,
                    "max_retained_wal_bytes = 1048576\n"
                    "on_wal_budget_exceeded = \"" +
                        mode + "\"\n");
    ASSERT_TRUE(wait_for([&] { return d.get("/health").status == 200; }, 30s))
        << testing::read_file(d.log);
    Connection c(pg_test::dsn());
    int64_t next_id = 1;
    insert_rows(c, d.pg.table, next_id, 40, 25);
    ASSERT_TRUE(wait_for([&] { return d.pipe->buffered() + 4096 > d.pipe->capacity(); }, 30s))
        << testing::read_file(d.log);
    // Past the budget: 4 MB of rows the stalled slot must keep.
    c.exec("INSERT INTO " + d.pg.table +
           " SELECT g, repeat('x', 1000) FROM generate_series(100000, 104000) AS g");
    if (mode == "alert") {
      testing::HttpAnswer h;
      ASSERT_TRUE(wait_for(
          [&] {
            h = d.get("/health");
            return contains(h.body, "degraded");
          },
          30s, 250ms))
          << h.body << testing::read_file(d.log);
      EXPECT_EQ(h.status, 200);
      EXPECT_TRUE(contains(h.body, "past max_retained_wal_bytes = 1048576")) << h.body;
      EXPECT_TRUE(contains(testing::read_file(d.log), "past max_retained_wal_bytes = 1048576"));
      EXPECT_GT(testing::parse_samples(d.get("/metrics").body)
                    .at("heliosdb_cdc_source_retained_wal_bytes"),
                1048576);
    } else {
      int rc = -1;
      ASSERT_TRUE(wait_for([&] { return has_exited(d.pid, &rc); }, 60s))
          << testing::read_file(d.log);
      d.pid = -1;
      EXPECT_EQ(rc, 1);
      const std::string text = testing::read_file(d.log);
      EXPECT_TRUE(contains(text,
                           "past max_retained_wal_bytes = 1048576 (on_wal_budget_exceeded = "
                           "\"fail\")"))
          << text;
    }
  }
}

// --- slot health: idle and fully filtered databases keep no WAL -----------

constexpr int64_t kMiB = 1024 * 1024;

// The WAL slot `slot` holds on the server (pg_current_wal_lsn() minus its
// restart_lsn); -1 when it holds none (no slot, or restart_lsn NULL).
int64_t retained_wal_bytes(const std::string& slot) {
  auto r = pg_test::superuser().query(
      "SELECT (pg_current_wal_lsn() - restart_lsn)::bigint FROM pg_replication_slots WHERE "
      "slot_name = $1",
      {slot});
  if (r.empty() || !r[0][0]) return -1;
  return std::stoll(*r[0][0]);
}

// Writes at least `bytes` of WAL through `c` into `table` (id int, pad text),
// emptied after each statement so the disk holds the WAL only. A 1000-byte
// pad stays below TOAST's threshold: written as is, not compressed.
void write_wal(Connection& c, const std::string& table, int64_t bytes) {
  const uint64_t start = pg_test::parse_lsn(c.scalar("SELECT pg_current_wal_lsn()::text"));
  int64_t next_id = 1;
  while (true) {
    const uint64_t now = pg_test::parse_lsn(c.scalar("SELECT pg_current_wal_lsn()::text"));
    if (static_cast<int64_t>(now - start) >= bytes) return;
    c.exec("INSERT INTO " + table + " (id, pad) SELECT g, repeat('w', 1000) FROM " +
           "generate_series(" + std::to_string(next_id) + ", " + std::to_string(next_id + 39999) +
           ") g");
    next_id += 40000;
    c.exec("TRUNCATE " + table);
  }
}

// A database of its own on the same server, for WAL the daemon does not
// capture.
Connection other_database() {
  Connection su = pg_test::superuser();
  if (su.query("SELECT 1 FROM pg_database WHERE datname = 'heliosdb_other'").empty()) {
    su.exec("CREATE DATABASE heliosdb_other");
  }
  Connection c = pg_test::superuser("heliosdb_other");
  c.exec("CREATE TABLE IF NOT EXISTS wal_filler (id int, pad text)");
  c.exec("TRUNCATE wal_filler");
  return c;
}

// Waits (a CHECKPOINT every 5 s: restart_lsn moves at the next
// running-transactions record) until `slot` holds less than `bound`;
// returns what it holds then, or at the timeout.
int64_t wait_retained_below(const std::string& slot, int64_t bound, std::chrono::seconds timeout) {
  Connection su = pg_test::superuser();
  const auto deadline = Clock::now() + timeout;
  int64_t held = retained_wal_bytes(slot);
  auto next_checkpoint = Clock::now() + 5s;
  while (Clock::now() < deadline && !(held >= 0 && held < bound)) {
    std::this_thread::sleep_for(250ms);
    if (Clock::now() >= next_checkpoint) {
      su.exec("CHECKPOINT");
      next_checkpoint = Clock::now() + 5s;
    }
    held = retained_wal_bytes(slot);
  }
  return held;
}

struct RunningDaemon {
  TempDir dir;
  std::string log;
  pid_t pid = -1;
  RunningDaemon(const PgObjects& pg, ConfigOptions o, const std::string& source_lines) {
    log = dir.file("daemon.log");
    pid = testing::spawn_with_output(daemon_argv(write_config(dir, pg, o, source_lines)), log, log);
  }
  ~RunningDaemon() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      testing::wait_exit(pid);
    }
  }
  bool streaming() const { return contains(testing::read_file(log), "streaming slot"); }
  std::string events_text() const { return testing::read_file(dir.file("events.jsonl")); }
};

// One daemon (`source_lines` in [source.postgres]) on an idle table while
// another database writes 1 GiB of WAL: what its slot holds once it drops
// below 64 MiB, or 25 s after the writes (CHECKPOINTs every 5 s). Each case
// runs alone: another daemon's heartbeats, decoded in this database, would
// move this slot too.
int64_t retained_after_a_gigabyte_elsewhere(const std::string& name,
                                            const std::string& source_lines) {
  PgObjects pg(name, "id int PRIMARY KEY, pad text");
  RunningDaemon d(pg, {}, source_lines);
  EXPECT_TRUE(wait_for([&] { return d.streaming(); }, 30s)) << testing::read_file(d.log);
  Connection other = other_database();
  const auto t0 = Clock::now();
  write_wal(other, "wal_filler", 1024 * kMiB);
  const auto ended = Clock::now();
  const int64_t held = wait_retained_below(pg.slot, 64 * kMiB, 25s);
  std::cout << name << ": 1 GiB written in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(ended - t0).count() << " ms; "
            << held / kMiB << " MiB retained "
            << std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - ended).count()
            << " s later\n";
  EXPECT_EQ(d.events_text(), "");
  if (held < 0 || held >= 64 * kMiB) std::cout << testing::read_file(d.log);
  return held;
}

TEST(PostgresFaults, AnIdleDatabaseKeepsLessThan64MbOfAnotherDatabasesGigabyteOfWal) {
  pg_test::require_server();
  const int64_t defaults = retained_after_a_gigabyte_elsewhere("idle_defaults", "");
  EXPECT_GE(defaults, 0);
  EXPECT_LT(defaults, 64 * kMiB);
  // Heartbeats alone move the slot, without the keepalives' walEnd.
  const int64_t heartbeats = retained_after_a_gigabyte_elsewhere(
      "idle_beats", "heartbeat_interval_ms = 2000\nidle_advance = false\n");
  EXPECT_GE(heartbeats, 0);
  EXPECT_LT(heartbeats, 64 * kMiB);
  // With neither, the slot keeps (almost) all of it: the mechanism is what
  // keeps it small.
  EXPECT_GT(retained_after_a_gigabyte_elsewhere(
                "idle_off", "heartbeat_interval_ms = 0\nidle_advance = false\n"),
            900 * kMiB);
}

TEST(PostgresFaults, AFullyFilteredDatabaseUnderLoadKeepsLessThan64MbOfWal) {
  pg_test::require_server();
  PgObjects pg("filtered", "id int, pad text");
  ConfigOptions o;
  o.extra_cdc = "[[filter.rules]]\naction = \"exclude\"\ntable_pattern = \".*\"\n";
  RunningDaemon d(pg, o, "");
  ASSERT_TRUE(wait_for([&] { return d.streaming(); }, 30s)) << testing::read_file(d.log);
  Connection c(pg_test::dsn());
  write_wal(c, pg.table, 512 * kMiB);  // every row decoded, sent and filtered out
  const int64_t held = wait_retained_below(pg.slot, 64 * kMiB, 60s);
  std::cout << "fully filtered: " << held / kMiB << " MiB retained after 512 MiB of WAL\n";
  EXPECT_GE(held, 0);
  EXPECT_LT(held, 64 * kMiB) << testing::read_file(d.log);
  EXPECT_EQ(d.events_text(), "");
}

// --- slot health: a lost or dropped slot -----------------------------------

// Each key's version after applying `events` of `table` in order.
std::map<int64_t, int64_t> applied_state(const std::vector<Event>& events,
                                         const std::string& table) {
  std::map<int64_t, int64_t> state;
  for (const Event& e : events) {
    if (e.table != "public." + table) continue;
    if (e.operation == "DELETE" || e.operation == "TRUNCATE") {
      if (e.operation == "TRUNCATE") state.clear();
      continue;  // the writer deletes nothing
    }
    state[e.id] = e.ver;
  }
  return state;
}

std::map<int64_t, int64_t> table_state(const std::string& table) {
  std::map<int64_t, int64_t> state;
  for (const auto& r : Connection(pg_test::dsn()).query("SELECT id, ver FROM " + table)) {
    state[std::stoll(*r[0])] = std::stoll(*r[1]);
  }
  return state;
}

// ALTER SYSTEM for one test, reset at its end.
struct ServerSetting {
  std::string name;
  ServerSetting(std::string n, const std::string& value) : name(std::move(n)) {
    Connection su = pg_test::superuser();
    su.exec("ALTER SYSTEM SET " + name + " = '" + value + "'");
    su.exec("SELECT pg_reload_conf()");
  }
  ~ServerSetting() {
    try {
      Connection su = pg_test::superuser();
      su.exec("ALTER SYSTEM RESET " + name);
      su.exec("SELECT pg_reload_conf()");
    } catch (const std::exception& e) {
      std::cerr << "resetting " << name << ": " << e.what() << "\n";
    }
  }
};

enum class SlotGone { kInvalidated, kDropped };

// A daemon streams a live writer's changes; the slot is then invalidated
// (max_slot_wal_keep_size passed while the daemon is stopped, then a
// CHECKPOINT) or dropped under it. With "fail" it exits 1 saying so; with
// "recreate" every key ends at the table's version.
void run_slot_gone_test(SlotGone how, const std::string& mode) {
  SCOPED_TRACE(mode);
  pg_test::require_server();
  std::optional<ServerSetting> keep;
  if (how == SlotGone::kInvalidated) keep.emplace("max_slot_wal_keep_size", "32MB");
  PgObjects pg(std::string(how == SlotGone::kDropped ? "dropped_" : "lost_") + mode,
               kVersionedColumns);
  ConfigOptions o;
  o.metrics_port = testing::free_loopback_port();
  RunningDaemon d(pg, o, "on_slot_lost = \"" + mode + "\"\n");
  Writer w(pg.table, 300, 19);
  w.start();
  ASSERT_TRUE(wait_for(
      [&] { return testing::count_complete_lines(d.dir.file("events.jsonl")) > 200; }, 60s))
      << testing::read_file(d.log);
  Connection su = pg_test::superuser();
  if (how == SlotGone::kInvalidated) {
    ASSERT_EQ(kill(d.pid, SIGSTOP), 0);
    Connection c(pg_test::dsn());
    c.exec("CREATE TABLE " + pg.table + "_filler (id int, pad text)");
    bool lost = false;
    for (int round = 0; round < 10 && !lost; ++round) {
      write_wal(c, pg.table + "_filler", 64 * kMiB);
      su.exec("CHECKPOINT");  // invalidation happens here
      lost = wait_for(
          [&] {
            return su.scalar(
                       "SELECT coalesce(wal_status, '') FROM pg_replication_slots WHERE "
                       "slot_name = $1",
                       {pg.slot}) == "lost";
          },
          5s);
    }
    c.exec("DROP TABLE " + pg.table + "_filler");
    ASSERT_EQ(kill(d.pid, SIGCONT), 0);
    ASSERT_TRUE(lost) << "the server did not invalidate slot " << pg.slot;
  } else {
    // An active slot cannot be dropped: end its walsender and drop it
    // before the daemon reconnects.
    bool dropped = false;
    const auto deadline = Clock::now() + 30s;
    while (!dropped && Clock::now() < deadline) {
      su.query(
          "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE "
          "slot_name = $1 AND active_pid IS NOT NULL",
          {pg.slot});
      try {
        su.query("SELECT pg_drop_replication_slot($1)", {pg.slot});
        dropped = true;
      } catch (const pg_test::PgError&) {
        std::this_thread::sleep_for(5ms);  // the daemon was back first
      }
    }
    ASSERT_TRUE(dropped) << "could not drop slot " << pg.slot;
  }
  const std::string what = how == SlotGone::kDropped
                               ? "does not exist (it was dropped)"
                               : "was invalidated by the server (wal_status 'lost'";
  if (mode == "fail") {
    int rc = -1;
    EXPECT_TRUE(wait_for([&] { return has_exited(d.pid, &rc); }, 60s)) << testing::read_file(d.log);
    if (rc != -1) d.pid = -1;
    w.stop();
    EXPECT_EQ(rc, 1);
    const std::string text = testing::read_file(d.log);
    EXPECT_TRUE(contains(text, "replication slot " + pg.slot)) << text;
    EXPECT_TRUE(contains(text, what)) << text;
    EXPECT_TRUE(contains(text, "Refusing to skip them silently (on_slot_lost = \"fail\")")) << text;
    const size_t at = text.find(" error ");
    if (at != std::string::npos) std::cout << text.substr(at, text.find('\n', at) - at) << "\n";
    return;
  }
  // recreate: more changes after the new slot, then everything settles.
  std::this_thread::sleep_for(2s);
  w.stop();
  ASSERT_EQ(w.error(), "");
  const auto expected = table_state(pg.table);
  std::map<int64_t, int64_t> got;
  const bool settled = wait_for(
      [&] {
        got = applied_state(parse_events(testing::read_file(d.dir.file("events.jsonl"))), pg.table);
        return got == expected;
      },
      90s, 500ms);
  size_t differ = 0;
  for (const auto& [k, v] : expected) differ += !got.count(k) || got.at(k) != v;
  EXPECT_TRUE(settled) << differ << " of " << expected.size() << " keys differ from the table\n"
                       << testing::read_file(d.log);
  const std::string text = testing::read_file(d.log);
  EXPECT_TRUE(contains(text, what)) << text;
  EXPECT_TRUE(contains(text, "creating the slot again and snapshotting every table")) << text;
  const auto m = testing::parse_samples(
      testing::http_get("http://127.0.0.1:" + std::to_string(o.metrics_port) + "/metrics").body);
  EXPECT_EQ(m.count("heliosdb_cdc_source_slot_lost_total")
                ? m.at("heliosdb_cdc_source_slot_lost_total")
                : -1,
            1);
  size_t reads = 0;
  for (const Event& e : parse_events(testing::read_file(d.dir.file("events.jsonl")))) {
    reads += e.operation == "READ";
  }
  // The new slot's snapshot: a READ per row, except the rows a streamed
  // change overtook inside their chunk's window.
  EXPECT_GT(reads, 0u);
  EXPECT_LE(reads, expected.size());
}

TEST(PostgresFaults, AnInvalidatedSlotWithFailExitsSayingWhatHappenedAndHowToRecover) {
  run_slot_gone_test(SlotGone::kInvalidated, "fail");
}
TEST(PostgresFaults, AnInvalidatedSlotWithRecreateEndsWithEveryRowsCurrentState) {
  run_slot_gone_test(SlotGone::kInvalidated, "recreate");
}
TEST(PostgresFaults, ASlotDroppedWhileRunningWithFailExitsSayingWhatHappened) {
  run_slot_gone_test(SlotGone::kDropped, "fail");
}
TEST(PostgresFaults, ASlotDroppedWhileRunningWithRecreateEndsWithEveryRowsCurrentState) {
  run_slot_gone_test(SlotGone::kDropped, "recreate");
}

// --- 4. a 2,000,000-row transaction ----------------------------------------

struct OnceRun {
  int exit_code = -1;
  long max_rss_kib = 0;  // getrusage of the child (wait4): its peak RSS
  double seconds = 0;
};

OnceRun run_once_measured(const std::string& config, const std::string& log) {
  const auto start = Clock::now();
  pid_t pid = testing::spawn_with_output(daemon_argv(config, /*once=*/true), log, log);
  int status = 0;
  rusage ru{};
  OnceRun r;
  if (wait4(pid, &status, 0, &ru) != pid) return r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.max_rss_kib = ru.ru_maxrss;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

// The events of the file: one INSERT for each of ids first..first+rows-1,
// sequences unique.
void check_big_transaction_file(const std::string& path, int64_t first, size_t rows,
                                const std::string& table) {
  std::ifstream in(path);
  std::string line;
  std::vector<uint64_t> seqs;
  seqs.reserve(rows);
  std::vector<bool> seen_id(rows, false);
  size_t bad = 0, ids = 0;
  const std::string qualified = "public." + table;
  while (std::getline(in, line)) {
    auto e = parse_event(line);
    if (!e || e->table != qualified || e->operation != "INSERT" || e->id < first ||
        e->id >= first + static_cast<int64_t>(rows)) {
      ++bad;
      continue;
    }
    seqs.push_back(e->sequence);
    if (!seen_id[e->id - first]) {
      seen_id[e->id - first] = true;
      ++ids;
    }
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(seqs.size(), rows);
  EXPECT_EQ(ids, rows);
  std::sort(seqs.begin(), seqs.end());
  EXPECT_EQ(std::adjacent_find(seqs.begin(), seqs.end()), seqs.end()) << "sequences not unique";
}

TEST(PostgresFaults, TwoMillionRowTransactionPeakRssDoesNotGrowWithTheTransaction) {
  pg_test::require_server();
  TempDir dir;
  PgObjects pg("faults_big", "id int PRIMARY KEY, pad text");
  const std::string config = write_config(dir, pg, {});
  const std::string out = dir.file("events.jsonl");
  Connection c(pg_test::dsn());
  // ~100-byte rows: {"id":1234567,"pad":"xxx..."} is 100 bytes of JSON.
  auto one_transaction = [&](int64_t first, size_t rows) {
    c.exec("INSERT INTO " + pg.table +
           " (id, pad) SELECT g, repeat('x', 80) FROM generate_series(" + std::to_string(first) +
           "," + std::to_string(first + static_cast<int64_t>(rows) - 1) + ") g");
  };
  constexpr size_t kSmall = 200000, kBig = 2000000;
  one_transaction(1, kSmall);
  OnceRun small = run_once_measured(config, dir.file("small.log"));
  ASSERT_EQ(small.exit_code, 0) << testing::read_file(dir.file("small.log"));
  check_big_transaction_file(out, 1, kSmall, pg.table);
  ::unlink(out.c_str());

  const auto insert_start = Clock::now();
  one_transaction(kSmall + 1, kBig);
  const double insert_s = std::chrono::duration<double>(Clock::now() - insert_start).count();
  OnceRun big = run_once_measured(config, dir.file("big.log"));
  ASSERT_EQ(big.exit_code, 0) << testing::read_file(dir.file("big.log"));
  check_big_transaction_file(out, kSmall + 1, kBig, pg.table);

  const double small_mib = small.max_rss_kib / 1024.0, big_mib = big.max_rss_kib / 1024.0;
  std::cout << "peak RSS: " << kSmall << "-row transaction " << small_mib << " MiB ("
            << small.seconds << " s), " << kBig << "-row transaction " << big_mib << " MiB ("
            << big.seconds << " s, " << kBig / big.seconds << " events/s; the INSERT took "
            << insert_s << " s)\n";
  // The bound (docs): 64 MiB whatever the transaction's size, and the big
  // one within 1.5x + 8 MiB of the small one.
  EXPECT_LT(big_mib, 64.0);
  EXPECT_LT(big_mib, 1.5 * small_mib + 8.0);
}

}  // namespace
}  // namespace heliosdb::cdc
