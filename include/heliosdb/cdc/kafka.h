// KafkaConnector: the Kafka sink, on librdkafka.
//
//   auto kafka = KafkaConnector::create("localhost:9092", "heliosdb-cdc");
//   if (!kafka) { std::cerr << kafka.status().message() << "\n"; return 1; }
//   EventProcessor processor(config, std::move(kafka).value());
//
// Each event becomes one Kafka message:
//   key     = the event's key bytes (so one key stays in one partition, in order)
//   value   = the serialized event (JSON or Avro, `format`)
//   headers = operation, database, table, sequence (decimal), event_id
//   topic   = `topic`, either a fixed name or a template such as
//             "{database}.{table}" ({database} and {table} are replaced)
//
// Delivery: an event is acknowledged to the processor only when librdkafka's
// delivery report says the broker has it (acks=all with idempotence). A full
// local queue is backpressure: send_batch() serves delivery reports until
// there is room. Transient broker errors are retried by librdkafka; by default
// messages never time out locally (message.timeout.ms = 0), so a broker
// outage causes growing lag, not loss. Permanent errors (authorization,
// authentication, a topic that does not exist, a fatal idempotent-producer
// error, a message larger than the broker accepts with the default
// on_message_too_large = kStop) fail the event: the processor stops with the
// message and never checkpoints past it.
//
// Threading: send_batch(), poll() and drain() are meant to be called from one
// thread (the processor's sink thread); interrupt() and stats() from any.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "heliosdb/cdc/serialization.h"
#include "heliosdb/cdc/sink.h"
#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

// What to do with an event whose message is larger than Kafka accepts
// (producer message.max.bytes or the broker/topic max.message.bytes).
enum class MessageTooLargePolicy {
  kStop,  // fail the event: the pipeline stops, no checkpoint past it (default)
  kSkip,  // log it (event_id, sequence, size), count it, and go on
};

// The seed's Kafka options (same names and defaults) plus passthrough.
struct KafkaOptions {
  std::string brokers = "localhost:9092";  // bootstrap.servers
  // Fixed name, or a template with {database} and {table}.
  std::string topic = "heliosdb-cdc";
  SerializationFormat format = SerializationFormat::Json;
  // none | gzip | snappy | lz4 | zstd
  std::string compression = "snappy";
  // Maximum bytes per message batch (librdkafka batch.size).
  int64_t batch_size = 1048576;
  bool enable_idempotence = true;
  // Add the five headers (operation, database, table, sequence, event_id) to
  // every message. librdkafka allocates each header separately: turning them
  // off roughly halves the producer's CPU per event.
  bool headers = true;
  // Any librdkafka producer property (security.protocol, sasl.*, ssl.*,
  // linger.ms, message.timeout.ms, ...). Applied after the options above;
  // keys that duplicate a named option are rejected.
  std::map<std::string, std::string> properties;
  MessageTooLargePolicy on_message_too_large = MessageTooLargePolicy::kStop;
  // How long open() waits for the brokers to answer a metadata request.
  std::chrono::milliseconds startup_timeout{10000};
  // Check at open() that a fixed `topic` exists (templates are checked per
  // topic when first used).
  bool check_topic = true;
  // Avro with the Confluent wire format needs a schema registry.
  std::string schema_registry_url;
  // Optional: use this serializer instead of the one for `format`.
  std::shared_ptr<EventSerializer> serializer;
};

// Counters, readable from any thread.
struct KafkaStats {
  uint64_t produced = 0;           // messages handed to librdkafka
  uint64_t delivered = 0;          // acknowledged by delivery reports
  uint64_t failed = 0;             // failed permanently
  uint64_t skipped_too_large = 0;  // dropped by on_message_too_large = kSkip
  uint64_t queue_full_waits = 0;   // times send_batch() waited for queue room
  uint64_t bytes = 0;              // value bytes produced
  uint64_t in_flight = 0;          // produced, no delivery report yet
};

class KafkaConnector : public EventSink {
 public:
  // The seed's KafkaConnector::new(brokers, topic), with the other options at
  // their defaults. Validates the options and builds the producer; does not
  // contact the brokers (open() does).
  static Result<std::unique_ptr<KafkaConnector>> create(std::string_view brokers,
                                                        std::string_view topic);
  static Result<std::unique_ptr<KafkaConnector>> create(KafkaOptions options);

  ~KafkaConnector() override;
  KafkaConnector(const KafkaConnector&) = delete;
  KafkaConnector& operator=(const KafkaConnector&) = delete;

  // Asks the brokers for metadata within startup_timeout: fails with a clear
  // message if they cannot be reached, reject the credentials, or (fixed
  // topic) the topic does not exist; kCancelled once interrupt() is called.
  Status open() override;

  // The seed's simple interface: send() produces one event and waits for its
  // delivery report (slow; the processor uses send_batch()).
  Status send(const CdcEvent& event) override;
  Status flush() override;
  // Waits up to 30 s for outstanding deliveries (1 s if the last drain()
  // already timed out), then releases the producer. kTimeout if some
  // messages were never delivered (they were not acknowledged).
  Status close() override;
  std::string_view name() const override;

  Status send_batch(const EventBatch& batch, AckReceiver& acks) override;
  Status poll(std::chrono::milliseconds timeout) override;
  Status drain(std::chrono::milliseconds timeout) override;

  // Makes an open() waiting for the brokers, and a send_batch() waiting for
  // queue room, return kCancelled within 200 ms (a stop during start-up or
  // while the brokers are unreachable); so are later calls. Thread-safe and
  // async-signal-safe (it sets an atomic flag).
  void interrupt() override;
  // True: librdkafka serves delivery reports on whichever thread polls.
  bool supports_concurrent_poll() const override { return true; }

  KafkaStats stats() const;
  const KafkaOptions& options() const;

  class Impl;

 private:
  explicit KafkaConnector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace heliosdb::cdc
