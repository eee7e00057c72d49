// Checks that what a file sink wrote is still in a file before it is
// acknowledged (the file and Avro sinks call verify() once per
// acknowledgement round, after the fdatasync, never per event).
//
// Lost, and so an error that stops the daemon without acknowledging
// anything written since the last good check (the next run delivers it
// again):
//  * the file was deleted: the inode the sink writes has no name any more
//    (st_nlink 0), so its bytes go when the sink closes it;
//  * the file was truncated: it is shorter than what the sink wrote to it
//    (copytruncate rotation does this, which is why it is not supported).
// Not lost: the file was renamed (rotation by rename). The bytes are in the
// renamed file, and a warning (once) says to send SIGHUP so the sink
// reopens the path.
#pragma once

#include <cstdint>
#include <string>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

class OutputFileCheck {
 public:
  explicit OutputFileCheck(std::string path) : path_(std::move(path)) {}

  // `fd` is the sink's descriptor for path(), to which it has written
  // `written` bytes in all (the size it found at open plus its writes).
  // kFailedPrecondition naming the file if the bytes are not all there.
  Status verify(int fd, uint64_t written);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool warned_renamed_ = false;
};

}  // namespace heliosdb::cdc
