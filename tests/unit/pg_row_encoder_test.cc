// pgoutput row messages turned into event parts (source/postgres/
// row_encoder.h) with the relation cache's keys (relation_cache.h): the
// exact bytes of key, value and old_value under each replica identity, the
// unchanged-TOAST rules and policies, and malformed tuples refused.
#include "source/postgres/row_encoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/json_reader.h"
#include "source/postgres/relation_cache.h"

namespace heliosdb::cdc::pg {
namespace {

constexpr uint32_t kBool = 16, kInt4 = 23, kText = 25, kJsonb = 3802;
constexpr uint32_t kRel = 16384;

Relation relation(char identity, std::vector<RelationColumn> columns,
                  std::string_view ns = "public", std::string_view name = "t") {
  Relation r;
  r.relation_id = kRel;
  r.namespace_name = ns;
  r.relation_name = name;
  r.replica_identity = identity;
  r.columns = std::move(columns);
  return r;
}

RelationColumn col(std::string_view name, uint32_t oid, bool identity = false) {
  return RelationColumn{identity, name, oid, -1};
}

TupleColumn t(std::string_view v) { return {TupleColumn::Kind::kText, v}; }
TupleColumn null() { return {TupleColumn::Kind::kNull, {}}; }
TupleColumn toast() { return {TupleColumn::Kind::kUnchangedToast, {}}; }

// users(id int4 identity, name text, active bool, note text, doc jsonb)
std::vector<RelationColumn> users_columns() {
  return {col("id", kInt4, true), col("name", kText), col("active", kBool), col("note", kText),
          col("doc", kJsonb)};
}

// Every part that is present is one JSON object.
void expect_json(const EncodedRow& row) {
  if (!row.key.empty()) EXPECT_TRUE(parse_json(row.key).is_ok()) << row.key;
  if (row.has_value) EXPECT_TRUE(parse_json(row.value).is_ok()) << row.value;
  if (row.has_old_value) EXPECT_TRUE(parse_json(row.old_value).is_ok()) << row.old_value;
}

class PgRowEncoder : public ::testing::Test {
 protected:
  const CachedRelation& put(const Relation& r, std::vector<std::string> pk = {}) {
    cache_.put(r, std::move(pk));
    const CachedRelation* rel = cache_.find(r.relation_id);
    EXPECT_NE(rel, nullptr);
    return *rel;
  }

  RelationCache cache_;
  RowEncoder encoder_;
  EncodedRow row_;
};

TEST_F(PgRowEncoder, InsertWritesEveryColumnInTableOrderAndTheKey) {
  const CachedRelation& rel = put(relation('d', users_columns()));
  Insert ins{kRel, {t("7"), t("Ann \"A\""), t("t"), null(), t(R"({"a": [1]})")}};
  ASSERT_TRUE(encoder_.encode_insert(rel, ins, row_).is_ok());
  EXPECT_EQ(row_.kind, OperationType::Insert);
  EXPECT_EQ(row_.key, R"({"id":7})");
  ASSERT_TRUE(row_.has_value);
  EXPECT_EQ(row_.value,
            R"({"id":7,"name":"Ann \"A\"","active":true,"note":null,"doc":{"a": [1]}})");
  EXPECT_FALSE(row_.has_old_value);
  EXPECT_EQ(row_.old_value, "");
  expect_json(row_);
}

TEST_F(PgRowEncoder, UpdateUnderDefaultWithoutOldTupleHasNoOldValue) {
  const CachedRelation& rel = put(relation('d', users_columns()));
  Update up;
  up.relation_id = kRel;
  up.new_tuple = {t("7"), t("Bo"), t("f"), t("x"), null()};
  ASSERT_TRUE(encoder_.encode_update(rel, up, row_).is_ok());
  EXPECT_EQ(row_.kind, OperationType::Update);
  EXPECT_EQ(row_.key, R"({"id":7})");
  EXPECT_EQ(row_.value, R"({"id":7,"name":"Bo","active":false,"note":"x","doc":null})");
  EXPECT_FALSE(row_.has_old_value);
  EXPECT_EQ(row_.old_value, "");
}

TEST_F(PgRowEncoder, UpdateThatChangesTheKeyHasTheOldKeyAsOldValue) {
  const CachedRelation& rel = put(relation('d', users_columns()));
  Update up;
  up.relation_id = kRel;
  up.old_kind = 'K';
  // A 'K' tuple has an entry for every column; non-identity ones are 'n'.
  up.old_tuple = {t("7"), null(), null(), null(), null()};
  up.new_tuple = {t("8"), t("Bo"), t("f"), null(), null()};
  ASSERT_TRUE(encoder_.encode_update(rel, up, row_).is_ok());
  EXPECT_EQ(row_.key, R"({"id":8})");
  EXPECT_EQ(row_.value, R"({"id":8,"name":"Bo","active":false,"note":null,"doc":null})");
  ASSERT_TRUE(row_.has_old_value);
  EXPECT_EQ(row_.old_value, R"({"id":7})");
  expect_json(row_);
}

TEST_F(PgRowEncoder, UpdateUnderFullHasTheWholeOldRowAndThePrimaryKey) {
  // FULL: pgoutput flags every column; the key is the catalog's primary key.
  const CachedRelation& rel =
      put(relation('f', {col("a", kInt4, true), col("b", kText, true), col("c", kInt4, true)}),
          {"c", "a"});
  ASSERT_EQ(rel.key_columns, (std::vector<uint32_t>{2, 0}));
  Update up;
  up.relation_id = kRel;
  up.old_kind = 'O';
  up.old_tuple = {t("1"), t("old"), t("3")};
  up.new_tuple = {t("1"), t("new"), t("3")};
  ASSERT_TRUE(encoder_.encode_update(rel, up, row_).is_ok());
  EXPECT_EQ(row_.key, R"({"c":3,"a":1})");  // in the order the primary key was given
  EXPECT_EQ(row_.value, R"({"a":1,"b":"new","c":3})");
  ASSERT_TRUE(row_.has_old_value);
  EXPECT_EQ(row_.old_value, R"({"a":1,"b":"old","c":3})");
}

TEST_F(PgRowEncoder, DefaultKeyIsInThePrimaryKeysOrderLikeFull) {
  // PRIMARY KEY (c, a): pgoutput flags a and c in table order; the catalog's
  // order makes the key the same bytes as under FULL (above).
  const CachedRelation& rel = put(
      relation('d', {col("a", kInt4, true), col("b", kText), col("c", kInt4, true)}), {"c", "a"});
  ASSERT_EQ(rel.key_columns, (std::vector<uint32_t>{2, 0}));
  Update up;
  up.relation_id = kRel;
  up.old_kind = 'K';
  up.old_tuple = {t("1"), null(), t("2")};
  up.new_tuple = {t("5"), t("new"), t("2")};
  ASSERT_TRUE(encoder_.encode_update(rel, up, row_).is_ok());
  EXPECT_EQ(row_.key, R"({"c":2,"a":5})");
  EXPECT_EQ(row_.value, R"({"a":5,"b":"new","c":2})");
  EXPECT_EQ(row_.old_value, R"({"c":2,"a":1})");  // the old key, shaped like the key
  // A catalog key that does not name exactly the flagged columns is not used.
  const CachedRelation& stale = put(
      relation('d', {col("a", kInt4, true), col("b", kText), col("c", kInt4, true)}), {"b", "a"});
  EXPECT_EQ(stale.key_columns, (std::vector<uint32_t>{0, 2}));
  const CachedRelation& none =
      put(relation('d', {col("a", kInt4, true), col("b", kText), col("c", kInt4, true)}));
  EXPECT_EQ(none.key_columns, (std::vector<uint32_t>{0, 2}));
}

TEST_F(PgRowEncoder, DeleteUnderDefaultHasTheKeyAsKeyAndOldValueAndNoValue) {
  const CachedRelation& rel = put(relation('d', users_columns()));
  Delete del;
  del.relation_id = kRel;
  del.old_kind = 'K';
  del.old_tuple = {t("7"), null(), null(), null(), null()};
  ASSERT_TRUE(encoder_.encode_delete(rel, del, row_).is_ok());
  EXPECT_EQ(row_.kind, OperationType::Delete);
  EXPECT_EQ(row_.key, R"({"id":7})");
  EXPECT_FALSE(row_.has_value);
  EXPECT_EQ(row_.value, "");
  ASSERT_TRUE(row_.has_old_value);
  EXPECT_EQ(row_.old_value, R"({"id":7})");
}

TEST_F(PgRowEncoder, DeleteUnderFullHasTheWholeOldRow) {
  const CachedRelation& rel =
      put(relation('f', {col("a", kInt4, true), col("b", kText, true)}), {"a"});
  Delete del;
  del.relation_id = kRel;
  del.old_kind = 'O';
  del.old_tuple = {t("1"), t("gone")};
  ASSERT_TRUE(encoder_.encode_delete(rel, del, row_).is_ok());
  EXPECT_EQ(row_.key, R"({"a":1})");
  EXPECT_FALSE(row_.has_value);
  EXPECT_EQ(row_.old_value, R"({"a":1,"b":"gone"})");
}

TEST_F(PgRowEncoder, ReplicaIdentityUsingIndexKeysOnTheFlaggedColumns) {
  // The primary key passed in is not used: the index's columns are flagged.
  const CachedRelation& rel =
      put(relation('i', {col("id", kInt4), col("email", kText, true), col("tenant", kInt4, true)}),
          {"id"});
  EXPECT_EQ(rel.key_columns, (std::vector<uint32_t>{1, 2}));
  Insert ins{kRel, {t("1"), t("a@b"), t("9")}};
  ASSERT_TRUE(encoder_.encode_insert(rel, ins, row_).is_ok());
  EXPECT_EQ(row_.key, R"({"email":"a@b","tenant":9})");

  Delete del;
  del.relation_id = kRel;
  del.old_tuple = {null(), t("a@b"), t("9")};
  ASSERT_TRUE(encoder_.encode_delete(rel, del, row_).is_ok());
  EXPECT_EQ(row_.key, R"({"email":"a@b","tenant":9})");
  EXPECT_EQ(row_.old_value, R"({"email":"a@b","tenant":9})");
}

TEST_F(PgRowEncoder, ReplicaIdentityNothingKeysOnThePrimaryKey) {
  // Names the message lacks are ignored; a name given twice counts once.
  const CachedRelation& rel =
      put(relation('n', {col("id", kInt4), col("v", kText)}), {"dropped", "id", "id"});
  EXPECT_EQ(rel.key_columns, (std::vector<uint32_t>{0}));
  Insert ins{kRel, {t("5"), t("x")}};
  ASSERT_TRUE(encoder_.encode_insert(rel, ins, row_).is_ok());
  EXPECT_EQ(row_.key, R"({"id":5})");
  EXPECT_EQ(row_.value, R"({"id":5,"v":"x"})");
}

TEST_F(PgRowEncoder, ATableWithoutAKeyHasAnEmptyKeyNotAnEmptyObject) {
  const CachedRelation& rel = put(relation('d', {col("v", kText)}));
  EXPECT_FALSE(rel.has_key());
  Insert ins{kRel, {t("x")}};
  ASSERT_TRUE(encoder_.encode_insert(rel, ins, row_).is_ok());
  EXPECT_EQ(row_.key, "");
  EXPECT_EQ(row_.value, R"({"v":"x"})");

  const CachedRelation& nothing = put(relation('n', {col("v", kText)}));
  EXPECT_FALSE(nothing.has_key());
  ASSERT_TRUE(encoder_.encode_insert(nothing, ins, row_).is_ok());
  EXPECT_EQ(row_.key, "");
}

TEST_F(PgRowEncoder, UnchangedToastIsFilledFromTheWholeOldRow) {
  const CachedRelation& rel =
      put(relation('f', {col("id", kInt4, true), col("big", kText, true), col("doc", kJsonb, true),
                         col("gone", kText, true)}),
          {"id"});
  Update up;
  up.relation_id = kRel;
  up.old_kind = 'O';
  // `gone` is 'u' on both sides: the old row cannot fill it, the policy does.
  up.old_tuple = {t("1"), t("lots of text"), null(), toast()};
  up.new_tuple = {t("1"), toast(), toast(), toast()};
  ASSERT_TRUE(encoder_.encode_update(rel, up, row_).is_ok());
  EXPECT_EQ(row_.value,
            R"({"id":1,"big":"lots of text","doc":null,"gone":"__heliosdb_unchanged_toast__"})");
  EXPECT_EQ(row_.old_value,
            R"({"id":1,"big":"lots of text","doc":null,"gone":"__heliosdb_unchanged_toast__"})");
  expect_json(row_);
}

TEST_F(PgRowEncoder, UnchangedToastWithoutOldRowFollowsThePolicy) {
  const std::vector<RelationColumn> columns = {col("id", kInt4, true), col("big", kText),
                                               col("v", kText)};
  Update up;
  up.relation_id = kRel;
  up.new_tuple = {t("1"), toast(), t("x")};

  {
    const CachedRelation& rel = put(relation('d', columns));
    ASSERT_TRUE(encoder_.encode_update(rel, up, row_).is_ok());
    EXPECT_EQ(row_.value, R"({"id":1,"big":"__heliosdb_unchanged_toast__","v":"x"})");
  }
  {
    RowEncoder custom(UnchangedToastPolicy{UnchangedToastPolicy::Mode::kMarker, "<\"kept\">"});
    const CachedRelation& rel = put(relation('d', columns));
    ASSERT_TRUE(custom.encode_update(rel, up, row_).is_ok());
    EXPECT_EQ(row_.value, R"({"id":1,"big":"<\"kept\">","v":"x"})");
  }
  {
    RowEncoder omit(UnchangedToastPolicy{UnchangedToastPolicy::Mode::kOmit, {}});
    const CachedRelation& rel = put(relation('d', columns));
    ASSERT_TRUE(omit.encode_update(rel, up, row_).is_ok());
    EXPECT_EQ(row_.value, R"({"id":1,"v":"x"})");
    // The first and the last column left out: still well-formed commas.
    Update edges = up;
    edges.new_tuple = {toast(), t("y"), toast()};
    ASSERT_TRUE(omit.encode_update(rel, edges, row_).is_ok());
    EXPECT_EQ(row_.value, R"({"big":"y"})");
    // A key column that is 'u' (PostgreSQL never sends one) is not a crash.
    EXPECT_EQ(row_.key, "{}");
    expect_json(row_);
  }
}

TEST_F(PgRowEncoder, ColumnNamesAreEscaped) {
  const CachedRelation& rel =
      put(relation('d', {col("we\"ird", kInt4, true), col("back\\slash", kText)}));
  EXPECT_EQ(rel.columns[0].json_name, R"("we\"ird":)");
  Insert ins{kRel, {t("1"), t("v")}};
  ASSERT_TRUE(encoder_.encode_insert(rel, ins, row_).is_ok());
  EXPECT_EQ(row_.key, R"({"we\"ird":1})");
  EXPECT_EQ(row_.value, R"({"we\"ird":1,"back\\slash":"v"})");
  expect_json(row_);
}

TEST_F(PgRowEncoder, ATupleWithTheWrongColumnCountIsCorruptionNamingTableAndCounts) {
  const CachedRelation& rel = put(relation('d', users_columns(), "shop", "orders"));
  Insert ins{kRel, {t("1"), t("x")}};
  Status st = encoder_.encode_insert(rel, ins, row_);
  EXPECT_EQ(st.code(), ErrorCode::kCorruption);
  EXPECT_EQ(st.message(), "shop.orders: INSERT new tuple has 2 columns, the relation has 5");

  Update up;
  up.relation_id = kRel;
  up.old_kind = 'K';
  up.old_tuple = {t("1")};
  up.new_tuple = {t("1"), null(), null(), null(), null()};
  st = encoder_.encode_update(rel, up, row_);
  EXPECT_EQ(st.code(), ErrorCode::kCorruption);
  EXPECT_EQ(st.message(), "shop.orders: UPDATE old tuple has 1 columns, the relation has 5");

  Delete del;
  del.relation_id = kRel;
  del.old_tuple = {t("1"), null(), null(), null(), null(), null()};
  st = encoder_.encode_delete(rel, del, row_);
  EXPECT_EQ(st.code(), ErrorCode::kCorruption);
  EXPECT_EQ(st.message(), "shop.orders: DELETE old tuple has 6 columns, the relation has 5");
}

TEST_F(PgRowEncoder, ABinaryColumnIsCorruption) {
  const CachedRelation& rel = put(relation('d', {col("id", kInt4, true), col("v", kText)}));
  Insert ins{kRel, {t("1"), {TupleColumn::Kind::kBinary, "\x01"}}};
  Status st = encoder_.encode_insert(rel, ins, row_);
  EXPECT_EQ(st.code(), ErrorCode::kCorruption);
  EXPECT_EQ(st.message(),
            "public.t: column \"v\" of the INSERT new tuple is in binary format, which was never "
            "requested");
}

TEST_F(PgRowEncoder, BuffersAreReusedAcrossRows) {
  const CachedRelation& rel = put(relation('d', users_columns()));
  Insert ins{
      kRel,
      {t("7"), t("a long enough name to leave small-string storage"), t("t"), null(), null()}};
  ASSERT_TRUE(encoder_.encode_insert(rel, ins, row_).is_ok());
  const char* value_storage = row_.value.data();
  ins.new_tuple[1] = t("short");
  ASSERT_TRUE(encoder_.encode_insert(rel, ins, row_).is_ok());
  EXPECT_EQ(row_.value.data(), value_storage);
  EXPECT_EQ(row_.value, R"({"id":7,"name":"short","active":true,"note":null,"doc":null})");
}

TEST(PgRelationCache, ARelationMessageReplacesTheOlderEntry) {
  RelationCache cache;
  cache.put(relation('d', {col("id", kInt4, true)}), {});
  ASSERT_EQ(cache.size(), 1u);
  // ALTER TABLE ... ADD COLUMN: the server sends the relation again.
  cache.put(relation('d', {col("id", kInt4, true), col("added", kText)}), {});
  EXPECT_EQ(cache.size(), 1u);
  const CachedRelation* rel = cache.find(kRel);
  ASSERT_NE(rel, nullptr);
  ASSERT_EQ(rel->columns.size(), 2u);

  RowEncoder encoder;
  EncodedRow row;
  Insert ins{kRel, {t("1"), t("new")}};
  ASSERT_TRUE(encoder.encode_insert(*rel, ins, row).is_ok());
  EXPECT_EQ(row.value, R"({"id":1,"added":"new"})");
}

TEST(PgRelationCache, CopiesTheMessageAndNamesTheTable) {
  RelationCache cache;
  {
    std::string ns = "sales", name = "items", column = "sku";
    cache.put(relation('i', {RelationColumn{true, column, kText, 36}}, ns, name), {});
    ns.assign(ns.size(), 'X');
    name.assign(name.size(), 'X');
    column.assign(column.size(), 'X');
  }
  const CachedRelation* rel = cache.find(kRel);
  ASSERT_NE(rel, nullptr);
  EXPECT_EQ(rel->relation_id, kRel);
  EXPECT_EQ(rel->table, "sales.items");
  EXPECT_EQ(rel->replica_identity, 'i');
  ASSERT_EQ(rel->columns.size(), 1u);
  EXPECT_EQ(rel->columns[0].name, "sku");
  EXPECT_EQ(rel->columns[0].json_name, R"("sku":)");
  EXPECT_EQ(rel->columns[0].type_oid, kText);
  EXPECT_EQ(rel->columns[0].type_modifier, 36);
  EXPECT_TRUE(rel->columns[0].part_of_identity);
  EXPECT_EQ(rel->identity_columns, (std::vector<uint32_t>{0}));
}

TEST(PgRelationCache, AnEmptyNamespaceIsPgCatalog) {
  RelationCache cache;
  cache.put(relation('n', {col("x", kInt4)}, "", "pg_thing"), {});
  ASSERT_NE(cache.find(kRel), nullptr);
  EXPECT_EQ(cache.find(kRel)->table, "pg_catalog.pg_thing");
}

TEST(PgRelationCache, UnknownIdsAndClear) {
  RelationCache cache;
  EXPECT_EQ(cache.find(kRel), nullptr);
  cache.put(relation('d', {col("id", kInt4, true)}), {});
  Relation other = relation('d', {col("id", kInt4, true)});
  other.relation_id = kRel + 1;
  cache.put(other, {});
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.find(kRel + 2), nullptr);
  cache.clear();  // a new connection: relation ids start over
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.find(kRel), nullptr);
}

}  // namespace
}  // namespace heliosdb::cdc::pg
