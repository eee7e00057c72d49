// Snapshot progress as the checkpoint keeps it, and the messages a snapshot
// writes into the WAL (watermarks, requests).
//
// The PostgreSQL source snapshots tables chunk by chunk (DBLog's watermark
// method, docs/postgres.md#snapshots). What it has delivered of a snapshot
// goes into the checkpoint beside the stream position (encode_postgres_position
// in postgres_source.h), so a restart goes on from the next chunk, and
// `heliosdb-cdc snapshot status` reads it without the daemon.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/status.h"
#include "source/postgres/pgoutput.h"

namespace heliosdb::cdc::pg {

struct SnapshotTableState {
  enum class Phase : uint8_t { kPending, kRunning, kDone };
  std::string table;  // "schema.table"
  Phase phase = Phase::kPending;
  uint64_t rows = 0;  // READ events delivered for it
  // The key of the last row read (its chunk-key columns' text values, in
  // key order): the next chunk starts after it. Empty: from the start.
  std::vector<std::string> after;
  bool operator==(const SnapshotTableState&) const = default;
};
// "pending", "running" or "done": in the checkpoint and in `snapshot status`.
std::string_view phase_name(SnapshotTableState::Phase p);

struct SnapshotState {
  // Increases with every snapshot started (the initial one is 1, each
  // request one more); part of READ events' event_id.
  uint64_t run = 0;
  // The WAL position of the last snapshot request handled (requests at or
  // below it, sent again on a resume, are not taken twice).
  Lsn last_request = 0;
  std::vector<SnapshotTableState> tables;  // in snapshot order

  bool empty() const { return run == 0 && tables.empty() && last_request == 0; }
  // A table is pending or running.
  bool active() const;
  // The table being snapshotted or next to be; nullptr when none is left.
  SnapshotTableState* current();
  const SnapshotTableState* current() const;
  // `table` is among the tables pending or running.
  bool has_unfinished(std::string_view table) const;
  bool operator==(const SnapshotState&) const = default;
};

// One line without spaces or newlines ("run=1;req=0/0;t=public.users:running:1000:42"):
// values are %-escaped.
std::string encode_snapshot_state(const SnapshotState& s);
// kCorruption saying what is wrong.
Result<SnapshotState> decode_snapshot_state(std::string_view text);

// Messages the daemon and `heliosdb-cdc snapshot request` write with
// pg_logical_emit_message(false, prefix, content) and read back from the
// stream. The slot name in each keeps pipelines on one database apart.
inline constexpr std::string_view kWatermarkPrefix = "heliosdb_cdc.watermark";
inline constexpr std::string_view kSnapshotRequestPrefix = "heliosdb_cdc.snapshot_request";

struct Watermark {
  std::string slot;
  bool high = false;  // false: the low (opening) watermark
  std::string chunk_id;
};
std::string encode_watermark(const Watermark& w);
std::optional<Watermark> decode_watermark(std::string_view content);

struct SnapshotRequest {
  std::string slot;
  std::vector<std::string> tables;  // "schema.table"
};
std::string encode_snapshot_request(const SnapshotRequest& r);
std::optional<SnapshotRequest> decode_snapshot_request(std::string_view content);

}  // namespace heliosdb::cdc::pg
