// CheckpointWriter: writes checkpoints on a background thread, so the
// pipeline's sink thread never waits for a checkpoint's two fsyncs and
// rename (at the default checkpoint_interval of 1000 events and a million
// events per second, that was a thousand blocking file creations a second).
//
// Requests coalesce: while one checkpoint is being written, a newer request
// replaces any older one still waiting, so the file always moves to the
// newest position asked for. Writes start at least `min_spacing` apart
// (10 ms by default, i.e. at most 100 checkpoints a second): at a few
// hundred thousand events a second, checkpoint_interval = 1000 asks for
// hundreds a second, and writing each one as soon as the last was durable
// cost ~4 % of the daemon's CPU in fsyncs while the position moved on by a
// few milliseconds. flush() and destruction do not wait for the spacing. A
// position is reported (stats) only once it is durable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "heliosdb/cdc/processor.h"
#include "pipeline/checkpoint_store.h"
#include "source/source.h"

namespace heliosdb::cdc {

class CheckpointWriter {
 public:
  static constexpr std::chrono::milliseconds kDefaultMinSpacing{10};

  // `store`, `codec` (encodes positions for the store) and `stats` (may be
  // null) must outlive the writer.
  // `on_durable` (may be empty) is called on the writer's thread with each
  // position once it is saved.
  CheckpointWriter(CheckpointStore* store, const SourcePositionCodec* codec, PipelineStats* stats,
                   std::chrono::milliseconds min_spacing = kDefaultMinSpacing,
                   std::function<void(const DeliveryPosition&)> on_durable = {});
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
  const SourcePositionCodec* const codec_;
  PipelineStats* const stats_;
  const std::chrono::milliseconds min_spacing_;
  const std::function<void(const DeliveryPosition&)> on_durable_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<DeliveryPosition> pending_;
  bool writing_ = false;
  bool stop_ = false;
  int flushing_ = 0;  // flush() callers waiting: skip the spacing
  Status error_;
  std::thread thread_;
};

}  // namespace heliosdb::cdc
