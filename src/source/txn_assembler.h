// TxnAssembler: from WAL entries in log order to committed changes in commit
// order.
//
// Changes are held per open transaction until its COMMIT (then handed out in
// WAL order) or ABORT (then dropped). Transactions may interleave.
//
// Memory: the changes of all open transactions together are held in at most
// `max_txn_bytes` (counted as allocated: row bytes, their headers and the
// unused tail of each block). A change that would go past it is checked
// before it is copied: the largest open transaction stops being buffered
// (the one receiving the change if that is the largest, or if the change
// alone is larger than the limit), and at its COMMIT its changes are streamed
// by re-reading the source from the transaction's BEGIN with a second reader.
// The WAL itself is the spill file, so transactions of any size need bounded
// memory. Recycled transactions keep one small block each (at most
// kRecycledTransactions of them) so that small transactions allocate
// nothing.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "heliosdb/cdc/status.h"
#include "heliosdb/cdc/wal.h"
#include "source/source.h"
#include "source/wal_source.h"

namespace heliosdb::cdc {

class TxnAssembler {
 public:
  // `source` (which must outlive the assembler) is reopened to stream
  // transactions too large to buffer.
  TxnAssembler(const WalEntryReader* source, std::string database, uint64_t max_txn_bytes);

  // Feeds one entry (already known to be of our database). When it commits
  // a transaction, hands it to `handler`: on_begin, each change in WAL
  // order, on_commit.
  Status add(const WalEntry& entry, TransactionHandler& handler);

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
  // Bytes allocated for the changes of open transactions (at most
  // max_txn_bytes; recycled ones keep at most kRecycledTransactions blocks
  // besides).
  size_t buffered_bytes() const { return buffered_bytes_; }

  static constexpr size_t kRecycledTransactions = 16;

 private:
  // One buffered change: this header, then its table, key, value and
  // old_value bytes, padded to 8 bytes.
  struct Stored {
    uint64_t sequence;
    int64_t timestamp_ms;
    uint32_t table_len, key_len, value_len, old_len;
    OperationType kind;
    uint8_t flags;  // 1: has value, 2: has old_value
  };
  // The changes of one transaction, in blocks that never move: appending
  // never copies what is already held (a doubling std::string copied the
  // whole transaction at each growth and briefly held it twice), and
  // held_bytes() is what is allocated. A change larger than a block gets a
  // block of its own size.
  class ChangeLog {
   public:
    // Bytes allocate() would allocate for a record (0: it fits).
    size_t growth_for(size_t record_bytes, size_t block_bytes) const {
      if (!blocks_.empty() && blocks_.back().size - blocks_.back().used >= record_bytes) return 0;
      return std::max(record_bytes, block_bytes);
    }
    // Room for one record of `record_bytes`, in a new block of
    // max(record_bytes, block_bytes) if the last one has no room.
    char* allocate(size_t record_bytes, size_t block_bytes) {
      if (blocks_.empty() || blocks_.back().size - blocks_.back().used < record_bytes) {
        add_block(std::max(record_bytes, block_bytes));
      }
      Block& b = blocks_.back();
      char* p = b.data.get() + b.used;
      b.used += record_bytes;
      return p;
    }
    // Forgets the changes, keeping the first block if it is at most
    // `block_bytes`; returns the bytes freed.
    size_t clear(size_t block_bytes);
    size_t held_bytes() const { return held_; }
    template <typename Fn>
    Status for_each(Fn&& fn) const;

   private:
    void add_block(size_t size);
    struct Block {
      std::unique_ptr<char[]> data;
      size_t size = 0;
      size_t used = 0;
    };
    std::vector<Block> blocks_;
    size_t held_ = 0;
  };
  struct OpenTxn {
    uint64_t begin_sequence = 0;
    bool spilled = false;
    uint64_t change_count = 0;
    ChangeLog log;
  };

  // The open transaction `txn_id`, or null. Consecutive entries mostly
  // belong to one transaction: the last one found is remembered.
  OpenTxn* find_txn(uint64_t txn_id);
  OpenTxn& open_txn(uint64_t txn_id, uint64_t begin_sequence);
  void close_txn(uint64_t txn_id);
  Status replay_spilled(const CommitInfo& info, uint64_t begin_sequence,
                        TransactionHandler& handler);
  // Makes room for `growth` more buffered bytes for `txn` by spilling the
  // largest open transactions; false if `txn` itself was spilled.
  bool make_room(uint64_t txn_id, OpenTxn& txn, size_t growth);
  void spill(uint64_t txn_id, OpenTxn& txn);

  const WalEntryReader* source_;
  std::string database_;
  uint64_t max_txn_bytes_;
  size_t block_bytes_;  // ChangeLog block size: small against max_txn_bytes_
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
