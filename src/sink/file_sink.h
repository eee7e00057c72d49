// The file and stdout sinks: one JSON event per line.
//
// File: an event is acknowledged only once its bytes are fsync'ed. Writes are
// grouped: a batch is appended with one write(), and fsync runs when
// `sync_bytes` are pending, when the oldest pending event is `sync_interval`
// old, or when the processor is idle or waiting for acknowledgements. On open,
// a partial last line left by a crash is cut off (that event was never
// acknowledged, so it is delivered again).
//
// Stdout: acknowledged once written to file descriptor 1 (a pipe or
// terminal has nothing to fsync).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "heliosdb/cdc/serialization.h"
#include "heliosdb/cdc/sink.h"

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

 private:
  Status write_buffer();
  Status sync_and_ack();

  Target target_;
  FileSinkOptions options_;
  int fd_ = -1;
  std::string buffer_;
  // Tickets written but not yet synced, as [first, count) runs.
  struct Run {
    uint64_t first;
    uint64_t count;
  };
  std::vector<Run> pending_;
  AckReceiver* acks_ = nullptr;
  size_t pending_bytes_ = 0;
  std::chrono::steady_clock::time_point oldest_pending_{};
};

std::unique_ptr<EventSink> make_file_sink(FileSinkOptions options);
std::unique_ptr<EventSink> make_stdout_sink();

}  // namespace heliosdb::cdc
