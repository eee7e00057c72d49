// pgoutput protocol v1 and the replication stream's framing, decoded from
// bytes assembled as PostgreSQL's "Logical Replication Message Formats"
// describe them; and every kind of malformed input refused with the
// message and the byte offset.
#include "source/postgres/pgoutput.h"

#include <gtest/gtest.h>

#include <string>

namespace heliosdb::cdc::pg {
namespace {

// Builds a message field by field, big-endian.
class Bytes {
 public:
  Bytes& c(char v) {
    s_.push_back(v);
    return *this;
  }
  Bytes& u16(uint16_t v) { return be(v, 2); }
  Bytes& u32(uint32_t v) { return be(v, 4); }
  Bytes& u64(uint64_t v) { return be(v, 8); }
  Bytes& str(std::string_view v) {
    s_.append(v);
    s_.push_back('\0');
    return *this;
  }
  Bytes& text(std::string_view v) {
    c('t').u32(static_cast<uint32_t>(v.size()));
    s_.append(v);
    return *this;
  }
  const std::string& get() const { return s_; }

 private:
  Bytes& be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) s_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string s_;
};

// The decoded views point into `bytes`: the caller keeps them alive.
template <typename T>
T decode_as(const std::string& bytes) {
  auto m = decode_pgoutput(bytes);
  EXPECT_TRUE(m) << m.status().to_string();
  if (!m) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*m));
  return std::holds_alternative<T>(*m) ? std::get<T>(*m) : T{};
}

TEST(PgOutput, LsnsPrintAndParseAsPostgresWritesThem) {
  EXPECT_EQ(format_lsn(0x16B374D848ULL), "16/B374D848");
  EXPECT_EQ(format_lsn(0), "0/0");
  EXPECT_EQ(parse_lsn("16/B374D848"), 0x16B374D848ULL);
  EXPECT_EQ(parse_lsn("0/1a"), 0x1aULL);
  for (const char* bad : {"", "/", "16/", "/1", "x/1", "1/x", "1/2/3", "123456789/0", "1 /2"}) {
    EXPECT_FALSE(parse_lsn(bad)) << bad;
  }
}

TEST(PgOutput, CommitTimesBecomeUnixMilliseconds) {
  EXPECT_EQ(pg_micros_to_unix_ms(0), 946684800000);
  EXPECT_EQ(pg_micros_to_unix_ms(1500), 946684800001);
  EXPECT_EQ(pg_micros_to_unix_ms(-kPostgresEpochUnixMicros - 1), -1);  // floor, before 1970
}

TEST(PgOutput, BeginAndCommitCarryTheTransactionsPositions) {
  Begin b = decode_as<Begin>(Bytes().c('B').u64(0x100).u64(123456789).u32(742).get());
  EXPECT_EQ(b.final_lsn, 0x100u);
  EXPECT_EQ(b.commit_time, 123456789);
  EXPECT_EQ(b.xid, 742u);

  Commit c = decode_as<Commit>(Bytes().c('C').c(0).u64(0x100).u64(0x130).u64(99).get());
  EXPECT_EQ(c.commit_lsn, 0x100u);
  EXPECT_EQ(c.end_lsn, 0x130u);
  EXPECT_EQ(c.commit_time, 99);
}

TEST(PgOutput, RelationListsColumnsWithKeyFlagsAndTypes) {
  const std::string bytes = Bytes()
                                .c('R')
                                .u32(16384)
                                .str("public")
                                .str("users")
                                .c('f')
                                .u16(2)
                                .c(1)
                                .str("id")
                                .u32(23)
                                .u32(0xffffffff)
                                .c(0)
                                .str("name")
                                .u32(25)
                                .u32(0xffffffff)
                                .get();
  Relation r = decode_as<Relation>(bytes);
  EXPECT_EQ(r.relation_id, 16384u);
  EXPECT_EQ(r.namespace_name, "public");
  EXPECT_EQ(r.relation_name, "users");
  EXPECT_EQ(r.replica_identity, 'f');
  ASSERT_EQ(r.columns.size(), 2u);
  EXPECT_TRUE(r.columns[0].part_of_key);
  EXPECT_EQ(r.columns[0].name, "id");
  EXPECT_EQ(r.columns[0].type_oid, 23u);
  EXPECT_EQ(r.columns[0].type_modifier, -1);
  EXPECT_FALSE(r.columns[1].part_of_key);
  EXPECT_EQ(r.columns[1].name, "name");
}

TEST(PgOutput, TuplesKeepNullsUnchangedToastAndTextApart) {
  const std::string update = Bytes()
                                 .c('U')
                                 .u32(16384)
                                 .c('O')
                                 .u16(3)
                                 .text("1")
                                 .text("old")
                                 .text("big")
                                 .c('N')
                                 .u16(3)
                                 .text("1")
                                 .c('n')
                                 .c('u')
                                 .get();
  Update u = decode_as<Update>(update);
  EXPECT_EQ(u.relation_id, 16384u);
  EXPECT_EQ(u.old_kind, 'O');
  ASSERT_EQ(u.old_tuple.size(), 3u);
  EXPECT_EQ(u.old_tuple[1].value, "old");
  ASSERT_EQ(u.new_tuple.size(), 3u);
  EXPECT_EQ(u.new_tuple[0].kind, TupleColumn::Kind::kText);
  EXPECT_EQ(u.new_tuple[0].value, "1");
  EXPECT_EQ(u.new_tuple[1].kind, TupleColumn::Kind::kNull);
  EXPECT_EQ(u.new_tuple[2].kind, TupleColumn::Kind::kUnchangedToast);

  Update plain = decode_as<Update>(Bytes().c('U').u32(7).c('N').u16(1).text("x").get());
  EXPECT_EQ(plain.old_kind, 0);
  EXPECT_TRUE(plain.old_tuple.empty());

  const std::string insert = Bytes().c('I').u32(7).c('N').u16(1).text("").get();
  Insert i = decode_as<Insert>(insert);
  ASSERT_EQ(i.new_tuple.size(), 1u);
  EXPECT_EQ(i.new_tuple[0].kind, TupleColumn::Kind::kText);
  EXPECT_EQ(i.new_tuple[0].value, "");  // an empty string is not NULL

  const std::string del = Bytes().c('D').u32(7).c('K').u16(1).text("42").get();
  Delete d = decode_as<Delete>(del);
  EXPECT_EQ(d.old_kind, 'K');
  EXPECT_EQ(d.old_tuple[0].value, "42");
}

TEST(PgOutput, TruncateOriginTypeAndMessage) {
  Truncate t = decode_as<Truncate>(Bytes().c('T').u32(2).c(3).u32(10).u32(11).get());
  EXPECT_TRUE(t.cascade);
  EXPECT_TRUE(t.restart_identity);
  EXPECT_EQ(t.relation_ids, (std::vector<uint32_t>{10, 11}));

  const std::string origin = Bytes().c('O').u64(0x55).str("node_a").get();
  Origin o = decode_as<Origin>(origin);
  EXPECT_EQ(o.commit_lsn, 0x55u);
  EXPECT_EQ(o.name, "node_a");

  const std::string type = Bytes().c('Y').u32(90001).str("public").str("mood").get();
  TypeMessage y = decode_as<TypeMessage>(type);
  EXPECT_EQ(y.type_oid, 90001u);
  EXPECT_EQ(y.type_name, "mood");

  const std::string message = Bytes().c('M').c(1).u64(0x77).str("heliosdb").u32(3).str("hi").get();
  LogicalMessage m = decode_as<LogicalMessage>(message);
  EXPECT_TRUE(m.transactional);
  EXPECT_EQ(m.prefix, "heliosdb");
  EXPECT_EQ(m.content, std::string_view("hi\0", 3));
}

TEST(PgOutput, MalformedMessagesAreRefusedNamingMessageAndOffset) {
  struct Case {
    std::string bytes;
    std::string expected;
  };
  const Case cases[] = {
      {"", "empty pgoutput message"},
      {"Z", "unknown pgoutput message type byte 90"},
      {Bytes().c('B').u64(1).get(),
       "Begin message: truncated (8 more bytes needed) at byte 8 of 8"},
      {Bytes().c('C').c(0).u64(1).u64(2).u64(3).c('x').get(),
       "Commit message: 1 unexpected bytes at byte 25 of 26"},
      {Bytes().c('O').u64(1).c('a').get(), "Origin message: a string without its terminating NUL"},
      {Bytes().c('I').u32(1).c('N').u16(1).c('t').u32(100).c('a').get(),
       "Insert message: truncated (100 more bytes needed)"},
      {Bytes().c('I').u32(1).c('N').u16(1).c('q').get(),
       "Insert message: column 0 has unknown kind byte 113"},
      {Bytes().c('I').u32(1).c('X').u16(0).get(), "Insert message: no 'N' before the new tuple"},
      {Bytes().c('D').u32(1).c('N').u16(0).get(),
       "Delete message: no 'K' or 'O' before the old tuple"},
      {Bytes().c('T').u32(0xffffffff).c(0).get(),
       "Truncate message: 4294967295 relations announced in a message that cannot hold them"},
      {Bytes().c('R').u32(1).str("s").str("t").c('d').u16(3).c(0).str("a").u32(23).u32(0).get(),
       "Relation message: fewer columns than the 3 announced at byte 22 of 22"},
  };
  for (const Case& c : cases) {
    auto m = decode_pgoutput(c.bytes);
    ASSERT_FALSE(m) << c.expected;
    EXPECT_EQ(m.status().code(), ErrorCode::kCorruption);
    EXPECT_NE(m.status().message().find(c.expected), std::string::npos)
        << m.status().message() << "\nexpected: " << c.expected;
  }
}

TEST(PgOutput, ReplicationFramingAndTheStandbyStatusUpdate) {
  const std::string w = Bytes().c('w').u64(0x10).u64(0x20).u64(5).c('B').get();
  auto xlog = decode_replication_message(w);
  ASSERT_TRUE(xlog) << xlog.status().to_string();
  const auto& x = std::get<XLogData>(*xlog);
  EXPECT_EQ(x.wal_start, 0x10u);
  EXPECT_EQ(x.wal_end, 0x20u);
  EXPECT_EQ(x.payload, "B");

  auto keepalive = decode_replication_message(Bytes().c('k').u64(0x99).u64(7).c(1).get());
  ASSERT_TRUE(keepalive);
  EXPECT_EQ(std::get<PrimaryKeepalive>(*keepalive).wal_end, 0x99u);
  EXPECT_TRUE(std::get<PrimaryKeepalive>(*keepalive).reply_requested);

  EXPECT_FALSE(decode_replication_message(""));
  EXPECT_FALSE(decode_replication_message(Bytes().c('k').u64(1).get()));
  EXPECT_FALSE(decode_replication_message("q"));

  EXPECT_EQ(encode_standby_status(0x1, 0x2, 0x3, 0x4, true),
            Bytes().c('r').u64(1).u64(2).u64(3).u64(4).c(1).get());
}

}  // namespace
}  // namespace heliosdb::cdc::pg
