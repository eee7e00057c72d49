// Helpers for the tests against the real PostgreSQL 15 server started by
// scripts/services/postgres.sh (ctest fixture postgres_server, label
// `postgres`): where the server is, conninfo strings for the test roles, a
// small libpq connection, unique object names, and the replication-slot
// chores (drop an active slot, read its confirmed flush LSN).
//
// Errors: Connection and the helpers throw PgError carrying the server's
// message (gtest reports an exception escaping a test as a failure with that
// message); require_server() is an ASSERT. Nothing here skips a test.
// Passwords never appear in error messages: connections are described as
// user@host:port/db.
#pragma once

#include <libpq-fe.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#ifndef HELIOSDB_PG_BIN_DIR
#define HELIOSDB_PG_BIN_DIR "/usr/lib/postgresql/15/bin"
#endif

namespace heliosdb::cdc::pg_test {

inline std::string host() {
  const char* h = std::getenv("HELIOSDB_PG_HOST");
  return h && *h ? h : "127.0.0.1";
}

inline int port() {
  const char* p = std::getenv("HELIOSDB_PG_PORT");
  return p && *p ? std::atoi(p) : 15432;
}

inline std::string service_script() {
  const char* s = std::getenv("HELIOSDB_PG_SCRIPT");
  return s && *s ? s : std::string(HELIOSDB_CDC_SOURCE_DIR) + "/scripts/services/postgres.sh";
}

// Runs `postgres.sh <command>` (e.g. "restart", "kill", "start"); its output
// goes to stderr. Returns its exit code.
inline int service(const std::string& command) {
  std::string cmd = service_script() + " " + command + " >&2";
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

// A PostgreSQL program of the server's version (pg_recvlogical, psql, ...).
inline std::string pg_bin(const std::string& program) {
  return std::string(HELIOSDB_PG_BIN_DIR) + "/" + program;
}

// The test roles' passwords, as scripts/services/postgres.sh sets them.
inline std::string password_of(const std::string& role) {
  if (role == "heliosdb_repl") return "heliosdb-repl-secret";
  if (role == "heliosdb_norepl") return "heliosdb-norepl-secret";
  if (role == "postgres") return "heliosdb-postgres-secret";
  return "";
}

// A value quoted for a libpq conninfo string: 'it\'s'.
inline std::string conninfo_quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// Conninfo for `role` on database `db` over TCP with the role's password.
// `extra` is appended as is (e.g. "replication=database").
inline std::string dsn(const std::string& role = "heliosdb_repl",
                       const std::string& db = "heliosdb_test", const std::string& extra = "") {
  std::string s = "host=" + host() + " port=" + std::to_string(port()) +
                  " user=" + conninfo_quote(role) + " dbname=" + conninfo_quote(db) +
                  " sslmode=disable connect_timeout=10 application_name=heliosdb_cdc_test";
  std::string pw = password_of(role);
  if (!pw.empty()) s += " password=" + conninfo_quote(pw);
  if (!extra.empty()) s += " " + extra;
  return s;
}

// The same without the password: for programs run by a test (their argv is
// visible in ps and in failure messages); pair it with write_passfile().
inline std::string dsn_without_password(const std::string& role = "heliosdb_repl",
                                        const std::string& db = "heliosdb_test") {
  return "host=" + host() + " port=" + std::to_string(port()) + " user=" + conninfo_quote(role) +
         " dbname=" + conninfo_quote(db) + " sslmode=disable connect_timeout=10";
}

// Writes a libpq password file (mode 0600) holding the test roles'
// passwords; use it as `passfile=PATH` in a conninfo or PGPASSFILE.
inline void write_passfile(const std::string& path) {
  {
    std::ofstream f(path, std::ios::trunc);
    for (const char* role : {"heliosdb_repl", "heliosdb_norepl", "postgres"}) {
      f << host() << ":" << port() << ":*:" << role << ":" << password_of(role) << "\n";
    }
  }
  ::chmod(path.c_str(), 0600);
}

class PgError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Rows of a result; a NULL is std::nullopt. Values are libpq's text format.
using Rows = std::vector<std::vector<std::optional<std::string>>>;

// One libpq connection (PGconn*), closed on destruction. Move-only. Every
// call throws PgError with the server's message when the server says no.
class Connection {
 public:
  // Connects; throws PgError naming user@host:port/db and libpq's reason.
  explicit Connection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string why = conn_ ? PQerrorMessage(conn_) : "out of memory";
      std::string who = describe();
      PQfinish(conn_);
      conn_ = nullptr;
      throw PgError("connect to " + who + " failed: " + why);
    }
  }
  ~Connection() {
    if (conn_) PQfinish(conn_);
  }
  Connection(Connection&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}
  Connection& operator=(Connection&& other) noexcept {
    if (this != &other) {
      if (conn_) PQfinish(conn_);
      conn_ = std::exchange(other.conn_, nullptr);
    }
    return *this;
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects, or returns nullopt with libpq's message in *error (for the
  // tests of refused connections: wrong password, missing privilege).
  static std::optional<Connection> try_connect(const std::string& conninfo, std::string* error) {
    try {
      return Connection(conninfo);
    } catch (const PgError& e) {
      if (error) *error = e.what();
      return std::nullopt;
    }
  }

  PGconn* raw() const { return conn_; }

  // Runs one or more statements (no result rows wanted).
  void exec(const std::string& sql) { check(PQexec(conn_, sql.c_str()), sql); }

  // Runs one statement and returns its rows.
  Rows query(const std::string& sql) { return rows(check(PQexec(conn_, sql.c_str()), sql)); }

  // The same with $1, $2... bound to `params` (text; never NULL).
  Rows query(const std::string& sql, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.c_str());
    return rows(check(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                   values.data(), nullptr, nullptr, 0),
                      sql));
  }

  // The one value of a one-row, one-column result; throws if there is not
  // exactly one or it is NULL.
  std::string scalar(const std::string& sql, const std::vector<std::string>& params = {}) {
    Rows r = query(sql, params);
    if (r.size() != 1 || r[0].size() != 1) {
      throw PgError("expected one value, got " + std::to_string(r.size()) + " row(s) from: " + sql);
    }
    if (!r[0][0]) throw PgError("expected a value, got NULL from: " + sql);
    return *r[0][0];
  }

  // user@host:port/db (never the password).
  std::string describe() const {
    if (!conn_) return "(no connection)";
    auto str = [](const char* s) { return std::string(s ? s : "?"); };
    return str(PQuser(conn_)) + "@" + str(PQhost(conn_)) + ":" + str(PQport(conn_)) + "/" +
           str(PQdb(conn_));
  }

 private:
  // Owns `res`; returns it if it succeeded, else throws the server's message.
  struct Result {
    explicit Result(PGresult* r) : res(r) {}
    Result(Result&& other) noexcept : res(std::exchange(other.res, nullptr)) {}
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    Result& operator=(Result&&) = delete;
    ~Result() {
      if (res) PQclear(res);
    }
    PGresult* res;
  };

  Rows rows(Result&& r) {
    Rows out;
    int n = PQntuples(r.res), m = PQnfields(r.res);
    out.reserve(n);
    for (int i = 0; i < n; ++i) {
      std::vector<std::optional<std::string>> row;
      row.reserve(m);
      for (int j = 0; j < m; ++j) {
        if (PQgetisnull(r.res, i, j)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(PQgetvalue(r.res, i, j), PQgetlength(r.res, i, j)));
        }
      }
      out.push_back(std::move(row));
    }
    return out;
  }

  Result check(PGresult* res, const std::string& sql) {
    Result r(res);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return r;
    std::string why = res ? PQresultErrorMessage(res) : PQerrorMessage(conn_);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    throw PgError(describe() + ": " + why + " (statement: " + sql.substr(0, 300) + ")");
  }

  PGconn* conn_ = nullptr;
};

// A superuser connection to `db` (for chores the test roles may not do).
inline Connection superuser(const std::string& db = "heliosdb_test") {
  return Connection(dsn("postgres", db));
}

// The server must be there (the ctest fixture starts it) and be the logical
// one. Fails loudly with the reason, never skips.
inline void require_server() {
  std::string error;
  auto c = Connection::try_connect(dsn(), &error);
  ASSERT_TRUE(c.has_value()) << "no PostgreSQL server for heliosdb_repl at " << host() << ":"
                             << port()
                             << "; these tests need the ctest fixture postgres_server "
                                "(scripts/services/postgres.sh start): "
                             << error;
}

// `prefix` plus a random suffix, a valid lowercase identifier (tables,
// publications) and slot name ([a-z0-9_], at most 63 bytes).
inline std::string unique_name(const std::string& prefix) {
  static std::mt19937_64 rng(std::random_device{}());
  static int counter = 0;
  std::string name;
  for (char c : prefix.substr(0, 40)) {
    unsigned char u = static_cast<unsigned char>(c);
    name += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_';
  }
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) name = "t" + name;
  return name + "_" + std::to_string(rng() % 100000000ULL) + "_" + std::to_string(++counter);
}

// Drops replication slot `name` if it exists; a walsender streaming from it
// is terminated first (pg_terminate_backend), then the slot is dropped once
// it is no longer active.
inline void drop_slot_if_exists(const std::string& name) {
  Connection c = superuser();
  const std::string active =
      "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!c.query(active, {name}).empty()) {
    c.query(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
        "WHERE slot_name = $1 AND active_pid IS NOT NULL",
        {name});
    if (std::chrono::steady_clock::now() > deadline) {
      throw PgError("replication slot " + name + " still active 15 s after pg_terminate_backend");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  c.query(
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
      {name});
}

// The slot's confirmed_flush_lsn as text ("0/16B3748"); throws if the slot
// does not exist or has none (a physical slot).
inline std::string confirmed_flush_lsn(const std::string& slot) {
  return superuser().scalar(
      "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", {slot});
}

// "X/Y" (pg_lsn text) as a 64-bit position; throws on anything else.
inline uint64_t parse_lsn(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size()) {
    throw PgError("not an LSN: '" + text + "'");
  }
  size_t n1 = 0, n2 = 0;
  uint64_t hi = std::stoull(text.substr(0, slash), &n1, 16);
  uint64_t lo = std::stoull(text.substr(slash + 1), &n2, 16);
  if (n1 != slash || n2 != text.size() - slash - 1 || hi > 0xFFFFFFFFULL || lo > 0xFFFFFFFFULL) {
    throw PgError("not an LSN: '" + text + "'");
  }
  return (hi << 32) | lo;
}

// pg_current_wal_lsn() as text.
inline std::string current_wal_lsn() {
  return superuser().scalar("SELECT pg_current_wal_lsn()::text");
}

}  // namespace heliosdb::cdc::pg_test
