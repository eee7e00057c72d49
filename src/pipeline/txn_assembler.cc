#include "pipeline/txn_assembler.h"

#include <spdlog/spdlog.h>

namespace heliosdb::cdc {
namespace {

bool is_change(WalEntryKind kind) {
  return kind == WalEntryKind::Insert || kind == WalEntryKind::Update ||
         kind == WalEntryKind::Delete || kind == WalEntryKind::Truncate;
}

uint32_t append(std::string& arena, std::string_view bytes) {
  auto off = static_cast<uint32_t>(arena.size());
  arena.append(bytes);
  return off;
}

}  // namespace

TxnAssembler::TxnAssembler(const ChangeSource* source, std::string database, uint64_t max_txn_bytes)
    : source_(source), database_(std::move(database)), max_txn_bytes_(max_txn_bytes) {}

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
  txn->begin_sequence = begin_sequence;
  txn->spilled = false;
  txn->change_count = 0;
  txn->arena.clear();
  txn->changes.clear();
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
  buffered_bytes_ -= it->second->arena.size();
  begins_.erase(it->second->begin_sequence);
  // Keep a few recycled transactions; release very large arenas.
  if (free_.size() < 64 && it->second->arena.capacity() <= 4 * 1024 * 1024) {
    free_.push_back(std::move(it->second));
  }
  open_.erase(it);
}

uint64_t TxnAssembler::oldest_open_begin(uint64_t fallback) const {
  return begins_.empty() ? fallback : begins_.begin()->first;
}

Status TxnAssembler::add(const WalEntry& e, const ChangeFn& on_change, const CommitFn& on_commit) {
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
        CommitInfo info{e.transaction_id, e.sequence, oldest_open_begin(e.sequence),
                        oldest_open_begin(e.sequence + 1), 0};
        return on_commit(info);
      }
      OpenTxn& txn = *open;
      CommitInfo info;
      info.transaction_id = e.transaction_id;
      info.commit_sequence = e.sequence;
      info.restart_during = oldest_open_begin(txn.begin_sequence);
      info.change_count = txn.change_count;
      uint64_t begin = txn.begin_sequence;
      // The oldest BEGIN still open once this transaction is closed (it is
      // in begins_ until close_txn()).
      auto oldest_other = begins_.begin();
      if (oldest_other != begins_.end() && oldest_other->first == begin) ++oldest_other;
      info.restart_after = oldest_other == begins_.end() ? e.sequence + 1 : oldest_other->first;
      Status st;
      if (txn.spilled) {
        st = replay_spilled(info, begin, on_change);
      } else {
        for (const Stored& s : txn.changes) {
          CommittedChange c;
          c.transaction_id = e.transaction_id;
          c.sequence = s.sequence;
          c.timestamp_ms = s.timestamp_ms;
          c.kind = s.kind;
          c.table = std::string_view(txn.arena).substr(s.table_off, s.table_len);
          c.key = std::string_view(txn.arena).substr(s.key_off, s.key_len);
          if (s.flags & 1) c.value = std::string_view(txn.arena).substr(s.value_off, s.value_len);
          if (s.flags & 2) c.old_value = std::string_view(txn.arena).substr(s.old_off, s.old_len);
          st = on_change(info, c);
          if (!st.is_ok()) break;
        }
      }
      close_txn(e.transaction_id);
      HELIOSDB_RETURN_IF_ERROR(st);
      return on_commit(info);
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
  size_t before = txn.arena.size();
  Stored s{};
  s.sequence = e.sequence;
  s.timestamp_ms = e.timestamp_ms;
  s.kind = e.kind;
  s.table_off = append(txn.arena, e.table);
  s.table_len = static_cast<uint32_t>(e.table.size());
  s.key_off = append(txn.arena, e.key);
  s.key_len = static_cast<uint32_t>(e.key.size());
  if (e.value) {
    s.flags |= 1;
    s.value_off = append(txn.arena, *e.value);
    s.value_len = static_cast<uint32_t>(e.value->size());
  }
  if (e.old_value) {
    s.flags |= 2;
    s.old_off = append(txn.arena, *e.old_value);
    s.old_len = static_cast<uint32_t>(e.old_value->size());
  }
  txn.changes.push_back(s);
  buffered_bytes_ += txn.arena.size() - before;
  if (txn.arena.size() + txn.changes.size() * sizeof(Stored) > max_txn_bytes_) {
    // Too large to hold: forget the buffered changes, re-read them at COMMIT.
    spdlog::info("transaction {} exceeds {} bytes; streaming it from the WAL at commit",
                 e.transaction_id, max_txn_bytes_);
    buffered_bytes_ -= txn.arena.size();
    txn.spilled = true;
    ++spilled_txns_;
    std::string().swap(txn.arena);
    std::vector<Stored>().swap(txn.changes);
  }
  return Status::ok();
}

Status TxnAssembler::replay_spilled(const CommitInfo& info, uint64_t begin_sequence,
                                    const ChangeFn& on_change) {
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
    c.kind = e.kind;
    c.table = e.table;
    c.key = e.key;
    c.value = e.value;
    c.old_value = e.old_value;
    HELIOSDB_RETURN_IF_ERROR(on_change(info, c));
  }
  return Status::ok();
}

}  // namespace heliosdb::cdc
