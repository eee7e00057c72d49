#include "source/txn_assembler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

namespace heliosdb::cdc {
namespace {

bool is_change(WalEntryKind kind) {
  return kind == WalEntryKind::Insert || kind == WalEntryKind::Update ||
         kind == WalEntryKind::Delete || kind == WalEntryKind::Truncate;
}

// A change entry's kind as events name it (only called on is_change kinds).
OperationType operation_of(WalEntryKind kind) {
  switch (kind) {
    case WalEntryKind::Update:
      return OperationType::Update;
    case WalEntryKind::Delete:
      return OperationType::Delete;
    case WalEntryKind::Truncate:
      return OperationType::Truncate;
    default:
      return OperationType::Insert;
  }
}

constexpr size_t pad8(size_t n) { return (n + 7) & ~size_t{7}; }

char* put(char* p, std::string_view bytes) {
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  return p + bytes.size();
}

}  // namespace

void TxnAssembler::ChangeLog::add_block(size_t size) {
  Block b;
  b.size = size;
  b.data.reset(new char[size]);
  held_ += size;
  blocks_.push_back(std::move(b));
}

size_t TxnAssembler::ChangeLog::clear(size_t block_bytes) {
  const size_t before = held_;
  const bool keep_first = !blocks_.empty() && blocks_.front().size <= block_bytes;
  blocks_.resize(keep_first ? 1 : 0);
  held_ = keep_first ? blocks_.front().size : 0;
  if (keep_first) blocks_.front().used = 0;
  return before - held_;
}

template <typename Fn>
Status TxnAssembler::ChangeLog::for_each(Fn&& fn) const {
  for (const Block& b : blocks_) {
    for (size_t off = 0; off < b.used;) {
      const char* p = b.data.get() + off;
      Stored s;
      std::memcpy(&s, p, sizeof s);
      const char* bytes = p + sizeof s;
      HELIOSDB_RETURN_IF_ERROR(fn(s, bytes));
      off += pad8(sizeof s + s.table_len + s.key_len + s.value_len + s.old_len);
    }
  }
  return Status::ok();
}

TxnAssembler::TxnAssembler(const WalEntryReader* source, std::string database,
                           uint64_t max_txn_bytes)
    : source_(source),
      database_(std::move(database)),
      max_txn_bytes_(max_txn_bytes),
      // Small against the limit, so that the unused tail of a transaction's
      // last block and recycled blocks stay a small part of it.
      block_bytes_(static_cast<size_t>(std::clamp<uint64_t>(max_txn_bytes / 64, 256, 64 * 1024))) {}

TxnAssembler::OpenTxn* TxnAssembler::find_txn(uint64_t txn_id) {
  if (cached_txn_ && cached_txn_id_ == txn_id) return cached_txn_;
  auto it = open_.find(txn_id);
  if (it == open_.end()) return nullptr;
  cached_txn_id_ = txn_id;
  cached_txn_ = it->second.get();
  return cached_txn_;
}

TxnAssembler::OpenTxn& TxnAssembler::open_txn(uint64_t txn_id, uint64_t begin_sequence) {
  if (OpenTxn* open = find_txn(txn_id)) return *open;
  std::unique_ptr<OpenTxn> txn;
  if (!free_.empty()) {
    txn = std::move(free_.back());
    free_.pop_back();
  } else {
    txn = std::make_unique<OpenTxn>();
  }
  buffered_bytes_ += txn->log.held_bytes();  // a recycled one's kept block
  txn->begin_sequence = begin_sequence;
  txn->spilled = false;
  txn->change_count = 0;
  begins_.emplace(begin_sequence, txn_id);
  cached_txn_id_ = txn_id;
  cached_txn_ = txn.get();
  open_.emplace(txn_id, std::move(txn));
  return *cached_txn_;
}

void TxnAssembler::close_txn(uint64_t txn_id) {
  auto it = open_.find(txn_id);
  if (it == open_.end()) return;
  if (cached_txn_ == it->second.get()) cached_txn_ = nullptr;
  OpenTxn& txn = *it->second;
  begins_.erase(txn.begin_sequence);
  buffered_bytes_ -= txn.log.held_bytes();
  // Keep a few recycled transactions, each with at most one small block.
  if (free_.size() < kRecycledTransactions) {
    txn.log.clear(block_bytes_);
    free_.push_back(std::move(it->second));
  }
  open_.erase(it);
}

uint64_t TxnAssembler::oldest_open_begin(uint64_t fallback) const {
  return begins_.empty() ? fallback : begins_.begin()->first;
}

Status TxnAssembler::add(const WalEntry& e, TransactionHandler& handler) {
  switch (e.kind) {
    case WalEntryKind::Begin:
      open_txn(e.transaction_id, e.sequence);
      return Status::ok();
    case WalEntryKind::Abort: {
      if (OpenTxn* txn = find_txn(e.transaction_id)) {
        ++aborted_txns_;
        aborted_changes_ += txn->change_count;
        close_txn(e.transaction_id);
      }
      return Status::ok();
    }
    case WalEntryKind::Commit: {
      OpenTxn* open = find_txn(e.transaction_id);
      if (!open) {
        // A COMMIT without BEGIN and changes: an empty transaction, or one
        // whose BEGIN precedes where we started reading and that had no
        // changes after it. Nothing to emit, but progress still moves.
        CommitInfo info{e.transaction_id,
                        e.sequence,
                        oldest_open_begin(e.sequence),
                        oldest_open_begin(e.sequence + 1),
                        0,
                        e.timestamp_ms,
                        database_};
        return handler.on_commit(info);
      }
      OpenTxn& txn = *open;
      CommitInfo info;
      info.transaction_id = e.transaction_id;
      info.commit_sequence = e.sequence;
      info.restart_during = oldest_open_begin(txn.begin_sequence);
      info.change_count = txn.change_count;
      info.commit_time_ms = e.timestamp_ms;
      info.database = database_;
      uint64_t begin = txn.begin_sequence;
      // The oldest BEGIN still open once this transaction is closed (it is
      // in begins_ until close_txn()).
      auto oldest_other = begins_.begin();
      if (oldest_other != begins_.end() && oldest_other->first == begin) ++oldest_other;
      info.restart_after = oldest_other == begins_.end() ? e.sequence + 1 : oldest_other->first;
      Status st = handler.on_begin(info);
      if (st.is_ok() && txn.spilled) {
        st = replay_spilled(info, begin, handler);
      } else if (st.is_ok()) {
        st = txn.log.for_each([&](const Stored& s, const char* bytes) {
          CommittedChange c;
          c.transaction_id = e.transaction_id;
          c.sequence = s.sequence;
          c.timestamp_ms = s.timestamp_ms;
          c.kind = s.kind;
          c.table = std::string_view(bytes, s.table_len);
          bytes += s.table_len;
          c.key = std::string_view(bytes, s.key_len);
          bytes += s.key_len;
          if (s.flags & 1) c.value = std::string_view(bytes, s.value_len);
          bytes += s.value_len;
          if (s.flags & 2) c.old_value = std::string_view(bytes, s.old_len);
          return handler.on_change(info, c);
        });
      }
      close_txn(e.transaction_id);
      HELIOSDB_RETURN_IF_ERROR(st);
      return handler.on_commit(info);
    }
    default:
      break;
  }
  if (!is_change(e.kind)) {
    return corruption("unknown WAL entry kind " + std::to_string(static_cast<int>(e.kind)) +
                      " at sequence " + std::to_string(e.sequence));
  }
  if (!find_txn(e.transaction_id) && e.sequence > resumed_commit_) {
    // A change whose BEGIN we never saw: the WAL before our start position
    // is gone. Treat this change as the transaction's start. (Before the
    // resumed checkpoint's commit it is routine: resume_after_commit().)
    spdlog::warn("transaction {} has changes without a BEGIN (first seen at sequence {})",
                 e.transaction_id, e.sequence);
  }
  OpenTxn& txn = open_txn(e.transaction_id, e.sequence);
  ++txn.change_count;
  if (txn.spilled) return Status::ok();
  Stored s{};
  s.sequence = e.sequence;
  s.timestamp_ms = e.timestamp_ms;
  s.kind = operation_of(e.kind);
  s.table_len = static_cast<uint32_t>(e.table.size());
  s.key_len = static_cast<uint32_t>(e.key.size());
  if (e.value) {
    s.flags |= 1;
    s.value_len = static_cast<uint32_t>(e.value->size());
  }
  if (e.old_value) {
    s.flags |= 2;
    s.old_len = static_cast<uint32_t>(e.old_value->size());
  }
  const size_t record = pad8(sizeof s + s.table_len + s.key_len + s.value_len + s.old_len);
  // Counted before anything is copied, so the limit holds at every moment.
  const size_t growth = txn.log.growth_for(record, block_bytes_);
  if (buffered_bytes_ + growth > max_txn_bytes_ && !make_room(e.transaction_id, txn, growth)) {
    return Status::ok();
  }
  const size_t before = txn.log.held_bytes();
  char* p = txn.log.allocate(record, block_bytes_);
  buffered_bytes_ += txn.log.held_bytes() - before;
  std::memcpy(p, &s, sizeof s);
  p = put(p + sizeof s, e.table);
  p = put(p, e.key);
  if (e.value) p = put(p, *e.value);
  if (e.old_value) put(p, *e.old_value);
  return Status::ok();
}

bool TxnAssembler::make_room(uint64_t txn_id, OpenTxn& txn, size_t growth) {
  while (buffered_bytes_ + growth > max_txn_bytes_) {
    // The transaction holding the most (the one receiving this change if
    // the change alone does not fit): spilling it frees the most for the
    // one re-read of the WAL it costs at its COMMIT.
    uint64_t victim_id = txn_id;
    OpenTxn* victim = &txn;
    if (growth <= max_txn_bytes_) {
      for (auto& [id, open] : open_) {
        if (!open->spilled && open->log.held_bytes() > victim->log.held_bytes()) {
          victim_id = id;
          victim = open.get();
        }
      }
    }
    spill(victim_id, *victim);
    if (victim == &txn) return false;
  }
  return true;
}

void TxnAssembler::spill(uint64_t txn_id, OpenTxn& txn) {
  // Forget the buffered changes; they are re-read from the WAL at COMMIT.
  spdlog::info(
      "transaction {} does not fit in max_transaction_memory_bytes ({} bytes) beside the other "
      "open transactions; streaming it from the WAL at commit",
      txn_id, max_txn_bytes_);
  buffered_bytes_ -= txn.log.clear(0);
  txn.spilled = true;
  ++spilled_txns_;
}

Status TxnAssembler::replay_spilled(const CommitInfo& info, uint64_t begin_sequence,
                                    TransactionHandler& handler) {
  auto reader = source_->open_at(begin_sequence);
  if (!reader) {
    return reader.status().with_context("re-reading large transaction " +
                                        std::to_string(info.transaction_id));
  }
  WalEntry e;
  while (true) {
    auto r = (*reader)->next(e);
    if (!r) return r.status();
    if (*r == WalReadStatus::kEndOfLog || e.sequence >= info.commit_sequence) break;
    if (e.transaction_id != info.transaction_id || e.database != database_ || !is_change(e.kind)) {
      continue;
    }
    CommittedChange c;
    c.transaction_id = info.transaction_id;
    c.sequence = e.sequence;
    c.timestamp_ms = e.timestamp_ms;
    c.kind = operation_of(e.kind);
    c.table = e.table;
    c.key = e.key;
    c.value = e.value;
    c.old_value = e.old_value;
    HELIOSDB_RETURN_IF_ERROR(handler.on_change(info, c));
  }
  return Status::ok();
}

}  // namespace heliosdb::cdc
