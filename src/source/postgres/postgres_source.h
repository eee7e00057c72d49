// The PostgreSQL source: a logical replication slot read with pgoutput
// (protocol version 1) over libpq, behind the source seam (../source.h).
//
// pgoutput v1 sends only committed transactions, in commit order, so the
// source hands each change on as it arrives: nothing is held until COMMIT
// and memory does not grow with a transaction.
//
// Positions (DeliveryPosition, docs/postgres.md):
//   commit_sequence   the transaction's commit LSN (Begin's final_lsn),
//   event_sequence    the change's ordinal in its transaction (1, 2, ...;
//                     at the commit: the commit LSN, i.e. all of it),
//   restart_sequence  the end LSN of the last transaction handed on before
//                     (once this one is done: its own end LSN). It is where
//                     START_REPLICATION resumes, and the flush position the
//                     slot is told once a checkpoint holding it is durable.
// Keepalives move the position on while no transaction is open (a
// position-only commit at the server's walEnd), so an idle or fully
// filtered database does not hold WAL on the server.
#pragma once

#include <cstdint>
#include <memory>

#include "source/postgres/pgoutput.h"
#include "source/postgres/postgres_options.h"
#include "source/postgres/snapshot_state.h"
#include "source/source.h"

namespace heliosdb::cdc::pg {

inline constexpr const char* kPostgresSourceType = "postgres";

std::unique_ptr<SourceFactory> make_postgres_source_factory(PostgresSourceOptions options);

// An event's `sequence` (and event_id): the commit LSN in 8-byte units
// (WAL records start 8-byte aligned) shifted left by 20 bits, plus the
// change's 0-based ordinal. Increasing in commit order, the same on every
// delivery, and positive in a signed 64-bit long while the commit LSN is
// below 2^46 (64 TiB of WAL). Unique while a transaction has fewer changes
// than 5 * 2^20 (5,242,880): the next commit record starts at least 40
// bytes (5 units) later, so ordinals up to there cannot reach it.
inline constexpr int kOrdinalBits = 20;
inline uint64_t postgres_event_sequence(Lsn commit_lsn, uint64_t ordinal) {
  return ((commit_lsn >> 3) << kOrdinalBits) + ordinal;
}

// The checkpoint encoding of a position ("pg1 <restart> <commit> <event>",
// LSNs as PostgreSQL prints them, then " " and the snapshot progress when a
// snapshot ever ran: encode_snapshot_state); exposed for tests and for
// `heliosdb-cdc snapshot status`.
struct PostgresCheckpoint {
  DeliveryPosition position;
  SnapshotState snapshot;  // empty() when no snapshot ever ran
};
std::string encode_postgres_position(const DeliveryPosition& position,
                                     const SnapshotState& snapshot = {});
Result<PostgresCheckpoint> decode_postgres_checkpoint(std::string_view bytes);
Result<DeliveryPosition> decode_postgres_position(std::string_view bytes);

}  // namespace heliosdb::cdc::pg
