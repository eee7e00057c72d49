// Where the pipeline stands in the WAL, in the terms a checkpoint needs.
//
// Events leave in commit order, not WAL order: a transaction's changes are
// emitted when its COMMIT is read, and transactions interleave. So "how far
// are we" is a pair (commit_sequence, event_sequence): every change of every
// transaction that committed before commit_sequence is delivered, and of the
// transaction committing at commit_sequence every change up to
// event_sequence (event_sequence == commit_sequence: all of it).
// restart_sequence is where a reader must start to see every change not yet
// delivered: the BEGIN of the oldest transaction still open at that point.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

namespace heliosdb::cdc {

struct DeliveryPosition {
  uint64_t restart_sequence = 0;  // read the WAL from here on resume (0: from the oldest entry)
  uint64_t commit_sequence = 0;   // 0: nothing delivered yet
  uint64_t event_sequence = 0;

  // True if the change `event_seq` of the transaction committed at
  // `commit_seq` is covered by this position (already delivered).
  bool covers(uint64_t commit_seq, uint64_t event_seq) const {
    return std::tie(commit_seq, event_seq) <= std::tie(commit_sequence, event_sequence);
  }
  bool operator==(const DeliveryPosition&) const = default;
};

// A position as a checkpoint keeps it: chosen and encoded by the source
// (SourcePositionCodec in source.h), kept as they are by the checkpoint
// store, which never interprets them. So a new source (PostgreSQL's LSNs,
// snapshot progress) needs no new checkpoint format.
struct SourcePosition {
  std::string source_type;  // which kind of source wrote it: "heliosdb-wal"
  std::string source_id;    // identity of the log or slot read ("" if none was known)
  std::string position;     // the source's encoding of where delivery stands
  bool operator==(const SourcePosition&) const = default;
};

}  // namespace heliosdb::cdc
