#include "cli/log_file.h"

#include <fcntl.h>
#include <spdlog/common.h>
#include <unistd.h>

#include <cerrno>

namespace heliosdb::cdc::cli {

Result<std::shared_ptr<ReopenableFileLog>> ReopenableFileLog::open(const std::string& path) {
  std::shared_ptr<ReopenableFileLog> log(new ReopenableFileLog(path));
  // Opened here first for the error (spdlog's own open would create missing
  // directories, making a mistyped path succeed somewhere unexpected).
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("--log-file: open " + path, errno);
  ::close(fd);
  try {
    log->file_.open(path, /*truncate=*/false);
  } catch (const spdlog::spdlog_ex& e) {
    return Status(ErrorCode::kIo, "--log-file " + path + ": " + e.what());
  }
  return log;
}

Status ReopenableFileLog::reopen() {
  std::lock_guard lock(mutex_);
  try {
    file_.reopen(/*truncate=*/false);
  } catch (const spdlog::spdlog_ex& e) {
    return Status(ErrorCode::kIo, "reopening the log file " + path_ + ": " + e.what());
  }
  return Status::ok();
}

void ReopenableFileLog::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  file_.write(formatted);
  file_.flush();
}

void ReopenableFileLog::flush_() { file_.flush(); }

}  // namespace heliosdb::cdc::cli
