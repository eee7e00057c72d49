// WalReader: reads a WAL directory in sequence order and follows it while it
// grows. See docs/wal-format.md ("Reading") for the rules implemented here.
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <thread>

#include "heliosdb/cdc/wal.h"
#include "wal/segment_reader.h"
#include "wal/wal_files.h"
#include "wal/wal_format.h"

namespace heliosdb::cdc {

using wal::Fd;
using Outcome = wal::SegmentRecordReader::Outcome;

// Sealed segments at least this large are read through mmap, unless they are
// larger than kMapMaxBytes (twice the default segment size: only a segment
// holding a huge row is): a mapping is populated whole and counts in the
// process's resident memory.
constexpr uint64_t kMapMinBytes = 1 << 20;
constexpr uint64_t kMapMaxBytes = 128ull << 20;

struct WalReader::Impl {
  WalReaderOptions opt;
  wal::SegmentRecordReader rr;
  Fd fd;
  std::string path;
  uint64_t seg_first = 0;
  bool have_segment = false;
  std::optional<uint64_t> pending;  // segment chosen but its header was not complete yet
  bool sealed = false;              // a newer segment exists: this one's content is final
  uint64_t expect = 0;              // sequence the next entry must carry
  bool resync = false;              // damage was skipped: accept a jump forward once
  uint64_t last_seq = 0;
  Fd inotify;
  bool inotify_tried = false;
  // Directory listing cache for "is there a newer segment?" while idle.
  bool cache_valid = false;
  uint64_t cache_for = 0;
  struct timespec cache_mtime {};
  std::optional<uint64_t> cache_next;
  // Segment list from the last directory listing: if it names a segment after
  // the current one, the current one is sealed (segments are never un-sealed).
  std::vector<uint64_t> known;
  // Last corruption passed to the callback (so retries do not repeat it).
  std::string last_reported;

  Status report(const WalCorruption& c) {
    std::string key = c.to_string();
    if (opt.on_corruption && key != last_reported) opt.on_corruption(c);
    last_reported = key;
    return corruption(key);
  }
  bool skipping() const { return opt.corruption_policy == WalCorruptionPolicy::kSkip; }

  Status position();
  // Opens segment `first`. Sets have_segment, or pending if its header is not complete yet.
  Status open_segment(uint64_t first, bool newer_exists);
  Result<std::optional<uint64_t>> find_next_segment();
};

Status WalReader::Impl::position() {
  auto listed = wal::list_segment_sequences(opt.dir);
  if (!listed) return listed.status();
  known = *listed;
  const std::vector<uint64_t>& seqs = known;
  if (seqs.empty()) return Status::ok();  // nothing written yet
  uint64_t start = opt.start_sequence;
  uint64_t target;
  if (start == 0) {
    target = seqs.front();
  } else if (start < seqs.front()) {
    return not_found("sequence " + std::to_string(start) + " is no longer in the WAL " + opt.dir +
                     ": the oldest segment " + wal::segment_path(opt.dir, seqs.front()) +
                     " starts at sequence " + std::to_string(seqs.front()));
  } else {
    target = *(std::upper_bound(seqs.begin(), seqs.end(), start) - 1);
  }
  return open_segment(target, target != seqs.back());
}

Status WalReader::Impl::open_segment(uint64_t first, bool newer_exists) {
  std::string p = wal::segment_path(opt.dir, first);
  Fd f(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f) {
    int err = errno;
    if (err == ENOENT) {
      return not_found("segment " + p + " disappeared (removed by retention while being read?)");
    }
    return errno_status("open " + p, err);
  }
  char hdr[wal::kSegmentHeaderSize];
  long long n = wal::pread_full(f.get(), hdr, sizeof hdr, 0);
  if (n < 0) return errno_status("read " + p, static_cast<int>(-n));
  wal::SegmentHeader h;
  std::string reason;
  if (static_cast<size_t>(n) < wal::kSegmentHeaderSize && !newer_exists) {
    pending = first;  // the newest segment is still being created
    have_segment = false;
    seg_first = first;  // so find_next_segment() looks past it
    expect = first;
    return Status::ok();
  }
  if (!wal::decode_segment_header(hdr, static_cast<size_t>(n), &h, &reason)) {
    if (reason.rfind("unsupported", 0) == 0) {
      return Status(ErrorCode::kFailedPrecondition, p + " at byte 0: " + reason);
    }
    return report(WalCorruption{p, 0, static_cast<uint64_t>(n), reason});
  }
  if (h.first_sequence != first) {
    return report(WalCorruption{p, 16, 8,
                                "header first_sequence " + std::to_string(h.first_sequence) +
                                    " does not match the file name"});
  }
  fd = std::move(f);
  path = std::move(p);
  seg_first = first;
  expect = first;
  sealed = false;
  have_segment = true;
  pending.reset();
  cache_valid = false;
  rr.reset(fd.get(), wal::kSegmentHeaderSize);
  if (newer_exists) {
    // Sealed: its bytes are final, so read it through a mapping (no copies).
    struct stat st;
    if (::fstat(fd.get(), &st) == 0 && static_cast<uint64_t>(st.st_size) >= kMapMinBytes &&
        static_cast<uint64_t>(st.st_size) <= kMapMaxBytes) {
      rr.map_file(static_cast<uint64_t>(st.st_size));
    }
  }
  return Status::ok();
}

Result<std::optional<uint64_t>> WalReader::Impl::find_next_segment() {
  // Fast path: the segment that must follow this one is named after `expect`.
  if (expect > seg_first) {
    struct stat st;
    if (::stat(wal::segment_path(opt.dir, expect).c_str(), &st) == 0) {
      return std::optional<uint64_t>(expect);
    }
  }
  // Slow path: list the directory, unless it has not changed for a while.
  struct stat dst;
  if (::stat(opt.dir.c_str(), &dst) != 0) return errno_status("stat " + opt.dir, errno);
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  bool same = cache_valid && cache_for == seg_first && dst.st_mtim.tv_sec == cache_mtime.tv_sec &&
              dst.st_mtim.tv_nsec == cache_mtime.tv_nsec;
  // Directory timestamps are coarse: trust an unchanged one only once it is old.
  if (same && now.tv_sec - dst.st_mtim.tv_sec >= 2) return cache_next;
  auto listed = wal::list_segment_sequences(opt.dir);
  if (!listed) return listed.status();
  known = *listed;
  std::optional<uint64_t> next;
  auto it = std::upper_bound(listed->begin(), listed->end(), seg_first);
  if (it != listed->end()) next = *it;
  cache_valid = true;
  cache_for = seg_first;
  cache_mtime = dst.st_mtim;
  cache_next = next;
  return next;
}

WalReader::WalReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WalReader::~WalReader() = default;

Result<std::unique_ptr<WalReader>> WalReader::open(const WalReaderOptions& options) {
  if (options.dir.empty()) return invalid_argument("WAL reader: dir is empty");
  struct stat st;
  if (::stat(options.dir.c_str(), &st) != 0) {
    return errno_status("WAL directory " + options.dir, errno);
  }
  if (!S_ISDIR(st.st_mode))
    return invalid_argument("WAL path " + options.dir + " is not a directory");
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  HELIOSDB_RETURN_IF_ERROR(impl->position());
  return std::unique_ptr<WalReader>(new WalReader(std::move(impl)));
}

Result<WalReadStatus> WalReader::next(WalEntry& entry) {
  Impl& s = *impl_;
  for (;;) {
    if (!s.have_segment) {
      if (s.pending) {
        auto nxt = s.find_next_segment();
        if (!nxt) return nxt.status();
        HELIOSDB_RETURN_IF_ERROR(s.open_segment(*s.pending, nxt->has_value()));
      } else {
        HELIOSDB_RETURN_IF_ERROR(s.position());
      }
      if (!s.have_segment) return WalReadStatus::kEndOfLog;
    }
    std::string_view rec;
    Outcome oc = s.rr.read(&rec);
    switch (oc) {
      case Outcome::kRecord: {
        if (const char* why = wal::decode_entry(rec.data(), rec.size(), &entry)) {
          WalCorruption c{s.path, s.rr.record_offset(), s.rr.boundary() - s.rr.record_offset(),
                          why};
          Status st = s.report(c);
          if (!s.skipping()) {
            s.rr.seek(c.offset);  // the next call reports the same error
            return st;
          }
          s.resync = true;
          continue;
        }
        if (entry.sequence != s.expect) {
          bool forward = entry.sequence > s.expect;
          if (!(forward && s.resync)) {
            WalCorruption c{s.path, s.rr.record_offset(), s.rr.boundary() - s.rr.record_offset(),
                            "sequence out of order: expected " + std::to_string(s.expect) +
                                ", found " + std::to_string(entry.sequence)};
            Status st = s.report(c);
            if (!s.skipping()) {
              s.rr.seek(c.offset);
              return st;
            }
            if (!forward) continue;  // drop the duplicate / stale entry
          }
        }
        s.resync = false;
        s.expect = entry.sequence + 1;
        if (entry.sequence < s.opt.start_sequence) continue;  // before the requested start
        s.last_seq = entry.sequence;
        return WalReadStatus::kEntry;
      }
      case Outcome::kEnd:
      case Outcome::kTorn: {
        if (!s.sealed) {
          auto nxt = s.find_next_segment();
          if (!nxt) return nxt.status();
          if (!nxt->has_value()) return WalReadStatus::kEndOfLog;  // active segment: wait
          // The writer finishes a segment before it creates the next one, so
          // what this segment holds now is final: read its end once more.
          s.sealed = true;
          s.rr.invalidate();
          continue;
        }
        if (oc == Outcome::kTorn) {
          WalCorruption c{
              s.path, s.rr.boundary(), s.rr.tail_bytes(),
              "incomplete record at the end of a sealed segment (" + s.rr.torn_reason() + ")"};
          Status st = s.report(c);
          if (!s.skipping()) return st;
        }
        auto nxt = s.find_next_segment();
        if (!nxt) return nxt.status();
        if (!nxt->has_value()) return WalReadStatus::kEndOfLog;  // the newer one was removed
        uint64_t next_first = **nxt;
        if (next_first != s.expect) {
          std::string next_path = wal::segment_path(s.opt.dir, next_first);
          std::string msg = "sequence gap: " + s.path + " ends at sequence " +
                            std::to_string(s.expect - 1) + " but the next segment " + next_path +
                            " starts at sequence " + std::to_string(next_first) +
                            (next_first > s.expect ? " (missing segment?)" : " (overlap)");
          WalCorruption c{next_path, 0, 0, msg};
          if (s.opt.on_corruption && c.to_string() != s.last_reported) s.opt.on_corruption(c);
          s.last_reported = c.to_string();
          if (!s.skipping()) return not_found(msg);
        }
        bool newer = !s.known.empty() && s.known.back() > next_first;
        HELIOSDB_RETURN_IF_ERROR(s.open_segment(next_first, newer));
        if (s.have_segment) s.expect = next_first;
        continue;
      }
      case Outcome::kCorrupt: {
        const auto& d = s.rr.damage();
        Status st = s.report(WalCorruption{s.path, d.offset, d.bytes, d.reason});
        if (!s.skipping()) return st;
        s.rr.seek(d.resume);
        s.resync = true;
        continue;
      }
      case Outcome::kIoError:
        return errno_status("read " + s.path, s.rr.io_errno());
    }
  }
}

void WalReader::wait_for_data(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  if (!s.inotify_tried) {
    // Set up lazily: closing an inotify instance costs milliseconds, so
    // readers that never wait should not pay for one.
    s.inotify_tried = true;
    s.inotify.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (s.inotify &&
        ::inotify_add_watch(s.inotify.get(), s.opt.dir.c_str(),
                            IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE) < 0) {
      s.inotify.reset();  // fall back to sleeping
    }
    // Data may have arrived before the watch existed: let the caller look first.
    if (s.inotify) return;
  }
  if (!s.inotify) {
    std::this_thread::sleep_for(timeout);
    return;
  }
  pollfd pfd{s.inotify.get(), POLLIN, 0};
  int ms = static_cast<int>(std::min<int64_t>(timeout.count(), INT32_MAX));
  if (::poll(&pfd, 1, ms) > 0) {
    alignas(inotify_event) char buf[4096];
    while (::read(s.inotify.get(), buf, sizeof buf) > 0) {
    }
  }
}

uint64_t WalReader::last_sequence() const { return impl_->last_seq; }
std::string WalReader::current_file() const { return impl_->path; }
uint64_t WalReader::current_offset() const {
  return impl_->have_segment ? impl_->rr.boundary() : 0;
}

Result<std::vector<WalSegmentInfo>> list_wal_segments(const std::string& dir) {
  auto listed = wal::list_segment_sequences(dir);
  if (!listed) return listed.status();
  std::vector<WalSegmentInfo> out;
  out.reserve(listed->size());
  for (uint64_t first : *listed) {
    WalSegmentInfo info;
    info.path = wal::segment_path(dir, first);
    info.first_sequence = first;
    struct stat st;
    if (::stat(info.path.c_str(), &st) == 0) info.size_bytes = static_cast<uint64_t>(st.st_size);
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace heliosdb::cdc
