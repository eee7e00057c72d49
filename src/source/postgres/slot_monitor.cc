#include "source/postgres/slot_monitor.h"

#include <spdlog/spdlog.h>

namespace heliosdb::cdc::pg {
namespace {

using Clock = std::chrono::steady_clock;

int64_t unix_micros_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SlotMonitor::SlotMonitor(PostgresSourceOptions o) : o_(std::move(o)), judge_(o_) {}

SlotMonitor::~SlotMonitor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SlotMonitor::start(SourceHealthBoard* board, std::function<void(Status)> fail) {
  board_ = board;
  fail_ = std::move(fail);
  thread_ = std::thread([this] { loop(); });
}

void SlotMonitor::on_heartbeat(const Heartbeat& h) {
  const int64_t rtt = unix_micros_now() - h.sent_unix_micros;
  // A heartbeat of an earlier process, read again after a restart, says
  // nothing of this path.
  if (rtt >= 0 && rtt < int64_t{3600} * 1000000) {
    rtt_micros_.store(rtt, std::memory_order_relaxed);
  }
}

void SlotMonitor::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    if (!round(Clock::now())) conn_.reset();
    lock.lock();
    cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
  }
}

bool SlotMonitor::round(Clock::time_point now) {
  auto log_error = [&](const Status& st) {
    // A server away is the stream's to report; once a minute here.
    if (now - last_error_log_ >= std::chrono::minutes(1)) {
      last_error_log_ = now;
      spdlog::warn("slot health of {}: {}", o_.slot, st.message());
    }
    return false;
  };
  if (!conn_) {
    auto c = PgConnection::connect(o_.dsn, PgConnection::Kind::kRegular);
    if (!c) return log_error(c.status());
    conn_ = std::move(*c);
    // Heartbeats carry no data: they must not wait for a standby.
    Status st = conn_->exec("SET synchronous_commit = local", "setting up the slot monitor");
    if (!st.is_ok()) return log_error(st);
  }
  // pgoutput sends logical messages from PostgreSQL 14 on.
  if (o_.heartbeat_interval_ms > 0 && now >= next_heartbeat_ &&
      PQserverVersion(conn_->raw()) >= 140000) {
    next_heartbeat_ = now + std::chrono::milliseconds(o_.heartbeat_interval_ms);
    // Not flushed here: the WAL writer flushes it within wal_writer_delay
    // (200 ms by default), which the round-trip time then includes.
    Status st = conn_->exec(
        "SELECT pg_logical_emit_message(false, $1, $2)", "writing a heartbeat for slot " + o_.slot,
        {std::string(kHeartbeatPrefix), encode_heartbeat({o_.slot, unix_micros_now()})});
    if (!st.is_ok()) return log_error(st);
  }
  auto r = conn_->query(
      "SELECT pg_current_wal_lsn()::text, s.restart_lsn::text, s.wal_status, s.slot_name IS NOT "
      "NULL FROM (SELECT 1) AS one LEFT JOIN pg_replication_slots AS s ON s.slot_name = $1",
      "sampling replication slot " + o_.slot, {o_.slot});
  if (!r) return log_error(r.status());
  if (r->rows.empty()) return true;
  const auto& row = r->rows[0];
  SlotSample s;
  s.at = now;
  s.flushed = flushed_.load(std::memory_order_relaxed);
  if (row[0]) {
    if (auto lsn = parse_lsn(*row[0])) s.server_lsn = *lsn;
  }
  if (row[1]) s.restart_lsn = parse_lsn(*row[1]);
  s.wal_status = row[2] ? *row[2] : "";
  s.slot_exists = row[3] && *row[3] == "t";
  SlotHealthJudge::Verdict v = judge_.judge(s);
  v.health.slots_lost = slots_lost_.load(std::memory_order_relaxed);
  const int64_t rtt = rtt_micros_.load(std::memory_order_relaxed);
  if (rtt >= 0) v.health.heartbeat_rtt_seconds = static_cast<double>(rtt) / 1e6;
  if (v.warning) spdlog::warn("{}", *v.warning);
  if (board_) board_->publish(v.health);
  if (!v.fail.is_ok() && !failed_ && fail_) {
    failed_ = true;
    spdlog::error("{}", v.fail.message());
    fail_(v.fail);
  }
  return true;
}

}  // namespace heliosdb::cdc::pg
