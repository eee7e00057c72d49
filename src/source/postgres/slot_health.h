// What the slot's state means for /health, the metrics and the WAL budget
// (docs/postgres.md#slot-health), without I/O: SlotMonitor samples the
// server and hands each sample to a SlotHealthJudge.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "heliosdb/cdc/processor.h"
#include "heliosdb/cdc/status.h"
#include "source/postgres/pgoutput.h"
#include "source/postgres/postgres_options.h"

namespace heliosdb::cdc::pg {

inline constexpr std::string_view kHeartbeatPrefix = "heliosdb_cdc.heartbeat";

// A heartbeat's content: the slot it is for and when it was written (µs
// since the Unix epoch), "<slot> <micros>".
struct Heartbeat {
  std::string slot;
  int64_t sent_unix_micros = 0;
};
std::string encode_heartbeat(const Heartbeat& h);
std::optional<Heartbeat> decode_heartbeat(std::string_view content);

// One look at the server.
struct SlotSample {
  std::chrono::steady_clock::time_point at;
  Lsn server_lsn = 0;  // pg_current_wal_lsn()
  bool slot_exists = true;
  std::optional<Lsn> restart_lsn;  // null: the slot holds no WAL (lost)
  std::string wal_status;          // pg_replication_slots.wal_status
  Lsn flushed = 0;                 // the flush position the source last reported
};

class SlotHealthJudge {
 public:
  explicit SlotHealthJudge(const PostgresSourceOptions& o) : o_(o) {}

  struct Verdict {
    SourceHealth health;                 // rtt and slots_lost left to the caller
    std::optional<std::string> warning;  // to log now (at most once a minute each)
    Status fail = Status::ok();          // not ok: the pipeline stops with it
  };
  Verdict judge(const SlotSample& s);

 private:
  PostgresSourceOptions o_;
  bool seen_ = false;
  Lsn last_flushed_ = 0;
  std::chrono::steady_clock::time_point moved_at_{};
  std::chrono::steady_clock::time_point budget_warned_at_{};
  bool budget_warned_ = false;
};

}  // namespace heliosdb::cdc::pg
