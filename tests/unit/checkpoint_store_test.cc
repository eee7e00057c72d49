#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>

#include "pipeline/checkpoint_store.h"
#include "source/wal_source.h"
#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

SourcePosition wal_position(const DeliveryPosition& p, std::string id = "") {
  return {std::string(kWalSourceType), std::move(id), encode_wal_position(p)};
}

// Every file in `dir` whose name ends in ".tmp".
std::vector<std::string> temp_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".tmp") out.push_back(e.path().string());
  }
  return out;
}

TEST(CheckpointStore, MissingFileMeansNoCheckpoint) {
  TempDir dir;
  FileCheckpointStore store(dir.path() + "/ckpt", "mydb");
  auto loaded = store.load();
  ASSERT_TRUE(loaded) << loaded.status().to_string();
  EXPECT_FALSE(loaded->has_value());
}

TEST(CheckpointStore, SaveThenLoadRoundTripsAndCreatesTheDirectory) {
  TempDir dir;
  FileCheckpointStore store(dir.path() + "/nested/ckpt", "mydb");
  SourcePosition pos = wal_position({101, 250, 240}, "00112233445566778899aabbccddeeff");
  ASSERT_TRUE(store.save(pos).is_ok());
  auto loaded = store.load();
  ASSERT_TRUE(loaded && loaded->has_value());
  EXPECT_EQ((*loaded)->source, pos);
  EXPECT_EQ((*loaded)->pipeline, "mydb");
  EXPECT_EQ((*loaded)->format_version, 2);
  EXPECT_FALSE(std::filesystem::exists(store.path() + ".tmp"));
}

// The exact bytes of a v2 file (docs/checkpoint-format.md). The CRC was
// computed independently: python3 -c 'import zlib; print("%08x" % zlib.crc32(b"..."))'.
TEST(CheckpointStore, V2FileHasExactlyTheDocumentedBytes) {
  Checkpoint c{2, "mydb", wal_position({1201, 1250, 1250}, "4f1c0e3a9b7d42c6a1e5f0d2c3b4a596"),
               1764081600000};
  const std::string expected =
      "heliosdb-cdc checkpoint v2\n"
      "pipeline=mydb\n"
      "source=heliosdb-wal\n"
      "source_id=4f1c0e3a9b7d42c6a1e5f0d2c3b4a596\n"
      "position=restart 1201 commit 1250 event 1250\n"
      "updated_at_ms=1764081600000\n"
      "crc32=47739a81\n";
  EXPECT_EQ(format_checkpoint(c), expected);
  auto parsed = parse_checkpoint(expected, "x");
  ASSERT_TRUE(parsed) << parsed.status().to_string();
  EXPECT_EQ(parsed->source, c.source);
  EXPECT_EQ(parsed->pipeline, "mydb");
  EXPECT_EQ(parsed->updated_at_ms, 1764081600000);
}

// A file written by the previous version (its documented example).
constexpr char kV1File[] =
    "heliosdb-cdc checkpoint v1\n"
    "database=shop\n"
    "restart_sequence=280353\n"
    "commit_sequence=280352\n"
    "event_sequence=280352\n"
    "updated_at_ms=1795622337994\n"
    "crc32=d537df14\n";

TEST(CheckpointStore, V1FileLoadsAsAWalPositionWithNoIdentity) {
  auto parsed = parse_checkpoint(kV1File, "x");
  ASSERT_TRUE(parsed) << parsed.status().to_string();
  EXPECT_EQ(parsed->format_version, 1);
  EXPECT_EQ(parsed->pipeline, "shop");
  EXPECT_EQ(parsed->updated_at_ms, 1795622337994);
  EXPECT_EQ(parsed->source, wal_position({280353, 280352, 280352}));
}

TEST(CheckpointStore, TheWriteAfterAV1FileIsV2) {
  TempDir dir;
  FileCheckpointStore store(dir.path(), "shop");
  testing::write_file(store.path(), kV1File);
  auto loaded = store.load();
  ASSERT_TRUE(loaded && loaded->has_value()) << loaded.status().to_string();
  SourcePosition next = (*loaded)->source;
  next.source_id = "4f1c0e3a9b7d42c6a1e5f0d2c3b4a596";
  ASSERT_TRUE(store.save(next).is_ok());
  std::string text = testing::read_file(store.path());
  EXPECT_EQ(text.rfind("heliosdb-cdc checkpoint v2\npipeline=shop\nsource=heliosdb-wal\n"
                       "source_id=4f1c0e3a9b7d42c6a1e5f0d2c3b4a596\n"
                       "position=restart 280353 commit 280352 event 280352\n",
                       0),
            0u)
      << text;
}

TEST(CheckpointStore, PositionBytesAreKeptAsTheSourceGaveThem) {
  TempDir dir;
  FileCheckpointStore store(dir.path(), "mydb");
  SourcePosition pos{"postgres", "slot\nx", std::string("\0\n%=\xff lsn", 9)};
  ASSERT_TRUE(store.save(pos).is_ok());
  std::string text = testing::read_file(store.path());
  EXPECT_NE(text.find("\nsource_id=slot%0Ax\nposition=%00%0A%25=%FF lsn\n"), std::string::npos)
      << text;
  auto loaded = store.load();
  ASSERT_TRUE(loaded && loaded->has_value()) << loaded.status().to_string();
  EXPECT_EQ((*loaded)->source, pos);
}

TEST(CheckpointStore, FlippedDigitIsDetectedAndNamesTheFile) {
  TempDir dir;
  FileCheckpointStore store(dir.path(), "mydb");
  ASSERT_TRUE(store.save(wal_position({5, 10, 10})).is_ok());
  std::string text = testing::read_file(store.path());
  text[text.find("commit 10") + 7] = '9';
  testing::write_file(store.path(), text);
  auto loaded = store.load();
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(loaded.status().message().find(store.path()), std::string::npos);
  EXPECT_NE(loaded.status().message().find("checksum mismatch"), std::string::npos);
}

TEST(CheckpointStore, TruncatedFileIsCorruption) {
  TempDir dir;
  FileCheckpointStore store(dir.path(), "mydb");
  ASSERT_TRUE(store.save(wal_position({5, 10, 10})).is_ok());
  std::string text = testing::read_file(store.path());
  testing::write_file(store.path(), text.substr(0, text.size() / 2));
  auto loaded = store.load();
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.status().code(), ErrorCode::kCorruption);
}

TEST(CheckpointStore, AnUnknownFormatVersionIsNamed) {
  std::string text = format_checkpoint({2, "mydb", wal_position({1, 1, 1}), 0});
  // Same body as a valid file but for the header; the CRC is fixed up.
  text.replace(0, std::string("heliosdb-cdc checkpoint v2").size(), "heliosdb-cdc checkpoint v3");
  size_t crc = text.rfind("crc32=");
  text.resize(crc);
  text += "crc32=" + [&] {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08lx",
                  crc32(0L, reinterpret_cast<const Bytef*>(text.data()), text.size()));
    return std::string(buf);
  }() + "\n";
  auto parsed = parse_checkpoint(text, "f.checkpoint");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.status().message().find("unknown header \"heliosdb-cdc checkpoint v3\""),
            std::string::npos)
      << parsed.status().message();
  EXPECT_NE(parsed.status().message().find("f.checkpoint"), std::string::npos);
}

TEST(CheckpointStore, DatabaseNamesAreSafeFileNames) {
  TempDir dir;
  FileCheckpointStore store(dir.path(), "../evil/db");
  EXPECT_EQ(std::filesystem::path(store.path()).parent_path(), dir.path());
  EXPECT_EQ(std::filesystem::path(store.lock_path()).parent_path(), dir.path());
  ASSERT_TRUE(store.save(wal_position({1, 2, 2})).is_ok());
  EXPECT_TRUE(std::filesystem::exists(store.path()));
}

TEST(CheckpointStore, PrepareWritesAProbeAndLeavesNothingBehind) {
  TempDir dir;
  FileCheckpointStore store(dir.file("ckpt"), "mydb");
  ASSERT_TRUE(store.prepare(wal_position({0, 0, 0})).is_ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("ckpt")));
  EXPECT_TRUE(std::filesystem::is_empty(dir.file("ckpt")));
}

// Runs `body` in a child process whose files may not grow past 0 bytes
// (RLIMIT_FSIZE: every write() to a file fails with EFBIG, the way a full
// disk fails it with ENOSPC); returns the child's exit code.
int in_child_that_cannot_write(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of being killed
    rlimit none{0, 0};
    if (::setrlimit(RLIMIT_FSIZE, &none) != 0) ::_exit(90);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A directory that passes access(W_OK) but cannot take a write (a full disk)
// fails the start-up check, naming the directory and the errno, and leaves
// no temp file.
TEST(CheckpointStore, PrepareFailsWhenNoCheckpointFitsAndLeavesNoTempFile) {
  TempDir dir;
  const std::string ckpt = dir.file("ckpt");
  std::filesystem::create_directories(ckpt);
  int report[2];  // the child's error text (a pipe: RLIMIT_FSIZE does not apply)
  ASSERT_EQ(::pipe(report), 0);
  int code = in_child_that_cannot_write([&] {
    Status st = FileCheckpointStore(ckpt, "mydb").prepare(wal_position({0, 0, 0}));
    const std::string text = st.to_string();
    (void)!::write(report[1], text.data(), text.size());
    return st.is_ok() ? 0 : 1;
  });
  ::close(report[1]);
  std::string msg;
  char buf[512];
  for (ssize_t n; (n = ::read(report[0], buf, sizeof buf)) > 0;)
    msg.append(buf, static_cast<size_t>(n));
  ::close(report[0]);
  ASSERT_EQ(code, 1) << "prepare() passed in a directory where no write succeeds";
  EXPECT_NE(msg.find("checkpoint directory " + ckpt + " cannot hold a checkpoint"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find(std::strerror(EFBIG)), std::string::npos) << msg;
  EXPECT_EQ(temp_files(ckpt), std::vector<std::string>{});
}

TEST(CheckpointStore, AFailedSaveLeavesNoTempFileAndKeepsTheOldCheckpoint) {
  TempDir dir;
  FileCheckpointStore store(dir.path(), "mydb");
  ASSERT_TRUE(store.save(wal_position({1, 2, 2})).is_ok());
  int code = in_child_that_cannot_write([&] {
    return FileCheckpointStore(dir.path(), "mydb").save(wal_position({3, 4, 4})).is_ok() ? 0 : 1;
  });
  ASSERT_EQ(code, 1);
  EXPECT_EQ(temp_files(dir.path()), std::vector<std::string>{});
  auto loaded = store.load();
  ASSERT_TRUE(loaded && loaded->has_value());
  EXPECT_EQ((*loaded)->source, wal_position({1, 2, 2}));
}

TEST(WalPosition, EncodingIsTextAndDecodingIsStrict) {
  EXPECT_EQ(encode_wal_position({7, 8, 9}), "restart 7 commit 8 event 9");
  auto p = decode_wal_position("restart 18446744073709551615 commit 0 event 1");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (DeliveryPosition{18446744073709551615ull, 0, 1}));
  for (std::string_view bad :
       {"", "restart 1 commit 2", "restart 1 commit 2 event 3 ", "restart  1 commit 2 event 3",
        "restart -1 commit 2 event 3", "restart 1 commit 2 event 3x",
        "restart 18446744073709551616 commit 2 event 3", "commit 2 restart 1 event 3"}) {
    EXPECT_FALSE(decode_wal_position(bad)) << bad;
  }
}

TEST(DeliveryPosition, CoversByCommitThenEventSequence) {
  DeliveryPosition p{0, 100, 90};
  EXPECT_TRUE(p.covers(50, 60));    // earlier transaction
  EXPECT_TRUE(p.covers(100, 90));   // the event itself
  EXPECT_FALSE(p.covers(100, 95));  // later event of the same transaction
  EXPECT_FALSE(p.covers(120, 10));  // a later transaction, even with an older change
}

}  // namespace
}  // namespace heliosdb::cdc
