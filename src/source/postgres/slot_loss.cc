#include "source/postgres/slot_loss.h"

#include <spdlog/spdlog.h>

namespace heliosdb::cdc::pg {
namespace {

// What happened and what it cost, in one sentence.
std::string what_happened(SlotLoss loss, const SlotLossContext& w) {
  const std::string slot = "replication slot " + w.slot + " on PostgreSQL at " + w.server;
  const std::string checkpoint =
      "checkpoint " + w.checkpoint_file + " is at LSN " + format_lsn(w.delivered_end);
  switch (loss) {
    case SlotLoss::kDropped:
      return slot + " does not exist (it was dropped), but " + checkpoint +
             ": the changes after that LSN are gone from the server";
    case SlotLoss::kInvalidated:
      return slot +
             " was invalidated by the server (wal_status 'lost': it held more WAL than "
             "max_slot_wal_keep_size allows), and " +
             checkpoint + ": the changes after that LSN are gone from the server";
    case SlotLoss::kAhead:
      return slot + " has confirmed_flush_lsn " + format_lsn(w.slot_confirmed_flush) +
             ", past LSN " + format_lsn(w.delivered_end) + " of checkpoint " + w.checkpoint_file +
             ": the server no longer keeps the changes between them (the slot was advanced by "
             "another client, or dropped and created again)";
  }
  return slot + " is unusable";
}

}  // namespace

std::optional<SlotLoss> slot_loss_of(const std::optional<SlotState>& slot, Lsn delivered_end) {
  if (!slot) return SlotLoss::kDropped;
  if (slot->wal_status == "lost") return SlotLoss::kInvalidated;
  if (delivered_end != 0 && slot->confirmed_flush > delivered_end) return SlotLoss::kAhead;
  return std::nullopt;
}

Status slot_lost_error(SlotLoss loss, const SlotLossContext& w) {
  return Status(ErrorCode::kFailedPrecondition,
                what_happened(loss, w) +
                    ". Refusing to skip them silently (on_slot_lost = \"fail\"). To recover, "
                    "either set [source.postgres] on_slot_lost = \"recreate\" (a new slot, "
                    "and a snapshot of every published table, so each row's current state is "
                    "delivered again), or drop the slot and delete the checkpoint to start over "
                    "without those changes");
}

std::string slot_lost_warning(SlotLoss loss, const SlotLossContext& w) {
  return what_happened(loss, w) +
         "; on_slot_lost = \"recreate\": creating the slot again and snapshotting every table "
         "of the publication";
}

Result<Lsn> recreate_slot(PgConnection& catalog, const PostgresSourceOptions& o, bool exists) {
  if (exists) HELIOSDB_RETURN_IF_ERROR(drop_slot(catalog, o.slot));
  auto tables = publication_tables(catalog, o.publication);
  if (!tables) return tables.status();
  auto created = create_slot(catalog, o.slot);
  if (!created) return created.status();
  // After the consistent point, so the new slot decodes it. Should the
  // daemon stop before the request is delivered, the next start finds
  // this slot past the checkpoint: lost again, made again, asked again.
  auto at = write_snapshot_request(catalog, {o.slot, *tables});
  if (!at) return at.status();
  spdlog::info("created replication slot {} again at {}; snapshot of {} tables requested at {}",
               o.slot, format_lsn(*created), tables->size(), *at);
  return *created;
}

}  // namespace heliosdb::cdc::pg
