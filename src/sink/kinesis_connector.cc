// The Kinesis sink, wired from its parts (Vector's split):
//   options      KinesisOptions, checked by check_options() (kinesis_options.cc)
//   encoder      sink/kinesis_encoder.h: event -> PutRecords entry with its ticket
//   transport    sink/kinesis_lanes.h: lanes sending PutRecords, resending
//                only the failed entries, reporting each record's fate
//   retry policy sink/retry_policy.h: backoff with full jitter, give-up rule
//   acks         sink/ack_adapter.h: the seed's send()/flush(), range failures
// This file: open() (the stream check, with retries), send_batch() (encode
// the batch on the caller's thread, then queue it), and the builders.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "common/redact.h"
#include "sink/ack_adapter.h"
#include "sink/kinesis_connector.h"
#include "sink/kinesis_encoder.h"
#include "sink/kinesis_lanes.h"
#include "sink/kinesis_options.h"
#include "sink/kinesis_records.h"
#include "sink/retry_policy.h"

namespace heliosdb::cdc {
namespace kinesis {
namespace {

using namespace std::chrono_literals;

using sink_internal::fail_range;
using sink_internal::SimpleAcks;

class KinesisSink final : public KinesisConnector {
 public:
  KinesisSink(KinesisOptions options, ConnectorParts parts)
      : options_(std::move(options)),
        serializer_(std::move(parts.serializer)),
        api_factory_(std::move(parts.api_factory)),
        retry_(options_.retry_base_delay, options_.retry_max_delay, options_.max_retries,
               parts.jitter_seed),
        lanes_(options_, retry_) {}

  ~KinesisSink() override { lanes_.stop(); }

  std::string_view name() const override { return "kinesis"; }
  const KinesisOptions& options() const override { return options_; }
  KinesisSinkStats stats() const override { return lanes_.stats(); }

  // A stop while open() checks the stream (an endpoint that cannot be
  // reached is retried with backoff for up to max_retries) ends the check at
  // its next wait: open() returns kCancelled, promptly.
  void interrupt() override {
    std::lock_guard lock(interrupt_mu_);
    interrupted_ = true;
    interrupt_cv_.notify_all();
  }

  Status open() override {
    if (opened_) return Status::ok();
    std::vector<std::unique_ptr<KinesisApi>> apis;
    for (int i = 0; i < options_.max_in_flight; ++i) {
      auto api = api_factory_();
      if (!api.is_ok()) return api.status();
      apis.push_back(std::move(api).value());
    }
    HELIOSDB_RETURN_IF_ERROR(check_stream(*apis.front()));
    // Avro: register the schema at start-up, not with the first event.
    HELIOSDB_RETURN_IF_ERROR(serializer_->prepare(options_.stream_name));
    lanes_.start(std::move(apis));
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
      Record& r = records[i];
      r.ticket = batch.first_ticket + i;
      r.acks = &acks;
      Status st = encode_record(batch.events[i], *serializer_, options_.stream_name, r);
      if (!st.is_ok()) {
        fail_range(acks, batch.first_ticket + i, batch.events.size() - i, st);
        lanes_.set_fatal(st);
        return st;
      }
      batch_bytes += r.size();
    }
    return lanes_.enqueue(records, batch_bytes);
  }

  // Acknowledgements flow from the lane threads on their own; poll() only
  // waits (at most `timeout`) until some call completes, so the caller can
  // checkpoint promptly, and reports a fatal error.
  Status poll(std::chrono::milliseconds timeout) override { return lanes_.poll(timeout); }
  Status drain(std::chrono::milliseconds timeout) override { return lanes_.drain(timeout); }

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
    lanes_.stop();
    return st;
  }

 private:
  std::chrono::milliseconds flush_timeout() const {
    return options_.request_timeout * (options_.max_retries + 2) +
           options_.retry_max_delay * (options_.max_retries + 1);
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
      if (!sink_internal::RetryPolicy::retriable(st) || retry_.exhausted(attempt + 1)) {
        return Status(st.code(), "cannot check " + where + ": " + st.message());
      }
      ++attempt;
      if (!wait_unless_interrupted(retry_.backoff(attempt))) return interrupted(where);
    }
  }

  // Waits `d`; false (at once) if interrupt() was called.
  bool wait_unless_interrupted(std::chrono::milliseconds d) {
    std::unique_lock lock(interrupt_mu_);
    return !interrupt_cv_.wait_for(lock, d, [&] { return interrupted_; });
  }
  static Status interrupted(const std::string& where) {
    return Status(ErrorCode::kCancelled, "interrupted while checking " + where);
  }

  std::string endpoint_text() const {
    return options_.endpoint.empty() ? default_endpoint(options_.region)
                                     : redact_url(options_.endpoint);
  }

 public:
  std::string credentials_source_ = "the configuration";

 private:
  KinesisOptions options_;
  std::unique_ptr<EventSerializer> serializer_;
  ApiFactory api_factory_;
  sink_internal::RetryPolicy retry_;
  KinesisLanes lanes_;
  bool opened_ = false;

  std::mutex interrupt_mu_;
  std::condition_variable interrupt_cv_;
  bool interrupted_ = false;  // interrupt(): open()'s stream check gives up

  SimpleAcks simple_acks_;
  uint64_t next_simple_ticket_ = 0;
};

}  // namespace

Result<std::unique_ptr<KinesisConnector>> make_kinesis_connector(KinesisOptions options,
                                                                 ConnectorParts parts) {
  HELIOSDB_RETURN_IF_ERROR(check_options(options));  // the [sink.kinesis] table's rules
  if (!parts.serializer) return Status(ErrorCode::kInvalidArgument, "kinesis: no serializer");
  if (!parts.api_factory) return Status(ErrorCode::kInvalidArgument, "kinesis: no API factory");
  return std::unique_ptr<KinesisConnector>(new KinesisSink(std::move(options), std::move(parts)));
}

Result<std::unique_ptr<KinesisConnector>> make_kinesis_connector(KinesisOptions options,
                                                                 const SerdeSettings& serde) {
  HELIOSDB_RETURN_IF_ERROR(check_options(options));  // the [sink.kinesis] table's rules
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
