#include "sink/avro_file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <optional>
#include <vector>

#include "serde/avro_container_writer.h"
#include "sink/output_file_check.h"

namespace heliosdb::cdc {
namespace {

class AvroFileSink final : public EventSink {
 public:
  explicit AvroFileSink(FileSinkOptions options) : options_(std::move(options)) {}
  ~AvroFileSink() override {
    if (fd_ >= 0) ::close(fd_);
  }

  std::string_view name() const override { return "file"; }

  Status open() override {
    if (fd_ >= 0) return Status::ok();
    const std::string& path = options_.path;
    // O_APPEND: a file truncated under the sink stays shorter than offset_
    // (with positioned writes the next block would fill the gap with zeros),
    // so OutputFileCheck sees it.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return errno_status("file sink: open " + path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      Status s = errno_status("file sink: stat " + path, errno);
      ::close(fd);
      return s;
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    std::string header;
    if (size == 0) {
      writer_.emplace();  // new file: fresh sync marker, header first
      writer_->append_header(header);
      offset_ = 0;
    } else {
      auto info = avro::scan_container_file(fd, size);
      if (!info) {
        ::close(fd);
        return Status(info.status().code(), "file sink: " + path +
                                                " is not an Avro container file of "
                                                "heliosdb.cdc.CdcEvent that can be appended to (" +
                                                info.status().message() +
                                                "); choose another path or remove the file");
      }
      if (info->complete_size < size) {
        // A block torn by a crash: its events were never acknowledged.
        if (::ftruncate(fd, static_cast<off_t>(info->complete_size)) != 0 || ::fsync(fd) != 0) {
          Status s = errno_status("file sink: truncate " + path, errno);
          ::close(fd);
          return s;
        }
      }
      writer_.emplace(info->sync);
      offset_ = info->complete_size;
    }
    fd_ = fd;
    if (!header.empty()) {
      HELIOSDB_RETURN_IF_ERROR(write_all(header));
      if (::fsync(fd_) != 0) return errno_status("file sink: fsync " + path, errno);
    }
    return Status::ok();
  }

  Status send(const CdcEvent& event) override {
    HELIOSDB_RETURN_IF_ERROR(open());
    writer_->add(event);
    if (writer_->pending_bytes() >= options_.sync_bytes) return write_block();
    return Status::ok();
  }

  Status flush() override {
    if (fd_ < 0) return Status::ok();
    HELIOSDB_RETURN_IF_ERROR(write_block());
    if (::fdatasync(fd_) != 0) return errno_status("fsync " + options_.path, errno);
    return Status::ok();
  }

  Status send_batch(const EventBatch& batch, AckReceiver& acks) override {
    HELIOSDB_RETURN_IF_ERROR(open());
    acks_ = &acks;
    HELIOSDB_RETURN_IF_ERROR(serve_reopen_request());
    if (batch.events.empty()) return Status::ok();
    for (const CdcEvent& event : batch.events) writer_->add(event);
    const uint64_t before = offset_;
    HELIOSDB_RETURN_IF_ERROR(write_block());
    if (pending_.empty()) oldest_pending_ = std::chrono::steady_clock::now();
    if (!pending_.empty() && pending_.back().first + pending_.back().count == batch.first_ticket) {
      pending_.back().count += batch.events.size();
    } else {
      pending_.push_back({batch.first_ticket, batch.events.size()});
    }
    pending_bytes_ += offset_ - before;
    if (pending_bytes_ >= options_.sync_bytes) return sync_and_ack();
    return Status::ok();
  }

  Status poll(std::chrono::milliseconds timeout) override {
    HELIOSDB_RETURN_IF_ERROR(serve_reopen_request());
    if (pending_.empty()) return Status::ok();
    if (timeout.count() > 0 ||
        std::chrono::steady_clock::now() - oldest_pending_ >= options_.sync_interval) {
      return sync_and_ack();
    }
    return Status::ok();
  }

  Status drain(std::chrono::milliseconds) override {
    if (!pending_.empty()) return sync_and_ack();
    return flush();
  }

  void request_reopen() override { reopen_requested_.store(true); }

  Status close() override {
    Status st = pending_.empty() ? flush() : sync_and_ack();
    if (fd_ >= 0 && ::close(fd_) != 0 && st.is_ok()) {
      st = errno_status("close " + options_.path, errno);
    }
    fd_ = -1;
    return st;
  }

 private:
  // A reopen asked for by request_reopen(), on the sink's thread: what was
  // written is synced, checked and acknowledged in the old file, which stays
  // a complete container; the path is then opened as at start: a new (or
  // empty) file gets a header and a fresh sync marker, an existing container
  // is appended to.
  Status serve_reopen_request() {
    if (!reopen_requested_.load(std::memory_order_relaxed) || fd_ < 0) return Status::ok();
    reopen_requested_.store(false);
    HELIOSDB_RETURN_IF_ERROR(sync_and_ack());
    if (::close(fd_) != 0) return errno_status("close " + options_.path, errno);
    fd_ = -1;
    writer_.reset();
    HELIOSDB_RETURN_IF_ERROR(open().with_context("reopening on SIGHUP"));
    check_ = OutputFileCheck(options_.path);
    spdlog::info("file sink: reopened {} ({} bytes)", options_.path, offset_);
    return Status::ok();
  }

  Status write_all(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_status("write " + options_.path, errno);
      }
      done += static_cast<size_t>(n);
    }
    offset_ += done;
    return Status::ok();
  }

  // Writes the pending events as one block.
  Status write_block() {
    if (!writer_ || writer_->pending_events() == 0) return Status::ok();
    buffer_.clear();
    writer_->append_block(buffer_);
    Status st = write_all(buffer_);
    if (buffer_.capacity() > avro::AvroContainerWriter::kKeptBlockBytes) {
      std::string().swap(buffer_);  // after a block of big rows
    }
    return st;
  }

  Status sync_and_ack() {
    HELIOSDB_RETURN_IF_ERROR(write_block());
    if (pending_.empty()) return Status::ok();
    if (::fdatasync(fd_) != 0) return errno_status("fsync " + options_.path, errno);
    // Still in a file, neither deleted nor cut short: only then acknowledged.
    HELIOSDB_RETURN_IF_ERROR(check_.verify(fd_, offset_));
    for (const Run& run : pending_) acks_->acknowledge(run.first, run.count);
    pending_.clear();
    pending_bytes_ = 0;
    return Status::ok();
  }

  FileSinkOptions options_;
  int fd_ = -1;
  uint64_t offset_ = 0;  // end of the container's bytes (next block goes here)
  std::optional<avro::AvroContainerWriter> writer_;
  std::string buffer_;
  struct Run {
    uint64_t first;
    uint64_t count;
  };
  std::vector<Run> pending_;  // written, not yet fsync'ed
  AckReceiver* acks_ = nullptr;
  uint64_t pending_bytes_ = 0;
  std::chrono::steady_clock::time_point oldest_pending_{};
  OutputFileCheck check_{options_.path};
  std::atomic<bool> reopen_requested_{false};  // set from any thread
};

}  // namespace

std::unique_ptr<EventSink> make_avro_file_sink(FileSinkOptions options) {
  options.format = SerializationFormat::Avro;
  return std::make_unique<AvroFileSink>(std::move(options));
}

}  // namespace heliosdb::cdc
