// The committed changes of one database, read straight from a WAL with this
// file's own transaction bookkeeping, and the exact JSON line the seed's
// format gives each (own base64): what an end-to-end test expects at the
// destination, computed independently of the pipeline.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "heliosdb/cdc/wal.h"
#include "testing/test_util.h"

namespace heliosdb::cdc::testing {

struct CommittedChange {
  OwnedWalEntry entry;
  uint64_t commit_sequence = 0;  // sequence of its transaction's COMMIT
  size_t order = 0;              // position in commit order
  std::string id;                // event_id: evt_<database>_<sequence>
  std::string json;              // the JSON line of the seed's format
};

inline const char* wal_operation_name(WalEntryKind k) {
  return k == WalEntryKind::Insert   ? "INSERT"
         : k == WalEntryKind::Update ? "UPDATE"
         : k == WalEntryKind::Delete ? "DELETE"
                                     : "TRUNCATE";
}

inline std::string expected_event_json(const OwnedWalEntry& e, const std::string& database) {
  auto opt = [](const std::optional<std::string>& v) {
    return v ? "\"" + base64(*v) + "\"" : std::string("null");
  };
  return "{\"event_id\":\"evt_" + database + "_" + std::to_string(e.sequence) +
         "\",\"timestamp\":" + std::to_string(e.timestamp_ms) +
         ",\"sequence\":" + std::to_string(e.sequence) + ",\"operation\":\"" +
         wal_operation_name(e.kind) + "\",\"database\":\"" + database + "\",\"table\":\"" +
         e.table + "\",\"key\":\"" + base64(e.key) + "\",\"value\":" + opt(e.value) +
         ",\"old_value\":" + opt(e.old_value) + ",\"transaction_id\":\"txn_" +
         std::to_string(e.transaction_id) + "\",\"metadata\":{}}";
}

// The committed changes of `database`, in commit order; `aborted_changes`
// (if given) counts the changes of its aborted transactions.
inline std::vector<CommittedChange> read_committed_changes(const std::string& wal_dir,
                                                           const std::string& database,
                                                           uint64_t* aborted_changes = nullptr) {
  WalReaderOptions o;
  o.dir = wal_dir;
  auto reader = WalReader::open(o);
  EXPECT_TRUE(reader) << reader.status().to_string();
  std::vector<CommittedChange> out;
  if (!reader) return out;
  std::map<uint64_t, std::vector<OwnedWalEntry>> open;
  uint64_t aborted = 0;
  WalEntry e;
  while (true) {
    auto r = (*reader)->next(e);
    EXPECT_TRUE(r) << r.status().to_string();
    if (!r || *r == WalReadStatus::kEndOfLog) break;
    if (e.database != database) continue;
    if (e.kind == WalEntryKind::Begin) {
      open[e.transaction_id];
    } else if (e.kind == WalEntryKind::Commit) {
      for (auto& c : open[e.transaction_id]) {
        CommittedChange ch;
        ch.commit_sequence = e.sequence;
        ch.order = out.size();
        ch.id = "evt_" + database + "_" + std::to_string(c.sequence);
        ch.json = expected_event_json(c, database);
        ch.entry = std::move(c);
        out.push_back(std::move(ch));
      }
      open.erase(e.transaction_id);
    } else if (e.kind == WalEntryKind::Abort) {
      aborted += open[e.transaction_id].size();
      open.erase(e.transaction_id);
    } else {
      open[e.transaction_id].push_back(OwnedWalEntry::from(e));
    }
  }
  if (aborted_changes) *aborted_changes = aborted;
  return out;
}

}  // namespace heliosdb::cdc::testing
