#include "sink/file_sink.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "common/thread_name.h"
#include "options/config_section.h"
#include "sink/avro_file_sink.h"
#include "sink/file_options.h"
#include "sink/sink_registry.h"

namespace heliosdb::cdc {
namespace {

// 0, the errno of the write that failed, or ECANCELED once `interrupted` is
// set while the destination takes nothing. A blocking write() to a pipe
// whose reader stopped reading would wait as long as the reader likes, and
// no stop could end it; so stdout on a pipe or socket is written without
// blocking (LineSink::open()), and here a full one is waited for with poll(),
// looking at `interrupted` every 100 ms.
int write_all(int fd, const char* data, size_t size, bool socket,
              const std::atomic<bool>& interrupted) {
  while (size > 0) {
    ssize_t n =
        socket ? ::send(fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL) : ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (interrupted.load(std::memory_order_relaxed)) return ECANCELED;
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 100);
        continue;
      }
      return errno;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

Status interrupted_status(std::string_view sink) {
  return Status(ErrorCode::kCancelled,
                std::string(sink) + " sink interrupted: its destination takes no more data");
}

// Cuts a partial last line (no trailing newline) left by a crash mid-write.
Status truncate_partial_line(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) != 0) return errno_status("stat " + path, errno);
  off_t size = st.st_size;
  if (size == 0) return Status::ok();
  char c;
  if (pread(fd, &c, 1, size - 1) != 1) return errno_status("read " + path, errno);
  if (c == '\n') return Status::ok();
  // Scan backwards in chunks for the last newline.
  char buf[65536];
  off_t end = size;
  off_t keep = 0;
  while (end > 0) {
    off_t start = end > static_cast<off_t>(sizeof buf) ? end - static_cast<off_t>(sizeof buf) : 0;
    ssize_t n = pread(fd, buf, static_cast<size_t>(end - start), start);
    if (n < 0) return errno_status("read " + path, errno);
    bool found = false;
    for (ssize_t i = n - 1; i >= 0; --i) {
      if (buf[i] == '\n') {
        keep = start + i + 1;
        found = true;
        break;
      }
    }
    if (found) break;
    end = start;
  }
  if (ftruncate(fd, keep) != 0) return errno_status("truncate " + path, errno);
  if (fsync(fd) != 0) return errno_status("fsync " + path, errno);
  return Status::ok();
}

struct OutputFile {
  int fd = -1;
  uint64_t size = 0;  // after cutting a partial last line
};

// Opens (creates or appends to) the file sink's output `path`.
Result<OutputFile> open_output_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("file sink: open " + path, errno);
  // O_APPEND ignores the offset for writes, but pread/ftruncate work on it.
  int rfd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (rfd < 0) {
    Status st = errno_status("file sink: open " + path, errno);
    ::close(fd);
    return st;
  }
  Status st = truncate_partial_line(rfd, path);
  struct stat info;
  if (st.is_ok() && ::fstat(rfd, &info) != 0) st = errno_status("stat " + path, errno);
  ::close(rfd);
  if (!st.is_ok()) {
    ::close(fd);
    return st.with_context("file sink");
  }
  return OutputFile{fd, static_cast<uint64_t>(info.st_size)};
}

Status stdout_closed_status() {
  return Status(ErrorCode::kCancelled,
                "stdout was closed by its reader (EPIPE): ending the run; the events not "
                "written are delivered again by the next run");
}

}  // namespace

LineSink::LineSink(Target target, FileSinkOptions options)
    : target_(target), options_(std::move(options)) {}

LineSink::~LineSink() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (sync_thread_.joinable()) sync_thread_.join();
  if ((target_ == Target::kFile || owns_stdout_fd_) && fd_ >= 0) ::close(fd_);
}

std::string_view LineSink::name() const { return target_ == Target::kFile ? "file" : "stdout"; }

Status LineSink::open() {
  if (fd_ >= 0) return Status::ok();
  if (target_ == Target::kStdout) {
    fd_ = STDOUT_FILENO;
    struct stat info;
    const bool known = fstat(STDOUT_FILENO, &info) == 0;
    stdout_socket_ = known && S_ISSOCK(info.st_mode);
    if (known && S_ISFIFO(info.st_mode)) {
      // A pipe reopened through /proc is a file description of our own, so
      // O_NONBLOCK on it does not change the stdout the shell and the other
      // processes of the pipeline share.
      int fd = ::open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0) {
        fd_ = fd;
        owns_stdout_fd_ = true;
      } else {
        spdlog::warn(
            "stdout sink: cannot reopen the stdout pipe without blocking ({}): a reader that "
            "stops reading will hold up a stop",
            std::strerror(errno));
      }
    }
    return Status::ok();
  }
  auto opened = open_output_file(options_.path);
  if (!opened) return opened.status();
  fd_ = opened->fd;
  written_size_ = opened->size;
  sync_thread_ = std::thread([this] {
    name_this_thread("cdc-file-sync");
    sync_loop();
  });
  return Status::ok();
}

void LineSink::sync_loop() {
  std::unique_lock lock(mu_);
  auto has_work = [&] { return !to_sync_.empty() || !write_q_.empty() || reopen_pending_; };
  while (true) {
    sync_idle_.store(!has_work(), std::memory_order_relaxed);
    cv_.wait(lock, [&] { return stop_ || has_work(); });
    sync_idle_.store(false, std::memory_order_relaxed);
    if (!has_work()) return;  // stopping with nothing left
    // Take the data and the runs together: every run was handed over after
    // its bytes were queued, so writing this data and then one fdatasync
    // makes every run in `runs` durable. A reopen comes after all of them:
    // the pipeline thread handed everything over first and waits for it.
    std::deque<std::string> data;
    data.swap(write_q_);
    std::vector<Run> runs;
    runs.swap(to_sync_);
    const bool reopen = reopen_pending_;
    syncing_ = true;
    lock.unlock();
    Status st;
    for (std::string& buf : data) {
      if (!st.is_ok()) break;
      if (int err = write_all(fd_, buf.data(), buf.size(), false, interrupted_)) {
        st = errno_status("write " + options_.path, err);
      }
      written_size_ += buf.size();
    }
    if (st.is_ok() && (!runs.empty() || reopen) && ::fdatasync(fd_) != 0) {
      st = errno_status("fsync " + options_.path, errno);
    }
    // Still in a file, neither deleted nor cut short: only then acknowledged.
    if (st.is_ok() && !runs.empty()) st = check_.verify(fd_, written_size_);
    if (st.is_ok()) {
      for (const Run& run : runs) acks_->acknowledge(run.first, run.count);
    }
    if (st.is_ok() && reopen) st = reopen_file();
    lock.lock();
    if (reopen) reopen_pending_ = false;
    for (std::string& buf : data) {
      queued_bytes_ -= buf.size();
      if (spare_.size() < 16 && buf.capacity() <= kKeptBufferBytes) {
        buf.clear();
        spare_.push_back(std::move(buf));
      }
    }
    syncing_ = false;
    if (!st.is_ok() && sync_status_.is_ok()) sync_status_ = st;
    cv_.notify_all();
  }
}

Status LineSink::reopen_file() {
  auto opened = open_output_file(options_.path);
  if (!opened) return opened.status().with_context("reopening on SIGHUP");
  ::close(fd_);  // everything written to it was fdatasync'ed and checked
  fd_ = opened->fd;
  written_size_ = opened->size;
  check_ = OutputFileCheck(options_.path);
  spdlog::info("file sink: reopened {} ({} bytes)", options_.path, written_size_);
  return Status::ok();
}

void LineSink::request_reopen() {
  if (target_ == Target::kFile) reopen_requested_.store(true);
}

Status LineSink::serve_reopen_request() {
  if (!reopen_requested_.load(std::memory_order_relaxed) || !sync_thread_.joinable()) {
    return Status::ok();
  }
  reopen_requested_.store(false);
  HELIOSDB_RETURN_IF_ERROR(request_sync());
  std::unique_lock lock(mu_);
  reopen_pending_ = true;
  cv_.notify_all();
  cv_.wait(lock, [&] { return !reopen_pending_; });
  return sync_status_;
}

Status LineSink::sync_error() {
  std::lock_guard lock(mu_);
  return sync_status_;
}

Status LineSink::write_buffer() {
  if (buffer_.empty()) return Status::ok();
  if (!sync_thread_.joinable()) {  // stdout: write here, nothing to overlap with
    int err = stdout_closed_
                  ? EPIPE
                  : write_all(fd_, buffer_.data(), buffer_.size(), stdout_socket_, interrupted_);
    buffer_.clear();
    if (buffer_.capacity() > kKeptBufferBytes) std::string().swap(buffer_);  // after a big event
    if (err == EPIPE && target_ == Target::kStdout) {
      stdout_closed_ = true;
      return stdout_closed_status();
    }
    if (err == ECANCELED) return interrupted_status(name());
    return err == 0 ? Status::ok()
                    : errno_status(target_ == Target::kFile ? "write " + options_.path
                                                            : std::string("write stdout"),
                                   err);
  }
  std::unique_lock lock(mu_);
  // Bound what waits for the disk: a slow disk slows the pipeline down.
  cv_.wait(lock, [&] {
    return queued_bytes_ < 64 * 1024 * 1024 || !sync_status_.is_ok() || interrupted_.load();
  });
  HELIOSDB_RETURN_IF_ERROR(sync_status_);
  if (queued_bytes_ >= 64 * 1024 * 1024) return interrupted_status(name());
  queued_bytes_ += buffer_.size();
  write_q_.push_back(std::move(buffer_));
  buffer_.clear();
  if (!spare_.empty()) {
    buffer_ = std::move(spare_.back());
    spare_.pop_back();
  }
  cv_.notify_all();
  lock.unlock();
  // Room for a whole chunk plus the event that crosses it, so the buffer is
  // never regrown (each regrowth copied everything serialized so far: 8% of
  // the sink thread in perf).
  buffer_.reserve(kWriteChunk + 64 * 1024);
  return Status::ok();
}

Status LineSink::request_sync() {
  Status written = write_buffer();
  if (!written.is_ok()) {
    // stdout closed or a write to it failed (ENOSPC, EIO): what was not
    // written is never acknowledged (nor again attempted by drain()), and a
    // failed write stays the sink's error.
    if (target_ == Target::kStdout) {
      unsynced_.clear();
      if (!stdout_closed_ && written.code() != ErrorCode::kCancelled) stdout_write_error_ = written;
    }
    return written;
  }
  if (unsynced_.empty()) return Status::ok();
  if (target_ == Target::kStdout) {
    for (const Run& run : unsynced_) acks_->acknowledge(run.first, run.count);
  } else {
    std::lock_guard lock(mu_);
    HELIOSDB_RETURN_IF_ERROR(sync_status_);
    to_sync_.insert(to_sync_.end(), unsynced_.begin(), unsynced_.end());
    cv_.notify_all();
  }
  unsynced_.clear();
  pending_bytes_ = 0;
  return Status::ok();
}

Status LineSink::send(const CdcEvent& event) {
  HELIOSDB_RETURN_IF_ERROR(open());
  append_event_json(event, buffer_);
  buffer_.push_back('\n');
  if (buffer_.size() >= kWriteChunk) return write_buffer();
  return Status::ok();
}

Status LineSink::flush() {
  HELIOSDB_RETURN_IF_ERROR(write_buffer());
  if (sync_thread_.joinable()) {  // let the background thread write what it holds
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] {
      return (write_q_.empty() && !syncing_) || !sync_status_.is_ok() || interrupted_.load();
    });
    HELIOSDB_RETURN_IF_ERROR(sync_status_);
    if (!write_q_.empty() || syncing_) return interrupted_status(name());
  }
  if (target_ == Target::kFile && fd_ >= 0 && ::fdatasync(fd_) != 0) {
    return errno_status("fsync " + options_.path, errno);
  }
  return Status::ok();
}

Status LineSink::send_batch(const EventBatch& batch, AckReceiver& acks) {
  HELIOSDB_RETURN_IF_ERROR(open());
  HELIOSDB_RETURN_IF_ERROR(sync_error());
  HELIOSDB_RETURN_IF_ERROR(stdout_write_error_);
  if (stdout_closed_) return stdout_closed_status();
  if (interrupted_.load(std::memory_order_relaxed)) return interrupted_status(name());
  acks_ = &acks;
  HELIOSDB_RETURN_IF_ERROR(serve_reopen_request());
  size_t before = buffer_.size();
  size_t handed_on = 0;  // bytes of this batch passed to write_buffer() already
  for (const CdcEvent& event : batch.events) {
    append_event_json(event, buffer_);
    buffer_.push_back('\n');
    // A batch of big rows was held twice, as events and as JSON.
    if (buffer_.size() >= kBatchChunkBytes) {
      handed_on += buffer_.size() - before;
      before = 0;
      HELIOSDB_RETURN_IF_ERROR(write_buffer());
    }
  }
  if (!batch.events.empty()) {
    if (unsynced_.empty()) oldest_pending_ = std::chrono::steady_clock::now();
    if (!unsynced_.empty() &&
        unsynced_.back().first + unsynced_.back().count == batch.first_ticket) {
      unsynced_.back().count += batch.events.size();
    } else {
      unsynced_.push_back({batch.first_ticket, batch.events.size()});
    }
  }
  pending_bytes_ += handed_on + buffer_.size() - before;
  // Group commit with one fsync in flight: as soon as the background thread
  // is free and a write's worth is pending, start the next write + fsync, so
  // the disk works while the pipeline serializes and acknowledgements come
  // before the tracker fills (a full tracker stalls the reader). sync_bytes
  // and sync_interval bound the wait when the thread is busy.
  if (target_ == Target::kStdout || pending_bytes_ >= options_.sync_bytes ||
      (pending_bytes_ >= kWriteChunk && sync_idle_.load(std::memory_order_relaxed))) {
    return request_sync();
  }
  if (buffer_.size() >= kWriteChunk) return write_buffer();
  return Status::ok();
}

Status LineSink::poll(std::chrono::milliseconds timeout) {
  HELIOSDB_RETURN_IF_ERROR(sync_error());
  HELIOSDB_RETURN_IF_ERROR(serve_reopen_request());
  if (unsynced_.empty()) return Status::ok();
  // An idle or waiting processor (timeout > 0) gets its acknowledgements as
  // soon as the disk allows; a busy one groups fsyncs by time.
  if (timeout.count() > 0 ||
      std::chrono::steady_clock::now() - oldest_pending_ >= options_.sync_interval) {
    return request_sync();
  }
  return Status::ok();
}

void LineSink::interrupt() {
  interrupted_.store(true);
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

Status LineSink::drain(std::chrono::milliseconds timeout) {
  if (!stdout_write_error_.is_ok()) return stdout_write_error_;
  if (fd_ < 0 || stdout_closed_) return Status::ok();
  if (interrupted_.load()) return interrupted_status(name());
  HELIOSDB_RETURN_IF_ERROR(request_sync());
  if (target_ == Target::kStdout) return Status::ok();
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout,
                    [&] { return to_sync_.empty() && write_q_.empty() && !syncing_; })) {
    return Status(ErrorCode::kTimeout, "file sink: fsync did not finish in time");
  }
  return sync_status_;
}

Status LineSink::close() {
  // Interrupted (a stop gave up on a destination that took nothing): what
  // was not written is not acknowledged, so it is delivered again next run;
  // trying again here would block the stop once more.
  const bool interrupted = interrupted_.load();
  Status st = fd_ >= 0 && !interrupted ? drain(std::chrono::minutes(5)) : Status::ok();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (sync_thread_.joinable()) sync_thread_.join();
  if (st.is_ok() && !interrupted) st = flush();
  if (target_ == Target::kFile && fd_ >= 0) {
    if (::close(fd_) != 0 && st.is_ok()) st = errno_status("close " + options_.path, errno);
  }
  if (owns_stdout_fd_) ::close(fd_);
  owns_stdout_fd_ = false;
  fd_ = -1;
  return st;
}

std::unique_ptr<EventSink> make_file_sink(FileSinkOptions options) {
  // format = "avro": an Avro object container file (sink/avro_file_sink.h).
  if (options.format == SerializationFormat::Avro) return make_avro_file_sink(std::move(options));
  return std::make_unique<LineSink>(LineSink::Target::kFile, std::move(options));
}

std::unique_ptr<EventSink> make_stdout_sink() {
  return std::make_unique<LineSink>(LineSink::Target::kStdout, FileSinkOptions{});
}

SinkType file_sink_type() {
  return {"file", "JSON lines appended to a local file; acknowledged once fsync'ed",
          [](config::ConfigSection& s, const SinkSettings&) -> SinkCreator {
            // Keys, defaults and limits from file_options.cc.
            const options::Table& t = file_sink_option_table();
            FileSinkOptions o;
            o.path = s.get_string(t.at("path"));
            o.format = parse_format(s.get_string(t.at("format"))).value_or(o.format);
            o.sync_interval = std::chrono::milliseconds(s.get_int(t.at("sync_interval_ms")));
            o.sync_bytes = static_cast<size_t>(s.get_int(t.at("sync_bytes")));
            s.report(file_sink_problems(o));
            return [o]() -> Result<std::unique_ptr<EventSink>> { return make_file_sink(o); };
          }};
}

SinkType stdout_sink_type() {
  return {"stdout", "JSON lines on standard output, for piping into other tools",
          [](config::ConfigSection& s, const SinkSettings&) -> SinkCreator {
            s.get_string(stdout_sink_option_table().at("format"));
            return []() -> Result<std::unique_ptr<EventSink>> { return make_stdout_sink(); };
          }};
}

}  // namespace heliosdb::cdc
