// File-system helpers shared by the WAL writer and reader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::wal {

// First sequences of the segment files in `dir`, ascending (names only, no
// file is opened). Files that are not segments are ignored.
Result<std::vector<uint64_t>> list_segment_sequences(const std::string& dir);

// "<dir>/<20 digits>.wal"
std::string segment_path(const std::string& dir, uint64_t first_sequence);

// Writes all of data[0, n) to `fd`, retrying on EINTR and short writes.
// Returns 0 or an errno value.
int write_all(int fd, const char* data, size_t n);
int fsync_dir(const std::string& dir);
// pread of up to n bytes at `offset`, retrying short reads; returns bytes read or -errno.
long long pread_full(int fd, char* buf, size_t n, uint64_t offset);

// RAII file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1);
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace heliosdb::cdc::wal
