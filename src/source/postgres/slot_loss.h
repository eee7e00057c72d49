// A slot that no longer holds the changes after the checkpoint: dropped,
// invalidated by the server (max_slot_wal_keep_size), or advanced past
// the checkpoint by another client. Never a silent gap: on_slot_lost =
// "fail" stops with what happened and how to recover; "recreate" makes the
// slot again and snapshots the published tables through it
// (docs/postgres.md#slot-health).
#pragma once

#include <optional>
#include <string>

#include "heliosdb/cdc/status.h"
#include "source/postgres/pg_catalog.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/pgoutput.h"
#include "source/postgres/postgres_options.h"

namespace heliosdb::cdc::pg {

enum class SlotLoss {
  kDropped,      // no slot of that name (42704)
  kInvalidated,  // wal_status 'lost'; START_REPLICATION fails with 55000
  kAhead,        // confirmed_flush_lsn past the checkpoint
};

// What the slot's state says, given the end LSN of the last transaction
// delivered in full (0: nothing yet, so no slot position is a gap).
std::optional<SlotLoss> slot_loss_of(const std::optional<SlotState>& slot, Lsn delivered_end);

// Where it happened, for the messages.
struct SlotLossContext {
  std::string slot;
  std::string server;
  std::string checkpoint_file;
  Lsn delivered_end = 0;
  Lsn slot_confirmed_flush = 0;  // kAhead: where the slot stands
};

// The error on_slot_lost = "fail" stops with (kFailedPrecondition).
Status slot_lost_error(SlotLoss loss, const SlotLossContext& where);
// The warning logged before recreating.
std::string slot_lost_warning(SlotLoss loss, const SlotLossContext& where);

// on_slot_lost = "recreate": drops what is left of the slot (`exists`),
// creates it again and writes a snapshot request for every table of the
// publication right after its consistent point, so the new slot's stream
// begins with a snapshot of each table's current state. Returns the
// consistent point (where the new stream starts).
Result<Lsn> recreate_slot(PgConnection& catalog, const PostgresSourceOptions& o, bool exists);

}  // namespace heliosdb::cdc::pg
