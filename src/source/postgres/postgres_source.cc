#include "source/postgres/postgres_source.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "source/postgres/pg_catalog.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/pg_types.h"
#include "source/postgres/relation_cache.h"
#include "source/postgres/row_encoder.h"
#include "source/postgres/slot_loss.h"
#include "source/postgres/slot_monitor.h"
#include "source/postgres/snapshot_coordinator.h"
#include "source/postgres/snapshot_reader.h"

namespace heliosdb::cdc::pg {
namespace {

using Clock = std::chrono::steady_clock;

int64_t now_pg_micros() {
  const auto unix_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  return unix_micros - kPostgresEpochUnixMicros;
}

// The connections of one stream: the walsender's and a regular one for
// catalog queries (a replication connection in COPY mode runs no SQL).
struct Connections {
  std::unique_ptr<PgConnection> catalog;
  std::unique_ptr<PgConnection> replication;
};

Result<Connections> connect_both(const PostgresSourceOptions& o) {
  Connections c;
  auto catalog = PgConnection::connect(o.dsn, PgConnection::Kind::kRegular);
  if (!catalog) return catalog.status();
  c.catalog = std::move(*catalog);
  auto repl = PgConnection::connect(o.dsn, PgConnection::Kind::kReplication);
  if (!repl) return repl.status();
  c.replication = std::move(*repl);
  return c;
}

// The slot checks at open: ours to read (pgoutput, not in use). Whether
// it still holds the checkpoint's changes is slot_loss_of's to say.
Status check_slot(const SlotState& slot, const PostgresSourceOptions& o,
                  const std::string& server) {
  const std::string where = "replication slot " + o.slot + " on PostgreSQL at " + server;
  if (slot.plugin != "pgoutput") {
    return Status(ErrorCode::kFailedPrecondition,
                  where + " uses plugin '" + slot.plugin +
                      "'; the daemon reads pgoutput slots: set [source.postgres] slot to another "
                      "name (it is created) or drop this one");
  }
  if (slot.active) {
    return Status(ErrorCode::kFailedPrecondition,
                  where + " is in use by another connection" +
                      (slot.active_pid ? " (pid " + std::to_string(*slot.active_pid) + ")" : "") +
                      ": another heliosdb-cdc or replication client is reading it; stop it or use "
                      "another slot");
  }
  return Status::ok();
}

// Logical decoding messages (pgoutput's `messages` option, PostgreSQL 14
// and later) carry snapshot watermarks and requests.
bool server_sends_messages(PgConnection& conn) { return PQserverVersion(conn.raw()) >= 140000; }

// `invalidated` (if given) says whether the server refused the slot as
// invalidated.
Status start_replication(PgConnection& repl, const PostgresSourceOptions& o, Lsn from,
                         bool* invalidated = nullptr) {
  const std::string sql = "START_REPLICATION SLOT " + quote_identifier(o.slot) + " LOGICAL " +
                          format_lsn(from) + " (proto_version '1', publication_names " +
                          quote_literal(quote_identifier(o.publication)) +
                          (server_sends_messages(repl) ? ", messages 'true'" : "") + ")";
  PGresult* res = PQexec(repl.raw(), sql.c_str());
  const ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  std::string why = res ? PQresultErrorMessage(res) : repl.last_error();
  const char* sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  // 55000 "cannot read from logical replication slot": invalidated.
  if (invalidated) *invalidated = sqlstate && std::string_view(sqlstate) == "55000";
  PQclear(res);
  if (st == PGRES_COPY_BOTH) return Status::ok();
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  ErrorCode code = ErrorCode::kFailedPrecondition;
  if (PQstatus(repl.raw()) != CONNECTION_OK) code = ErrorCode::kUnavailable;
  return Status(code, "START_REPLICATION of slot " + o.slot + " at " + format_lsn(from) +
                          " on PostgreSQL at " + repl.server() + ": " + why);
}

// Snapshot progress by position, shared by the source (which records what
// each chunk's delivery brings) and the checkpoint codec (which writes the
// progress a checkpointed position has reached beside it).
class SnapshotLedger {
 public:
  // The progress at the start (resumed, or planned).
  void start(SnapshotState s) {
    std::lock_guard lock(mu_);
    base_ = std::move(s);
    entries_.clear();
  }
  // `s` is the progress once the transaction (or chunk) committing at
  // `commit` is wholly delivered.
  void record(Lsn commit, SnapshotState s) {
    std::lock_guard lock(mu_);
    entries_.emplace_back(commit, std::move(s));
  }
  // The progress `p` covers. Positions come in increasing order.
  SnapshotState for_position(const DeliveryPosition& p) {
    std::lock_guard lock(mu_);
    while (!entries_.empty() && p.covers(entries_.front().first, entries_.front().first)) {
      base_ = std::move(entries_.front().second);
      entries_.pop_front();
    }
    return base_;
  }
  // What the last checkpoint decoded held, for open().
  void remember_decoded(SnapshotState s) {
    std::lock_guard lock(mu_);
    decoded_ = std::move(s);
  }
  SnapshotState decoded() const {
    std::lock_guard lock(mu_);
    return decoded_;
  }

 private:
  mutable std::mutex mu_;
  SnapshotState base_;
  std::deque<std::pair<Lsn, SnapshotState>> entries_;
  SnapshotState decoded_;
};

class PostgresPositionCodec final : public SourcePositionCodec {
 public:
  PostgresPositionCodec(std::string id, std::string description,
                        std::shared_ptr<SnapshotLedger> ledger)
      : id_(std::move(id)), description_(std::move(description)), ledger_(std::move(ledger)) {}
  std::string_view source_type() const override { return kPostgresSourceType; }
  const std::string& source_id() const override { return id_; }
  std::string description() const override { return description_; }
  std::string encode(const DeliveryPosition& p) const override {
    return encode_postgres_position(p, ledger_->for_position(p));
  }
  Result<DeliveryPosition> decode(std::string_view bytes) const override {
    auto c = decode_postgres_checkpoint(bytes);
    if (!c) return c.status();
    ledger_->remember_decoded(c->snapshot);
    return c->position;
  }

 private:
  std::string id_;
  std::string description_;
  std::shared_ptr<SnapshotLedger> ledger_;
};

// `v` as 16 lowercase hex digits (what "%016llx" prints, without
// snprintf's cost once per snapshot row).
void append_hex64(std::string& out, uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[16];
  for (int i = 15; i >= 0; --i, v >>= 4) buf[i] = kHex[v & 0xf];
  out.append(buf, sizeof buf);
}

// FNV-1a: a stable 64-bit digest for snapshot event ids (not a security
// boundary: ids only need to differ between rows of one snapshot).
uint64_t fnv1a64(std::string_view a, std::string_view b) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(a);
  mix(std::string_view("\0", 1));
  mix(b);
  return h;
}

class PostgresChangeSource final : public ChangeSource {
  static constexpr int64_t kInTransactionWaitUs = 10000;

 public:
  PostgresChangeSource(PostgresSourceOptions options, Connections conns, Lsn start, Lsn target,
                       std::string checkpoint_file, bool has_checkpoint,
                       std::shared_ptr<SnapshotLedger> ledger,
                       std::unique_ptr<SnapshotCoordinator> snapshots, uint64_t slots_lost)
      : announce_start_(!has_checkpoint && start > 0),
        ledger_(std::move(ledger)),
        snapshots_(std::move(snapshots)),
        o_(std::move(options)),
        conns_(std::move(conns)),
        encoder_(toast_policy(o_)),
        checkpoint_file_(std::move(checkpoint_file)),
        last_end_(start),
        target_(target),
        flushed_(start),
        reached_target_(start >= target) {
    server_ = conns_.catalog->server();
    monitor_ = std::make_unique<SlotMonitor>(o_);
    monitor_->set_flushed(flushed_);
    for (uint64_t i = 0; i < slots_lost; ++i) monitor_->count_slot_lost();
    if (snapshots_) publish_snapshot_progress();
    connected_ = true;
    last_status_ = Clock::now();
    // The slot knows where we stand; answer at once so the server's view
    // (pg_stat_replication) shows us.
    send_status();
    status_thread_ = std::thread([this] { status_loop(); });
  }

  ~PostgresChangeSource() override {
    monitor_.reset();    // stops its thread
    snapshots_.reset();  // stops its worker
    {
      std::lock_guard lock(conn_mu_);
      stopping_ = true;
    }
    status_cv_.notify_all();
    status_thread_.join();
    // The last checkpoint's position, so the slot releases what it covers.
    if (connected_ && !send_failed_ && send_status()) {
      PQputCopyEnd(conns_.replication->raw(), nullptr);
      PQflush(conns_.replication->raw());
    }
  }

  // The reader holds conn_mu_ while it uses the replication connection and
  // releases it while the pipeline handles what it read (the handler may
  // block for as long as the sink stalls): the status thread then keeps
  // the server answered.
  Result<SourceReadStatus> read(TransactionHandler& handler, size_t max_entries) override {
    std::unique_lock lock(conn_mu_);
    if (send_failed_) {
      lost("sending a status update: " + send_error_);
      return SourceReadStatus::kWaiting;
    }
    if (!connected_) {
      HELIOSDB_RETURN_IF_ERROR(try_reconnect());
      if (!connected_) return SourceReadStatus::kWaiting;
    }
    if (announce_start_) {
      // Without a checkpoint the start (the slot's position) goes into one
      // at once, even if nothing comes: a slot dropped and created again
      // before the first change is then a gap the next run sees, not a
      // silent new start.
      announce_start_ = false;
      CommitInfo info;
      info.position_only = true;
      info.commit_sequence = last_end_ - 1;
      info.restart_during = last_end_;
      info.restart_after = last_end_;
      info.database = o_.database;
      lock.unlock();
      HELIOSDB_RETURN_IF_ERROR(handler.on_commit(info));
      lock.lock();
      last_commit_position_ = info.commit_sequence;
    }
    if (snapshots_) {
      lock.unlock();
      HELIOSDB_RETURN_IF_ERROR(snapshots_->tick());
      lock.lock();
    }
    int64_t wait_budget_us = kInTransactionWaitUs;
    for (size_t n = 0; n < max_entries; ++n) {
      maybe_send_status();
      if (send_failed_) {
        lost("sending a status update: " + send_error_);
        return SourceReadStatus::kWaiting;
      }
      char* buf = nullptr;
      int len = PQgetCopyData(conns_.replication->raw(), &buf, 1);
      if (len == 0) {
        if (!PQconsumeInput(conns_.replication->raw())) {
          lost("reading: " + conns_.replication->last_error());
          return SourceReadStatus::kWaiting;
        }
        len = PQgetCopyData(conns_.replication->raw(), &buf, 1);
        if (len == 0 && in_txn_ && wait_budget_us > 0) {
          // Inside a transaction its remaining changes are on their way
          // (pgoutput v1 sends committed transactions only): wait for them
          // here, up to kInTransactionWaitUs per call, rather than hand the
          // sink a partial batch each time the reader catches up with the
          // socket (a batch of ~20 events and three thread wake-ups every
          // ~20 events: bench/postgres_bench.sh, docs/performance.md).
          const auto t0 = Clock::now();
          pollfd p{PQsocket(conns_.replication->raw()), POLLIN, 0};
          if (p.fd >= 0) ::poll(&p, 1, static_cast<int>((wait_budget_us + 999) / 1000));
          wait_budget_us -= std::max<int64_t>(
              1, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
          if (!PQconsumeInput(conns_.replication->raw())) {
            lost("reading: " + conns_.replication->last_error());
            return SourceReadStatus::kWaiting;
          }
          len = PQgetCopyData(conns_.replication->raw(), &buf, 1);
        }
        if (len == 0) return caught_up_status();
      }
      if (len < 0) {
        lost(len == -1 ? std::string("the server ended the replication stream")
                       : "reading: " + conns_.replication->last_error());
        return SourceReadStatus::kWaiting;
      }
      std::unique_ptr<char, decltype(&PQfreemem)> guard(buf, PQfreemem);
      lock.unlock();
      Status st = handle_copy_data(std::string_view(buf, static_cast<size_t>(len)), handler);
      lock.lock();
      if (!st.is_ok()) return st;
      if (send_failed_) {
        lost("sending a status update: " + send_error_);
        return SourceReadStatus::kWaiting;
      }
      if (reply_due_) {
        reply_due_ = false;
        if (!send_status()) return SourceReadStatus::kWaiting;
      }
    }
    return SourceReadStatus::kMore;
  }

  void wait_for_data(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(conn_mu_);
    if (!connected_) {
      const auto now = Clock::now();
      if (next_attempt_ > now) {
        lock.unlock();
        std::this_thread::sleep_for(std::min<Clock::duration>(timeout, next_attempt_ - now));
      }
      return;
    }
    // Wake for the next status update too.
    const auto until_status =
        std::chrono::duration_cast<std::chrono::milliseconds>(
            last_status_ + std::chrono::milliseconds(o_.status_interval_ms) - Clock::now())
            .count();
    const int ms = static_cast<int>(
        std::clamp<int64_t>(std::min<int64_t>(timeout.count(), until_status), 0, 60000));
    pollfd p{PQsocket(conns_.replication->raw()), POLLIN, 0};
    if (p.fd >= 0) ::poll(&p, 1, ms);
    if (!send_failed_) maybe_send_status();
  }

  SourceProgress progress() const override {
    SourceProgress p;
    p.last_position = last_commit_lsn_;
    p.reconnects = reconnects_;
    std::lock_guard lock(progress_mu_);
    p.snapshot_running = snapshot_running_;
    p.snapshot_tables = snapshot_tables_;
    return p;
  }

  std::string description() const override {
    return "PostgreSQL slot " + o_.slot + " at " + server_;
  }

  void attach(SourceHealthBoard* board, std::function<void(Status)> fail) override {
    monitor_->start(board, std::move(fail));
  }

  void on_checkpointed(const DeliveryPosition& position) override {
    // Only whole transactions are confirmed: restart_sequence is the end
    // LSN of the last one the checkpoint holds in full.
    Lsn cur = durable_.load(std::memory_order_relaxed);
    while (position.restart_sequence > cur &&
           !durable_.compare_exchange_weak(cur, position.restart_sequence)) {
    }
  }

 private:
  static UnchangedToastPolicy toast_policy(const PostgresSourceOptions& o) {
    UnchangedToastPolicy p;
    p.mode = o.unchanged_toast == "omit" ? UnchangedToastPolicy::Mode::kOmit
                                         : UnchangedToastPolicy::Mode::kMarker;
    p.marker = o.unchanged_toast_marker;
    return p;
  }

  SourceReadStatus caught_up_status() const {
    // `run --once` (and snapshot = "initial_only") also waits for the
    // snapshot to be read.
    const bool snapshot_left = snapshots_ && snapshots_->active();
    return reached_target_ && !snapshot_left ? SourceReadStatus::kCaughtUp
                                             : SourceReadStatus::kWaiting;
  }

  // --- snapshots ---

  void publish_snapshot_progress() {
    auto tables = snapshots_->progress();
    std::lock_guard lock(progress_mu_);
    snapshot_running_ = snapshots_->active();
    snapshot_tables_ = std::move(tables);
  }

  Status on_snapshot_message(const LogicalMessage& m, TransactionHandler& handler) {
    if (m.prefix == kWatermarkPrefix) {
      auto w = decode_watermark(m.content);
      if (!w) return Status::ok();  // not ours to judge: another version's
      auto ready = snapshots_->on_watermark(*w);
      if (!ready) return ready.status();
      if (*ready) {
        // The next chunk is read (on the worker's connection) while this
        // one goes through the pipeline here: the two overlap. Its state
        // is where the next chunk starts; the ledger records it for the
        // checkpoint only once this chunk is handed on, below.
        snapshots_->delivered((*ready)->state_after);
        HELIOSDB_RETURN_IF_ERROR(snapshots_->tick());
        HELIOSDB_RETURN_IF_ERROR(deliver_chunk(**ready, m.lsn, handler));
      } else {
        HELIOSDB_RETURN_IF_ERROR(snapshots_->tick());
      }
      publish_snapshot_progress();
      return Status::ok();
    }
    if (m.prefix == kSnapshotRequestPrefix) {
      auto r = decode_snapshot_request(m.content);
      if (!r) {
        spdlog::warn("ignoring a malformed snapshot request at {}: '{}'", format_lsn(m.lsn),
                     std::string(m.content.substr(0, 200)));
        return Status::ok();
      }
      if (!snapshots_->on_request(*r, m.lsn)) return Status::ok();
      // The request is part of the checkpoint from its position on.
      HELIOSDB_RETURN_IF_ERROR(record_position(m.lsn, snapshots_->state(), handler));
      HELIOSDB_RETURN_IF_ERROR(snapshots_->tick());
      publish_snapshot_progress();
    }
    return Status::ok();
  }

  // A position-only commit at `lsn` carrying snapshot progress `state`.
  Status record_position(Lsn lsn, const SnapshotState& state, TransactionHandler& handler) {
    if (lsn <= last_commit_position_) return Status::ok();
    ledger_->record(lsn, state);
    CommitInfo info;
    info.position_only = true;
    info.commit_sequence = lsn;
    info.restart_during = last_end_;
    info.restart_after = last_end_;
    info.database = o_.database;
    HELIOSDB_RETURN_IF_ERROR(handler.on_commit(info));
    last_commit_position_ = lsn;
    return Status::ok();
  }

  // The chunk's rows as READ events, at the high watermark's position.
  Status deliver_chunk(ReadyChunk& chunk, Lsn at, TransactionHandler& handler) {
    if (at <= last_commit_position_) return Status::ok();  // cannot happen: WAL order
    if (chunk.rows.empty()) return record_position(at, chunk.state_after, handler);
    CommitInfo info;
    info.transaction_id = 0;
    info.commit_sequence = at;
    info.restart_during = last_end_;
    info.restart_after = last_end_;
    info.commit_time_ms = chunk.read_time_ms;
    info.database = o_.database;
    info.change_count = chunk.rows.size();
    HELIOSDB_RETURN_IF_ERROR(handler.on_begin(info));
    const std::string id_prefix = "evt_" + o_.database + "_snap" +
                                  std::to_string(chunk.state_after.run) + "." +
                                  std::to_string(chunk.table_index) + "_";
    std::string id;
    for (size_t i = 0; i < chunk.rows.size(); ++i) {
      const EncodedRow& row = chunk.rows[i];
      id.assign(id_prefix);
      append_hex64(id, fnv1a64(chunk.table, chunk.match_keys[i]));
      CommittedChange c;
      c.transaction_id = 0;
      c.sequence = i + 1;
      c.event_sequence = postgres_event_sequence(at, i);
      c.timestamp_ms = chunk.read_time_ms;
      c.kind = OperationType::Read;
      c.table = chunk.table;
      c.key = row.key;
      c.value = row.value;
      c.event_id = id;
      c.snapshot = chunk.last_of_table && i + 1 == chunk.rows.size()
                       ? CommittedChange::SnapshotMark::kLast
                       : CommittedChange::SnapshotMark::kRow;
      HELIOSDB_RETURN_IF_ERROR(handler.on_change(info, c));
    }
    ledger_->record(at, chunk.state_after);
    HELIOSDB_RETURN_IF_ERROR(handler.on_commit(info));
    last_commit_position_ = at;
    return Status::ok();
  }

  // --- status updates ---

  void maybe_send_status() {
    const Lsn durable = durable_.load(std::memory_order_relaxed);
    const auto now = Clock::now();
    // A new durable position goes out soon (at most 10 a second); otherwise
    // every status_interval_ms as a sign of life.
    if ((durable > flushed_ && now - last_status_ >= std::chrono::milliseconds(100)) ||
        now - last_status_ >= std::chrono::milliseconds(o_.status_interval_ms)) {
      send_status();
    }
  }

  // With conn_mu_ held. False if the connection failed: send_failed_ is
  // set, and the reader (only it resets the connection) calls lost().
  bool send_status() {
    const Lsn durable = durable_.load(std::memory_order_relaxed);
    flushed_ = std::max(flushed_, durable);
    if (monitor_) monitor_->set_flushed(flushed_);  // null once the destructor stopped it
    const std::string msg =
        encode_standby_status(flushed_, flushed_, flushed_, now_pg_micros(), false);
    PGconn* c = conns_.replication->raw();
    if (PQputCopyData(c, msg.data(), static_cast<int>(msg.size())) != 1 || PQflush(c) != 0) {
      send_failed_ = true;
      send_error_ = conns_.replication->last_error();
      return false;
    }
    last_status_ = Clock::now();
    return true;
  }

  // While the reader is away in the pipeline (a stalled sink holds it in
  // the handler), status updates still go out: the server drops a client
  // silent for wal_sender_timeout (60 s by default), and a new durable
  // checkpoint should reach the slot without waiting for the sink.
  void status_loop() {
    std::unique_lock lock(conn_mu_);
    while (!stopping_) {
      status_cv_.wait_for(lock, std::chrono::milliseconds(100));
      if (stopping_) break;
      if (connected_ && !send_failed_) maybe_send_status();
    }
  }

  // --- the stream ---

  Status handle_copy_data(std::string_view data, TransactionHandler& handler) {
    auto msg = decode_replication_message(data);
    if (!msg) return msg.status().with_context("replication stream of " + description());
    if (const auto* k = std::get_if<PrimaryKeepalive>(&*msg)) {
      return on_keepalive(*k, handler);
    }
    const auto& x = std::get<XLogData>(*msg);
    auto m = decode_pgoutput(x.payload);
    if (!m) {
      return m.status().with_context("pgoutput message at " + format_lsn(x.wal_start) + " from " +
                                     description());
    }
    return std::visit([&](const auto& v) { return on_message(v, handler); }, *m);
  }

  Status on_keepalive(const PrimaryKeepalive& k, TransactionHandler& handler) {
    // Answered by the reader as soon as this returns (it holds the
    // connection's lock then).
    if (k.reply_requested) reply_due_ = true;
    if (in_txn_) return Status::ok();
    // Everything before walEnd has been sent, so --once has all it came for.
    if (k.wal_end >= target_) reached_target_ = true;
    // Everything up to walEnd has been sent: with no transaction open, the
    // position moves there (an idle or fully filtered database must not
    // hold WAL).
    if (!o_.idle_advance) return Status::ok();
    return advance_idle_to(k.wal_end, handler);
  }

  // With no transaction open and everything before `end` sent: a
  // position-only commit there. The commit "LSN" just below `end` keeps
  // positions increasing: the next transaction's commit starts at `end` or
  // later.
  Status advance_idle_to(Lsn end, TransactionHandler& handler) {
    if (in_txn_ || end <= last_end_ || end - 1 <= last_commit_position_) return Status::ok();
    CommitInfo info;
    info.position_only = true;
    info.commit_sequence = end - 1;
    info.restart_during = last_end_;
    info.restart_after = end;
    info.database = o_.database;
    HELIOSDB_RETURN_IF_ERROR(handler.on_commit(info));
    last_commit_position_ = info.commit_sequence;
    last_end_ = end;
    return Status::ok();
  }

  Status on_message(const Begin& b, TransactionHandler& handler) {
    if (in_txn_) return corrupt("BEGIN inside a transaction");
    in_txn_ = true;
    origin_.clear();
    info_ = CommitInfo{};
    info_.transaction_id = b.xid;
    info_.commit_sequence = b.final_lsn;
    info_.restart_during = last_end_;
    info_.commit_time_ms = pg_micros_to_unix_ms(b.commit_time);
    info_.database = o_.database;
    ordinal_ = 0;
    skipping_ = b.final_lsn == resend_commit_lsn_ ? resend_skip_ : 0;
    return handler.on_begin(info_);
  }

  Status on_message(const Commit& c, TransactionHandler& handler) {
    if (!in_txn_) return corrupt("COMMIT outside a transaction");
    info_.restart_after = c.end_lsn;
    info_.change_count = ordinal_;
    info_.origin = origin_;
    in_txn_ = false;
    resend_commit_lsn_ = 0;
    if (snapshots_) snapshots_->on_commit(static_cast<uint32_t>(info_.transaction_id));
    HELIOSDB_RETURN_IF_ERROR(handler.on_commit(info_));
    last_end_ = c.end_lsn;
    last_commit_lsn_ = info_.commit_sequence;
    last_commit_position_ = info_.commit_sequence;
    if (c.end_lsn >= target_) reached_target_ = true;
    return Status::ok();
  }

  Status on_message(const Origin& o, TransactionHandler&) {
    origin_.assign(o.name);
    info_.origin = origin_;
    return Status::ok();
  }

  Status on_message(const Relation& r, TransactionHandler&) {
    std::vector<std::string> pk;
    // Under FULL and NOTHING pgoutput flags all or no columns: the key is
    // the primary key, from the catalog. Under DEFAULT the flagged columns
    // are the primary key's, in table order: the catalog gives its order.
    if (r.replica_identity == 'f' || r.replica_identity == 'n' || r.replica_identity == 'd') {
      auto cols = primary_key_columns(*conns_.catalog, r.relation_id);
      if (!cols) return cols.status();
      pk = std::move(*cols);
    }
    // A column of a domain over a built-in type maps as that type.
    Relation mapped;
    const Relation* msg = &r;
    for (size_t i = 0; i < r.columns.size(); ++i) {
      auto it = base_types_.find(r.columns[i].type_oid);
      if (it == base_types_.end()) continue;
      if (msg == &r) {
        mapped = r;
        msg = &mapped;
      }
      mapped.columns[i].type_oid = it->second;
    }
    relations_.put(*msg, std::move(pk));
    return Status::ok();
  }

  Status on_message(const TypeMessage& t, TransactionHandler&) {
    // Type messages come for user-defined types only, before the Relation
    // message that uses them. pgoutput describes a domain by its base type
    // (logicalrep_write_typ sends getBaseType()'s namespace and name, "" for
    // pg_catalog): a domain over a built-in type maps as that type. Other
    // user-defined types (enums, composites, ranges, ...) come as text, and
    // text is what an unknown OID maps to (pg_types.h).
    const BuiltinType* base = t.namespace_name.empty() || t.namespace_name == "pg_catalog"
                                  ? builtin_type_by_name(t.type_name)
                                  : nullptr;
    if (base) {
      base_types_[t.type_oid] = base->oid;
    } else {
      base_types_.erase(t.type_oid);
    }
    return Status::ok();
  }

  Status on_message(const LogicalMessage& m, TransactionHandler& handler) {
    // Non-transactional messages come outside transactions, in WAL order.
    if (m.transactional || in_txn_) return Status::ok();
    if (m.prefix == kHeartbeatPrefix) {
      // Never delivered: its arrival proves the path, and moves the slot on
      // (everything before it has been sent) even with idle_advance off.
      auto h = decode_heartbeat(m.content);
      if (h && h->slot == o_.slot) monitor_->on_heartbeat(*h);
      return advance_idle_to(m.lsn, handler);
    }
    if (!snapshots_) return Status::ok();
    return on_snapshot_message(m, handler);
  }

  const CachedRelation* relation(uint32_t id) { return relations_.find(id); }

  Status unknown_relation(uint32_t id) {
    return corrupt("a change of relation " + std::to_string(id) +
                   " that no Relation message described");
  }

  Status on_message(const Insert& m, TransactionHandler& handler) {
    const CachedRelation* rel = relation(m.relation_id);
    if (!rel) return unknown_relation(m.relation_id);
    if (snapshots_) snapshots_->on_change(*rel, info_.transaction_id, &m.new_tuple, nullptr);
    if (skip_resent()) return Status::ok();
    HELIOSDB_RETURN_IF_ERROR(encoder_.encode_insert(*rel, m, row_));
    return emit(*rel, handler);
  }

  Status on_message(const Update& m, TransactionHandler& handler) {
    const CachedRelation* rel = relation(m.relation_id);
    if (!rel) return unknown_relation(m.relation_id);
    if (snapshots_) {
      snapshots_->on_change(*rel, info_.transaction_id, &m.new_tuple,
                            m.old_kind ? &m.old_tuple : nullptr);
    }
    if (skip_resent()) return Status::ok();
    HELIOSDB_RETURN_IF_ERROR(encoder_.encode_update(*rel, m, row_));
    return emit(*rel, handler);
  }

  Status on_message(const Delete& m, TransactionHandler& handler) {
    const CachedRelation* rel = relation(m.relation_id);
    if (!rel) return unknown_relation(m.relation_id);
    if (snapshots_) snapshots_->on_change(*rel, info_.transaction_id, nullptr, &m.old_tuple);
    if (skip_resent()) return Status::ok();
    HELIOSDB_RETURN_IF_ERROR(encoder_.encode_delete(*rel, m, row_));
    return emit(*rel, handler);
  }

  Status on_message(const Truncate& m, TransactionHandler& handler) {
    // One event per table, empty key, no value.
    for (uint32_t id : m.relation_ids) {
      const CachedRelation* rel = relation(id);
      if (!rel) return unknown_relation(id);
      if (snapshots_) snapshots_->on_truncate(*rel);
      if (skip_resent()) continue;
      row_.kind = OperationType::Truncate;
      row_.key.clear();
      row_.has_value = false;
      row_.has_old_value = false;
      HELIOSDB_RETURN_IF_ERROR(emit(*rel, handler));
    }
    return Status::ok();
  }

  // Counts the change; true if it was handed on before a lost connection
  // (the server sends its transaction again from the start).
  bool skip_resent() {
    ++ordinal_;
    if (skipping_ == 0) return false;
    --skipping_;
    return true;
  }

  Status emit(const CachedRelation& rel, TransactionHandler& handler) {
    if (!in_txn_) return corrupt("a change outside a transaction");
    CommittedChange c;
    c.transaction_id = info_.transaction_id;
    c.sequence = ordinal_;
    c.event_sequence = postgres_event_sequence(info_.commit_sequence, ordinal_ - 1);
    c.timestamp_ms = info_.commit_time_ms;
    c.kind = row_.kind;
    c.table = rel.table;
    c.key = row_.key;
    if (row_.has_value) c.value = row_.value;
    if (row_.has_old_value) c.old_value = row_.old_value;
    info_.origin = origin_;
    return handler.on_change(info_, c);
  }

  Status corrupt(const std::string& what) {
    return Status(ErrorCode::kCorruption, "replication stream of " + description() + ": " + what);
  }

  // --- lost connections ---

  void lost(const std::string& why) {
    if (!connected_) return;
    connected_ = false;
    send_failed_ = false;
    reply_due_ = false;
    spdlog::warn("lost the replication connection to PostgreSQL at {} ({}); reconnecting", server_,
                 why);
    if (in_txn_) {
      // The server sends the whole transaction again: skip what was handed on.
      resend_commit_lsn_ = info_.commit_sequence;
      resend_skip_ = ordinal_;
      in_txn_ = false;
    }
    conns_.replication.reset();
    conns_.catalog.reset();
    backoff_ = std::chrono::milliseconds(100);
    next_attempt_ = Clock::now() + backoff_;
  }

  Status try_reconnect() {
    if (Clock::now() < next_attempt_) return Status::ok();
    Status st = reconnect();
    if (st.is_ok()) {
      ++reconnects_;  // connections made again; each failed attempt is logged
      spdlog::info("reconnected to PostgreSQL at {}: streaming slot {} from {}", server_, o_.slot,
                   format_lsn(last_end_));
      return Status::ok();
    }
    // A slot that is gone or ahead is a gap, not a hiccup.
    if (slot_lost_) return st;
    conns_ = Connections{};
    static thread_local std::mt19937 rng{std::random_device{}()};
    backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(o_.reconnect_max_backoff_ms));
    const auto wait = std::chrono::milliseconds(
        std::uniform_int_distribution<int64_t>(backoff_.count() / 2, backoff_.count())(rng));
    next_attempt_ = Clock::now() + wait;
    spdlog::warn("reconnecting to PostgreSQL at {} failed ({}); next attempt in {} ms", server_,
                 st.message(), wait.count());
    return Status::ok();
  }

  Status reconnect() {
    auto conns = connect_both(o_);
    if (!conns) return conns.status();
    auto slot = find_slot(*conns->catalog, o_.slot);
    if (!slot) return slot.status();
    auto loss = slot_loss_of(*slot, last_end_);
    if (!loss) {
      if ((*slot)->active) {
        // The old walsender may not have noticed yet that we are gone.
        return Status(ErrorCode::kUnavailable, "slot " + o_.slot + " is still active");
      }
      bool invalidated = false;
      Status started = start_replication(*conns->replication, o_, last_end_, &invalidated);
      if (!invalidated) HELIOSDB_RETURN_IF_ERROR(started);
      if (invalidated) loss = SlotLoss::kInvalidated;  // PostgreSQL 12: no wal_status
    }
    if (loss) {
      const SlotLossContext at{o_.slot, server_, checkpoint_file_, last_end_,
                               *slot ? (*slot)->confirmed_flush : 0};
      if (o_.on_slot_lost != "recreate") {
        slot_lost_ = true;
        if (monitor_) monitor_->count_slot_lost();
        return slot_lost_error(*loss, at);
      }
      if (*slot && (*slot)->active) {
        return Status(ErrorCode::kUnavailable, "slot " + o_.slot + " is still active");
      }
      spdlog::warn("{}", slot_lost_warning(*loss, at));
      auto made = recreate_slot(*conns->catalog, o_, slot->has_value());
      if (!made) return made.status();  // tried again after the backoff
      if (monitor_) monitor_->count_slot_lost();
      // The new slot sends nothing from before its start: no transaction
      // to resume, no watermark of a chunk out.
      last_end_ = *made;
      in_txn_ = false;
      resend_commit_lsn_ = 0;
      resend_skip_ = 0;
      if (snapshots_) snapshots_->abandon_pending();
      HELIOSDB_RETURN_IF_ERROR(start_replication(*conns->replication, o_, last_end_));
    }
    conns_ = std::move(*conns);
    relations_.clear();   // the server sends Relation messages again
    base_types_.clear();  // and Type messages
    connected_ = true;
    last_status_ = Clock::now() - std::chrono::milliseconds(o_.status_interval_ms);
    return Status::ok();
  }

  bool announce_start_;  // no checkpoint: the start position goes into one first
  std::shared_ptr<SnapshotLedger> ledger_;
  std::unique_ptr<SnapshotCoordinator> snapshots_;  // null: the server sends no messages
  std::unique_ptr<SlotMonitor> monitor_;            // heartbeats and slot health
  // progress() runs on other threads.
  mutable std::mutex progress_mu_;
  bool snapshot_running_ = false;
  std::vector<SourceProgress::SnapshotTable> snapshot_tables_;
  PostgresSourceOptions o_;
  Connections conns_;
  std::string server_;
  RelationCache relations_;
  // Domain OID -> its built-in base type's OID, from Type messages.
  std::unordered_map<uint32_t, uint32_t> base_types_;
  RowEncoder encoder_;
  EncodedRow row_;
  const std::string checkpoint_file_;

  // The transaction being read.
  bool in_txn_ = false;
  CommitInfo info_;
  std::string origin_;
  uint64_t ordinal_ = 0;
  uint64_t skipping_ = 0;
  // After a lost connection inside a transaction: its commit LSN and the
  // changes already handed on.
  Lsn resend_commit_lsn_ = 0;
  uint64_t resend_skip_ = 0;

  Lsn last_end_;                  // end LSN of the last transaction handed on (restart point)
  Lsn last_commit_lsn_ = 0;       // commit LSN of the last real transaction (metrics)
  Lsn last_commit_position_ = 0;  // last commit_sequence handed on (real or position-only)
  const Lsn target_;              // pg_current_wal_lsn() at open: where --once ends
  std::atomic<Lsn> durable_{0};   // restart LSN of the last durable checkpoint
  Lsn flushed_;                   // the flush position last reported
  bool reached_target_;
  bool connected_ = false;
  // The status thread and the reader share the replication connection:
  // conn_mu_ guards it and the status fields (flushed_, last_status_,
  // connected_, send_failed_, send_error_, reply_due_, stopping_).
  std::mutex conn_mu_;
  std::condition_variable status_cv_;
  bool stopping_ = false;
  bool send_failed_ = false;
  std::string send_error_;
  bool reply_due_ = false;
  std::thread status_thread_;
  Clock::time_point last_status_;
  Clock::time_point next_attempt_;
  std::chrono::milliseconds backoff_{100};
  uint64_t reconnects_ = 0;
  bool slot_lost_ = false;  // on_slot_lost = "fail": reconnecting is over
};

class PostgresSourceFactory final : public SourceFactory {
 public:
  explicit PostgresSourceFactory(PostgresSourceOptions options) : o_(std::move(options)) {}

  Result<std::unique_ptr<SourcePositionCodec>> open_position_codec() override {
    auto conns = connect_both(o_);
    if (!conns) {
      // The regular connection's failure says it all; a replication-only
      // failure (no REPLICATION, pg_hba.conf) comes from the second.
      return conns.status();
    }
    conns_ = std::move(*conns);
    HELIOSDB_RETURN_IF_ERROR(check_wal_level(*conns_.catalog));
    HELIOSDB_RETURN_IF_ERROR(check_replication_role(*conns_.catalog));
    auto ident = conns_.replication->query("IDENTIFY_SYSTEM", "identifying the server");
    if (!ident) return ident.status();
    if (ident->rows.empty() || !ident->rows[0][0]) {
      return Status(ErrorCode::kInternal, "IDENTIFY_SYSTEM returned no system identifier");
    }
    const std::string system_id = *ident->rows[0][0];
    const std::string dbname =
        ident->rows[0].size() > 3 && ident->rows[0][3] ? *ident->rows[0][3] : "";
    // The checkpoint belongs to this cluster, database and slot.
    return std::unique_ptr<SourcePositionCodec>(std::make_unique<PostgresPositionCodec>(
        system_id + "/" + dbname + "/" + o_.slot,
        "slot " + o_.slot + " of PostgreSQL at " + conns_.catalog->server(), ledger_));
  }

  Result<std::unique_ptr<ChangeSource>> open(const DeliveryPosition& resume,
                                             const std::string& checkpoint_file) override {
    if (!conns_.catalog) {
      auto conns = connect_both(o_);
      if (!conns) return conns.status();
      conns_ = std::move(*conns);
    }
    PgConnection& catalog = *conns_.catalog;
    HELIOSDB_RETURN_IF_ERROR(ensure_publication(catalog, o_));
    const bool has_checkpoint = resume.commit_sequence != 0;
    // Checked at every start, not only once a slot is lost: a loss while
    // running recreates the slot too, and its snapshot request travels as
    // a logical decoding message, which pgoutput sends from 14 on.
    if (o_.on_slot_lost == "recreate" && !server_sends_messages(catalog)) {
      return Status(ErrorCode::kFailedPrecondition,
                    "on_slot_lost = \"recreate\" needs PostgreSQL 14 or later (the snapshot of "
                    "a recreated slot is requested through a logical decoding message), and "
                    "PostgreSQL at " +
                        catalog.server() + " is " +
                        std::to_string(PQserverVersion(catalog.raw()) / 10000) +
                        ": set [source.postgres] on_slot_lost = \"fail\"");
    }
    auto slot = find_slot(catalog, o_.slot);
    if (!slot) return slot.status();
    Lsn start = 0;
    uint64_t slots_lost = 0;
    SlotLossContext lost_at{o_.slot, catalog.server(), checkpoint_file,
                            has_checkpoint ? resume.restart_sequence : 0,
                            *slot ? (*slot)->confirmed_flush : 0};
    // Nothing delivered yet: no slot position is a gap.
    const auto loss = has_checkpoint ? slot_loss_of(*slot, resume.restart_sequence) : std::nullopt;
    if (*slot) HELIOSDB_RETURN_IF_ERROR(check_slot(**slot, o_, catalog.server()));
    if (loss) {
      auto made = slot_lost_at_open(catalog, *loss, lost_at, slot->has_value());
      if (!made) return made.status();
      start = *made;
      ++slots_lost;
    } else if (!*slot) {
      if (!o_.create_slot) {
        return Status(ErrorCode::kFailedPrecondition,
                      "replication slot " + o_.slot + " does not exist on PostgreSQL at " +
                          catalog.server() +
                          ": create it (SELECT pg_create_logical_replication_slot('" + o_.slot +
                          "', 'pgoutput')) or set [source.postgres] create_slot = true");
      }
      auto created = create_slot(catalog, o_.slot);
      if (!created) return created.status();
      spdlog::info("created replication slot {} (pgoutput) at {}", o_.slot, format_lsn(*created));
      start = *created;
    } else {
      start = has_checkpoint ? std::max(resume.restart_sequence, (*slot)->confirmed_flush)
                             : (*slot)->confirmed_flush;
    }
    auto target = current_wal_lsn(catalog);
    if (!target) return target.status();
    auto snapshots = open_snapshots(catalog, has_checkpoint);
    if (!snapshots) return snapshots.status();
    bool invalidated = false;
    Status started = start_replication(*conns_.replication, o_, start, &invalidated);
    if (invalidated && has_checkpoint) {
      // Before PostgreSQL 13 pg_replication_slots has no wal_status: the
      // server's refusal is the first word of it.
      auto made = slot_lost_at_open(catalog, SlotLoss::kInvalidated, lost_at, true);
      if (!made) return made.status();
      start = *made;
      ++slots_lost;
      started = start_replication(*conns_.replication, o_, start);
    }
    HELIOSDB_RETURN_IF_ERROR(started);
    spdlog::info("streaming slot {} of PostgreSQL at {} from {} (publication {}; WAL now at {})",
                 o_.slot, catalog.server(), format_lsn(start), o_.publication, format_lsn(*target));
    return std::unique_ptr<ChangeSource>(std::make_unique<PostgresChangeSource>(
        o_, std::exchange(conns_, Connections{}), start, *target, checkpoint_file, has_checkpoint,
        ledger_, std::move(*snapshots), slots_lost));
  }

  std::string start_description() const override {
    return "the position of slot " + o_.slot + " (created if missing)";
  }

 private:
  // A lost slot at start: the error to stop with, or (on_slot_lost =
  // "recreate") the new slot's start.
  Result<Lsn> slot_lost_at_open(PgConnection& catalog, SlotLoss loss, const SlotLossContext& at,
                                bool exists) {
    if (o_.on_slot_lost != "recreate") return slot_lost_error(loss, at);
    spdlog::warn("{}", slot_lost_warning(loss, at));
    return recreate_slot(catalog, o_, exists);
  }

  // The snapshot progress to go on from: the checkpoint's, or (first start)
  // the initial snapshot's plan. Null when the server sends no logical
  // messages (before PostgreSQL 14) and no snapshot is wanted.
  Result<std::unique_ptr<SnapshotCoordinator>> open_snapshots(PgConnection& catalog,
                                                              bool has_checkpoint) {
    SnapshotState state = has_checkpoint ? ledger_->decoded() : SnapshotState{};
    if (!has_checkpoint && o_.snapshot != "never") {
      state.run = 1;
      std::vector<std::string> tables = o_.snapshot_tables;
      if (tables.empty()) {
        auto published = publication_tables(catalog, o_.publication);
        if (!published) return published.status();
        tables = std::move(*published);
      }
      for (auto& t : tables) {
        SnapshotTableState ts;
        ts.table = std::move(t);
        state.tables.push_back(std::move(ts));
      }
    }
    if (!server_sends_messages(catalog)) {
      if (state.active()) {
        return Status(ErrorCode::kFailedPrecondition,
                      "snapshots need PostgreSQL 14 or later (their watermarks are logical "
                      "decoding messages), and PostgreSQL at " +
                          catalog.server() + " is " +
                          std::to_string(PQserverVersion(catalog.raw()) / 10000) +
                          ": set [source.postgres] snapshot = \"never\" to stream changes only");
      }
      ledger_->start(state);
      return std::unique_ptr<SnapshotCoordinator>();
    }
    if (state.active()) {
      size_t done = 0;
      for (const auto& t : state.tables) done += t.phase == SnapshotTableState::Phase::kDone;
      spdlog::info("snapshot run {}: {} of {} tables done{}", state.run, done, state.tables.size(),
                   has_checkpoint ? " (going on from the checkpoint)" : "");
    }
    ledger_->start(state);
    return std::make_unique<SnapshotCoordinator>(o_, std::move(state));
  }

  PostgresSourceOptions o_;
  Connections conns_;
  std::shared_ptr<SnapshotLedger> ledger_ = std::make_shared<SnapshotLedger>();
};

bool parse_u64(std::string_view s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

std::unique_ptr<SourceFactory> make_postgres_source_factory(PostgresSourceOptions options) {
  return std::make_unique<PostgresSourceFactory>(std::move(options));
}

std::string encode_postgres_position(const DeliveryPosition& p, const SnapshotState& snapshot) {
  std::string out = "pg1 " + format_lsn(p.restart_sequence) + " " + format_lsn(p.commit_sequence) +
                    " " + std::to_string(p.event_sequence);
  if (!snapshot.empty()) out += " " + encode_snapshot_state(snapshot);
  return out;
}

Result<DeliveryPosition> decode_postgres_position(std::string_view bytes) {
  auto c = decode_postgres_checkpoint(bytes);
  if (!c) return c.status();
  return c->position;
}

Result<PostgresCheckpoint> decode_postgres_checkpoint(std::string_view bytes) {
  auto bad = [&] {
    return Status(ErrorCode::kCorruption,
                  "not a PostgreSQL position (\"pg1 <restart LSN> <commit LSN> <event> "
                  "[<snapshot progress>]\"): '" +
                      std::string(bytes.substr(0, 80)) + "'");
  };
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= bytes.size() && parts.size() < 4) {
    size_t sp = bytes.find(' ', i);
    if (sp == std::string_view::npos) sp = bytes.size();
    parts.push_back(bytes.substr(i, sp - i));
    i = sp + 1;
  }
  if (parts.size() != 4 || parts[0] != "pg1") return bad();
  auto restart = parse_lsn(parts[1]);
  auto commit = parse_lsn(parts[2]);
  uint64_t event = 0;
  if (!restart || !commit || !parse_u64(parts[3], event)) return bad();
  PostgresCheckpoint out;
  out.position = DeliveryPosition{*restart, *commit, event};
  if (i < bytes.size()) {
    auto snap = decode_snapshot_state(bytes.substr(i));
    if (!snap) {
      return Status(ErrorCode::kCorruption,
                    "not a PostgreSQL position: " + std::string(snap.status().message()));
    }
    out.snapshot = std::move(*snap);
  }
  return out;
}

}  // namespace heliosdb::cdc::pg
