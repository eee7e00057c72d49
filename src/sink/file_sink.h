// The file and stdout sinks: one JSON event per line.
//
// File: an event is acknowledged only once its bytes are fsync'ed. Writes are
// grouped: batches are appended with large write()s, and an fsync is
// requested when the background thread is free and at least kWriteChunk
// bytes are pending (one fsync always in flight), when `sync_bytes` are
// pending, when the oldest pending event is `sync_interval` old, or when the
// processor is idle or waiting for acknowledgements. write() and fdatasync run on a background
// thread, so the pipeline keeps serializing the next group while the kernel copies and the disk
// flushes the last (group commit, pipelined). On open, a partial last line left by a crash is cut
// off (that event was never acknowledged, so it is delivered again).
// Before acknowledging, the sink checks that the file was neither deleted nor
// truncated under it (output_file_check.h): either stops the run with an
// error naming the file, acknowledging nothing written since the last check.
// request_reopen() (SIGHUP): what was written is fsync'ed and acknowledged,
// then the path is opened again, for log rotation by rename.
//
// Stdout: acknowledged once written to file descriptor 1 (a pipe or
// terminal has nothing to fsync). When the reader goes away (EPIPE: the
// daemon ignores SIGPIPE), send_batch() returns kCancelled, which ends the
// run cleanly; the batch that failed is not acknowledged.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "heliosdb/cdc/serialization.h"
#include "heliosdb/cdc/sink.h"
#include "sink/output_file_check.h"

namespace heliosdb::cdc {

struct FileSinkOptions {
  std::string path;  // for stdout: ignored
  SerializationFormat format = SerializationFormat::Json;
  std::chrono::milliseconds sync_interval{50};
  size_t sync_bytes = 4 * 1024 * 1024;
};

class LineSink : public EventSink {
 public:
  enum class Target { kFile, kStdout };
  LineSink(Target target, FileSinkOptions options);
  ~LineSink() override;

  Status open() override;
  Status send(const CdcEvent& event) override;
  Status flush() override;
  Status close() override;
  std::string_view name() const override;
  Status send_batch(const EventBatch& batch, AckReceiver& acks) override;
  Status poll(std::chrono::milliseconds timeout) override;
  Status drain(std::chrono::milliseconds timeout) override;
  void request_reopen() override;
  // A stdout reader that stops reading (or a file sink's disk that cannot
  // take more) blocks the pipeline; this makes the blocked call, and every
  // later one, return kCancelled so that a stop ends the run.
  void interrupt() override;

 private:
  Status write_buffer();
  // On the pipeline thread (send_batch, poll): a reopen asked for by
  // request_reopen() is done now. Hands everything written over and waits
  // until the sync thread has synced, checked and acknowledged it and opened
  // the path again (rare, so the wait costs nothing that matters).
  Status serve_reopen_request();
  // The sync thread's part of a reopen.
  Status reopen_file();
  // Asks the sync thread to fdatasync everything written so far and then
  // acknowledge it (stdout: acknowledges at once). Does not wait.
  Status request_sync();
  void sync_loop();
  Status sync_error();

  // Serialized bytes handed to the background thread per write().
  static constexpr size_t kWriteChunk = 256 * 1024;
  // A batch whose JSON passes this is handed on while it is serialized, so a
  // batch of big rows is not held whole as JSON beside its events.
  static constexpr size_t kBatchChunkBytes = 1024 * 1024;
  // Serialization buffers larger than this (grown by a big event) are freed
  // once written rather than kept for reuse.
  static constexpr size_t kKeptBufferBytes = 4 * kBatchChunkBytes;

  Target target_;
  FileSinkOptions options_;
  // Replaced only by the sync thread's reopen_file(), while the pipeline
  // thread waits for it.
  int fd_ = -1;
  std::atomic<bool> reopen_requested_{false};  // set from any thread
  std::atomic<bool> interrupted_{false};       // set by interrupt(), from any thread
  bool stdout_socket_ = false;                 // stdout is a socket: send(MSG_DONTWAIT)
  bool owns_stdout_fd_ = false;                // fd_ is our non-blocking reopen of a pipe
  bool stdout_closed_ = false;                 // stdout's reader went away (EPIPE)
  Status stdout_write_error_;  // a write to stdout failed: nothing after it is acknowledged
  std::string buffer_;
  // Tickets appended to the file (written) but not yet synced, as runs.
  struct Run {
    uint64_t first;
    uint64_t count;
  };
  std::vector<Run> unsynced_;  // owned by the pipeline thread until handed over
  AckReceiver* acks_ = nullptr;
  size_t pending_bytes_ = 0;
  std::chrono::steady_clock::time_point oldest_pending_{};

  // Sync thread state (guarded by mu_).
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Run> to_sync_;  // handed over, waiting for the next fdatasync
  // Filled buffers handed to the background thread, which write()s them in
  // order: the kernel's copy into the file runs off the pipeline's thread.
  std::deque<std::string> write_q_;
  size_t queued_bytes_ = 0;
  std::vector<std::string> spare_;  // written buffers, kept for their capacity
  bool syncing_ = false;
  bool reopen_pending_ = false;  // the pipeline thread waits for a reopen_file()
  // Owned by the sync thread once it runs: the file's size as this sink
  // expects it (size at open + bytes written), and the check against it.
  uint64_t written_size_ = 0;
  OutputFileCheck check_{options_.path};
  // The background thread has nothing to write or sync (read without mu_ on
  // the pipeline's hot path).
  std::atomic<bool> sync_idle_{true};
  bool stop_ = false;
  Status sync_status_;
  std::thread sync_thread_;
};

std::unique_ptr<EventSink> make_file_sink(FileSinkOptions options);
std::unique_ptr<EventSink> make_stdout_sink();

}  // namespace heliosdb::cdc
