// Decoding PostgreSQL's logical replication stream: the CopyData messages of
// START_REPLICATION (XLogData 'w', primary keepalive 'k'), the standby
// status update we answer with ('r'), and the pgoutput plugin's messages of
// protocol version 1 inside XLogData (Begin, Commit, Origin, Relation, Type,
// Insert, Update, Delete, Truncate, and logical Message with the `messages`
// option, PostgreSQL 14+). Formats: PostgreSQL's "Streaming Replication
// Protocol" and "Logical Replication Message Formats" chapters. Integers
// are big-endian, strings NUL-terminated.
//
// Pure functions over bytes, no libpq: the replication connection hands
// each CopyData payload here. Views in the results point into the input.
// Every malformed message is kCorruption naming the message and the byte
// offset, never a crash or a read past the end (the bytes come from the
// network).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::pg {

using Lsn = uint64_t;

// "16/B374D848", as PostgreSQL prints an LSN.
std::string format_lsn(Lsn lsn);
// Parses that form; nullopt if it is not one.
std::optional<Lsn> parse_lsn(std::string_view text);

// PostgreSQL timestamps count microseconds from 2000-01-01 00:00 UTC.
inline constexpr int64_t kPostgresEpochUnixMicros = 946684800LL * 1000000;
inline int64_t pg_micros_to_unix_ms(int64_t pg_micros) {
  // Floor division: times before 2000 stay ordered.
  const int64_t unix_micros = pg_micros + kPostgresEpochUnixMicros;
  return unix_micros >= 0 ? unix_micros / 1000 : -((-unix_micros + 999) / 1000);
}

// --- the replication stream (CopyData payloads) ---

struct XLogData {
  Lsn wal_start = 0;         // where this message's WAL data starts
  Lsn wal_end = 0;           // the server's current end of WAL
  int64_t send_time = 0;     // server clock, PostgreSQL microseconds
  std::string_view payload;  // one pgoutput message
};

struct PrimaryKeepalive {
  Lsn wal_end = 0;
  int64_t send_time = 0;
  bool reply_requested = false;  // answer at once, or the server times us out
};

using ReplicationMessage = std::variant<XLogData, PrimaryKeepalive>;
Result<ReplicationMessage> decode_replication_message(std::string_view copy_data);

// The standby status update ('r'): written, flushed and applied positions
// (we report the same, the checkpointed position, as all three) and our
// clock in PostgreSQL microseconds.
std::string encode_standby_status(Lsn written, Lsn flushed, Lsn applied, int64_t now_pg_micros,
                                  bool reply_requested);

// --- pgoutput protocol version 1 ---

struct Begin {
  Lsn final_lsn = 0;        // the commit record's LSN
  int64_t commit_time = 0;  // PostgreSQL microseconds
  uint32_t xid = 0;
};

struct Commit {
  uint8_t flags = 0;
  Lsn commit_lsn = 0;
  Lsn end_lsn = 0;  // the end of the commit record: resuming here skips this transaction
  int64_t commit_time = 0;
};

struct Origin {
  Lsn commit_lsn = 0;
  std::string_view name;
};

struct RelationColumn {
  bool part_of_key = false;  // flags bit 1: in the replica identity
  std::string_view name;
  uint32_t type_oid = 0;
  int32_t type_modifier = 0;
};

struct Relation {
  uint32_t relation_id = 0;
  std::string_view namespace_name;  // "" stands for pg_catalog
  std::string_view relation_name;
  char replica_identity = 'd';  // d default, n nothing, f full, i index
  std::vector<RelationColumn> columns;
};

struct TypeMessage {
  uint32_t type_oid = 0;
  std::string_view namespace_name;
  std::string_view type_name;
};

struct TupleColumn {
  enum class Kind : char { kNull = 'n', kUnchangedToast = 'u', kText = 't', kBinary = 'b' };
  Kind kind = Kind::kNull;
  std::string_view value;  // kText / kBinary only
};
using TupleData = std::vector<TupleColumn>;

struct Insert {
  uint32_t relation_id = 0;
  TupleData new_tuple;
};

struct Update {
  uint32_t relation_id = 0;
  // 'K': the old key columns (the key changed); 'O': the whole old row
  // (REPLICA IDENTITY FULL); absent otherwise.
  char old_kind = 0;
  TupleData old_tuple;
  TupleData new_tuple;
};

struct Delete {
  uint32_t relation_id = 0;
  char old_kind = 'K';  // 'K' key columns, 'O' whole old row
  TupleData old_tuple;
};

struct Truncate {
  bool cascade = false;
  bool restart_identity = false;
  std::vector<uint32_t> relation_ids;
};

struct LogicalMessage {
  bool transactional = false;
  Lsn lsn = 0;
  std::string_view prefix;
  std::string_view content;
};

using PgOutputMessage = std::variant<Begin, Commit, Origin, Relation, TypeMessage, Insert, Update,
                                     Delete, Truncate, LogicalMessage>;

// One pgoutput message (an XLogData payload). An unknown message type is
// kCorruption naming it: protocol version 1 has no others.
Result<PgOutputMessage> decode_pgoutput(std::string_view payload);

}  // namespace heliosdb::cdc::pg
