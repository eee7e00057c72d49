#include "pipeline/checkpoint_writer.h"

#include "common/thread_name.h"

namespace heliosdb::cdc {

CheckpointWriter::CheckpointWriter(CheckpointStore* store, const SourcePositionCodec* codec,
                                   PipelineStats* stats, std::chrono::milliseconds min_spacing,
                                   std::function<void(const DeliveryPosition&)> on_durable)
    : store_(store),
      codec_(codec),
      stats_(stats),
      min_spacing_(min_spacing),
      on_durable_(std::move(on_durable)) {
  thread_ = std::thread([this] {
    name_this_thread("cdc-checkpoint");
    loop();
  });
}

CheckpointWriter::~CheckpointWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  thread_.join();
}

void CheckpointWriter::request(const DeliveryPosition& position) {
  std::lock_guard lock(mu_);
  pending_ = position;
  cv_.notify_all();
}

Status CheckpointWriter::flush() {
  std::unique_lock lock(mu_);
  ++flushing_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return (!pending_ && !writing_) || !error_.is_ok(); });
  --flushing_;
  return error_;
}

Status CheckpointWriter::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

void CheckpointWriter::loop() {
  std::unique_lock lock(mu_);
  std::optional<std::chrono::steady_clock::time_point> last_start;
  while (true) {
    cv_.wait(lock, [&] { return stop_ || pending_.has_value(); });
    if (!pending_) return;  // stopping with nothing left to write
    if (last_start) {
      // Newer requests arriving meanwhile replace this one (coalescing).
      cv_.wait_until(lock, *last_start + min_spacing_, [&] { return stop_ || flushing_ > 0; });
    }
    const DeliveryPosition position = *pending_;
    pending_.reset();
    writing_ = true;
    last_start = std::chrono::steady_clock::now();
    lock.unlock();
    Status st = store_->save(codec_->to_checkpoint(position));
    if (st.is_ok() && stats_) {
      stats_->checkpoint_sequence.store(position.commit_sequence, std::memory_order_relaxed);
      stats_->checkpoints_written.fetch_add(1, std::memory_order_relaxed);
    }
    if (st.is_ok() && on_durable_) on_durable_(position);
    lock.lock();
    writing_ = false;
    if (!st.is_ok() && error_.is_ok()) error_ = st;
    cv_.notify_all();
    if (!error_.is_ok()) {
      // A checkpoint that cannot be saved stops the pipeline (it polls
      // error()); write nothing more.
      pending_.reset();
      cv_.wait(lock, [&] { return stop_; });
      return;
    }
  }
}

}  // namespace heliosdb::cdc
