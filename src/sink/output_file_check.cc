#include "sink/output_file_check.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>

namespace heliosdb::cdc {

Status OutputFileCheck::verify(int fd, uint64_t written) {
  struct stat own;
  if (::fstat(fd, &own) != 0) return errno_status("file sink: stat " + path_, errno);
  if (own.st_nlink == 0) {
    return Status(ErrorCode::kFailedPrecondition,
                  "file sink: " + path_ +
                      " was deleted while the daemon was writing to it; the events written "
                      "since the last acknowledgement went with it and are not acknowledged "
                      "(the next run delivers them again). To rotate the file, rename it and "
                      "send SIGHUP");
  }
  if (static_cast<uint64_t>(own.st_size) < written) {
    return Status(ErrorCode::kFailedPrecondition,
                  "file sink: " + path_ + " was truncated to " + std::to_string(own.st_size) +
                      " bytes while the daemon had written " + std::to_string(written) +
                      " bytes to it; the events written since the last acknowledgement are not "
                      "acknowledged (the next run delivers them again). copytruncate rotation "
                      "is not supported: rename the file and send SIGHUP");
  }
  if (!warned_renamed_) {
    struct stat named;
    if (::stat(path_.c_str(), &named) != 0 || named.st_dev != own.st_dev ||
        named.st_ino != own.st_ino) {
      warned_renamed_ = true;
      spdlog::warn(
          "file sink: {} no longer names the file being written (renamed?); writing on to the "
          "renamed file until SIGHUP reopens {}",
          path_, path_);
    }
  }
  return Status::ok();
}

}  // namespace heliosdb::cdc
