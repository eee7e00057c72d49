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
  if (!state_.active()) return;
  const SnapshotTableState* cur = state_.current();
  const bool current = cur && cur->table == rel.table;
  // Every table still to read, not only the current one: a transaction
  // committed now may still be invisible to that table's first chunk.
  if (!current && !state_.has_unfinished(rel.table)) return;
  txn_xid_ = xid;
  for (const TupleData* t : {new_tuple, old_tuple}) {
    if (!t) continue;
    std::string k = key_of(rel, *t);
    if (k.empty()) continue;
    if (current && window_open_) window_keys_.insert(k);
    txn_keys_.push_back(history_key(rel.table, k));
  }
}

std::string SnapshotCoordinator::history_key(const std::string& table, const std::string& key) {
  // Table names hold no NUL byte (PostgreSQL identifiers cannot).
  std::string out;
  out.reserve(table.size() + 1 + key.size());
  out.append(table).push_back('\0');
  out.append(key);
  return out;
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
  SnapshotTableState* cur = state_.current();
  if (!cur) return std::optional<ReadyChunk>();
  estimates_[cur->table] = out.estimated_rows;
  SnapshotChunk& chunk = out.chunk;
  // A transaction whose commit waits (for a synchronous standby) is
  // committed yet still running for the chunk. If the stream delivered its
  // commit while this run recorded history_, its keys drop the chunk's rows
  // below. If not, it committed before this run began recording (another
  // process may have delivered it, before a restart): its keys are unknown,
  // so the chunk is read again once the commit is visible.
  for (uint32_t x : chunk.commit_waiting) {
    if (history_has(x)) continue;
    if (std::find(chunk.running.begin(), chunk.running.end(), x) == chunk.running.end()) continue;
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
  const std::string prefix = history_key(cur->table, {});
  // Every transaction the chunk saw as running whose commit the stream
  // delivered (before the window, too) was committed yet invisible to it:
  // its changes are newer than the chunk's rows.
  for (uint32_t x : chunk.running) {
    auto it = history_.find(x);
    if (it == history_.end()) continue;
    for (const auto& k : it->second) {
      if (k.compare(0, prefix.size(), prefix) == 0) newer.insert(k.substr(prefix.size()));
    }
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
  if (chunk.table_done) spdlog::info("snapshot: {} done ({} rows)", next->table, next->rows);
  return std::optional<ReadyChunk>(std::move(ready));
}

bool SnapshotCoordinator::on_request(const SnapshotRequest& r, Lsn lsn) {
  if (r.slot != o_.slot || lsn <= state_.last_request) return false;
  state_.last_request = lsn;
  if (!state_.active()) {
    // A new snapshot: its own run (and event ids). Commits seen while no
    // snapshot ran were not recorded: the first chunk's running
    // transactions stand for them.
    ++state_.run;
    state_.tables.clear();
    history_.clear();
    txn_keys_.clear();
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

void SnapshotCoordinator::abandon_pending() {
  if (!busy()) return;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return outcome_.has_value(); });
    outcome_.reset();
  }
  pending_id_.clear();
  window_open_ = false;
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
