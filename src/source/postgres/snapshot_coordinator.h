// The replication stream's side of a snapshot: which chunk is read next,
// which streamed changes fall between its watermarks, and what of it is
// left to deliver (snapshot_reader.h describes the method).
//
// The source's reader thread calls every method; one worker thread of its
// own reads chunks (SnapshotReader) on a regular connection, one at a time,
// as the coordinator asks.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "source/postgres/pgoutput.h"
#include "source/postgres/postgres_options.h"
#include "source/postgres/snapshot_reader.h"
#include "source/postgres/snapshot_state.h"
#include "source/source.h"

namespace heliosdb::cdc::pg {

// A chunk whose rows go out now, at its high watermark.
struct ReadyChunk {
  std::string table;
  // The table's place in the snapshot's list: part of the rows' event ids,
  // so a table requested twice in one run gets new ids the second time.
  size_t table_index = 0;
  std::vector<EncodedRow> rows;         // what is left after the window's changes
  std::vector<std::string> match_keys;  // of each row (for event ids)
  bool last_of_table = false;           // the last row is the table's last
  int64_t read_time_ms = 0;
  SnapshotState state_after;  // the progress once every row is delivered
};

class SnapshotCoordinator {
 public:
  SnapshotCoordinator(PostgresSourceOptions options, SnapshotState state);
  ~SnapshotCoordinator();

  const SnapshotState& state() const { return state_; }
  // A chunk is being read or waits for its high watermark.
  bool busy() const { return !pending_id_.empty(); }
  bool active() const { return state_.active() || busy(); }

  // Asks for the next chunk when none is out and the rate allows; hands on
  // a worker failure (a table that is gone is skipped with a warning, a lost
  // connection retried; anything else stops the source).
  Status tick();

  // A change the stream delivered, for the window and the history.
  void on_change(const CachedRelation& rel, uint32_t xid, const TupleData* new_tuple,
                 const TupleData* old_tuple);
  void on_truncate(const CachedRelation& rel);
  void on_commit(uint32_t xid);
  // A watermark of ours: at the high one, the chunk to deliver (nullopt: a
  // watermark of another run, or the chunk must be read again).
  Result<std::optional<ReadyChunk>> on_watermark(const Watermark& w);
  // A snapshot request for this slot at `lsn`: true if it changed the state
  // (the caller records it at that position).
  bool on_request(const SnapshotRequest& r, Lsn lsn);
  // The slot was made again (on_slot_lost = "recreate"): a chunk out
  // waits for watermarks the new slot never sends. Drops it (after the
  // worker is done with it); its table goes on from the same place.
  void abandon_pending();
  // The state is delivered up to `delivered` (ReadyChunk::state_after).
  void delivered(SnapshotState delivered) { state_ = std::move(delivered); }

  // For progress(): the current snapshot's tables.
  std::vector<SourceProgress::SnapshotTable> progress() const;

 private:
  struct Job {
    std::string table;
    std::vector<std::string> after;
    std::string id;
  };
  struct Outcome {
    Status status = Status::ok();
    SnapshotChunk chunk;
    std::vector<uint32_t> chunk_key;
    int64_t estimated_rows = -1;
  };

  void worker_loop();
  Outcome run_job(const Job& job);
  std::string key_of(const CachedRelation& rel, const TupleData& t) const;
  bool history_has(uint32_t xid) const;
  // A history entry's key: the table's name, NUL, the match key.
  static std::string history_key(const std::string& table, const std::string& key);
  void prune_history(uint32_t xmin);

  PostgresSourceOptions o_;
  SnapshotState state_;
  uint64_t nonce_;
  uint64_t chunk_counter_ = 0;

  // The chunk out: its id, and its window.
  std::string pending_id_;
  std::vector<uint32_t> chunk_key_;  // the table's chunk key, once planned
  bool window_open_ = false;
  bool window_truncated_ = false;
  std::unordered_set<std::string> window_keys_;
  // Transactions seen committing while a snapshot runs: xid -> the keys
  // (history_key) they changed in the tables still to read (possibly
  // none). Pruned below each chunk's xmin, cleared when a new run starts.
  std::unordered_map<uint32_t, std::vector<std::string>> history_;
  std::vector<std::string> txn_keys_;
  uint32_t txn_xid_ = 0;
  std::chrono::steady_clock::time_point next_job_at_{};
  std::chrono::milliseconds retry_backoff_{100};
  std::unordered_map<std::string, int64_t> estimates_;
  std::chrono::steady_clock::time_point last_wait_warning_{};

  // Worker hand-off.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Job> job_;
  std::optional<Outcome> outcome_;
  bool stopping_ = false;
  std::unique_ptr<SnapshotReader> reader_;  // the worker's
  std::optional<SnapshotTablePlan> plan_;   // the worker's
  std::thread worker_;
};

}  // namespace heliosdb::cdc::pg
