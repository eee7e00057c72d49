// The WAL directory identity: created with the directory, kept across
// reopens, added to a WAL from an older version, and checked when read.
#include <gtest/gtest.h>

#include <filesystem>

#include "heliosdb/cdc/wal.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

std::unique_ptr<WalWriter> open_writer(const std::string& dir) {
  WalWriterOptions o;
  o.dir = dir;
  o.sync_policy = WalSyncPolicy::kNever;
  auto w = WalWriter::open(o);
  EXPECT_TRUE(w) << w.status().to_string();
  return w ? std::move(*w) : nullptr;
}

void append_one(WalWriter& w) {
  WalEntry e;
  e.kind = WalEntryKind::Begin;
  e.database = "mydb";
  ASSERT_TRUE(w.append(e));
}

bool is_identity(const std::string& id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(WalIdentity, ANewDirectoryGetsOneBeforeAnySegment) {
  TempDir dir;
  auto w = open_writer(dir.file("wal"));
  ASSERT_TRUE(w);
  EXPECT_TRUE(is_identity(w->identity())) << w->identity();
  EXPECT_EQ(testing::read_file(dir.file("wal/IDENTITY")), w->identity() + "\n");
  auto segments = list_wal_segments(dir.file("wal"));
  ASSERT_TRUE(segments);
  EXPECT_TRUE(segments->empty());
  auto read = read_wal_identity(dir.file("wal"));
  ASSERT_TRUE(read && read->has_value());
  EXPECT_EQ(**read, w->identity());
}

TEST(WalIdentity, ReopeningKeepsItAndAnotherDirectoryGetsAnother) {
  TempDir dir;
  std::string first;
  {
    auto w = open_writer(dir.file("a"));
    append_one(*w);
    first = w->identity();
  }
  auto again = open_writer(dir.file("a"));
  EXPECT_EQ(again->identity(), first);
  auto other = open_writer(dir.file("b"));
  EXPECT_NE(other->identity(), first);
}

TEST(WalIdentity, AWalFromBeforeIdentitiesGetsOneWhenAWriterOpensIt) {
  TempDir dir;
  {
    auto w = open_writer(dir.path());
    append_one(*w);
  }
  std::filesystem::remove(dir.file("IDENTITY"));  // as an older version left it
  auto none = read_wal_identity(dir.path());
  ASSERT_TRUE(none) << none.status().to_string();
  EXPECT_FALSE(none->has_value()) << "a reader tolerates a WAL without identity";
  auto w = open_writer(dir.path());
  EXPECT_TRUE(is_identity(w->identity()));
  EXPECT_EQ(w->next_sequence(), 2u) << "the existing entries are kept";
  auto read = read_wal_identity(dir.path());
  ASSERT_TRUE(read && read->has_value());
  EXPECT_EQ(**read, w->identity());
}

TEST(WalIdentity, AMissingDirectoryHasNoIdentity) {
  TempDir dir;
  auto read = read_wal_identity(dir.file("nope"));
  ASSERT_TRUE(read) << read.status().to_string();
  EXPECT_FALSE(read->has_value());
}

TEST(WalIdentity, ADamagedFileIsCorruptionNamingItAndTheWriterRefusesToReplaceIt) {
  for (std::string damaged :
       {"", "0123", "0123456789abcdef0123456789ABCDEF\n", "0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef\nx"}) {
    TempDir dir;
    testing::write_file(dir.file("IDENTITY"), damaged);
    auto read = read_wal_identity(dir.path());
    ASSERT_FALSE(read) << "\"" << damaged << "\"";
    EXPECT_EQ(read.status().code(), ErrorCode::kCorruption);
    EXPECT_NE(read.status().message().find(dir.file("IDENTITY")), std::string::npos)
        << read.status().message();
    WalWriterOptions o;
    o.dir = dir.path();
    auto w = WalWriter::open(o);
    EXPECT_FALSE(w);
    EXPECT_EQ(testing::read_file(dir.file("IDENTITY")), damaged);
  }
}

}  // namespace
}  // namespace heliosdb::cdc
