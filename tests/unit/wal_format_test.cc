// Byte-exact checks of the WAL format: CRC32C, masking, varints, file names,
// the segment header and the worked example of docs/wal-format.md.
#include <random>

#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "wal/wal_format.h"
#include "wal_test_util.h"

namespace heliosdb::cdc {
namespace {

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

TEST(Crc32c, KnownVectors) {
  // RFC 3720 (iSCSI) B.4 test vectors and the classic check value.
  EXPECT_EQ(crc32c::value("123456789", 9), 0xe3069283u);
  std::string zeros(32, '\0'), ones(32, '\xff'), inc(32, '\0'), dec(32, '\0');
  for (int i = 0; i < 32; ++i) {
    inc[i] = static_cast<char>(i);
    dec[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(crc32c::value(zeros.data(), 32), 0x8a9136aau);
  EXPECT_EQ(crc32c::value(ones.data(), 32), 0x62a8ab43u);
  EXPECT_EQ(crc32c::value(inc.data(), 32), 0x46dd794eu);
  EXPECT_EQ(crc32c::value(dec.data(), 32), 0x113fdb5cu);
  EXPECT_EQ(crc32c::value("", 0), 0u);
}

TEST(Crc32c, HardwareAndPortableAgreeOnAllLengthsAndAlignments) {
  std::mt19937_64 rng(7);
  std::string buf(40000, '\0');
  for (auto& c : buf) c = static_cast<char>(rng());
  for (size_t len :
       {0, 1, 7, 8, 9, 63, 64, 191, 192, 193, 255, 1000, 4095, 12287, 12288, 12289, 32768, 39000}) {
    for (size_t align = 0; align < 8; ++align) {
      EXPECT_EQ(crc32c::extend(0x1234, buf.data() + align, len),
                crc32c::extend_portable(0x1234, buf.data() + align, len))
          << "len " << len << " align " << align;
    }
  }
  // extend() composes: crc(a+b) == extend(crc(a), b).
  EXPECT_EQ(crc32c::extend(crc32c::value(buf.data(), 1000), buf.data() + 1000, 30000),
            crc32c::value(buf.data(), 31000));
}

TEST(Crc32c, MaskIsReversibleAndChangesTheValue) {
  uint32_t crc = crc32c::value("foo", 3);
  EXPECT_NE(crc32c::mask(crc), crc);
  EXPECT_NE(crc32c::mask(crc32c::mask(crc)), crc);
  EXPECT_EQ(crc32c::unmask(crc32c::mask(crc)), crc);
  EXPECT_EQ(crc32c::unmask(crc32c::unmask(crc32c::mask(crc32c::mask(crc)))), crc);
}

TEST(WalFormat, Varint32RoundTripAndRejectsOverlong) {
  for (uint32_t v : {0u, 1u, 127u, 128u, 16383u, 16384u, 0xffffffffu}) {
    std::string s;
    wal::put_varint32(&s, v);
    uint32_t got = 0;
    EXPECT_EQ(wal::get_varint32(s.data(), s.data() + s.size(), &got), s.data() + s.size());
    EXPECT_EQ(got, v);
    // Truncated varints are rejected.
    if (s.size() > 1)
      EXPECT_EQ(wal::get_varint32(s.data(), s.data() + s.size() - 1, &got), nullptr);
  }
  std::string too_big = "\xff\xff\xff\xff\x1f";  // needs 33+ bits
  uint32_t got;
  EXPECT_EQ(wal::get_varint32(too_big.data(), too_big.data() + 5, &got), nullptr);
}

TEST(WalFormat, SegmentFileNames) {
  EXPECT_EQ(wal::segment_file_name(42), "00000000000000000042.wal");
  EXPECT_EQ(wal::segment_file_name(UINT64_MAX), "18446744073709551615.wal");
  EXPECT_EQ(wal::parse_segment_file_name("00000000000000000042.wal"), 42u);
  EXPECT_EQ(wal::parse_segment_file_name("18446744073709551615.wal"), UINT64_MAX);
  EXPECT_FALSE(wal::parse_segment_file_name("18446744073709551616.wal"));  // overflow
  EXPECT_FALSE(wal::parse_segment_file_name("42.wal"));
  EXPECT_FALSE(wal::parse_segment_file_name("00000000000000000042.wal.tmp"));
  EXPECT_FALSE(wal::parse_segment_file_name("0000000000000000004x.wal"));
  EXPECT_FALSE(wal::parse_segment_file_name("LOCK"));
}

// The worked example of docs/wal-format.md, byte for byte.
TEST(WalFormat, WorkedExampleFromTheDocsIsByteExact) {
  char h[wal::kSegmentHeaderSize];
  wal::encode_segment_header(42, 1764000000000, h);
  std::string out(h, sizeof h);
  WalEntry e;
  e.sequence = 42;
  e.timestamp_ms = 1764000000123;
  e.transaction_id = 7;
  e.kind = WalEntryKind::Update;
  e.database = "mydb";
  e.table = "users";
  e.key = "user1";
  e.value = std::string_view("{\"n\":2}");
  e.old_value = std::string_view("{\"n\":1}");
  std::string payload;
  wal::encode_entry(e, &payload);
  EXPECT_EQ(payload.size(), wal::encoded_entry_size(e));
  size_t block_offset = wal::kSegmentHeaderSize;
  wal::append_fragments(payload, &block_offset, &out);
  EXPECT_EQ(hex(out),
            "48454c494f57414c0100000000800000"
            "2a0000000000000000e897b69a010000"
            "5646ff054b295bb13b00012a00000000"
            "0000007be897b69a0100000700000000"
            "0000000303046d796462057573657273"
            "057573657231077b226e223a327d077b"
            "226e223a317d");
  // Spelled out field by field (see the doc's annotated dump):
  EXPECT_EQ(hex(out.substr(0, 8)), "48454c494f57414c");   // magic "HELIOWAL"
  EXPECT_EQ(hex(out.substr(8, 2)), "0100");               // version 1
  EXPECT_EQ(hex(out.substr(10, 2)), "0000");              // reserved
  EXPECT_EQ(hex(out.substr(12, 4)), "00800000");          // block size 32768
  EXPECT_EQ(hex(out.substr(16, 8)), "2a00000000000000");  // first sequence 42
  EXPECT_EQ(hex(out.substr(24, 8)), "00e897b69a010000");  // created 1764000000000 ms
  EXPECT_EQ(hex(out.substr(32, 4)), "5646ff05");          // masked CRC32C of bytes 0..31
  EXPECT_EQ(hex(out.substr(36, 4)), "4b295bb1");          // fragment CRC (masked)
  EXPECT_EQ(hex(out.substr(40, 2)), "3b00");              // fragment length 59
  EXPECT_EQ(hex(out.substr(42, 1)), "01");                // FULL
  EXPECT_EQ(hex(out.substr(43)),
            "2a00000000000000"    // sequence 42
            "7be897b69a010000"    // timestamp 1764000000123
            "0700000000000000"    // transaction 7
            "03"                  // kind UPDATE
            "03"                  // flags: has_value | has_old_value
            "046d796462"          // "mydb"
            "057573657273"        // "users"
            "057573657231"        // "user1"
            "077b226e223a327d"    // value {"n":2}
            "077b226e223a317d");  // old_value {"n":1}
  EXPECT_EQ(out.size(), 102u);
  // And it decodes back.
  WalEntry d;
  EXPECT_EQ(wal::decode_entry(payload.data(), payload.size(), &d), nullptr);
  EXPECT_EQ(OwnedWalEntry::from(d), OwnedWalEntry::from(e));
  wal::SegmentHeader sh;
  std::string reason;
  ASSERT_TRUE(wal::decode_segment_header(out.data(), out.size(), &sh, &reason)) << reason;
  EXPECT_EQ(sh.first_sequence, 42u);
  EXPECT_EQ(sh.creation_time_ms, 1764000000000);
}

TEST(WalFormat, DecodeRejectsMalformedPayloads) {
  WalEntry e;
  e.sequence = 1;
  e.kind = WalEntryKind::Insert;
  e.database = "d";
  e.table = "t";
  e.key = "k";
  e.value = std::string_view("v");
  std::string p;
  wal::encode_entry(e, &p);
  WalEntry out;
  ASSERT_EQ(wal::decode_entry(p.data(), p.size(), &out), nullptr);
  EXPECT_STREQ(wal::decode_entry(p.data(), 10, &out), "entry shorter than its fixed fields");
  std::string bad = p;
  bad[24] = 9;
  EXPECT_STREQ(wal::decode_entry(bad.data(), bad.size(), &out), "unknown entry kind");
  bad = p;
  bad[24] = 0;
  EXPECT_STREQ(wal::decode_entry(bad.data(), bad.size(), &out), "unknown entry kind");
  bad = p;
  bad[25] = 4;
  EXPECT_STREQ(wal::decode_entry(bad.data(), bad.size(), &out), "unknown entry flags");
  bad = p + "x";
  EXPECT_STREQ(wal::decode_entry(bad.data(), bad.size(), &out), "trailing bytes after entry");
  EXPECT_STREQ(wal::decode_entry(p.data(), p.size() - 1, &out), "bad value field");
  bad = p;
  bad[26] = 100;  // database length past the end
  EXPECT_STREQ(wal::decode_entry(bad.data(), bad.size(), &out), "bad database field");
}

TEST(WalFormat, HeaderRejectsBadMagicChecksumVersionAndBlockSize) {
  char h[wal::kSegmentHeaderSize];
  wal::encode_segment_header(1, 0, h);
  wal::SegmentHeader sh;
  std::string reason;
  EXPECT_FALSE(wal::decode_segment_header(h, 35, &sh, &reason));
  EXPECT_NE(reason.find("truncated"), std::string::npos);
  std::string b(h, sizeof h);
  b[0] = 'X';
  EXPECT_FALSE(wal::decode_segment_header(b.data(), b.size(), &sh, &reason));
  EXPECT_NE(reason.find("magic"), std::string::npos);
  b.assign(h, sizeof h);
  b[20] ^= 1;
  EXPECT_FALSE(wal::decode_segment_header(b.data(), b.size(), &sh, &reason));
  EXPECT_NE(reason.find("checksum"), std::string::npos);
  // Version 2 with a valid checksum: "unsupported".
  b.assign(h, sizeof h);
  b[8] = 2;
  wal::put_u32(b.data() + 32, crc32c::mask(crc32c::value(b.data(), 32)));
  EXPECT_FALSE(wal::decode_segment_header(b.data(), b.size(), &sh, &reason));
  EXPECT_NE(reason.find("unsupported WAL format version 2"), std::string::npos);
}

TEST(WalFormat, BlockTrailerShorterThanAHeaderIsZeroFilled) {
  // A payload that leaves exactly 3 bytes in the first block.
  size_t bo = 0;
  std::string out;
  std::string payload(wal::kBlockSize - wal::kFragmentHeaderSize - 3, 'p');
  wal::append_fragments(payload, &bo, &out);
  EXPECT_EQ(bo, wal::kBlockSize - 3);
  wal::append_fragments("next", &bo, &out);
  EXPECT_EQ(out.substr(wal::kBlockSize - 3, 3), std::string(3, '\0'));
  EXPECT_EQ(static_cast<uint8_t>(out[wal::kBlockSize + 6]), wal::kFullType);
  // Exactly 7 bytes left: an empty FIRST fragment, then LAST in the next block.
  bo = wal::kBlockSize - 7;
  out.clear();
  wal::append_fragments("abc", &bo, &out);
  EXPECT_EQ(out.size(), 7u + 7u + 3u);
  EXPECT_EQ(static_cast<uint8_t>(out[6]), wal::kFirstType);
  EXPECT_EQ(wal::get_u16(out.data() + 4), 0);
  EXPECT_EQ(static_cast<uint8_t>(out[13]), wal::kLastType);
}

}  // namespace
}  // namespace heliosdb::cdc
