// TxnAssembler: from WAL entries in log order to committed changes in commit
// order.
//
// Changes are held per open transaction until its COMMIT (then handed out in
// WAL order) or ABORT (then dropped). Transactions may interleave.
//
// Memory: a transaction whose buffered changes exceed `max_txn_bytes` stops
// being buffered; at its COMMIT its changes are streamed by re-reading the
// source from the transaction's BEGIN with a second reader. The WAL itself is
// the spill file, so a transaction of any size needs bounded memory.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "heliosdb/cdc/status.h"
#include "heliosdb/cdc/wal.h"
#include "source/source.h"

namespace heliosdb::cdc {

struct CommittedChange {
  uint64_t transaction_id = 0;
  uint64_t sequence = 0;
  int64_t timestamp_ms = 0;
  WalEntryKind kind = WalEntryKind::Insert;
  std::string_view table;
  std::string_view key;
  std::optional<std::string_view> value;
  std::optional<std::string_view> old_value;
};

struct CommitInfo {
  uint64_t transaction_id = 0;
  uint64_t commit_sequence = 0;
  // Where a reader must restart to see this transaction's changes again.
  uint64_t restart_during = 0;
  // Where a reader must restart once this transaction is fully delivered.
  uint64_t restart_after = 0;
  uint64_t change_count = 0;
};

class TxnAssembler {
 public:
  // Receives each change of a committed transaction, in WAL order.
  using ChangeFn = std::function<Status(const CommitInfo&, const CommittedChange&)>;
  // Called after the last change of a committed transaction.
  using CommitFn = std::function<Status(const CommitInfo&)>;

  // `source` (which must outlive the assembler) is reopened to stream
  // transactions too large to buffer.
  TxnAssembler(const ChangeSource* source, std::string database, uint64_t max_txn_bytes);

  // Feeds one entry (already known to be of our database). Calls the
  // callbacks when it completes a transaction.
  Status add(const WalEntry& entry, const ChangeFn& on_change, const CommitFn& on_commit);

  // Reading resumes from a checkpoint that delivered every commit up to
  // `delivered_commit_sequence`. The reader starts at the checkpoint's
  // restart sequence, the oldest BEGIN still open when it was taken; a
  // transaction that began before that point and committed (or aborted)
  // before `delivered_commit_sequence` shows changes without a BEGIN. That
  // is routine: such changes are not reported. A change without a BEGIN
  // after `delivered_commit_sequence` still is (its BEGIN must be in the
  // part of the WAL read).
  void resume_after_commit(uint64_t delivered_commit_sequence) {
    resumed_commit_ = delivered_commit_sequence;
  }

  // The lowest BEGIN sequence of the open transactions, or `fallback`.
  uint64_t oldest_open_begin(uint64_t fallback) const;
  size_t open_transactions() const { return open_.size(); }
  uint64_t aborted_transactions() const { return aborted_txns_; }
  uint64_t aborted_changes() const { return aborted_changes_; }
  uint64_t spilled_transactions() const { return spilled_txns_; }
  size_t buffered_bytes() const { return buffered_bytes_; }

 private:
  struct Stored {
    uint64_t sequence;
    int64_t timestamp_ms;
    WalEntryKind kind;
    uint8_t flags;  // 1: has value, 2: has old_value
    uint32_t table_off, table_len, key_off, key_len, value_off, value_len, old_off, old_len;
  };
  struct OpenTxn {
    uint64_t begin_sequence = 0;
    bool spilled = false;
    uint64_t change_count = 0;
    std::string arena;
    std::vector<Stored> changes;
  };

  // The open transaction `txn_id`, or null. Consecutive entries mostly
  // belong to one transaction: the last one found is remembered.
  OpenTxn* find_txn(uint64_t txn_id);
  OpenTxn& open_txn(uint64_t txn_id, uint64_t begin_sequence);
  void close_txn(uint64_t txn_id);
  Status replay_spilled(const CommitInfo& info, uint64_t begin_sequence, const ChangeFn& on_change);

  const ChangeSource* source_;
  std::string database_;
  uint64_t max_txn_bytes_;
  std::unordered_map<uint64_t, std::unique_ptr<OpenTxn>> open_;
  std::map<uint64_t, uint64_t> begins_;         // begin sequence -> txn id
  std::vector<std::unique_ptr<OpenTxn>> free_;  // recycled, keeping their capacity
  uint64_t cached_txn_id_ = 0;
  OpenTxn* cached_txn_ = nullptr;  // open_[cached_txn_id_], or null
  size_t buffered_bytes_ = 0;
  uint64_t aborted_txns_ = 0;
  uint64_t aborted_changes_ = 0;
  uint64_t spilled_txns_ = 0;
  uint64_t resumed_commit_ = 0;  // see resume_after_commit()
};

}  // namespace heliosdb::cdc
