// WalWriter: appends framed entries to the active segment, rotates by size,
// syncs per policy, and on open repairs a torn tail left by a crash.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/thread_name.h"
#include "common/wall_clock.h"
#include "heliosdb/cdc/wal.h"
#include "wal/segment_reader.h"
#include "wal/wal_files.h"
#include "wal/wal_format.h"
#include "wal/wal_identity.h"

namespace heliosdb::cdc {

using wal::Fd;

struct WalWriter::Impl {
  WalWriterOptions opt;
  Fd lock_fd;
  std::mutex mu;               // guards everything below against the sync thread
  std::shared_ptr<Fd> active;  // the open active segment, or null before the next append
  std::string active_path;
  uint64_t active_size = 0;
  uint64_t next_seq = 1;
  std::string payload;  // reused encoding buffers
  std::string frame;
  std::string held;    // defer_writes: encoded frames not written yet (end at active_size)
  Status failed;       // sticky: a failed fsync or an unrepairable write
  bool dirty = false;  // appended since the last sync
  bool closed = false;
  bool stop_syncer = false;
  std::condition_variable cv;
  std::thread syncer;
  WalRecoveryInfo info;
  std::string identity;  // of the directory, see wal_identity.h

  bool syncs() const { return opt.sync_policy != WalSyncPolicy::kNever; }
  Status lock_dir();
  Status recover();
  Status create_segment(uint64_t first);
  Status seal_locked();
  // Appends `bytes` to the active segment, which ends at `start`; on failure
  // cuts the file back to `start` (sticky failure if that fails too) and
  // returns the errno.
  int write_at_end_locked(std::string_view bytes, uint64_t start);
  // After bytes were written: fsync them (every-entry policy) or mark dirty.
  Status after_write_locked();
  Status write_held_locked();
  void sync_loop();
};

namespace {

bool file_all_zero(int fd, uint64_t size) {
  char buf[65536];
  for (uint64_t off = 0; off < size;) {
    long long n = wal::pread_full(fd, buf, sizeof buf, off);
    if (n <= 0) return n == 0;
    for (long long i = 0; i < n; ++i) {
      if (buf[i] != 0) return false;
    }
    off += static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace

Status WalWriter::Impl::lock_dir() {
  std::string path = opt.dir + "/" + std::string(wal::kLockFileName);
  lock_fd.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock_fd) return errno_status("open lock file " + path, errno);
  if (::flock(lock_fd.get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK) {
      return Status(
          ErrorCode::kFailedPrecondition,
          "WAL directory " + opt.dir + " is in use by another writer (lock " + path + " is held)");
    }
    return errno_status("lock " + path, err);
  }
  // Remove segment files that a crash left half-created (see create_segment).
  if (DIR* d = ::opendir(opt.dir.c_str())) {
    while (dirent* ent = ::readdir(d)) {
      std::string_view name = ent->d_name;
      if (name.size() > 8 && name.substr(name.size() - 8) == ".wal.tmp") {
        ::unlink((opt.dir + "/" + std::string(name)).c_str());
      }
    }
    ::closedir(d);
  }
  return Status::ok();
}

Status WalWriter::Impl::recover() {
  auto listed = wal::list_segment_sequences(opt.dir);
  if (!listed) return listed.status();
  std::vector<uint64_t> seqs = std::move(listed.value());
  info.existing_wal = !seqs.empty();
  next_seq = opt.first_sequence;
  while (!seqs.empty()) {
    uint64_t first = seqs.back();
    std::string path = wal::segment_path(opt.dir, first);
    Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) return errno_status("open " + path, errno);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return errno_status("stat " + path, errno);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    char hdr[wal::kSegmentHeaderSize];
    long long n = wal::pread_full(fd.get(), hdr, sizeof hdr, 0);
    if (n < 0) return errno_status("read " + path, static_cast<int>(-n));
    wal::SegmentHeader header;
    std::string reason;
    if (!wal::decode_segment_header(hdr, static_cast<size_t>(n), &header, &reason)) {
      if (size >= wal::kSegmentHeaderSize && !file_all_zero(fd.get(), size)) {
        return corruption(path + " at byte 0: " + reason +
                          "; refusing to write after a damaged segment");
      }
      // Torn creation: the file never held an entry. Remove it.
      fd.reset();
      if (::unlink(path.c_str()) != 0) return errno_status("remove torn segment " + path, errno);
      if (int err = wal::fsync_dir(opt.dir)) return errno_status("fsync " + opt.dir, err);
      info.removed_files.push_back(path);
      seqs.pop_back();
      continue;
    }
    if (header.first_sequence != first) {
      return corruption(path + " at byte 16: header first_sequence " +
                        std::to_string(header.first_sequence) + " does not match the file name");
    }
    // Find the last valid entry.
    wal::SegmentRecordReader rr;
    rr.reset(fd.get(), wal::kSegmentHeaderSize);
    uint64_t expect = first;
    bool any = false;
    bool done = false;
    while (!done) {
      std::string_view rec;
      switch (rr.read(&rec)) {
        case wal::SegmentRecordReader::Outcome::kRecord: {
          WalEntry e;
          if (const char* why = wal::decode_entry(rec.data(), rec.size(), &e)) {
            return corruption(path + " at byte " + std::to_string(rr.record_offset()) + ": " + why +
                              "; refusing to write after a damaged entry");
          }
          if (e.sequence != expect) {
            return corruption(path + " at byte " + std::to_string(rr.record_offset()) +
                              ": sequence out of order: expected " + std::to_string(expect) +
                              ", found " + std::to_string(e.sequence));
          }
          ++expect;
          any = true;
          break;
        }
        case wal::SegmentRecordReader::Outcome::kEnd:
        case wal::SegmentRecordReader::Outcome::kTorn:  // incl. zeros left by a power loss
          done = true;
          break;
        case wal::SegmentRecordReader::Outcome::kCorrupt: {
          const auto& d = rr.damage();
          if (d.offset + d.bytes < size) {
            return corruption(path + " at byte " + std::to_string(d.offset) + ": " + d.reason +
                              " (followed by more data, so not a torn write); refusing to "
                              "write after a damaged segment");
          }
          done = true;  // a torn write that left garbage up to the end of the file
          break;
        }
        case wal::SegmentRecordReader::Outcome::kIoError:
          return errno_status("read " + path, rr.io_errno());
      }
    }
    uint64_t good_end = rr.boundary();
    if (size > good_end) {
      if (::ftruncate(fd.get(), static_cast<off_t>(good_end)) != 0) {
        return errno_status("truncate torn tail of " + path, errno);
      }
      if (::fsync(fd.get()) != 0) return errno_status("fsync " + path, errno);
      info.truncated_file = path;
      info.truncated_to = good_end;
      info.truncated_bytes = size - good_end;
    }
    if (!any) {
      // No entry in it: keep appending to this segment (its name is already right).
      if (::lseek(fd.get(), static_cast<off_t>(good_end), SEEK_SET) < 0) {
        return errno_status("seek " + path, errno);
      }
      active = std::make_shared<Fd>(std::move(fd));
      active_path = path;
      active_size = good_end;
      next_seq = first;
      info.last_sequence = first - 1;
    } else {
      // The next append starts a new segment, so new bytes never follow a repaired tail.
      next_seq = expect;
      info.last_sequence = expect - 1;
    }
    break;
  }
  return Status::ok();
}

Status WalWriter::Impl::create_segment(uint64_t first) {
  std::string path = wal::segment_path(opt.dir, first);
  std::string tmp = path + ".tmp";
  // Written under a temporary name and renamed, so a reader never sees a
  // half-written segment header.
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return errno_status("create " + tmp, errno);
  char hdr[wal::kSegmentHeaderSize];
  wal::encode_segment_header(first, wall_clock_ms(), hdr);
  if (int err = wal::write_all(fd.get(), hdr, sizeof hdr)) return errno_status("write " + tmp, err);
  if (syncs() && ::fdatasync(fd.get()) != 0) return errno_status("fsync " + tmp, errno);
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    if (err == EEXIST) {
      ::unlink(tmp.c_str());
      return internal_error("segment " + path + " already exists");
    }
    if (err != EINVAL && err != ENOSYS) return errno_status("rename " + tmp, err);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return errno_status("rename " + tmp, errno);
  }
  if (syncs()) {
    if (int err = wal::fsync_dir(opt.dir)) return errno_status("fsync " + opt.dir, err);
  }
  active = std::make_shared<Fd>(std::move(fd));
  active_path = path;
  active_size = wal::kSegmentHeaderSize;
  return Status::ok();
}

int WalWriter::Impl::write_at_end_locked(std::string_view bytes, uint64_t start) {
  int err = wal::write_all(active->get(), bytes.data(), bytes.size());
  if (err == 0) return 0;
  // Cut the partial bytes off again so the segment stays well-formed.
  if (::ftruncate(active->get(), static_cast<off_t>(start)) != 0 ||
      ::lseek(active->get(), static_cast<off_t>(start), SEEK_SET) < 0) {
    failed = errno_status("repair " + active_path + " after a failed write", errno);
  }
  return err;
}

Status WalWriter::Impl::after_write_locked() {
  if (opt.sync_policy == WalSyncPolicy::kEveryEntry) {
    if (::fdatasync(active->get()) != 0) {
      failed = errno_status("fsync " + active_path, errno);
      return failed;
    }
  } else {
    dirty = true;
  }
  return Status::ok();
}

Status WalWriter::Impl::write_held_locked() {
  if (held.empty()) return Status::ok();
  if (!failed.is_ok()) return failed;
  const int err = write_at_end_locked(held, active_size - held.size());
  held.clear();
  if (err != 0) {
    // The held entries' sequences were already handed out, so the writer
    // cannot go on without them: fail for good.
    if (failed.is_ok()) failed = errno_status("append to " + active_path, err);
    return failed;
  }
  return after_write_locked();
}

Status WalWriter::Impl::seal_locked() {
  if (!active) return Status::ok();
  HELIOSDB_RETURN_IF_ERROR(write_held_locked());
  if (syncs() && ::fdatasync(active->get()) != 0) {
    failed = errno_status("fsync " + active_path, errno);
    return failed;
  }
  active.reset();
  dirty = false;
  return Status::ok();
}

void WalWriter::Impl::sync_loop() {
  std::unique_lock<std::mutex> lk(mu);
  while (!stop_syncer) {
    cv.wait_for(lk, opt.sync_interval, [&] { return stop_syncer; });
    if (stop_syncer) break;
    if (!dirty || !active) continue;
    std::shared_ptr<Fd> fd = active;
    std::string path = active_path;
    dirty = false;
    lk.unlock();
    int rc = ::fdatasync(fd->get());
    int err = errno;
    lk.lock();
    if (rc != 0 && failed.is_ok()) failed = errno_status("fsync " + path, err);
  }
}

WalWriter::WalWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WalWriter::~WalWriter() { (void)close(); }

Result<std::unique_ptr<WalWriter>> WalWriter::open(const WalWriterOptions& options) {
  if (options.dir.empty()) return invalid_argument("WAL writer: dir is empty");
  if (options.segment_bytes == 0) return invalid_argument("WAL writer: segment_bytes must be > 0");
  if (options.first_sequence == 0) {
    return invalid_argument("WAL writer: first_sequence must be >= 1");
  }
  if (options.sync_policy == WalSyncPolicy::kInterval && options.sync_interval.count() <= 0) {
    return invalid_argument("WAL writer: sync_interval must be > 0");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return io_error("create WAL directory " + options.dir + ": " + ec.message());
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  HELIOSDB_RETURN_IF_ERROR(impl->lock_dir());
  HELIOSDB_RETURN_IF_ERROR(impl->recover());
  // A directory from a version before identities gets one now.
  auto identity = wal::ensure_identity(options.dir, impl->syncs());
  if (!identity) return identity.status();
  impl->identity = std::move(*identity);
  if (options.sync_policy == WalSyncPolicy::kInterval) {
    Impl* raw = impl.get();
    impl->syncer = std::thread([raw] {
      name_this_thread("wal-sync");
      raw->sync_loop();
    });
  }
  return std::unique_ptr<WalWriter>(new WalWriter(std::move(impl)));
}

Result<uint64_t> WalWriter::append(const WalEntry& entry) {
  Impl& s = *impl_;
  uint8_t kind = static_cast<uint8_t>(entry.kind);
  if (kind < 1 || kind > 7) {
    return invalid_argument("WAL append: unknown entry kind " + std::to_string(kind));
  }
  WalEntry e = entry;
  std::lock_guard<std::mutex> lk(s.mu);
  if (s.closed) return Status(ErrorCode::kFailedPrecondition, "WAL writer is closed");
  if (!s.failed.is_ok()) return s.failed;
  e.sequence = s.next_seq;
  size_t size = wal::encoded_entry_size(e);
  if (size > wal::kMaxEntryBytes) {
    return invalid_argument("WAL append: entry of " + std::to_string(size) +
                            " bytes exceeds the 256 MiB limit");
  }
  s.payload.clear();
  wal::encode_entry(e, &s.payload);
  if (!s.active) HELIOSDB_RETURN_IF_ERROR(s.create_segment(s.next_seq));
  s.frame.clear();
  size_t block_offset = s.active_size % wal::kBlockSize;
  wal::append_fragments(s.payload, &block_offset, &s.frame);
  if (s.opt.defer_writes) {
    s.held += s.frame;
    s.active_size += s.frame.size();
    uint64_t seq = s.next_seq++;
    if (s.active_size >= s.opt.segment_bytes) {
      HELIOSDB_RETURN_IF_ERROR(s.seal_locked());
    } else if (s.held.size() >= (1u << 20)) {
      HELIOSDB_RETURN_IF_ERROR(s.write_held_locked());
    }
    return seq;
  }
  if (int err = s.write_at_end_locked(s.frame, s.active_size)) {
    return errno_status("append to " + s.active_path, err);
  }
  s.active_size += s.frame.size();
  uint64_t seq = s.next_seq++;
  HELIOSDB_RETURN_IF_ERROR(s.after_write_locked());
  if (s.active_size >= s.opt.segment_bytes) HELIOSDB_RETURN_IF_ERROR(s.seal_locked());
  return seq;
}

Status WalWriter::sync() {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> lk(s.mu);
  if (!s.failed.is_ok()) return s.failed;
  if (s.active) HELIOSDB_RETURN_IF_ERROR(s.write_held_locked());
  if (s.active && ::fdatasync(s.active->get()) != 0) {
    s.failed = errno_status("fsync " + s.active_path, errno);
    return s.failed;
  }
  s.dirty = false;
  return Status::ok();
}

Status WalWriter::flush_writes() {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> lk(s.mu);
  if (!s.active) return s.failed;
  return s.write_held_locked();
}

Status WalWriter::close() {
  Impl& s = *impl_;
  {
    std::lock_guard<std::mutex> lk(s.mu);
    if (s.closed) return Status::ok();
    s.closed = true;
    s.stop_syncer = true;
  }
  s.cv.notify_all();
  if (s.syncer.joinable()) s.syncer.join();
  std::lock_guard<std::mutex> lk(s.mu);
  Status st = s.failed;
  if (st.is_ok()) st = s.seal_locked();
  s.active.reset();
  s.lock_fd.reset();
  return st;
}

uint64_t WalWriter::next_sequence() const { return impl_->next_seq; }

const WalRecoveryInfo& WalWriter::recovery_info() const { return impl_->info; }

const std::string& WalWriter::identity() const { return impl_->identity; }

}  // namespace heliosdb::cdc
