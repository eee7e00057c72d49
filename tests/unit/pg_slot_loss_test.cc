// slot_loss: which slot states are a gap, and what the daemon says of each.
#include "source/postgres/slot_loss.h"

#include <gtest/gtest.h>

namespace heliosdb::cdc::pg {
namespace {

SlotState slot_at(Lsn confirmed, std::string wal_status = "reserved") {
  SlotState s;
  s.plugin = "pgoutput";
  s.confirmed_flush = confirmed;
  s.wal_status = std::move(wal_status);
  return s;
}

TEST(PgSlotLoss, MissingInvalidatedAndAheadAreLossesAndAnythingElseIsNot) {
  EXPECT_EQ(slot_loss_of(std::nullopt, 0x1000), SlotLoss::kDropped);
  EXPECT_EQ(slot_loss_of(slot_at(0x1000, "lost"), 0x1000), SlotLoss::kInvalidated);
  EXPECT_EQ(slot_loss_of(slot_at(0x1008), 0x1000), SlotLoss::kAhead);
  EXPECT_EQ(slot_loss_of(slot_at(0x1000), 0x1000), std::nullopt);
  EXPECT_EQ(slot_loss_of(slot_at(0x0F00), 0x1000), std::nullopt);  // behind: read again
  EXPECT_EQ(slot_loss_of(slot_at(0x1000, "extended"), 0x1000), std::nullopt);
  EXPECT_EQ(slot_loss_of(slot_at(0x1000, ""), 0x1000), std::nullopt);  // before PostgreSQL 13
  // Nothing delivered yet: a slot anywhere is where the stream starts.
  EXPECT_EQ(slot_loss_of(slot_at(0x9000), 0), std::nullopt);
}

TEST(PgSlotLoss, TheFailErrorNamesTheSlotTheCheckpointAndBothWaysToRecover) {
  const SlotLossContext at{"cdc", "10.0.0.5:5432, database app, user cdc",
                           "/var/lib/cdc/app.checkpoint", 0x166682B0, 0x16700000};
  const Status dropped = slot_lost_error(SlotLoss::kDropped, at);
  EXPECT_EQ(dropped.code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(dropped.message(),
            "replication slot cdc on PostgreSQL at 10.0.0.5:5432, database app, user cdc does not "
            "exist (it was dropped), but checkpoint /var/lib/cdc/app.checkpoint is at LSN "
            "0/166682B0: the changes after that LSN are gone from the server. Refusing to skip "
            "them silently (on_slot_lost = \"fail\"). To recover, either set [source.postgres] "
            "on_slot_lost = \"recreate\" (a new slot, and a snapshot of every published table, so "
            "each row's current state is delivered again), or drop the slot and delete the "
            "checkpoint to start over without those changes");
  EXPECT_NE(slot_lost_error(SlotLoss::kInvalidated, at)
                .message()
                .find("was invalidated by the server (wal_status 'lost': it held more WAL than "
                      "max_slot_wal_keep_size allows)"),
            std::string::npos);
  EXPECT_NE(slot_lost_error(SlotLoss::kAhead, at)
                .message()
                .find("has confirmed_flush_lsn 0/16700000, past LSN 0/166682B0 of checkpoint "
                      "/var/lib/cdc/app.checkpoint"),
            std::string::npos);
  EXPECT_NE(slot_lost_warning(SlotLoss::kDropped, at)
                .find("on_slot_lost = \"recreate\": creating the slot again and snapshotting every "
                      "table of the publication"),
            std::string::npos);
}

}  // namespace
}  // namespace heliosdb::cdc::pg
