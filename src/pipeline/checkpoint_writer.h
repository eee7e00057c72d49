// CheckpointWriter: writes checkpoints on a background thread, so the
// pipeline's sink thread never waits for a checkpoint's two fsyncs and
// rename (at the default checkpoint_interval of 1000 events and a million
// events per second, that was a thousand blocking file creations a second).
//
// Requests coalesce: while one checkpoint is being written, a newer request
// replaces any older one still waiting, so the file always moves to the
// newest position asked for and the disk sets the pace. A position is
// reported (stats, last_written()) only once it is durable.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "heliosdb/cdc/processor.h"
#include "pipeline/checkpoint_store.h"

namespace heliosdb::cdc {

class CheckpointWriter {
 public:
  // `store` and `stats` (may be null) must outlive the writer.
  CheckpointWriter(CheckpointStore* store, PipelineStats* stats);
  ~CheckpointWriter();  // writes what was requested, then stops
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Asks for `position` to be written; returns at once.
  void request(const DeliveryPosition& position);
  // Waits until every request made so far is written; the first error, if
  // any write failed (a failed write is not retried: the pipeline stops).
  Status flush();
  // The first write error so far (OK if none).
  Status error() const;

 private:
  void loop();

  CheckpointStore* const store_;
  PipelineStats* const stats_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<DeliveryPosition> pending_;
  bool writing_ = false;
  bool stop_ = false;
  Status error_;
  std::thread thread_;
};

}  // namespace heliosdb::cdc
