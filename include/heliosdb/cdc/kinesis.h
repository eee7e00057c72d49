// AWS Kinesis Data Streams sink.
//
//   auto kinesis = KinesisConnectorBuilder("us-east-1", "heliosdb-stream")
//                      .format(SerializationFormat::Json)
//                      .batch_size(500)
//                      .max_retries(3)
//                      .build();
//   if (!kinesis) { ... kinesis.status().message() ... }
//
// Records go out with PutRecords (at most 500 records and 5 MiB per call,
// 1 MiB per record including the partition key), signed with SigV4, over
// kept-alive HTTPS connections. The partition key is derived from the event
// key (see docs/kinesis.md): printable-ASCII keys of 1..256 bytes are used
// as they are, other keys as "b64:" + base64, long ones as "sha256:" + hex.
//
// Delivery: at least once. An event is acknowledged only after Kinesis
// returned a sequence number for its record. Failed entries of a PutRecords
// answer are resent alone (by index) with exponential backoff and full
// jitter, up to max_retries; then the on_failure policy applies (stop: the
// event is failed and the pipeline stops, its checkpoint never passes it).
// Per-key order: all events of one partition key go through the same lane,
// a lane has one PutRecords in flight and holds later records while a retry
// is pending, and one call never carries two records of the same key.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "heliosdb/cdc/serialization.h"
#include "heliosdb/cdc/sink.h"
#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

// What to do with a record still failing after max_retries.
enum class KinesisFailurePolicy {
  kStop,   // fail the event: the pipeline stops before checkpointing it (default)
  kRetry,  // keep retrying with capped backoff (backpressure, growing lag)
};

struct KinesisOptions {
  std::string region = "us-east-1";
  std::string stream_name = "heliosdb-cdc";
  SerializationFormat format = SerializationFormat::Json;
  int batch_size = 500;  // records per PutRecords call, 1..500
  int max_retries = 3;   // retries of a failed record or call (0: no retry)
  // Empty: https://kinesis.<region>.amazonaws.com. Set for emulators and VPC endpoints.
  std::string endpoint;
  std::string ca_file;     // CA bundle for the endpoint; empty: system store
  bool verify_tls = true;  // never turn off against the real service
  // Explicit credentials; empty: environment, then the shared credentials file.
  std::string access_key_id;
  std::string secret_access_key;  // secret
  std::string session_token;      // secret
  std::string profile;            // shared-file profile; empty: AWS_PROFILE or "default"
  int max_in_flight = 4;          // lanes = concurrent PutRecords calls, 1..64
  KinesisFailurePolicy on_failure = KinesisFailurePolicy::kStop;
  std::chrono::milliseconds retry_base_delay{100};   // backoff: random(0, base * 2^attempt)
  std::chrono::milliseconds retry_max_delay{10000};  // cap of one backoff sleep
  std::chrono::milliseconds request_timeout{30000};
  std::string schema_registry_url;  // for Avro (Confluent wire format)
};

// Counters, for tests and metrics.
struct KinesisSinkStats {
  uint64_t requests = 0;         // PutRecords calls sent
  uint64_t records_sent = 0;     // record entries sent (including resends)
  uint64_t records_acked = 0;    // records Kinesis accepted
  uint64_t records_retried = 0;  // entries resent after a partial failure
  uint64_t calls_retried = 0;    // whole calls resent (throttled, 5xx, network)
  uint64_t records_failed = 0;   // given up (acks.fail)
  uint64_t connections = 0;      // TCP/TLS connections opened (keep-alive: ~lanes)
};

class KinesisConnector : public EventSink {
 public:
  ~KinesisConnector() override = default;
  virtual KinesisSinkStats stats() const = 0;
  virtual const KinesisOptions& options() const = 0;
};

class KinesisConnectorBuilder {
 public:
  KinesisConnectorBuilder(std::string region, std::string stream_name);

  KinesisConnectorBuilder& format(SerializationFormat format);
  KinesisConnectorBuilder& batch_size(int records);
  KinesisConnectorBuilder& max_retries(int retries);
  KinesisConnectorBuilder& endpoint(std::string url);
  KinesisConnectorBuilder& ca_file(std::string path);
  KinesisConnectorBuilder& verify_tls(bool verify);
  KinesisConnectorBuilder& credentials(std::string access_key_id, std::string secret_access_key,
                                       std::string session_token = {});
  KinesisConnectorBuilder& profile(std::string name);
  KinesisConnectorBuilder& max_in_flight(int requests);
  KinesisConnectorBuilder& on_failure(KinesisFailurePolicy policy);
  KinesisConnectorBuilder& schema_registry_url(std::string url);
  KinesisConnectorBuilder& options(KinesisOptions options);  // replaces all of the above

  // Validates the options and resolves credentials (no network yet; open()
  // checks the stream). Errors name the option.
  Result<std::unique_ptr<KinesisConnector>> build() const;

 private:
  KinesisOptions options_;
};

}  // namespace heliosdb::cdc
