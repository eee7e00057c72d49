// The Kinesis sink: lanes, batching, retries, acknowledgements.
//
// Shape: send_batch() serializes events on the caller's thread and queues
// them on a lane chosen by a hash of the partition key. Each lane is one
// thread with one kept-alive connection and at most one PutRecords call in
// flight. A lane takes records from the front of its queue into a call (at
// most batch_size records, 5 MiB, never two records of the same partition
// key, and never a record whose key has an earlier record left behind), sends
// it, acknowledges the accepted entries, and resends only the failed entries
// (by index) after a backoff with full jitter until they are accepted or
// max_retries is spent. While a call is being retried the lane takes nothing
// new, so a key's later event can never overtake an earlier one.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_set>

#include "common/redact.h"
#include "common/thread_name.h"
#include "sink/ack_adapter.h"
#include "sink/kinesis_connector.h"
#include "sink/kinesis_records.h"

namespace heliosdb::cdc {
namespace kinesis {
namespace {

using namespace std::chrono_literals;

struct Record {
  uint64_t ticket = 0;
  AckReceiver* acks = nullptr;
  uint64_t sequence = 0;
  std::string data;
  std::string partition_key;
};

// Per-record error codes worth resending.
bool retriable_record_error(std::string_view code) {
  return code == "ProvisionedThroughputExceededException" || code == "InternalFailure" ||
         code == "KMSThrottlingException" || code == "ServiceUnavailable" ||
         code == "MissingSequenceNumber";
}

// FNV-1a, stable across runs (lane choice only; not the shard).
uint64_t key_hash(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

bool valid_stream_name(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.' || c == '-'))
      return false;
  }
  return true;
}

bool valid_region(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

using sink_internal::fail_range;
using sink_internal::SimpleAcks;

class KinesisSink final : public KinesisConnector {
 public:
  KinesisSink(KinesisOptions options, ConnectorParts parts)
      : options_(std::move(options)),
        serializer_(std::move(parts.serializer)),
        api_factory_(std::move(parts.api_factory)),
        rng_(parts.jitter_seed ? parts.jitter_seed : std::random_device{}()) {
    max_outstanding_ = static_cast<size_t>(options_.max_in_flight) * options_.batch_size * 4;
    max_outstanding_bytes_ = static_cast<size_t>(options_.max_in_flight) * kMaxBytesPerCall * 2;
  }

  ~KinesisSink() override { stop_threads(); }

  std::string_view name() const override { return "kinesis"; }
  const KinesisOptions& options() const override { return options_; }

  KinesisSinkStats stats() const override {
    std::lock_guard lock(mu_);
    KinesisSinkStats s = stats_;
    s.connections = 0;
    for (const auto& lane : lanes_) s.connections += lane->api ? lane->api->connections() : 0;
    return s;
  }

  // A stop while open() checks the stream (an endpoint that cannot be
  // reached is retried with backoff for up to max_retries) ends the check at
  // its next wait: open() returns kCancelled, promptly.
  void interrupt() override {
    std::lock_guard lock(mu_);
    interrupted_ = true;
    work_cv_.notify_all();
  }

  Status open() override {
    if (opened_) return Status::ok();
    std::vector<std::unique_ptr<Lane>> lanes;
    for (int i = 0; i < options_.max_in_flight; ++i) {
      auto api = api_factory_();
      if (!api.is_ok()) return api.status();
      auto lane = std::make_unique<Lane>();
      lane->api = std::move(api).value();
      lanes.push_back(std::move(lane));
    }
    HELIOSDB_RETURN_IF_ERROR(check_stream(*lanes.front()->api));
    // Avro: register the schema at start-up, not with the first event.
    HELIOSDB_RETURN_IF_ERROR(serializer_->prepare(options_.stream_name));
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
    opened_ = true;
    return Status::ok();
  }

  Status send_batch(const EventBatch& batch, AckReceiver& acks) override {
    if (batch.events.empty()) return Status::ok();
    if (!opened_) {
      Status st = open();
      if (!st.is_ok()) {
        fail_range(acks, batch.first_ticket, batch.events.size(), st);
        return st;
      }
    }
    std::vector<Record> records(batch.events.size());
    size_t batch_bytes = 0;
    for (size_t i = 0; i < batch.events.size(); ++i) {
      const CdcEvent& ev = batch.events[i];
      Record& r = records[i];
      r.ticket = batch.first_ticket + i;
      r.acks = &acks;
      r.sequence = ev.sequence;
      r.partition_key = partition_key_for(ev);
      Status st = serializer_->serialize(ev, options_.stream_name, r.data);
      if (st.is_ok() && r.data.size() + r.partition_key.size() > kMaxBytesPerRecord) {
        st = Status(ErrorCode::kInvalidArgument,
                    "event " + ev.event_id + " (sequence " + std::to_string(ev.sequence) + ") is " +
                        std::to_string(r.data.size() + r.partition_key.size()) +
                        " bytes with its partition key; Kinesis accepts at most 1 MiB "
                        "(1048576 bytes) per record");
      } else if (!st.is_ok()) {
        st = st.with_context("serializing event " + ev.event_id + " for Kinesis");
      }
      if (!st.is_ok()) {
        fail_range(acks, batch.first_ticket + i, batch.events.size() - i, st);
        set_fatal(st);
        return st;
      }
      batch_bytes += r.data.size() + r.partition_key.size();
    }
    std::unique_lock lock(mu_);
    // Backpressure: wait for room in records and bytes (a batch larger than
    // the bound goes in alone).
    space_cv_.wait(lock, [&] {
      return !fatal_.is_ok() || outstanding_ == 0 ||
             (outstanding_ + records.size() <= max_outstanding_ &&
              outstanding_bytes_ + batch_bytes <= max_outstanding_bytes_);
    });
    if (!fatal_.is_ok()) {
      Status st = fatal_;
      lock.unlock();
      fail_range(acks, batch.first_ticket, records.size(), cancelled_status());
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

  // Acknowledgements flow from the lane threads on their own; poll() only
  // waits (at most `timeout`) until some call completes, so the caller can
  // checkpoint promptly, and reports a fatal error.
  Status poll(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    const uint64_t start = calls_completed_;
    space_cv_.wait_for(lock, timeout, [&] {
      return !fatal_.is_ok() || outstanding_ == 0 || calls_completed_ != start;
    });
    return fatal_;
  }

  Status drain(std::chrono::milliseconds timeout) override {
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

  // The seed's simple interface.
  Status send(const CdcEvent& event) override {
    EventBatch batch{std::span<const CdcEvent>(&event, 1), next_simple_ticket_++};
    return send_batch(batch, simple_acks_);
  }

  Status flush() override {
    HELIOSDB_RETURN_IF_ERROR(drain(flush_timeout()));
    return simple_acks_.failure();
  }

  // Waits up to 30 s for what is in flight, then stops (unacknowledged
  // events are simply not checkpointed and are sent again after a restart).
  Status close() override {
    Status st =
        opened_ ? drain(std::min<std::chrono::milliseconds>(flush_timeout(), 30s)) : Status::ok();
    stop_threads();
    return st;
  }

 private:
  struct Lane {
    std::deque<Record> queue;
    std::unique_ptr<KinesisApi> api;
    std::thread thread;
  };

  std::chrono::milliseconds flush_timeout() const {
    return options_.request_timeout * (options_.max_retries + 2) +
           options_.retry_max_delay * (options_.max_retries + 1);
  }

  Status cancelled_status() const {
    std::lock_guard lock(fatal_mu_);
    return Status(ErrorCode::kCancelled,
                  "not sent: the Kinesis sink stopped after an earlier error (" +
                      fatal_copy_.message() + ")");
  }

  void set_fatal(const Status& st) {
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

  Status check_stream(KinesisApi& api) {
    const std::string where = "Kinesis stream '" + options_.stream_name + "' (region " +
                              options_.region + ", endpoint " + endpoint_text() + ")";
    int attempt = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (true) {
      if (!wait_unless_interrupted(std::chrono::milliseconds(0))) return interrupted(where);
      auto summary = api.describe_stream_summary(options_.stream_name);
      if (summary.is_ok()) {
        const std::string& s = summary->status;
        if (s == "ACTIVE" || s == "UPDATING") return Status::ok();
        if (s == "DELETING") {
          return Status(ErrorCode::kFailedPrecondition, where + " is being deleted");
        }
        if (std::chrono::steady_clock::now() > deadline) {
          return Status(ErrorCode::kUnavailable, where + " is still " + s + " after 60 s");
        }
        if (!wait_unless_interrupted(std::chrono::milliseconds(500))) return interrupted(where);
        continue;
      }
      const Status& st = summary.status();
      if (st.code() == ErrorCode::kNotFound) {
        return Status(ErrorCode::kNotFound, where + " does not exist: " + st.message());
      }
      if (st.code() == ErrorCode::kPermissionDenied) {
        return Status(ErrorCode::kPermissionDenied,
                      "cannot check " + where + ": credentials from " + credentials_source_ +
                          " were rejected: " + st.message());
      }
      if (!st.retriable() || attempt >= options_.max_retries) {
        return Status(st.code(), "cannot check " + where + ": " + st.message());
      }
      ++attempt;
      if (!wait_unless_interrupted(backoff(attempt))) return interrupted(where);
    }
  }

  // Waits `d`; false (at once) if interrupt() was called.
  bool wait_unless_interrupted(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !work_cv_.wait_for(lock, d, [&] { return interrupted_; });
  }
  static Status interrupted(const std::string& where) {
    return Status(ErrorCode::kCancelled, "interrupted while checking " + where);
  }

  std::string endpoint_text() const {
    return options_.endpoint.empty() ? default_endpoint(options_.region)
                                     : redact_url(options_.endpoint);
  }

  std::chrono::milliseconds backoff(int attempt) {
    // Full jitter: uniform in [0, min(cap, base * 2^attempt)].
    int64_t base = options_.retry_base_delay.count();
    int64_t cap = options_.retry_max_delay.count();
    int64_t ceiling = base;
    for (int i = 0; i < attempt && ceiling < cap; ++i) ceiling *= 2;
    ceiling = std::min(ceiling, cap);
    if (ceiling <= 0) return std::chrono::milliseconds(0);
    std::lock_guard lock(rng_mu_);
    std::uniform_int_distribution<int64_t> dist(0, ceiling);
    return std::chrono::milliseconds(dist(rng_));
  }

  // Sleeps unless the sink is being torn down. False when aborted.
  bool sleep_backoff(int attempt) {
    auto d = backoff(attempt);
    std::unique_lock lock(mu_);
    return !work_cv_.wait_for(lock, d, [&] { return aborting_; });
  }

  // Takes the next call's records from the front of the lane's queue.
  void take_records(Lane& lane, std::vector<Record>& out) {
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
      size_t size = r.data.size() + r.partition_key.size();
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

  void acknowledge(const std::vector<Record*>& done) {
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

  void give_up(const std::vector<Record*>& records, const Status& st) {
    for (Record* r : records) r->acks->fail(r->ticket, st);
    {
      std::lock_guard lock(mu_);
      stats_.records_failed += records.size();
    }
    set_fatal(st);
  }

  std::string record_text(const Record& r) const {
    return "record of sequence " + std::to_string(r.sequence) + " (partition key '" +
           r.partition_key.substr(0, 64) + "')";
  }

  // Sends one call's records until each is accepted or given up.
  void send_call(Lane& lane, std::vector<Record>& call) {
    std::vector<Record*> pending;
    pending.reserve(call.size());
    for (Record& r : call) pending.push_back(&r);
    std::vector<PutRecordsEntry> entries;
    std::vector<Record*> done, failed;
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
        if (!st.retriable()) {
          give_up(pending, Status(st.code(), "Kinesis stream '" + options_.stream_name +
                                                 "': " + st.message()));
          return;
        }
        ++attempt;
        if (attempt > options_.max_retries && options_.on_failure == KinesisFailurePolicy::kStop) {
          give_up(
              pending,
              Status(st.code(), "Kinesis stream '" + options_.stream_name + "': giving up after " +
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
      if (attempt > options_.max_retries && options_.on_failure == KinesisFailurePolicy::kStop) {
        give_up(failed,
                Status(ErrorCode::kUnavailable,
                       "Kinesis stream '" + options_.stream_name +
                           "': " + std::to_string(failed.size()) + " records still failing after " +
                           std::to_string(attempt) +
                           " attempts (max_retries = " + std::to_string(options_.max_retries) +
                           "), e.g. " + record_text(*last_record) + ": " + last_error->error_code +
                           ": " + last_error->error_message));
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

  void lane_loop(Lane& lane) {
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
          for (const Record& r : dropped)
            outstanding_bytes_ -= r.data.size() + r.partition_key.size();
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
        for (const Record& r : call) outstanding_bytes_ -= r.data.size() + r.partition_key.size();
        ++calls_completed_;
      }
      space_cv_.notify_all();
    }
  }

  void stop_threads() {
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

 public:
  std::string credentials_source_ = "the configuration";

 private:
  KinesisOptions options_;
  std::unique_ptr<EventSerializer> serializer_;
  ApiFactory api_factory_;
  bool opened_ = false;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable space_cv_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  size_t outstanding_ = 0;
  size_t max_outstanding_ = 0;
  uint64_t calls_completed_ = 0;
  size_t outstanding_bytes_ = 0;
  size_t max_outstanding_bytes_ = 0;
  Status fatal_;
  bool stopping_ = false;
  bool aborting_ = false;
  bool interrupted_ = false;  // interrupt(): open()'s stream check gives up
  KinesisSinkStats stats_;

  mutable std::mutex fatal_mu_;
  Status fatal_copy_;

  std::mutex rng_mu_;
  std::mt19937_64 rng_;

  SimpleAcks simple_acks_;
  uint64_t next_simple_ticket_ = 0;
};

}  // namespace

Status validate_options(const KinesisOptions& o) {
  auto bad = [](const std::string& key, const std::string& msg) {
    return Status(ErrorCode::kInvalidArgument, "kinesis " + key + ": " + msg);
  };
  if (!valid_region(o.region)) {
    return bad("region", "'" + o.region + "' is not a region name (e.g. us-east-1)");
  }
  if (!valid_stream_name(o.stream_name)) {
    return bad(
        "stream_name",
        "'" + o.stream_name + "' is not a valid stream name (1-128 characters a-z A-Z 0-9 _ . -)");
  }
  if (o.batch_size < 1 || o.batch_size > static_cast<int>(kMaxRecordsPerCall)) {
    return bad("batch_size", std::to_string(o.batch_size) +
                                 " is out of range: PutRecords takes 1 to 500 records");
  }
  if (o.max_retries < 0 || o.max_retries > 1000) {
    return bad("max_retries", std::to_string(o.max_retries) + " is out of range 0..1000");
  }
  if (o.max_in_flight < 1 || o.max_in_flight > 64) {
    return bad("max_in_flight", std::to_string(o.max_in_flight) + " is out of range 1..64");
  }
  if (o.retry_base_delay.count() < 0 || o.retry_max_delay < o.retry_base_delay) {
    return bad("retry delays", "need 0 <= retry_base_delay <= retry_max_delay");
  }
  if (o.request_timeout.count() <= 0) return bad("request_timeout", "must be positive");
  if (!o.endpoint.empty()) {
    auto ep = aws::parse_endpoint(o.endpoint);
    if (!ep.is_ok()) return bad("endpoint", ep.status().message());
  }
  if (!o.ca_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(o.ca_file, ec)) {
      return bad("ca_file", "'" + o.ca_file + "' is not a readable file");
    }
  }
  return Status::ok();
}

Result<std::unique_ptr<KinesisConnector>> make_kinesis_connector(KinesisOptions options,
                                                                 ConnectorParts parts) {
  HELIOSDB_RETURN_IF_ERROR(validate_options(options));
  if (!parts.serializer) return Status(ErrorCode::kInvalidArgument, "kinesis: no serializer");
  if (!parts.api_factory) return Status(ErrorCode::kInvalidArgument, "kinesis: no API factory");
  return std::unique_ptr<KinesisConnector>(new KinesisSink(std::move(options), std::move(parts)));
}

Result<std::unique_ptr<KinesisConnector>> make_kinesis_connector(KinesisOptions options,
                                                                 const SerdeSettings& serde) {
  HELIOSDB_RETURN_IF_ERROR(validate_options(options));
  auto endpoint = aws::parse_endpoint(options.endpoint.empty() ? default_endpoint(options.region)
                                                               : options.endpoint);
  if (!endpoint.is_ok()) return endpoint.status();
  auto creds = aws::resolve_credentials(
      {options.access_key_id, options.secret_access_key, options.session_token, options.profile});
  if (!creds.is_ok()) return creds.status().with_context("kinesis sink");
  SerdeSettings ser_settings = serde;
  if (!options.schema_registry_url.empty()) ser_settings.registry.url = options.schema_registry_url;
  auto serializer = make_serializer(options.format, ser_settings);
  if (!serializer.is_ok()) return serializer.status().with_context("kinesis format");

  KinesisClientOptions client;
  client.region = options.region;
  client.endpoint = *endpoint;
  client.http.verify_tls = options.verify_tls;
  client.http.ca_file = options.ca_file;
  client.http.request_timeout = options.request_timeout;
  client.credentials = *creds;
  std::string source = creds->source;
  spdlog::info("kinesis sink: stream '{}' at {}, credentials from {}", options.stream_name,
               endpoint->url, source);

  ConnectorParts parts;
  parts.serializer = std::move(serializer).value();
  parts.api_factory = [client]() -> Result<std::unique_ptr<KinesisApi>> {
    return std::unique_ptr<KinesisApi>(new KinesisClient(client));
  };
  auto sink = make_kinesis_connector(std::move(options), std::move(parts));
  if (sink.is_ok()) static_cast<KinesisSink*>(sink->get())->credentials_source_ = source;
  return sink;
}

}  // namespace kinesis

// ---- public builder ----

KinesisConnectorBuilder::KinesisConnectorBuilder(std::string region, std::string stream_name) {
  options_.region = std::move(region);
  options_.stream_name = std::move(stream_name);
}

KinesisConnectorBuilder& KinesisConnectorBuilder::format(SerializationFormat f) {
  options_.format = f;
  return *this;
}
KinesisConnectorBuilder& KinesisConnectorBuilder::batch_size(int records) {
  options_.batch_size = records;
  return *this;
}
KinesisConnectorBuilder& KinesisConnectorBuilder::max_retries(int retries) {
  options_.max_retries = retries;
  return *this;
}
KinesisConnectorBuilder& KinesisConnectorBuilder::endpoint(std::string url) {
  options_.endpoint = std::move(url);
  return *this;
}
KinesisConnectorBuilder& KinesisConnectorBuilder::ca_file(std::string path) {
  options_.ca_file = std::move(path);
  return *this;
}
KinesisConnectorBuilder& KinesisConnectorBuilder::verify_tls(bool verify) {
  options_.verify_tls = verify;
  return *this;
}
KinesisConnectorBuilder& KinesisConnectorBuilder::credentials(std::string access_key_id,
                                                              std::string secret_access_key,
                                                              std::string session_token) {
  options_.access_key_id = std::move(access_key_id);
  options_.secret_access_key = std::move(secret_access_key);
  options_.session_token = std::move(session_token);
  return *this;
}
KinesisConnectorBuilder& KinesisConnectorBuilder::profile(std::string name) {
  options_.profile = std::move(name);
  return *this;
}
KinesisConnectorBuilder& KinesisConnectorBuilder::max_in_flight(int requests) {
  options_.max_in_flight = requests;
  return *this;
}
KinesisConnectorBuilder& KinesisConnectorBuilder::on_failure(KinesisFailurePolicy policy) {
  options_.on_failure = policy;
  return *this;
}
KinesisConnectorBuilder& KinesisConnectorBuilder::schema_registry_url(std::string url) {
  options_.schema_registry_url = std::move(url);
  return *this;
}
KinesisConnectorBuilder& KinesisConnectorBuilder::options(KinesisOptions options) {
  options_ = std::move(options);
  return *this;
}

Result<std::unique_ptr<KinesisConnector>> KinesisConnectorBuilder::build() const {
  return kinesis::make_kinesis_connector(options_, SerdeSettings{});
}

}  // namespace heliosdb::cdc
