// One libpq connection to a PostgreSQL server: a regular one (catalog
// queries, slot and publication set-up) or a replication one (the
// walsender: IDENTIFY_SYSTEM, START_REPLICATION). Errors name the server
// as "host:port, database D, user U" and never the password: the DSN is
// handed to libpq and never printed.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::pg {

struct QueryRows {
  std::vector<std::vector<std::optional<std::string>>> rows;
};

struct PgResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
// A result as libpq holds it (PQgetvalue reads it in place).
using PgResult = std::unique_ptr<PGresult, PgResultFree>;

class PgConnection {
 public:
  enum class Kind { kRegular, kReplication };

  // Connects with `dsn` (libpq conninfo or URI). Every connection sets
  // datestyle = ISO, intervalstyle = postgres and extra_float_digits = 3 (as
  // PostgreSQL's walreceiver does), so values print the same whatever the
  // server's defaults; a user's own `options` in the DSN come first.
  // kPermissionDenied for a rejected login or a role without REPLICATION,
  // kUnavailable for a server that cannot be reached; the message names the
  // server and what to do.
  static Result<std::unique_ptr<PgConnection>> connect(const std::string& dsn, Kind kind);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  PGconn* raw() { return conn_; }
  // "127.0.0.1:5432, database app, user cdc".
  const std::string& server() const { return server_; }

  // Runs `sql` (simple query protocol; with `params` the extended one, text
  // parameters $1...). Returns the rows of the last result. A server error
  // is kFailedPrecondition (kPermissionDenied for SQLSTATE class 42501 /
  // 28) with the server's message and, for `what`, what we were doing.
  Result<QueryRows> query(const std::string& sql, const std::string& what,
                          const std::vector<std::string>& params = {});
  // The same, the result as libpq holds it: for results too big to copy
  // row by row into QueryRows (a snapshot chunk), read in place.
  Result<PgResult> query_result(const std::string& sql, const std::string& what,
                                const std::vector<std::string>& params = {});
  // The same for statements without rows.
  Status exec(const std::string& sql, const std::string& what,
              const std::vector<std::string>& params = {});

  // The last libpq error text, trimmed.
  std::string last_error() const;

 private:
  // A failed command's status: its SQLSTATE's kind, the server's message.
  Status failure(const PGresult* res, const std::string& what) const;
  PgConnection(PGconn* conn, std::string server) : conn_(conn), server_(std::move(server)) {}
  PGconn* conn_;
  std::string server_;
};

// `name` as a quoted SQL identifier ("my""table").
std::string quote_identifier(std::string_view name);
// `text` as a quoted SQL string literal ('it''s').
std::string quote_literal(std::string_view text);

}  // namespace heliosdb::cdc::pg
