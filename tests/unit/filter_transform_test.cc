// Transforms: byte-exact results, order, scoping, and the HMAC-SHA-256
// implementation against independently computed vectors.
#include <string>

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "heliosdb/cdc/filter.h"

namespace heliosdb::cdc {
namespace {

// 32-byte secret used by the hash_key tests.
constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";

CdcEvent sample() {
  CdcEvent e;
  e.event_id = "evt_mydb_42";
  e.timestamp = 1234567890000;
  e.sequence = 42;
  e.operation = OperationType::Update;
  e.database = "mydb";
  e.table = "users";
  e.key = "user123";
  e.value = "{\"name\":\"Alice\"}";
  e.old_value = "{\"name\":\"Al\"}";
  e.transaction_id = "txn_789";
  e.metadata = {{"source", "heliosdb"}};
  return e;
}

std::string hex(const Sha256Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i < h.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// ---- HMAC-SHA-256 itself: RFC 4231 test cases 1, 2 and 6 ----

TEST(HmacSha256Test, Rfc4231Case1) {
  HmacSha256 mac(std::string(20, '\x0b'));
  EXPECT_EQ(hex(mac.mac("Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(HmacSha256Test, Rfc4231Case2ShortKey) {
  HmacSha256 mac("Jefe");
  EXPECT_EQ(hex(mac.mac("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256Test, Rfc4231Case6KeyLongerThanABlockIsHashedFirst) {
  HmacSha256 mac(std::string(131, '\xaa'));
  EXPECT_EQ(hex(mac.mac("Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256Test, ReusableAcrossMessages) {
  HmacSha256 mac("Jefe");
  auto first = mac.mac("what do ya want for nothing?");
  mac.mac("something else");
  EXPECT_EQ(mac.mac("what do ya want for nothing?"), first);
}

// ---- add_metadata ----

TEST(TransformTest, AddMetadataAddsAndReplaces) {
  EventFilter f = EventFilter()
                      .add_transform(TransformRule::add_metadata("datacenter", "us-west-2"))
                      .add_transform(TransformRule::add_metadata("source", "heliosdb-prod"));
  CdcEvent e = sample();
  ASSERT_TRUE(f.apply(e));
  CdcEvent want = sample();
  want.metadata = {{"datacenter", "us-west-2"}, {"source", "heliosdb-prod"}};
  EXPECT_EQ(e, want);
}

// ---- mask_value ----

TEST(TransformTest, MaskCoversValueAndOldValue) {
  EventFilter f = EventFilter().add_transform(TransformRule::mask_value());
  CdcEvent e = sample();
  ASSERT_TRUE(f.apply(e));
  CdcEvent want = sample();
  want.value = "***MASKED***";
  want.old_value = "***MASKED***";
  EXPECT_EQ(e, want);
}

TEST(TransformTest, MaskKeepsAbsentImagesAbsent) {
  EventFilter f = EventFilter().add_transform(TransformRule::mask_value("#"));
  CdcEvent e = sample();
  e.operation = OperationType::Delete;
  e.value.reset();
  ASSERT_TRUE(f.apply(e));
  EXPECT_EQ(e.value, std::nullopt);
  EXPECT_EQ(e.old_value, std::optional<std::string>("#"));
  CdcEvent ins = sample();
  ins.old_value.reset();
  ASSERT_TRUE(f.apply(ins));
  EXPECT_EQ(ins.value, std::optional<std::string>("#"));
  EXPECT_EQ(ins.old_value, std::nullopt);
}

TEST(TransformTest, MaskScopedToATable) {
  EventFilter f = EventFilter().add_transform(
      TransformRule::mask_value().when(FilterCondition::table("users")));
  CdcEvent users = sample();
  CdcEvent orders = sample();
  orders.table = "orders";
  ASSERT_TRUE(f.apply(users));
  ASSERT_TRUE(f.apply(orders));
  EXPECT_EQ(users.value, std::optional<std::string>("***MASKED***"));
  EXPECT_EQ(users.old_value, std::optional<std::string>("***MASKED***"));
  EXPECT_EQ(orders, [] {
    CdcEvent o = sample();
    o.table = "orders";
    return o;
  }()) << "out-of-scope events are untouched";
}

// ---- hash_key ----

TEST(TransformTest, HashKeyIsHmacSha256HexOfTheKey) {
  // Expected value computed independently with Python 3:
  //   hmac.new(b"0123456789abcdef0123456789abcdef", b"user123", hashlib.sha256).hexdigest()
  auto rule = TransformRule::hash_key(kSecret);
  ASSERT_TRUE(rule.is_ok()) << rule.status().to_string();
  CdcEvent e = sample();
  ASSERT_TRUE(EventFilter().add_transform(*rule).apply(e));
  CdcEvent want = sample();
  want.key = "74e3c00682a93a2b46c4d75560280f42d7668870c2df05f078f59ba5d08396fb";
  EXPECT_EQ(e, want) << "only the key changes";
}

TEST(TransformTest, HashKeyRawEncodingIsTheDigestBytes) {
  auto rule = TransformRule::hash_key(kSecret, TransformRule::HashEncoding::kRaw);
  ASSERT_TRUE(rule.is_ok());
  CdcEvent e = sample();
  rule->apply(e);
  EXPECT_EQ(e.key, unhex("74e3c00682a93a2b46c4d75560280f42d7668870c2df05f078f59ba5d08396fb"));
}

TEST(TransformTest, HashKeyOfEmptyKey) {
  // Python 3: hmac.new(b"0123456789abcdef0123456789abcdef", b"", hashlib.sha256).hexdigest()
  auto rule = TransformRule::hash_key(kSecret);
  ASSERT_TRUE(rule.is_ok());
  CdcEvent e = sample();
  e.key.clear();
  rule->apply(e);
  EXPECT_EQ(e.key, "796cd3078af14636753d26b3b5555422ff55a3e261cf847b48e95371b9bd0aa2");
}

TEST(TransformTest, HashKeyDependsOnTheSecret) {
  auto a = TransformRule::hash_key(kSecret);
  auto b = TransformRule::hash_key("another secret of enough length");
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  CdcEvent x = sample(), y = sample();
  a->apply(x);
  b->apply(y);
  EXPECT_NE(x.key, y.key);
}

TEST(TransformTest, HashKeyRejectsAShortSecret) {
  auto rule = TransformRule::hash_key("short");
  ASSERT_FALSE(rule.is_ok());
  EXPECT_EQ(rule.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(rule.status().message().find("at least 16 bytes"), std::string::npos);
  EXPECT_EQ(rule.status().message().find("short"), std::string::npos)
      << "the secret must not appear in the error";
}

TEST(TransformTest, UnkeyedSha256OnlyWhenAskedFor) {
  // Python 3: hashlib.sha256(b"user123").hexdigest()
  CdcEvent e = sample();
  TransformRule::hash_key_unkeyed_sha256().apply(e);
  EXPECT_EQ(e.key, "e606e38b0d8c19b24cf0ee3808183162ea7cd63ff7912dbb22b5e803286b4446");
}

TEST(TransformTest, DescriptionNeverContainsTheSecret) {
  auto rule = TransformRule::hash_key(kSecret);
  ASSERT_TRUE(rule.is_ok());
  std::string text = rule->when(FilterCondition::table("users")).to_string();
  EXPECT_EQ(text,
            "hash_key: key becomes HMAC-SHA-256(secret, key) (secret not shown), 64 hex "
            "characters, when table == \"users\"");
  EXPECT_EQ(text.find("0123456789abcdef"), std::string::npos);
}

// ---- order, scoping, interaction with the decision ----

TEST(TransformTest, TransformsRunInOrderAndSeeEarlierChanges) {
  // The second transform is scoped on metadata-free conditions but runs after
  // the key was hashed: a key_prefix scope sees the hashed key.
  auto hash = TransformRule::hash_key(kSecret);
  ASSERT_TRUE(hash.is_ok());
  EventFilter f =
      EventFilter()
          .add_transform(*hash)
          .add_transform(TransformRule::add_metadata("hashed", "yes")
                             .when(FilterCondition::key_prefix("74e3c006")))
          .add_transform(
              TransformRule::add_metadata("raw", "yes").when(FilterCondition::key_prefix("user")));
  CdcEvent e = sample();
  ASSERT_TRUE(f.apply(e));
  EXPECT_EQ(e.metadata.count("hashed"), 1u);
  EXPECT_EQ(e.metadata.count("raw"), 0u);
}

TEST(TransformTest, LaterAddMetadataOverwritesEarlier) {
  EventFilter f = EventFilter()
                      .add_transform(TransformRule::add_metadata("k", "1"))
                      .add_transform(TransformRule::add_metadata("k", "2"));
  CdcEvent e = sample();
  ASSERT_TRUE(f.apply(e));
  EXPECT_EQ(e.metadata.at("k"), "2");
}

TEST(TransformTest, DroppedEventsAreNotTransformed) {
  EventFilter f = EventFilter()
                      .add_rule(FilterRule::exclude(FilterCondition::table("users")))
                      .add_transform(TransformRule::mask_value());
  CdcEvent e = sample();
  EXPECT_FALSE(f.apply(e));
  EXPECT_EQ(e, sample());
}

TEST(TransformTest, WhenTwiceRequiresBothConditions) {
  TransformRule t = TransformRule::mask_value()
                        .when(FilterCondition::table("users"))
                        .when(FilterCondition::operation(OperationType::Insert));
  CdcEvent update = sample();
  t.apply(update);
  EXPECT_EQ(update, sample());
  CdcEvent insert = sample();
  insert.operation = OperationType::Insert;
  t.apply(insert);
  EXPECT_EQ(insert.value, std::optional<std::string>("***MASKED***"));
}

TEST(TransformTest, ReusedEventBuffersGiveTheSameBytes) {
  // The pipeline reuses CdcEvent objects; a transform must not depend on
  // leftover capacity or contents.
  auto hash = TransformRule::hash_key(kSecret);
  ASSERT_TRUE(hash.is_ok());
  CdcEvent e = sample();
  e.key.assign(1000, 'z');
  hash->apply(e);
  e.key = "user123";
  hash->apply(e);
  EXPECT_EQ(e.key, "74e3c00682a93a2b46c4d75560280f42d7668870c2df05f078f59ba5d08396fb");
}

}  // namespace
}  // namespace heliosdb::cdc
