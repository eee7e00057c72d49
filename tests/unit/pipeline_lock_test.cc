// PipelineLock: one holder per checkpoint, the error names the lock and the
// holder's PID, and a killed holder never leaves a stale lock.
#include "pipeline/pipeline_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "testing/test_util.h"

namespace heliosdb::cdc {
namespace {

using testing::TempDir;

TEST(PipelineLock, ASecondHolderFailsNamingTheLockAndThePid) {
  TempDir dir;
  const std::string path = dir.file("mydb.lock");
  auto first = PipelineLock::acquire(path);
  ASSERT_TRUE(first) << first.status().to_string();
  EXPECT_EQ(testing::read_file(path), std::to_string(::getpid()) + "\n");
  auto second = PipelineLock::acquire(path);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("checkpoint lock " + path + " is held"),
            std::string::npos)
      << second.status().message();
  EXPECT_NE(second.status().message().find("(pid " + std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.status().message();
}

TEST(PipelineLock, ReleasedWhenTheHolderIsDestroyed) {
  TempDir dir;
  const std::string path = dir.file("mydb.lock");
  ASSERT_TRUE(PipelineLock::acquire(path));  // destroyed at once
  auto again = PipelineLock::acquire(path);
  EXPECT_TRUE(again) << again.status().to_string();
}

TEST(PipelineLock, AHolderKilledWithSigkillLeavesNoStaleLock) {
  TempDir dir;
  const std::string path = dir.file("mydb.lock");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  if (child == 0) {
    auto lock = PipelineLock::acquire(path);
    char c = lock ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    while (true) ::pause();
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  auto held = PipelineLock::acquire(path);
  ASSERT_FALSE(held);
  EXPECT_NE(held.status().message().find("(pid " + std::to_string(child) + ")"), std::string::npos)
      << held.status().message();
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  ::waitpid(child, nullptr, 0);
  auto after = PipelineLock::acquire(path);
  EXPECT_TRUE(after) << after.status().to_string();
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(PipelineLock, AMissingDirectoryIsAnErrorNamingThePath) {
  TempDir dir;
  auto lock = PipelineLock::acquire(dir.file("nope/mydb.lock"));
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.status().message().find(dir.file("nope/mydb.lock")), std::string::npos);
}

}  // namespace
}  // namespace heliosdb::cdc
