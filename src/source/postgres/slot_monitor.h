// A thread of the PostgreSQL source, on its own regular connection: it
// writes heartbeats into the WAL, samples the slot every second and
// publishes what SlotHealthJudge makes of it (docs/postgres.md#slot-health).
// Its own thread, so /health and the metrics stay current while a stalled
// sink holds the pipeline's threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "source/postgres/pg_connection.h"
#include "source/postgres/slot_health.h"

namespace heliosdb::cdc::pg {

class SlotMonitor {
 public:
  explicit SlotMonitor(PostgresSourceOptions o);
  ~SlotMonitor();  // stops the thread
  SlotMonitor(const SlotMonitor&) = delete;
  SlotMonitor& operator=(const SlotMonitor&) = delete;

  // Where it publishes, and how it stops the pipeline (ChangeSource::attach).
  // Starts the thread.
  void start(SourceHealthBoard* board, std::function<void(Status)> fail);
  // The flush position the source last reported to the server.
  void set_flushed(Lsn lsn) { flushed_.store(lsn, std::memory_order_relaxed); }
  // A heartbeat of ours arrived on the stream (the reader's thread).
  void on_heartbeat(const Heartbeat& h);
  void count_slot_lost() { slots_lost_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void loop();
  // One round: a heartbeat if due, then a sample. False: the connection
  // failed (made again next round).
  bool round(std::chrono::steady_clock::time_point now);

  PostgresSourceOptions o_;
  SlotHealthJudge judge_;
  SourceHealthBoard* board_ = nullptr;
  std::function<void(Status)> fail_;
  bool failed_ = false;
  std::unique_ptr<PgConnection> conn_;
  std::chrono::steady_clock::time_point next_heartbeat_{};
  std::chrono::steady_clock::time_point last_error_log_{};
  std::atomic<Lsn> flushed_{0};
  std::atomic<int64_t> rtt_micros_{-1};
  std::atomic<uint64_t> slots_lost_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace heliosdb::cdc::pg
