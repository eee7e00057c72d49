#include "wal/wal_identity.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>

#include "heliosdb/cdc/wal.h"
#include "wal/wal_files.h"

namespace heliosdb::cdc {
namespace {

std::string identity_path(const std::string& dir) {
  return dir + "/" + std::string(wal::kIdentityFileName);
}

Result<std::string> new_identity() {
  unsigned char bits[wal::kIdentityHexDigits / 2];
  for (size_t got = 0; got < sizeof bits;) {
    ssize_t n = ::getrandom(bits + got, sizeof bits - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("WAL identity: getrandom", errno);
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bits) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 15]);
  }
  return id;
}

}  // namespace

Result<std::optional<std::string>> read_wal_identity(const std::string& dir) {
  const std::string path = identity_path(dir);
  wal::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::optional<std::string>();
    return errno_status("open WAL identity file " + path, errno);
  }
  // One byte more than a valid file, to tell a longer file from a valid one.
  char buf[wal::kIdentityHexDigits + 2];
  long long n = wal::pread_full(fd.get(), buf, sizeof buf, 0);
  if (n < 0) return errno_status("read WAL identity file " + path, static_cast<int>(-n));
  std::string_view text(buf, static_cast<size_t>(n));
  bool valid = text.size() == wal::kIdentityHexDigits + 1 && text.back() == '\n';
  for (size_t i = 0; valid && i < wal::kIdentityHexDigits; ++i) {
    valid = (text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f');
  }
  if (!valid) {
    return corruption("WAL identity file " + path + " is damaged: expected " +
                      std::to_string(wal::kIdentityHexDigits) +
                      " lowercase hex digits and a newline (" + std::to_string(n) +
                      " bytes found)");
  }
  return std::optional<std::string>(std::string(text.substr(0, wal::kIdentityHexDigits)));
}

Result<std::string> wal::ensure_identity(const std::string& dir, bool sync) {
  auto existing = read_wal_identity(dir);
  if (!existing) return existing.status();
  if (existing->has_value()) return std::move(**existing);
  auto id = new_identity();
  if (!id) return id.status();
  // Temp file and rename: a reader sees no identity or a whole one.
  const std::string path = identity_path(dir), tmp = path + ".tmp";
  const std::string content = *id + "\n";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return errno_status("create " + tmp, errno);
  int err = write_all(fd.get(), content.data(), content.size());
  if (err == 0 && sync && ::fsync(fd.get()) != 0) err = errno;
  fd.reset();
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return errno_status("write WAL identity file " + path, err);
  }
  if (sync) {
    if (int e = fsync_dir(dir)) return errno_status("fsync " + dir, e);
  }
  return id;
}

}  // namespace heliosdb::cdc
