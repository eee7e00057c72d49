#include "wal/wal_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "common/wall_clock.h"
#include "wal/wal_format.h"

namespace heliosdb::cdc::wal {

Result<std::vector<uint64_t>> list_segment_sequences(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno_status("open WAL directory " + dir, errno);
  std::vector<uint64_t> seqs;
  errno = 0;
  while (dirent* ent = ::readdir(d)) {
    if (auto seq = parse_segment_file_name(ent->d_name)) seqs.push_back(*seq);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return errno_status("read WAL directory " + dir, err);
  std::sort(seqs.begin(), seqs.end());
  return seqs;
}

std::string segment_path(const std::string& dir, uint64_t first_sequence) {
  std::string p = dir;
  if (!p.empty() && p.back() != '/') p.push_back('/');
  p += segment_file_name(first_sequence);
  return p;
}

int write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return 0;
}

int fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

long long pread_full(int fd, char* buf, size_t n, uint64_t offset) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return static_cast<long long>(got);
}

Fd::~Fd() { reset(); }
Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}
void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

}  // namespace heliosdb::cdc::wal
