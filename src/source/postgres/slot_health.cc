#include "source/postgres/slot_health.h"

#include <charconv>

namespace heliosdb::cdc::pg {

std::string encode_heartbeat(const Heartbeat& h) {
  return h.slot + " " + std::to_string(h.sent_unix_micros);
}

std::optional<Heartbeat> decode_heartbeat(std::string_view content) {
  const size_t sp = content.find(' ');
  if (sp == std::string_view::npos || sp == 0) return std::nullopt;
  Heartbeat h;
  h.slot.assign(content.substr(0, sp));
  const std::string_view n = content.substr(sp + 1);
  auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), h.sent_unix_micros);
  if (ec != std::errc() || p != n.data() + n.size() || n.empty()) return std::nullopt;
  return h;
}

SlotHealthJudge::Verdict SlotHealthJudge::judge(const SlotSample& s) {
  Verdict v;
  SourceHealth& h = v.health;
  if (!s.slot_exists) {
    h.slot_wal_status = "lost";
    h.problem = "replication slot " + o_.slot + " does not exist";
    h.failing = true;
    return v;
  }
  h.slot_wal_status = s.wal_status;
  if (s.restart_lsn && s.server_lsn >= *s.restart_lsn) {
    h.retained_wal_bytes = static_cast<int64_t>(s.server_lsn - *s.restart_lsn);
  }
  if (s.server_lsn >= s.flushed) h.lag_bytes = static_cast<int64_t>(s.server_lsn - s.flushed);
  if (s.wal_status == "lost") {
    h.problem = "replication slot " + o_.slot +
                " was invalidated by the server (wal_status lost): the WAL it needed is gone";
    h.failing = true;
    return v;
  }

  // A stall: the flush position stands still while the server has more.
  if (!seen_ || s.flushed != last_flushed_ || s.server_lsn <= s.flushed) {
    moved_at_ = s.at;
    last_flushed_ = s.flushed;
  }
  seen_ = true;
  const auto still = s.at - moved_at_;
  if (o_.stall_timeout_s > 0 && still >= std::chrono::seconds(o_.stall_timeout_s)) {
    h.problem = "the flush position " + format_lsn(s.flushed) + " has not moved for " +
                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(still).count()) +
                " s while the server's WAL is at " + format_lsn(s.server_lsn) +
                " (stall_timeout_s = " + std::to_string(o_.stall_timeout_s) +
                "): the sink acknowledges nothing, or the pipeline is stuck";
    h.failing = true;
  }

  if (o_.max_retained_wal_bytes > 0 && h.retained_wal_bytes >= 0 &&
      static_cast<uint64_t>(h.retained_wal_bytes) > o_.max_retained_wal_bytes) {
    const std::string budget = "replication slot " + o_.slot + " holds " +
                               std::to_string(h.retained_wal_bytes) +
                               " bytes of WAL on the server, past max_retained_wal_bytes = " +
                               std::to_string(o_.max_retained_wal_bytes);
    h.problem = h.problem.empty() ? budget : h.problem + "; " + budget;
    if (o_.on_wal_budget_exceeded == "fail") {
      v.fail = Status(ErrorCode::kFailedPrecondition,
                      budget +
                          " (on_wal_budget_exceeded = \"fail\"): stopping before the "
                          "server's disk fills; see why the flush position lags "
                          "(heliosdb_cdc_source_lag_bytes)");
    } else if (!budget_warned_ || s.at - budget_warned_at_ >= std::chrono::minutes(1)) {
      budget_warned_ = true;
      budget_warned_at_ = s.at;
      v.warning = budget;
    }
  }
  return v;
}

}  // namespace heliosdb::cdc::pg
