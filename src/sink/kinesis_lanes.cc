#include "sink/kinesis_lanes.h"

#include <spdlog/spdlog.h>

#include <unordered_set>

#include "common/thread_name.h"
#include "sink/kinesis_records.h"

namespace heliosdb::cdc::kinesis {
namespace {

// FNV-1a, stable across runs (lane choice only; not the shard).
uint64_t key_hash(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

KinesisLanes::KinesisLanes(const KinesisOptions& options, sink_internal::RetryPolicy& retry)
    : options_(options), retry_(retry) {
  max_outstanding_ = static_cast<size_t>(options_.max_in_flight) * options_.batch_size * 4;
  max_outstanding_bytes_ = static_cast<size_t>(options_.max_in_flight) * kMaxBytesPerCall * 2;
}

KinesisLanes::~KinesisLanes() { stop(); }

void KinesisLanes::start(std::vector<std::unique_ptr<KinesisApi>> apis) {
  std::vector<std::unique_ptr<Lane>> lanes;
  for (auto& api : apis) {
    auto lane = std::make_unique<Lane>();
    lane->api = std::move(api);
    lanes.push_back(std::move(lane));
  }
  {
    std::lock_guard lock(mu_);
    lanes_ = std::move(lanes);
  }
  for (auto& lane : lanes_) {
    Lane* l = lane.get();
    l->thread = std::thread([this, l] {
      name_this_thread("cdc-kinesis");
      lane_loop(*l);
    });
  }
}

KinesisSinkStats KinesisLanes::stats() const {
  std::lock_guard lock(mu_);
  KinesisSinkStats s = stats_;
  s.connections = 0;
  for (const auto& lane : lanes_) s.connections += lane->api ? lane->api->connections() : 0;
  return s;
}

Status KinesisLanes::enqueue(std::vector<Record>& records, size_t batch_bytes) {
  std::unique_lock lock(mu_);
  space_cv_.wait(lock, [&] {
    return !fatal_.is_ok() || outstanding_ == 0 ||
           (outstanding_ + records.size() <= max_outstanding_ &&
            outstanding_bytes_ + batch_bytes <= max_outstanding_bytes_);
  });
  if (!fatal_.is_ok()) {
    Status st = fatal_;
    lock.unlock();
    Status cancelled = cancelled_status();
    for (Record& r : records) r.acks->fail(r.ticket, cancelled);
    return st;
  }
  outstanding_ += records.size();
  outstanding_bytes_ += batch_bytes;
  for (Record& r : records) {
    Lane& lane = *lanes_[key_hash(r.partition_key) % lanes_.size()];
    lane.queue.push_back(std::move(r));
  }
  lock.unlock();
  work_cv_.notify_all();
  return Status::ok();
}

Status KinesisLanes::poll(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const uint64_t start = calls_completed_;
  space_cv_.wait_for(lock, timeout, [&] {
    return !fatal_.is_ok() || outstanding_ == 0 || calls_completed_ != start;
  });
  return fatal_;
}

Status KinesisLanes::drain(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  bool done = space_cv_.wait_for(lock, timeout, [&] { return outstanding_ == 0; });
  if (!fatal_.is_ok()) return fatal_;
  if (!done) {
    return Status(ErrorCode::kTimeout, "Kinesis sink: " + std::to_string(outstanding_) +
                                           " records still unacknowledged after " +
                                           std::to_string(timeout.count()) + " ms");
  }
  return Status::ok();
}

Status KinesisLanes::cancelled_status() const {
  std::lock_guard lock(fatal_mu_);
  return Status(
      ErrorCode::kCancelled,
      "not sent: the Kinesis sink stopped after an earlier error (" + fatal_copy_.message() + ")");
}

void KinesisLanes::set_fatal(const Status& st) {
  {
    std::lock_guard lock(mu_);
    if (fatal_.is_ok()) {
      fatal_ = st;
      std::lock_guard lock2(fatal_mu_);
      fatal_copy_ = st;
      spdlog::error("kinesis sink: {}", st.message());
    }
  }
  work_cv_.notify_all();
  space_cv_.notify_all();
}

// Sleeps unless the lanes are being torn down. False when aborted.
bool KinesisLanes::sleep_backoff(int attempt) {
  auto d = retry_.backoff(attempt);
  std::unique_lock lock(mu_);
  return !work_cv_.wait_for(lock, d, [&] { return aborting_; });
}

// Takes the next call's records from the front of the lane's queue.
void KinesisLanes::take_records(Lane& lane, std::vector<Record>& out) {
  std::unordered_set<std::string_view> seen;
  size_t bytes = 0;
  const size_t max_records = static_cast<size_t>(options_.batch_size);
  const size_t max_scan = max_records * 4;
  std::deque<Record> kept;
  size_t scanned = 0;
  // `seen` views strings inside `out` and `kept`: `out` must not reallocate.
  out.reserve(max_records);
  while (!lane.queue.empty() && out.size() < max_records && scanned < max_scan) {
    Record r = std::move(lane.queue.front());
    lane.queue.pop_front();
    ++scanned;
    size_t size = r.size();
    // A key seen before (taken or left behind) stays behind: order per key.
    bool fresh = !seen.count(r.partition_key);
    if (fresh && bytes + size <= kMaxBytesPerCall) {
      bytes += size;
      out.push_back(std::move(r));
      seen.insert(out.back().partition_key);
    } else {
      kept.push_back(std::move(r));
      seen.insert(kept.back().partition_key);
    }
  }
  // Put what was left behind back in front, in order.
  while (!kept.empty()) {
    lane.queue.push_front(std::move(kept.back()));
    kept.pop_back();
  }
}

void KinesisLanes::acknowledge(const std::vector<Record*>& done) {
  // Coalesce runs of consecutive tickets to the same receiver.
  size_t i = 0;
  while (i < done.size()) {
    size_t j = i + 1;
    while (j < done.size() && done[j]->acks == done[i]->acks &&
           done[j]->ticket == done[j - 1]->ticket + 1)
      ++j;
    done[i]->acks->acknowledge(done[i]->ticket, j - i);
    i = j;
  }
}

void KinesisLanes::give_up(const std::vector<Record*>& records, const Status& st) {
  for (Record* r : records) r->acks->fail(r->ticket, st);
  {
    std::lock_guard lock(mu_);
    stats_.records_failed += records.size();
  }
  set_fatal(st);
}

std::string KinesisLanes::record_text(const Record& r) const {
  return "record of sequence " + std::to_string(r.sequence) + " (partition key '" +
         r.partition_key.substr(0, 64) + "')";
}

// Sends one call's records until each is accepted or given up.
void KinesisLanes::send_call(Lane& lane, std::vector<Record>& call) {
  std::vector<Record*> pending;
  pending.reserve(call.size());
  for (Record& r : call) pending.push_back(&r);
  std::vector<PutRecordsEntry> entries;
  std::vector<Record*> done, failed;
  const bool may_give_up = options_.on_failure == KinesisFailurePolicy::kStop;
  int attempt = 0;
  while (!pending.empty()) {
    {
      std::lock_guard lock(mu_);
      if (!fatal_.is_ok() || aborting_) break;
    }
    entries.clear();
    for (Record* r : pending) entries.push_back({r->data, r->partition_key});
    {
      std::lock_guard lock(mu_);
      stats_.requests++;
      stats_.records_sent += entries.size();
    }
    auto result = lane.api->put_records(options_.stream_name, entries);
    if (!result.is_ok()) {
      const Status& st = result.status();
      if (!sink_internal::RetryPolicy::retriable(st)) {
        give_up(pending, Status(st.code(),
                                "Kinesis stream '" + options_.stream_name + "': " + st.message()));
        return;
      }
      ++attempt;
      if (retry_.exhausted(attempt) && may_give_up) {
        give_up(pending, Status(st.code(),
                                "Kinesis stream '" + options_.stream_name + "': giving up after " +
                                    std::to_string(attempt) + " attempts (max_retries = " +
                                    std::to_string(options_.max_retries) + "): " + st.message()));
        return;
      }
      spdlog::warn("kinesis sink: PutRecords of {} records failed, retrying (attempt {}): {}",
                   pending.size(), attempt, st.message());
      {
        std::lock_guard lock(mu_);
        stats_.calls_retried++;
      }
      if (!sleep_backoff(attempt)) break;
      continue;
    }
    done.clear();
    failed.clear();
    const PutRecordResult* fatal_result = nullptr;
    Record* fatal_record = nullptr;
    const PutRecordResult* last_error = nullptr;
    Record* last_record = nullptr;
    for (size_t i = 0; i < pending.size(); ++i) {
      const PutRecordResult& r = (*result)[i];
      if (r.ok) {
        done.push_back(pending[i]);
      } else {
        failed.push_back(pending[i]);
        last_error = &r;
        last_record = pending[i];
        if (!retriable_record_error(r.error_code) && !fatal_result) {
          fatal_result = &r;
          fatal_record = pending[i];
        }
      }
    }
    {
      std::lock_guard lock(mu_);
      stats_.records_acked += done.size();
    }
    acknowledge(done);
    if (failed.empty()) {
      pending.clear();
      break;
    }
    ++attempt;
    if (fatal_result) {
      give_up(failed, Status(ErrorCode::kInvalidArgument,
                             "Kinesis stream '" + options_.stream_name +
                                 "': " + record_text(*fatal_record) + " rejected: " +
                                 fatal_result->error_code + ": " + fatal_result->error_message));
      return;
    }
    if (retry_.exhausted(attempt) && may_give_up) {
      give_up(
          failed,
          Status(ErrorCode::kUnavailable,
                 "Kinesis stream '" + options_.stream_name + "': " + std::to_string(failed.size()) +
                     " records still failing after " + std::to_string(attempt) +
                     " attempts (max_retries = " + std::to_string(options_.max_retries) +
                     "), e.g. " + record_text(*last_record) + ": " + last_error->error_code + ": " +
                     last_error->error_message));
      return;
    }
    {
      std::lock_guard lock(mu_);
      stats_.records_retried += failed.size();
    }
    pending.swap(failed);
    if (!sleep_backoff(attempt)) break;
  }
  // Stopped by another lane's failure or by teardown: nothing more is sent.
  if (!pending.empty()) {
    bool abort;
    {
      std::lock_guard lock(mu_);
      abort = aborting_;
    }
    if (!abort) {
      Status st = cancelled_status();
      for (Record* r : pending) r->acks->fail(r->ticket, st);
    }
  }
}

void KinesisLanes::lane_loop(Lane& lane) {
  std::vector<Record> call;
  while (true) {
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return aborting_ || stopping_ || !lane.queue.empty(); });
      if (aborting_ || (stopping_ && lane.queue.empty())) return;
      if (!fatal_.is_ok()) {
        // Nothing more is sent after a fatal error; fail what waits.
        std::deque<Record> dropped;
        dropped.swap(lane.queue);
        lock.unlock();
        Status st = cancelled_status();
        for (Record& r : dropped) r.acks->fail(r.ticket, st);
        lock.lock();
        outstanding_ -= dropped.size();
        for (const Record& r : dropped) outstanding_bytes_ -= r.size();
        space_cv_.notify_all();
        continue;
      }
      call.clear();
      take_records(lane, call);
    }
    send_call(lane, call);
    {
      std::lock_guard lock(mu_);
      outstanding_ -= call.size();
      for (const Record& r : call) outstanding_bytes_ -= r.size();
      ++calls_completed_;
    }
    space_cv_.notify_all();
  }
}

void KinesisLanes::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (outstanding_ > 0) aborting_ = true;  // close() timed out or destructor mid-flight
  }
  work_cv_.notify_all();
  space_cv_.notify_all();
  for (auto& lane : lanes_) {
    if (lane->thread.joinable()) lane->thread.join();
  }
}

}  // namespace heliosdb::cdc::kinesis
