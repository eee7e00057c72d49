// Snapshots of the PostgreSQL source against the real server (ctest fixture
// postgres_server), through the real `heliosdb-cdc` binary and its file
// sink:
//  - snapshot = "initial_only": one READ per row, equal to the table, in key
//    order, "last" on each table's last row, a composite key paged by row
//    comparison, then exit 0; `snapshot status` agrees;
//  - snapshot = "never": no READ at all;
//  - a writer updating, deleting and inserting while the chunks are read:
//    the events applied per key equal the table afterwards, and the snapshot
//    held only ACCESS SHARE locks and no transaction across chunks;
//  - a transaction committed but still invisible (waiting for a synchronous
//    standby that never answers) does not let a chunk overwrite its change,
//    streamed before the chunk's window; and one committed before the
//    snapshot began (delivered by an earlier run) makes the chunk wait;
//  - kill -9 three times mid-snapshot: every row delivered, at most one
//    chunk read again per kill, the same event ids for the rows read twice;
//  - a table without a primary key: the errors naming the table and
//    snapshot_key, and a valid snapshot_key;
//  - `snapshot request` to a running daemon: that table alone is read again
//    while streaming goes on.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "postgres_cdc_util.h"
#include "postgres_test_util.h"

namespace heliosdb::cdc {
namespace {

using namespace std::chrono_literals;
using pg_test::CdcDaemon;
using pg_test::CdcEvent;
using pg_test::Cleanup;
using pg_test::Connection;
using pg_test::contains;
using pg_test::describe;
using pg_test::of_table;
using Clock = std::chrono::steady_clock;

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

std::vector<std::string> daemon_argv(const CdcDaemon& d, bool once) {
  std::vector<std::string> argv = {testing::cli_path(), "run", "--config", d.config_path()};
  if (once) argv.push_back("--once");
  return argv;
}

// Writes the config and starts `run` (or `run --once`) in the background,
// its output in dir/daemon.log.
pid_t spawn_daemon(const CdcDaemon& d, bool once) {
  testing::write_file(d.config_path(), d.config_text());
  const std::string log = d.dir().file("daemon.log");
  return testing::spawn_with_output(daemon_argv(d, once), log, log);
}

std::string daemon_log(const CdcDaemon& d) {
  return testing::read_file(d.dir().file("daemon.log"));
}

// Waits up to `timeout` for `pid` to exit; its exit code, or -1 (then it is
// killed).
int wait_exit_within(pid_t pid, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(20ms);
  }
  kill(pid, SIGKILL);
  testing::wait_exit(pid);
  return -1;
}

// A table (id int PRIMARY KEY, ver bigint NOT NULL, pad text) with rows
// 1..rows (ver 0), a publication of it and a pgoutput slot made after the
// rows, so the rows reach the daemon only through its snapshot.
struct VersionedTable {
  std::string table, pub, slot;
  VersionedTable(const std::string& prefix, int rows, Cleanup& cleanup)
      : table(pg_test::unique_name(prefix)),
        pub(pg_test::unique_name(prefix + "_pub")),
        slot(pg_test::unique_name(prefix + "_slot")) {
    Connection c(pg_test::dsn());
    c.exec("CREATE TABLE " + table + " (id int PRIMARY KEY, ver bigint NOT NULL, pad text)");
    cleanup.sql.push_back("DROP TABLE IF EXISTS " + table);
    c.exec("INSERT INTO " + table + " SELECT g, 0, 'row ' || g || repeat('.', g % 50) FROM " +
           "generate_series(1, " + std::to_string(rows) + ") g");
    c.exec("CREATE PUBLICATION " + pub + " FOR TABLE " + table);
    cleanup.sql.push_back("DROP PUBLICATION IF EXISTS " + pub);
    c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {slot});
    cleanup.slots.push_back(slot);
  }
  std::string qualified() const { return "public." + table; }
};

// A row as the test compares it: ver and pad by id.
struct Row {
  int64_t ver = 0;
  std::string pad;
  bool operator==(const Row& o) const { return ver == o.ver && pad == o.pad; }
};
using TableState = std::map<int64_t, Row>;

TableState select_all(const std::string& table) {
  TableState out;
  for (const auto& r : Connection(pg_test::dsn()).query("SELECT id, ver, pad FROM " + table)) {
    out[std::stoll(*r[0])] = {std::stoll(*r[1]), r[2].value_or("")};
  }
  return out;
}

Row row_of(const CdcEvent& e) {
  return {e.value_json.get_integer("ver").value_or(-1),
          e.value_json.get_string("pad").value_or("<null>")};
}

int64_t id_of(const CdcEvent& e) { return e.key_json.get_integer("id").value_or(-1); }

// The table's state after applying `events` in order, as a consumer keeping
// the last state per key would: READ, INSERT and UPDATE set the row, DELETE
// removes it.
TableState apply(const std::vector<CdcEvent>& events) {
  TableState state;
  for (const auto& e : events) {
    if (e.operation == "DELETE") {
      state.erase(id_of(e));
    } else if (e.operation == "READ" || e.operation == "INSERT" || e.operation == "UPDATE") {
      state[id_of(e)] = row_of(e);
    } else {
      ADD_FAILURE() << "unexpected event: " << e.line;
    }
  }
  return state;
}

// The ids whose state differs between `want` and `got`, for a failure
// message (at most 10).
std::string differences(const TableState& want, const TableState& got) {
  std::string out;
  size_t n = 0;
  auto note = [&](int64_t id, const std::string& what) {
    if (++n <= 10) out += "\n  id " + std::to_string(id) + ": " + what;
  };
  for (const auto& [id, row] : want) {
    auto it = got.find(id);
    if (it == got.end()) {
      note(id, "missing from the events");
    } else if (!(it->second == row)) {
      note(id, "ver " + std::to_string(it->second.ver) + " from the events, " +
                   std::to_string(row.ver) + " in the table");
    }
  }
  for (const auto& [id, row] : got) {
    if (!want.count(id)) note(id, "in the events, not in the table");
  }
  return std::to_string(n) + " difference(s)" + out;
}

std::vector<CdcEvent> reads_of(const std::vector<CdcEvent>& events) {
  std::vector<CdcEvent> out;
  for (const auto& e : events) {
    if (e.operation == "READ") out.push_back(e);
  }
  return out;
}

std::string snapshot_flag(const CdcEvent& e) {
  const JsonValue* m = e.metadata();
  return m ? m->get_string("snapshot").value_or("<absent>") : "<no metadata>";
}

// `snapshot status --json` of the daemon's config, parsed.
JsonValue status_json(const CdcDaemon& d) {
  auto r = testing::run_cli({"snapshot", "status", "--config", d.config_path(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  auto parsed = parse_json(r.out);
  EXPECT_TRUE(parsed.is_ok()) << r.out;
  return parsed.is_ok() ? std::move(*parsed) : JsonValue();
}

// The status's entry for `table` (phase, rows); phase "<absent>" if none.
std::pair<std::string, int64_t> table_status(const JsonValue& status, const std::string& table) {
  const JsonValue* snap = status.get("snapshot");
  const JsonValue* tables = snap ? snap->get("tables") : nullptr;
  if (tables && tables->is_array()) {
    for (const JsonValue& t : tables->array()) {
      if (t.get_string("table").value_or("") == table) {
        return {t.get_string("phase").value_or(""), t.get_integer("rows").value_or(-1)};
      }
    }
  }
  return {"<absent>", -1};
}

// ---------------------------------------------------------------------------

TEST(PostgresSnapshot, InitialOnlyReadsEveryRowOnceInKeyOrderAndExits) {
  pg_test::require_server();
  Cleanup cleanup;
  VersionedTable t("snap_only", 5000, cleanup);
  // A second table with a composite key: paged by row comparison.
  const std::string comp = pg_test::unique_name("snap_only_comp");
  Connection c(pg_test::dsn());
  c.exec("CREATE TABLE " + comp + " (a int, b text, v text, PRIMARY KEY (a, b))");
  cleanup.sql.push_back("DROP TABLE IF EXISTS " + comp);
  c.exec("INSERT INTO " + comp + " SELECT g / 10, 'k' || (g % 10), 'v' || g FROM " +
         "generate_series(0, 1233) g");
  c.exec("ALTER PUBLICATION " + t.pub + " ADD TABLE " + comp);

  CdcDaemon d(t.slot, t.pub);
  d.set_snapshot("initial_only");
  d.add_source_option("snapshot_chunk_rows = 700");
  const pid_t pid = spawn_daemon(d, /*once=*/false);
  ASSERT_EQ(wait_exit_within(pid, 120s), 0) << daemon_log(d);

  const auto events = d.events();
  for (const auto& e : events) ASSERT_EQ(e.operation, "READ") << e.line;

  // The first table: one READ per row, in key order, equal to the row.
  const auto reads = of_table(events, t.qualified());
  const TableState table = select_all(t.table);
  ASSERT_EQ(reads.size(), table.size());
  std::set<std::string> ids;
  int64_t last_sequence = -1;
  auto expected = table.begin();
  for (size_t i = 0; i < reads.size(); ++i, ++expected) {
    const CdcEvent& e = reads[i];
    ASSERT_EQ(id_of(e), expected->first) << e.line;
    EXPECT_EQ(row_of(e), expected->second) << e.line;
    EXPECT_EQ(e.value_json.get_integer("id"), expected->first) << e.line;
    EXPECT_EQ(e.database, "heliosdb_test");
    EXPECT_FALSE(e.old_value.has_value()) << e.line;
    ASSERT_NE(e.json.get("transaction_id"), nullptr);
    EXPECT_EQ(e.json.get("transaction_id")->type(), JsonValue::Type::kNull) << e.line;
    EXPECT_EQ(snapshot_flag(e), i + 1 == reads.size() ? "last" : "true") << e.line;
    EXPECT_EQ(e.event_id.rfind("evt_heliosdb_test_snap1.", 0), 0u) << e.line;
    ids.insert(e.event_id);
    EXPECT_GT(e.sequence, last_sequence) << e.line;
    last_sequence = e.sequence;
  }
  EXPECT_EQ(ids.size(), reads.size()) << "event ids repeat";

  // The composite-key table: every (a, b) once, in (a, b) order.
  const auto comp_reads = of_table(events, "public." + comp);
  auto rows = c.query("SELECT a, b, v FROM " + comp + " ORDER BY a, b");
  ASSERT_EQ(comp_reads.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const CdcEvent& e = comp_reads[i];
    EXPECT_EQ(e.key_json.get_integer("a"), std::stoll(*rows[i][0])) << e.line;
    EXPECT_EQ(e.key_json.get_string("b"), *rows[i][1]) << e.line;
    EXPECT_EQ(e.value_json.get_string("v"), *rows[i][2]) << e.line;
    EXPECT_EQ(snapshot_flag(e), i + 1 == rows.size() ? "last" : "true") << e.line;
  }
  EXPECT_EQ(events.size(), reads.size() + comp_reads.size());

  const JsonValue status = status_json(d);
  EXPECT_EQ(table_status(status, t.qualified()),
            std::make_pair(std::string("done"), int64_t{5000}));
  EXPECT_EQ(table_status(status, "public." + comp),
            std::make_pair(std::string("done"), int64_t{1234}));

  // A finished snapshot is never started again: the next run reads none.
  c.exec("UPDATE " + t.table + " SET ver = 1 WHERE id = 7");
  d.set_snapshot("initial");
  auto again = d.run_once();
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  const auto after = d.events();
  ASSERT_EQ(after.size(), events.size() + 1);
  EXPECT_EQ(after.back().operation, "UPDATE") << after.back().line;
  EXPECT_EQ(id_of(after.back()), 7);
}

TEST(PostgresSnapshot, NeverReadsNoRowAndStreamsFromTheSlot) {
  pg_test::require_server();
  Cleanup cleanup;
  VersionedTable t("snap_never", 300, cleanup);
  Connection(pg_test::dsn()).exec("INSERT INTO " + t.table + " VALUES (301, 0, 'new')");
  CdcDaemon d(t.slot, t.pub);
  d.set_snapshot("never");
  auto r = d.run_once();
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto events = d.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].operation, "INSERT");
  EXPECT_EQ(id_of(events[0]), 301);
  const JsonValue status = status_json(d);
  ASSERT_NE(status.get("snapshot"), nullptr);
  EXPECT_EQ(status.get("snapshot")->type(), JsonValue::Type::kNull);
}

// What a monitor saw of the snapshot's own session (application_name
// heliosdb-cdc, a client backend, not the walsender) while the chunks were
// read.
struct SessionWatch {
  std::set<std::string> lock_modes;  // its locks on the table
  std::set<std::string> xmins;       // backend_xmin values in a transaction
  double longest_transaction_s = 0;
  size_t samples = 0, in_transaction = 0;
};

TEST(PostgresSnapshot, ConcurrentWritesEndInTheTablesStateWithOnlyAccessShareLocks) {
  pg_test::require_server();
  Cleanup cleanup;
  constexpr int kRows = 60000;
  VersionedTable t("snap_load", kRows, cleanup);
  CdcDaemon d(t.slot, t.pub);
  d.set_snapshot("initial");
  d.add_source_option("snapshot_chunk_rows = 2000");
  // About 6 s of chunks, so the writer and the monitor overlap many.
  d.add_source_option("snapshot_max_rows_per_second = 10000");

  std::atomic<bool> stop{false};
  std::atomic<size_t> writes{0};
  std::string writer_error;
  std::thread writer([&] {
    try {
      Connection w(pg_test::dsn());
      std::mt19937_64 rng(std::random_device{}());
      while (!stop.load()) {
        // Keys across the whole table and beyond it, so chunks still to
        // come, chunks being read and chunks done all see changes.
        const std::string id = std::to_string(1 + rng() % (kRows + 5000));
        switch (rng() % 4) {
          case 0:
            w.exec("DELETE FROM " + t.table + " WHERE id = " + id);
            break;
          case 1:
            w.exec("INSERT INTO " + t.table + " VALUES (" + id + ", 100, 'ins') ON CONFLICT (id) " +
                   "DO UPDATE SET ver = " + t.table + ".ver + 1, pad = 'upsert'");
            break;
          default:
            w.exec("UPDATE " + t.table + " SET ver = ver + 1, pad = 'upd' WHERE id = " + id);
        }
        writes.fetch_add(1);
      }
    } catch (const std::exception& e) {
      writer_error = e.what();
    }
  });
  SessionWatch watch;
  std::thread monitor([&] {
    Connection m = pg_test::superuser();
    const std::string sql =
        "SELECT l.mode, a.xact_start IS NOT NULL, coalesce(extract(epoch FROM clock_timestamp() - "
        "a.xact_start), 0)::float8::text, a.backend_xmin::text FROM pg_stat_activity a LEFT JOIN "
        "pg_locks l ON l.pid = a.pid AND l.relation = '" +
        t.table +
        "'::regclass WHERE a.application_name = 'heliosdb-cdc' AND a.backend_type = 'client "
        "backend' AND a.datname = 'heliosdb_test'";
    while (!stop.load()) {
      for (const auto& r : m.query(sql)) {
        ++watch.samples;
        if (r[0]) watch.lock_modes.insert(*r[0]);
        if (r[1] && *r[1] == "t") {
          ++watch.in_transaction;
          watch.longest_transaction_s = std::max(watch.longest_transaction_s, std::stod(*r[2]));
          if (r[3]) watch.xmins.insert(*r[3]);
        }
      }
    }
  });

  // `run --once` reads the whole snapshot, and the changes up to the
  // server's position at its start.
  const pid_t pid = spawn_daemon(d, /*once=*/true);
  const int rc = wait_exit_within(pid, 300s);
  stop.store(true);
  writer.join();
  monitor.join();
  ASSERT_EQ(rc, 0) << daemon_log(d);
  ASSERT_EQ(writer_error, "");
  // The changes made after the first run's end.
  auto drain = d.run_once();
  ASSERT_EQ(drain.exit_code, 0) << describe(drain);

  const auto events = d.events();
  const auto reads = reads_of(events);
  std::cout << writes.load() << " writes during the snapshot; " << reads.size() << " READs of "
            << kRows << " rows, " << events.size() - reads.size()
            << " changes; monitor: " << watch.samples << " samples, " << watch.in_transaction
            << " in a transaction, " << watch.xmins.size()
            << " distinct xmins, longest transaction " << watch.longest_transaction_s << " s\n";
  EXPECT_GT(writes.load(), 1000u) << "the writer was too slow to test anything";
  // Rows a change touched inside their chunk's window were dropped from it.
  EXPECT_LT(reads.size(), static_cast<size_t>(kRows));
  EXPECT_GT(reads.size(), static_cast<size_t>(kRows) / 2);
  const TableState want = select_all(t.table);
  const TableState got = apply(events);
  EXPECT_TRUE(got == want) << differences(want, got);

  // Only the chunk query's ACCESS SHARE, and a new short transaction per
  // chunk (no snapshot held across chunks).
  EXPECT_GT(watch.in_transaction, 0u) << "the monitor never saw a chunk being read";
  for (const auto& mode : watch.lock_modes) EXPECT_EQ(mode, "AccessShareLock");
  EXPECT_LT(watch.longest_transaction_s, 2.0);
  EXPECT_GE(watch.xmins.size(), 2u) << "one snapshot for several chunks";
}

// Makes every commit wait for a synchronous standby that never answers
// (until release()); reset by the Cleanup even if the test fails.
class HangingStandby {
 public:
  explicit HangingStandby(Cleanup& cleanup) {
    admin_.exec("ALTER SYSTEM SET synchronous_standby_names = 'heliosdb_no_such_standby'");
    cleanup.sql.push_back("SELECT pg_reload_conf()");
    cleanup.sql.push_back("ALTER SYSTEM RESET synchronous_standby_names");
    admin_.scalar("SELECT pg_reload_conf()");
  }
  // Commits waiting for it return.
  void release() {
    admin_.exec("ALTER SYSTEM RESET synchronous_standby_names");
    admin_.scalar("SELECT pg_reload_conf()");
  }
  // Waits until a session running `statement_prefix` waits at commit.
  bool wait_for_waiting_commit(const std::string& statement_prefix) {
    return wait_for(
        [&] {
          return !admin_
                      .query(
                          "SELECT 1 FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND "
                          "starts_with(query, $1)",
                          {statement_prefix})
                      .empty();
        },
        20s);
  }
  Connection& admin() { return admin_; }

 private:
  Connection admin_ = pg_test::superuser();
};

// `statement` run on its own thread, in a session with synchronous_commit
// on: its commit waits for the standby. The destructor releases the standby
// and joins, so no test leaves a session hanging.
class WaitingCommit {
 public:
  WaitingCommit(HangingStandby& standby, const std::string& conninfo, std::string statement)
      : standby_(standby), statement_(std::move(statement)) {
    thread_ = std::thread([this, conninfo] {
      try {
        Connection w(conninfo);
        w.exec("SET synchronous_commit = on");
        w.exec(statement_);
      } catch (const std::exception& e) {
        error_ = e.what();
      }
    });
  }
  ~WaitingCommit() { finish(); }
  // The commit is in the WAL and waits.
  bool waiting() { return standby_.wait_for_waiting_commit(statement_); }
  // Releases the standby and waits for the commit; the session's error, if
  // any.
  std::string finish() {
    if (thread_.joinable()) {
      standby_.release();
      thread_.join();
    }
    return error_;
  }

 private:
  HangingStandby& standby_;
  std::string statement_;
  std::string error_;
  std::thread thread_;
};

// A transaction whose commit is in the WAL but waits for a synchronous
// standby that never answers is still running for every other session: a
// chunk read meanwhile sees the row as it was before it. Its change is
// streamed (logical walsenders do not wait for standbys), ahead of the
// chunk's low watermark; the chunk's row must not come after it.
TEST(PostgresSnapshot, ACommittedButInvisibleChangeIsNotOverwrittenByTheChunk) {
  pg_test::require_server();
  Cleanup cleanup;
  VersionedTable t("snap_invis", 1000, cleanup);
  HangingStandby standby(cleanup);
  WaitingCommit commit(standby, pg_test::dsn("postgres", "heliosdb_test"),
                       "UPDATE " + t.table + " SET ver = 999, pad = 'invisible' WHERE id = 500");
  // The commit record is in the WAL, and the update is not visible.
  ASSERT_TRUE(commit.waiting()) << "the update did not wait";
  ASSERT_EQ(standby.admin().scalar("SELECT ver FROM " + t.table + " WHERE id = 500"), "0");

  CdcDaemon d(t.slot, t.pub);
  d.set_snapshot("initial_only");
  d.add_source_option("snapshot_chunk_rows = 300");
  const pid_t pid = spawn_daemon(d, /*once=*/false);
  const int rc = wait_exit_within(pid, 120s);
  ASSERT_EQ(commit.finish(), "");
  ASSERT_EQ(rc, 0) << daemon_log(d);

  const auto events = d.events();
  const TableState want = select_all(t.table);
  ASSERT_EQ(want.at(500).ver, 999);
  const TableState got = apply(events);
  EXPECT_TRUE(got == want) << differences(want, got);
  size_t reads_of_500 = 0;
  for (const auto& e : reads_of(events)) reads_of_500 += id_of(e) == 500;
  std::string of_500;
  for (const auto& e : events) {
    if (id_of(e) == 500) of_500 += "\n  " + e.line;
  }
  EXPECT_EQ(reads_of_500, 0u) << "the chunk's stale row of id 500 was emitted; its events:"
                              << of_500 << "\nlog:\n"
                              << daemon_log(d);
  EXPECT_EQ(reads_of(events).size(), 999u);
}

// The same transaction, but committed (and delivered by an earlier run)
// before this run's snapshot began: the stream will not show it again, so
// the chunk holding its row waits until the commit is visible.
TEST(PostgresSnapshot, ACommitWaitingSinceBeforeTheSnapshotIsWaitedFor) {
  pg_test::require_server();
  Cleanup cleanup;
  VersionedTable t("snap_wait", 1000, cleanup);
  HangingStandby standby(cleanup);
  // The daemon's role: its own sessions' wait events show to it.
  WaitingCommit commit(standby, pg_test::dsn(),
                       "UPDATE " + t.table + " SET ver = 999, pad = 'waited' WHERE id = 500");
  ASSERT_TRUE(commit.waiting()) << "the update did not wait";

  // Run 1 streams the update (committed in the WAL) and checkpoints past it.
  CdcDaemon d(t.slot, t.pub);
  d.set_snapshot("never");
  d.add_source_option("snapshot_chunk_rows = 300");
  auto first = d.run_once();
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  ASSERT_EQ(d.events().size(), 1u);
  ASSERT_EQ(row_of(d.events()[0]).ver, 999);

  // Run 2 takes a snapshot request while the commit still waits.
  auto req = testing::run_cli(
      {"snapshot", "request", "--config", d.config_path(), "--table", t.qualified()});
  ASSERT_EQ(req.exit_code, 0) << describe(req);
  const pid_t pid = spawn_daemon(d, /*once=*/true);
  ASSERT_TRUE(wait_for([&] { return contains(daemon_log(d), "waits for transaction"); }, 30s))
      << daemon_log(d);
  std::this_thread::sleep_for(1s);
  ASSERT_EQ(waitpid(pid, nullptr, WNOHANG), 0) << "run 2 did not wait:\n" << daemon_log(d);
  ASSERT_EQ(commit.finish(), "");
  ASSERT_EQ(wait_exit_within(pid, 60s), 0) << daemon_log(d);

  const auto events = d.events();
  const TableState want = select_all(t.table);
  const TableState got = apply(events);
  EXPECT_TRUE(got == want) << differences(want, got);
  EXPECT_EQ(reads_of(events).size(), 1000u);
}

TEST(PostgresSnapshot, SigkillThreeTimesResumesFromTheNextChunkWithStableEventIds) {
  pg_test::require_server();
  Cleanup cleanup;
  constexpr int kRows = 20000;
  constexpr int kChunk = 1000;
  constexpr int kKills = 3;
  VersionedTable t("snap_kill", kRows, cleanup);
  CdcDaemon d(t.slot, t.pub);
  d.set_snapshot("initial");
  d.add_source_option("snapshot_chunk_rows = " + std::to_string(kChunk));
  d.add_source_option("snapshot_max_rows_per_second = 4000");
  std::mt19937_64 rng(std::random_device{}());
  std::vector<size_t> lines_at_kill;
  for (int i = 0; i < kKills; ++i) {
    const size_t before = testing::count_complete_lines(d.events_path());
    const pid_t pid = spawn_daemon(d, /*once=*/false);
    ASSERT_TRUE(
        wait_for([&] { return testing::count_complete_lines(d.events_path()) > before; }, 60s))
        << "run " << i << " delivered nothing; log:\n"
        << daemon_log(d);
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1200));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    ASSERT_EQ(testing::wait_exit(pid), 128 + SIGKILL) << daemon_log(d);
    lines_at_kill.push_back(testing::count_complete_lines(d.events_path()));
    ASSERT_LT(lines_at_kill.back(), static_cast<size_t>(kRows)) << "the snapshot ended too soon";
    const auto status = status_json(d);
    EXPECT_EQ(table_status(status, t.qualified()).first, "running");
  }
  auto drain = d.run_once();
  ASSERT_EQ(drain.exit_code, 0) << describe(drain);

  const auto reads = reads_of(d.events());
  std::map<int64_t, std::set<std::string>> ids_by_key;
  for (const auto& e : reads) ids_by_key[id_of(e)].insert(e.event_id);
  std::cout << reads.size() << " READs for " << kRows << " rows; lines at each kill:";
  for (size_t n : lines_at_kill) std::cout << " " << n;
  std::cout << "\n";
  ASSERT_EQ(ids_by_key.size(), static_cast<size_t>(kRows));
  EXPECT_EQ(ids_by_key.begin()->first, 1);
  EXPECT_EQ(ids_by_key.rbegin()->first, kRows);
  for (const auto& [id, ids] : ids_by_key) {
    ASSERT_EQ(ids.size(), 1u) << "id " << id << " was read with different event ids";
  }
  // At most the one unacknowledged chunk again per kill.
  EXPECT_LE(reads.size() - kRows, static_cast<size_t>(kKills * kChunk));
  EXPECT_EQ(table_status(status_json(d), t.qualified()),
            std::make_pair(std::string("done"), int64_t{kRows}));
}

TEST(PostgresSnapshot, ATableWithoutAPrimaryKeyNeedsAValidSnapshotKey) {
  pg_test::require_server();
  Cleanup cleanup;
  const std::string table = pg_test::unique_name("snap_nopk");
  const std::string pub = pg_test::unique_name("snap_nopk_pub");
  const std::string slot = pg_test::unique_name("snap_nopk_slot");
  Connection c(pg_test::dsn());
  c.exec("CREATE TABLE " + table + " (id int, v text)");
  cleanup.sql.push_back("DROP TABLE IF EXISTS " + table);
  c.exec("INSERT INTO " + table + " SELECT g, 'v' || g FROM generate_series(1, 100) g");
  c.exec("CREATE PUBLICATION " + pub + " FOR TABLE " + table);
  cleanup.sql.push_back("DROP PUBLICATION IF EXISTS " + pub);
  c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {slot});
  cleanup.slots.push_back(slot);
  const std::string qualified = "public." + table;

  // Each attempt is a first start (its own checkpoint directory).
  auto attempt = [&](const std::string& key_option) {
    auto d = std::make_unique<CdcDaemon>(slot, pub);
    d->set_snapshot("initial_only");
    if (!key_option.empty()) d->add_source_option(key_option);
    testing::write_file(d->config_path(), d->config_text());
    auto r = testing::run_cli({"run", "--config", d->config_path()});
    return std::make_pair(std::move(d), r);
  };
  auto expect_refusal = [&](const std::string& key_option, const std::string& message) {
    auto [d, r] = attempt(key_option);
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_TRUE(contains(r.err, message)) << "expected: " << message << "\n" << describe(r);
    EXPECT_TRUE(d->events().empty());
  };

  expect_refusal("", "table " + qualified +
                         " has no primary key or replica identity index, so its snapshot has "
                         "nothing to page by");
  expect_refusal("", "snapshot_key = [\"" + qualified + "=<column>\"]");
  expect_refusal("snapshot_key = [\"" + qualified + "=nope\"]",
                 "[source.postgres] snapshot_key: table " + qualified + " has no column nope");
  const std::string key = "snapshot_key = [\"" + qualified + "=id\"]";
  expect_refusal(key, "snapshot_key: column id of " + qualified + " may be NULL");
  c.exec("ALTER TABLE " + table + " ALTER COLUMN id SET NOT NULL");
  expect_refusal(key, "snapshot_key: column id of " + qualified + " has no unique index");
  c.exec("CREATE UNIQUE INDEX ON " + table + " (id)");
  expect_refusal(key, "unless the table has REPLICA IDENTITY FULL");
  c.exec("ALTER TABLE " + table + " REPLICA IDENTITY FULL");

  auto [d, r] = attempt(key);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto reads = reads_of(d->events());
  ASSERT_EQ(reads.size(), 100u);
  for (size_t i = 0; i < reads.size(); ++i) {
    EXPECT_EQ(reads[i].value_json.get_integer("id"), static_cast<int64_t>(i + 1)) << reads[i].line;
    EXPECT_EQ(reads[i].value_json.get_string("v"), "v" + std::to_string(i + 1));
  }
}

TEST(PostgresSnapshot, RequestToARunningDaemonReadsThatTableWhileStreamingGoesOn) {
  pg_test::require_server();
  Cleanup cleanup;
  VersionedTable t("snap_req", 10, cleanup);
  const std::string other = pg_test::unique_name("snap_req_b");
  Connection c(pg_test::dsn());
  c.exec("CREATE TABLE " + other + " (id int PRIMARY KEY, ver bigint NOT NULL, pad text)");
  cleanup.sql.push_back("DROP TABLE IF EXISTS " + other);
  c.exec("INSERT INTO " + other + " SELECT g, 0, 'b' FROM generate_series(1, 2500) g");
  c.exec("ALTER PUBLICATION " + t.pub + " ADD TABLE " + other);

  CdcDaemon d(t.slot, t.pub);
  d.set_snapshot("never");
  d.add_source_option("snapshot_chunk_rows = 1000");
  const pid_t pid = spawn_daemon(d, /*once=*/false);
  auto count = [&](const std::string& op, const std::string& table) {
    size_t n = 0;
    for (const auto& e : d.events()) n += e.operation == op && e.table == table;
    return n;
  };
  // Streaming: an insert arrives.
  c.exec("INSERT INTO " + t.table + " VALUES (11, 0, 'a')");
  ASSERT_TRUE(wait_for([&] { return count("INSERT", t.qualified()) == 1; }, 30s)) << daemon_log(d);

  auto r = testing::run_cli(
      {"snapshot", "request", "--config", d.config_path(), "--table", "public." + other});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  // Streaming goes on while the table is read.
  c.exec("INSERT INTO " + t.table + " VALUES (12, 0, 'a')");
  ASSERT_TRUE(wait_for([&] { return count("READ", "public." + other) >= 2500; }, 60s))
      << daemon_log(d);
  ASSERT_TRUE(wait_for([&] { return count("INSERT", t.qualified()) == 2; }, 30s)) << daemon_log(d);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  ASSERT_EQ(wait_exit_within(pid, 30s), 0) << daemon_log(d);

  const auto reads = reads_of(d.events());
  ASSERT_EQ(reads.size(), 2500u) << "only the requested table, once";
  for (const auto& e : reads) EXPECT_EQ(e.table, "public." + other) << e.line;
  EXPECT_EQ(snapshot_flag(reads.back()), "last");
  EXPECT_EQ(id_of(reads.back()), 2500);
  EXPECT_EQ(table_status(status_json(d), "public." + other),
            std::make_pair(std::string("done"), int64_t{2500}));
}

}  // namespace
}  // namespace heliosdb::cdc
