// `run --log-file PATH`: the daemon's log appended to a file that SIGHUP
// reopens, so log rotation by rename works (logrotate without copytruncate:
// rename the file, then send SIGHUP; the lines written before the reopen stay
// in the renamed file).
#pragma once

#include <spdlog/details/file_helper.h>
#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <mutex>
#include <string>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::cli {

// An spdlog sink writing to one file, flushed after every line (the log is a
// few lines a minute, and `tail -f` should see each at once).
class ReopenableFileLog final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // Opens (creates or appends to) `path`; kIo naming it if it cannot.
  static Result<std::shared_ptr<ReopenableFileLog>> open(const std::string& path);

  // Closes the file and opens `path` again: after a rotation renamed it, a
  // new file. Safe from any thread: it holds the sink's lock, so no line is
  // written half to each file. On failure the error names the file and
  // lines are lost until a reopen succeeds.
  Status reopen();
  const std::string& path() const { return path_; }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  explicit ReopenableFileLog(std::string path) : path_(std::move(path)) {}

  std::string path_;
  spdlog::details::file_helper file_;
};

}  // namespace heliosdb::cdc::cli
