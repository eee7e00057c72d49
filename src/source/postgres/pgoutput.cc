#include "source/postgres/pgoutput.h"

#include <charconv>
#include <cstdio>

namespace heliosdb::cdc::pg {
namespace {

// Reads big-endian fields from a message, remembering the first failure:
// the decoders read every field, then ask ok() once.
class Reader {
 public:
  Reader(std::string_view bytes, const char* what) : bytes_(bytes), what_(what) {}

  uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<uint8_t>(bytes_[pos_++]);
  }
  uint16_t u16() { return static_cast<uint16_t>(be(2)); }
  uint32_t u32() { return static_cast<uint32_t>(be(4)); }
  uint64_t u64() { return be(8); }
  int32_t i32() { return static_cast<int32_t>(u32()); }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  // A NUL-terminated string.
  std::string_view cstring() {
    if (failed_) return {};
    const size_t end = bytes_.find('\0', pos_);
    if (end == std::string_view::npos) {
      fail("a string without its terminating NUL");
      return {};
    }
    std::string_view s = bytes_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  std::string_view bytes(size_t n) {
    if (!need(n)) return {};
    std::string_view s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view rest() {
    std::string_view s = bytes_.substr(pos_);
    pos_ = bytes_.size();
    return s;
  }
  size_t offset() const { return pos_; }
  bool at_end() const { return pos_ == bytes_.size(); }

  void fail(const std::string& why) {
    if (failed_) return;
    failed_ = true;
    error_ = std::string(what_) + " message: " + why + " at byte " + std::to_string(pos_) + " of " +
             std::to_string(bytes_.size());
  }
  // kCorruption with the first failure, or trailing bytes.
  Status finish() {
    if (!failed_ && !at_end()) fail(std::to_string(bytes_.size() - pos_) + " unexpected bytes");
    return failed_ ? corruption(error_) : Status::ok();
  }

 private:
  bool need(size_t n) {
    if (failed_) return false;
    if (bytes_.size() - pos_ < n) {
      fail("truncated (" + std::to_string(n) + " more bytes needed)");
      return false;
    }
    return true;
  }
  uint64_t be(size_t n) {
    if (!need(n)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(bytes_[pos_ + i]);
    pos_ += n;
    return v;
  }

  std::string_view bytes_;
  const char* what_;
  size_t pos_ = 0;
  bool failed_ = false;
  std::string error_;
};

void put_be(std::string& out, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

TupleData read_tuple(Reader& r) {
  TupleData tuple;
  const uint16_t columns = r.u16();
  tuple.reserve(columns);
  for (uint16_t i = 0; i < columns; ++i) {
    TupleColumn c;
    const char kind = static_cast<char>(r.u8());
    switch (kind) {
      case 'n':
        c.kind = TupleColumn::Kind::kNull;
        break;
      case 'u':
        c.kind = TupleColumn::Kind::kUnchangedToast;
        break;
      case 't':
      case 'b':
        c.kind = kind == 't' ? TupleColumn::Kind::kText : TupleColumn::Kind::kBinary;
        c.value = r.bytes(r.u32());
        break;
      default:
        r.fail("column " + std::to_string(i) + " has unknown kind byte " +
               std::to_string(static_cast<uint8_t>(kind)));
        return tuple;
    }
    tuple.push_back(c);
  }
  return tuple;
}

template <typename T>
Result<PgOutputMessage> done(Reader& r, T message) {
  HELIOSDB_RETURN_IF_ERROR(r.finish());
  return PgOutputMessage(std::move(message));
}

}  // namespace

std::string format_lsn(Lsn lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

std::optional<Lsn> parse_lsn(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash > 8 || text.size() - slash - 1 == 0 ||
      text.size() - slash - 1 > 8) {
    return std::nullopt;
  }
  uint32_t hi = 0, lo = 0;
  auto [p1, e1] = std::from_chars(text.data(), text.data() + slash, hi, 16);
  auto [p2, e2] = std::from_chars(text.data() + slash + 1, text.data() + text.size(), lo, 16);
  if (e1 != std::errc() || p1 != text.data() + slash || e2 != std::errc() ||
      p2 != text.data() + text.size()) {
    return std::nullopt;
  }
  return (static_cast<Lsn>(hi) << 32) | lo;
}

Result<ReplicationMessage> decode_replication_message(std::string_view copy_data) {
  if (copy_data.empty()) return corruption("empty replication message");
  const char type = copy_data[0];
  if (type == 'w') {
    Reader r(copy_data.substr(1), "XLogData");
    XLogData m;
    m.wal_start = r.u64();
    m.wal_end = r.u64();
    m.send_time = r.i64();
    m.payload = r.rest();
    HELIOSDB_RETURN_IF_ERROR(r.finish());
    return ReplicationMessage(m);
  }
  if (type == 'k') {
    Reader r(copy_data.substr(1), "primary keepalive");
    PrimaryKeepalive m;
    m.wal_end = r.u64();
    m.send_time = r.i64();
    m.reply_requested = r.u8() != 0;
    HELIOSDB_RETURN_IF_ERROR(r.finish());
    return ReplicationMessage(m);
  }
  return corruption("unknown replication message type byte " +
                    std::to_string(static_cast<uint8_t>(type)));
}

std::string encode_standby_status(Lsn written, Lsn flushed, Lsn applied, int64_t now_pg_micros,
                                  bool reply_requested) {
  std::string out;
  out.reserve(34);
  out.push_back('r');
  put_be(out, written, 8);
  put_be(out, flushed, 8);
  put_be(out, applied, 8);
  put_be(out, static_cast<uint64_t>(now_pg_micros), 8);
  out.push_back(reply_requested ? 1 : 0);
  return out;
}

Result<PgOutputMessage> decode_pgoutput(std::string_view payload) {
  if (payload.empty()) return corruption("empty pgoutput message");
  const char type = payload[0];
  const std::string_view body = payload.substr(1);
  switch (type) {
    case 'B': {
      Reader r(body, "Begin");
      Begin m;
      m.final_lsn = r.u64();
      m.commit_time = r.i64();
      m.xid = r.u32();
      return done(r, m);
    }
    case 'C': {
      Reader r(body, "Commit");
      Commit m;
      m.flags = r.u8();
      m.commit_lsn = r.u64();
      m.end_lsn = r.u64();
      m.commit_time = r.i64();
      return done(r, m);
    }
    case 'O': {
      Reader r(body, "Origin");
      Origin m;
      m.commit_lsn = r.u64();
      m.name = r.cstring();
      return done(r, m);
    }
    case 'R': {
      Reader r(body, "Relation");
      Relation m;
      m.relation_id = r.u32();
      m.namespace_name = r.cstring();
      m.relation_name = r.cstring();
      m.replica_identity = static_cast<char>(r.u8());
      const uint16_t columns = r.u16();
      m.columns.reserve(columns);
      for (uint16_t i = 0; i < columns && !r.at_end(); ++i) {
        RelationColumn c;
        c.part_of_key = (r.u8() & 1) != 0;
        c.name = r.cstring();
        c.type_oid = r.u32();
        c.type_modifier = r.i32();
        m.columns.push_back(c);
      }
      if (m.columns.size() != columns)
        r.fail("fewer columns than the " + std::to_string(columns) + " announced");
      return done(r, std::move(m));
    }
    case 'Y': {
      Reader r(body, "Type");
      TypeMessage m;
      m.type_oid = r.u32();
      m.namespace_name = r.cstring();
      m.type_name = r.cstring();
      return done(r, m);
    }
    case 'I': {
      Reader r(body, "Insert");
      Insert m;
      m.relation_id = r.u32();
      if (r.u8() != 'N') r.fail("no 'N' before the new tuple");
      m.new_tuple = read_tuple(r);
      return done(r, std::move(m));
    }
    case 'U': {
      Reader r(body, "Update");
      Update m;
      m.relation_id = r.u32();
      char next = static_cast<char>(r.u8());
      if (next == 'K' || next == 'O') {
        m.old_kind = next;
        m.old_tuple = read_tuple(r);
        next = static_cast<char>(r.u8());
      }
      if (next != 'N') r.fail("no 'N' before the new tuple");
      m.new_tuple = read_tuple(r);
      return done(r, std::move(m));
    }
    case 'D': {
      Reader r(body, "Delete");
      Delete m;
      m.relation_id = r.u32();
      m.old_kind = static_cast<char>(r.u8());
      if (m.old_kind != 'K' && m.old_kind != 'O') r.fail("no 'K' or 'O' before the old tuple");
      m.old_tuple = read_tuple(r);
      return done(r, std::move(m));
    }
    case 'T': {
      Reader r(body, "Truncate");
      Truncate m;
      const uint32_t relations = r.u32();
      const uint8_t options = r.u8();
      m.cascade = (options & 1) != 0;
      m.restart_identity = (options & 2) != 0;
      // Each id is 4 bytes: a count the message cannot hold is refused
      // before anything is reserved for it.
      if (relations > body.size() / 4) {
        r.fail(std::to_string(relations) +
               " relations announced in a message that cannot hold them");
      } else {
        m.relation_ids.reserve(relations);
        for (uint32_t i = 0; i < relations; ++i) m.relation_ids.push_back(r.u32());
      }
      return done(r, std::move(m));
    }
    case 'M': {
      Reader r(body, "Message");
      LogicalMessage m;
      m.transactional = (r.u8() & 1) != 0;
      m.lsn = r.u64();
      m.prefix = r.cstring();
      m.content = r.bytes(r.u32());
      return done(r, m);
    }
    default:
      return corruption("unknown pgoutput message type byte " +
                        std::to_string(static_cast<uint8_t>(type)) + " (protocol version 1)");
  }
}

}  // namespace heliosdb::cdc::pg
