// One running pipeline per checkpoint: an exclusive, non-blocking flock on
// "<checkpoint_dir>/<pipeline>.lock", held from the start of a run to its end.
// A second daemon (or a second EventProcessor in this process) for the same
// database and checkpoint_dir fails at once instead of delivering and
// overwriting the first one's checkpoints.
//
// The file holds the holder's PID, so the error names the other process. The
// kernel drops a flock when its holder exits or is killed (kill -9 too), so
// a lock is never stale; the file itself stays, and means nothing while no
// process holds it.
#pragma once

#include <memory>
#include <string>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

class PipelineLock {
 public:
  // Takes the lock at `path` (created if missing; its directory must exist).
  // kFailedPrecondition naming the lock file and the holder's PID if another
  // holder has it.
  static Result<std::unique_ptr<PipelineLock>> acquire(const std::string& path);
  ~PipelineLock();  // releases the lock
  PipelineLock(const PipelineLock&) = delete;
  PipelineLock& operator=(const PipelineLock&) = delete;

 private:
  explicit PipelineLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace heliosdb::cdc
