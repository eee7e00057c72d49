#include "source/postgres/snapshot_coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace heliosdb::cdc::pg {

namespace {

using Clock = std::chrono::steady_clock;

// xid a precedes xid b (32-bit xids wrap around; PostgreSQL's
// TransactionIdPrecedes for normal xids).
bool xid_precedes(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

}  // namespace

SnapshotCoordinator::SnapshotCoordinator(PostgresSourceOptions options, SnapshotState state)
    : o_(std::move(options)), state_(std::move(state)) {
  // Watermarks of an earlier process come again when the stream is read
  // from an older position: the nonce keeps them from matching ours.
  nonce_ = std::random_device{}() ^ (static_cast<uint64_t>(std::random_device{}()) << 32);
  worker_ = std::thread([this] { worker_loop(); });
}

SnapshotCoordinator::~SnapshotCoordinator() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

// --- the worker ---

void SnapshotCoordinator::worker_loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || job_.has_value(); });
    if (stopping_) return;
    Job job = std::move(*job_);
    job_.reset();
    lock.unlock();
    Outcome out = run_job(job);
    lock.lock();
    outcome_ = std::move(out);
    cv_.notify_all();
  }
}

SnapshotCoordinator::Outcome SnapshotCoordinator::run_job(const Job& job) {
  Outcome out;
  auto fail = [&](Status st) {
    // A broken connection is made again for the next job.
    if (reader_ && PQstatus(reader_->connection().raw()) != CONNECTION_OK) reader_.reset();
    if (st.code() == ErrorCode::kUnavailable) reader_.reset();
    out.status = std::move(st);
    return std::move(out);
  };
  if (!reader_) {
    auto r = SnapshotReader::connect(o_);
    if (!r) return fail(r.status());
    reader_ = std::move(*r);
    plan_.reset();
  }
  if (!have_running_at_start_) {
    auto running = reader_->running_xids();
    if (!running) return fail(running.status());
    out.running_at_start = std::move(*running);
  }
  if (!plan_ || plan_->table != job.table) {
    plan_.reset();
    auto p = reader_->plan(job.table);
    if (!p) return fail(p.status());
    plan_ = std::move(*p);
  }
  out.estimated_rows = plan_->estimated_rows;
  auto chunk = reader_->read_chunk(*plan_, job.after, job.id);
  if (!chunk) return fail(chunk.status());
  out.chunk = std::move(*chunk);
  return out;
}

// --- the reader's side ---

Status SnapshotCoordinator::tick() {
  if (busy()) {
    std::unique_lock lock(mu_);
    if (!outcome_ || outcome_->status.is_ok()) return Status::ok();
    Status st = std::move(outcome_->status);
    outcome_.reset();
    lock.unlock();
    SnapshotTableState* cur = state_.current();
    pending_id_.clear();
    window_open_ = false;
    if (st.code() == ErrorCode::kNotFound && cur) {
      spdlog::warn("snapshot: skipping {} ({})", cur->table, st.message());
      cur->phase = SnapshotTableState::Phase::kDone;
      return Status::ok();
    }
    if (st.code() == ErrorCode::kUnavailable) {
      retry_backoff_ = std::min<std::chrono::milliseconds>(
          retry_backoff_ * 2, std::chrono::milliseconds(o_.reconnect_max_backoff_ms));
      next_job_at_ = Clock::now() + retry_backoff_;
      spdlog::warn("snapshot: reading a chunk failed ({}); trying again in {} ms", st.message(),
                   retry_backoff_.count());
      return Status::ok();
    }
    return st.with_context("snapshot");
  }
  SnapshotTableState* cur = state_.current();
  if (!cur || Clock::now() < next_job_at_) return Status::ok();
  if (cur->phase == SnapshotTableState::Phase::kPending) {
    cur->phase = SnapshotTableState::Phase::kRunning;
    spdlog::info("snapshot: reading {} (run {})", cur->table, state_.run);
  }
  if (cur->table != pending_table_) {
    // A new table: the history is about the old one.
    history_.clear();
    txn_keys_.clear();
    pending_table_ = cur->table;
  }
  Job job;
  job.table = cur->table;
  job.after = cur->after;
  job.id = std::to_string(nonce_) + "." + std::to_string(state_.run) + "." +
           std::to_string(++chunk_counter_);
  pending_id_ = job.id;
  window_open_ = false;
  window_truncated_ = false;
  window_keys_.clear();
  {
    std::lock_guard lock(mu_);
    outcome_.reset();
    job_ = std::move(job);
  }
  cv_.notify_all();
  return Status::ok();
}

std::string SnapshotCoordinator::key_of(const CachedRelation& rel, const TupleData& t) const {
  const std::vector<uint32_t> cols = snapshot_key_columns(rel, o_);
  if (cols.empty()) return {};
  std::vector<std::string_view> values;
  for (uint32_t c : cols) {
    if (c >= t.size() || t[c].kind != TupleColumn::Kind::kText) return {};
    values.push_back(t[c].value);
  }
  return snapshot_match_key(values);
}

void SnapshotCoordinator::on_change(const CachedRelation& rel, uint32_t xid,
                                    const TupleData* new_tuple, const TupleData* old_tuple) {
  const SnapshotTableState* cur = state_.current();
  if (!cur || cur->table != rel.table) return;
  txn_xid_ = xid;
  for (const TupleData* t : {new_tuple, old_tuple}) {
    if (!t) continue;
    std::string k = key_of(rel, *t);
    if (k.empty()) continue;
    if (window_open_) window_keys_.insert(k);
    txn_keys_.push_back(std::move(k));
  }
}

void SnapshotCoordinator::on_truncate(const CachedRelation& rel) {
  const SnapshotTableState* cur = state_.current();
  if (cur && cur->table == rel.table && window_open_) window_truncated_ = true;
}

void SnapshotCoordinator::on_commit(uint32_t xid) {
  if (!state_.active()) return;
  // Every commit is remembered (with the keys of the table it changed, if
  // any): a chunk's committed-but-invisible transaction found here is known.
  auto& keys = history_[xid];
  if (txn_xid_ == xid) {
    for (auto& k : txn_keys_) keys.push_back(std::move(k));
  }
  txn_keys_.clear();
  txn_xid_ = 0;
}

bool SnapshotCoordinator::history_has(uint32_t xid) const { return history_.count(xid) != 0; }

void SnapshotCoordinator::prune_history(uint32_t xmin) {
  // Every later chunk's snapshot sees transactions below this xmin as
  // finished: none of them can be invisible to it.
  for (auto it = history_.begin(); it != history_.end();) {
    if (xid_precedes(it->first, xmin)) {
      it = history_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<std::optional<ReadyChunk>> SnapshotCoordinator::on_watermark(const Watermark& w) {
  if (w.slot != o_.slot || w.chunk_id != pending_id_) return std::optional<ReadyChunk>();
  if (!w.high) {
    // Opened once: a resumed stream may send it again.
    window_open_ = true;
    return std::optional<ReadyChunk>();
  }
  Outcome out;
  {
    // The worker writes the high watermark before it encodes the rows.
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return outcome_.has_value(); });
    out = std::move(*outcome_);
    outcome_.reset();
  }
  pending_id_.clear();
  window_open_ = false;
  if (!out.status.is_ok()) {
    // As a failure seen by tick(): put it back for it.
    std::lock_guard lock(mu_);
    outcome_ = std::move(out);
    pending_id_ = w.chunk_id;
    return std::optional<ReadyChunk>();
  }
  retry_backoff_ = std::chrono::milliseconds(100);
  if (!have_running_at_start_) {
    running_at_start_ = std::move(out.running_at_start);
    have_running_at_start_ = true;
  }
  SnapshotTableState* cur = state_.current();
  if (!cur) return std::optional<ReadyChunk>();
  estimates_[cur->table] = out.estimated_rows;
  SnapshotChunk& chunk = out.chunk;

  // A transaction committed before the stream's start may still show as
  // running to the chunk: its changes were never streamed to us, so they
  // cannot be told apart. Read the chunk again once it is visible.
  for (uint32_t x : chunk.committed_invisible) {
    if (history_has(x)) continue;
    if (std::find(running_at_start_.begin(), running_at_start_.end(), x) ==
        running_at_start_.end()) {
      continue;
    }
    next_job_at_ = Clock::now() + std::chrono::milliseconds(100);
    if (Clock::now() - last_wait_warning_ > std::chrono::seconds(10)) {
      last_wait_warning_ = Clock::now();
      spdlog::warn(
          "snapshot: a chunk of {} waits for transaction {}, committed but not yet visible (a "
          "commit waiting for synchronous replication?); reading it again",
          cur->table, x);
    }
    return std::optional<ReadyChunk>();
  }

  std::unordered_set<std::string> newer = std::move(window_keys_);
  window_keys_.clear();
  for (uint32_t x : chunk.committed_invisible) {
    auto it = history_.find(x);
    if (it == history_.end()) continue;
    for (const auto& k : it->second) newer.insert(k);
  }
  ReadyChunk ready;
  ready.table = cur->table;
  ready.table_index = static_cast<size_t>(cur - state_.tables.data());
  ready.read_time_ms = chunk.read_time_ms;
  const size_t read = chunk.rows.size();
  if (!window_truncated_) {
    for (size_t i = 0; i < chunk.rows.size(); ++i) {
      if (newer.count(chunk.match_keys[i])) continue;
      ready.rows.push_back(std::move(chunk.rows[i]));
      ready.match_keys.push_back(std::move(chunk.match_keys[i]));
    }
  }
  window_truncated_ = false;
  ready.last_of_table = chunk.table_done;
  ready.state_after = state_;
  SnapshotTableState* next = ready.state_after.current();
  next->phase =
      chunk.table_done ? SnapshotTableState::Phase::kDone : SnapshotTableState::Phase::kRunning;
  next->rows += ready.rows.size();
  if (!chunk.last_key.empty()) next->after = std::move(chunk.last_key);
  prune_history(chunk.xmin);
  if (o_.snapshot_max_rows_per_second > 0) {
    next_job_at_ =
        Clock::now() + std::chrono::microseconds(read * 1000000 / o_.snapshot_max_rows_per_second);
  }
  if (chunk.table_done) {
    spdlog::info("snapshot: {} done ({} rows)", next->table, next->rows);
    history_.clear();
  }
  return std::optional<ReadyChunk>(std::move(ready));
}

bool SnapshotCoordinator::on_request(const SnapshotRequest& r, Lsn lsn) {
  if (r.slot != o_.slot || lsn <= state_.last_request) return false;
  state_.last_request = lsn;
  if (!state_.active()) {
    // A new snapshot: its own run (and event ids).
    ++state_.run;
    state_.tables.clear();
  }
  for (const std::string& t : r.tables) {
    bool queued = false;
    for (const auto& have : state_.tables) {
      queued |= have.table == t && have.phase == SnapshotTableState::Phase::kPending;
    }
    if (queued) continue;
    SnapshotTableState s;
    s.table = t;
    state_.tables.push_back(std::move(s));
  }
  spdlog::info("snapshot requested (run {}): {}", state_.run, [&] {
    std::string names;
    for (const auto& t : r.tables) names += (names.empty() ? "" : ", ") + t;
    return names;
  }());
  return true;
}

std::vector<SourceProgress::SnapshotTable> SnapshotCoordinator::progress() const {
  std::vector<SourceProgress::SnapshotTable> out;
  for (const auto& t : state_.tables) {
    SourceProgress::SnapshotTable p;
    p.table = t.table;
    p.rows = t.rows;
    auto it = estimates_.find(t.table);
    p.estimated_rows = it == estimates_.end() ? -1 : it->second;
    p.done = t.phase == SnapshotTableState::Phase::kDone;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace heliosdb::cdc::pg
