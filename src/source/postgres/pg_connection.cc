#include "source/postgres/pg_connection.h"

#include <string_view>

namespace heliosdb::cdc::pg {
namespace {

constexpr const char* kSessionOptions =
    "-c datestyle=ISO -c intervalstyle=postgres -c extra_float_digits=3";

std::string trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  // libpq prefixes multi-line messages with a "FATAL:  " per line: keep
  // them, on one line.
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

std::string describe(PGconn* conn) {
  auto text = [](const char* s) { return s && *s ? std::string(s) : std::string("?"); };
  std::string host = text(PQhost(conn));
  // A Unix socket's directory reads as a host; say so.
  if (!host.empty() && host[0] == '/') host = "socket " + host;
  return host + ":" + text(PQport(conn)) + ", database " + text(PQdb(conn)) + ", user " +
         text(PQuser(conn));
}

// The user's own `options` value in `dsn`, if any (ours are appended).
std::string user_options(const std::string& dsn) {
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &err);
  if (err) PQfreemem(err);
  if (!parsed) return {};
  std::string out;
  for (PQconninfoOption* o = parsed; o->keyword; ++o) {
    if (std::string_view(o->keyword) == "options" && o->val) out = o->val;
  }
  PQconninfoFree(parsed);
  return out;
}

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

Result<std::unique_ptr<PgConnection>> PgConnection::connect(const std::string& dsn, Kind kind) {
  std::string opts = user_options(dsn);
  if (!opts.empty()) opts += ' ';
  opts += kSessionOptions;
  // expand_dbname = 1: the first "dbname" is the user's whole DSN; the
  // keywords after it override its values (ours win for replication).
  const char* keywords[] = {"dbname", "options", "fallback_application_name",
                            kind == Kind::kReplication ? "replication" : nullptr, nullptr};
  const char* values[] = {dsn.c_str(), opts.c_str(), "heliosdb-cdc",
                          kind == Kind::kReplication ? "database" : nullptr, nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  if (!conn) return Status(ErrorCode::kInternal, "libpq: out of memory");
  std::string server = describe(conn);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    const std::string where = "PostgreSQL at " + server;
    if (contains(why, "authentication failed") || contains(why, "no password supplied") ||
        contains(why, "password is not")) {
      return Status(ErrorCode::kPermissionDenied,
                    "authentication failed for " + where + ": " + why +
                        " (check the user and the password: the DSN, ${ENV} in it, PGPASSWORD "
                        "or ~/.pgpass)");
    }
    if (contains(why, "must be superuser or replication role") ||
        contains(why, "permission denied to start WAL sender") ||
        contains(why, "REPLICATION attribute")) {
      return Status(ErrorCode::kPermissionDenied, "the role has no REPLICATION privilege on " +
                                                      where + ": " + why +
                                                      " (grant it: ALTER ROLE <user> REPLICATION)");
    }
    if (contains(why, "pg_hba.conf")) {
      return Status(ErrorCode::kPermissionDenied,
                    "the server refused the connection: " + where + ": " + why +
                        " (a `host replication` line in pg_hba.conf is needed for the "
                        "replication connection)");
    }
    return Status(ErrorCode::kUnavailable, "cannot connect to " + where + ": " + why);
  }
  return std::unique_ptr<PgConnection>(new PgConnection(conn, std::move(server)));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

std::string PgConnection::last_error() const { return trimmed(PQerrorMessage(conn_)); }

Result<PgResult> PgConnection::query_result(const std::string& sql, const std::string& what,
                                            const std::vector<std::string>& params) {
  PGresult* res = nullptr;
  if (params.empty()) {
    res = PQexec(conn_, sql.c_str());
  } else {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.c_str());
    res = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                       nullptr, nullptr, 0);
  }
  PgResult guard(res);
  const ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return failure(res, what);
  return guard;
}

Status PgConnection::failure(const PGresult* res, const std::string& what) const {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state ? state : "";
  std::string why = res ? trimmed(PQresultErrorMessage(res)) : last_error();
  if (why.empty()) why = last_error();
  ErrorCode code = ErrorCode::kFailedPrecondition;
  if (sqlstate == "42501" || sqlstate.rfind("28", 0) == 0) code = ErrorCode::kPermissionDenied;
  if (PQstatus(conn_) != CONNECTION_OK) code = ErrorCode::kUnavailable;
  return Status(code, what + " on PostgreSQL at " + server_ + ": " + why);
}

Result<QueryRows> PgConnection::query(const std::string& sql, const std::string& what,
                                      const std::vector<std::string>& params) {
  auto result = query_result(sql, what, params);
  if (!result) return result.status();
  PGresult* res = result->get();
  QueryRows out;
  const int n = PQntuples(res), cols = PQnfields(res);
  out.rows.reserve(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    auto& row = out.rows.emplace_back();
    row.reserve(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) {
      if (PQgetisnull(res, r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(
            std::string(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c))));
      }
    }
  }
  return out;
}

Status PgConnection::exec(const std::string& sql, const std::string& what,
                          const std::vector<std::string>& params) {
  auto r = query(sql, what, params);
  return r ? Status::ok() : r.status();
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string quote_literal(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

}  // namespace heliosdb::cdc::pg
