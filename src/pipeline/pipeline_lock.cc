#include "pipeline/pipeline_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace heliosdb::cdc {
namespace {

// The PID the holder wrote, or "" if it has not written it yet (it writes
// right after taking the lock) or the file holds something else.
std::string holder_pid(int fd) {
  char buf[32];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string_view text(buf, static_cast<size_t>(n));
  if (text.back() == '\n') text.remove_suffix(1);
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) return "";
  return std::string(text);
}

}  // namespace

Result<std::unique_ptr<PipelineLock>> PipelineLock::acquire(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("checkpoint lock: open " + path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      ::close(fd);
      return errno_status("checkpoint lock: lock " + path, err);
    }
    const std::string pid = holder_pid(fd);
    ::close(fd);
    return Status(ErrorCode::kFailedPrecondition,
                  "checkpoint lock " + path + " is held by another heliosdb-cdc pipeline (" +
                      (pid.empty() ? std::string("pid unknown") : "pid " + pid) +
                      ") for the same database and checkpoint_dir; only one may run");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int err = errno;
    ::close(fd);
    return errno_status("checkpoint lock: write " + path, err);
  }
  return std::unique_ptr<PipelineLock>(new PipelineLock(fd));
}

PipelineLock::~PipelineLock() { ::close(fd_); }

}  // namespace heliosdb::cdc
