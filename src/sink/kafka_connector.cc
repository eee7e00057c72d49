// KafkaConnector, wired from its parts (Vector's split):
//   options      KafkaOptions (kafka_config.h builds the librdkafka config)
//   encoder      sink/kafka_encoder.h: event -> value, key, headers
//   transport    sink/kafka_transport.h: the librdkafka producer (produce,
//                poll, flush, topic checks, error mapping via kafka_errors.h)
//   deliveries   sink/kafka_deliveries.h: delivery reports -> AckReceiver
//                (runs of consecutive tickets, sink/ack_adapter.h)
// librdkafka retries produce requests itself; nothing here retries.
//
// Each message carries its ticket as the per-message opaque. Delivery reports
// are served by rd_kafka_poll()/rd_kafka_flush() on the caller's thread
// (send_batch, poll, drain); the successful tickets of one poll are sorted and
// passed on as one acknowledge(first, count) per run of consecutive tickets.
// send_batch() may run on one thread while poll() runs on another (the
// processor sends from its WAL reader thread): the state they share is
// atomic or under the deliveries' and transport's locks.
#include "heliosdb/cdc/kafka.h"

#include <atomic>
#include <mutex>

#include <spdlog/spdlog.h>

#include "common/wall_clock.h"
#include "serde/serializer_factory.h"
#include "sink/ack_adapter.h"
#include "sink/kafka_config.h"
#include "sink/kafka_deliveries.h"
#include "sink/kafka_encoder.h"
#include "sink/kafka_errors.h"
#include "sink/kafka_topic.h"
#include "sink/kafka_transport.h"

namespace heliosdb::cdc {

class KafkaConnector::Impl {
 public:
  explicit Impl(KafkaOptions o)
      : options(std::move(o)), deliveries(options), transport(options, deliveries) {}

  Status init();
  Status open();
  Status send_batch(const EventBatch& batch, AckReceiver& acks);
  Status produce_one(const CdcEvent& ev, uint64_t ticket, AckReceiver& a, int64_t& create_time_ms);

  KafkaOptions options;
  kafka::TopicTemplate topic_template;
  kafka::KafkaEncoder encoder;
  kafka::KafkaDeliveries deliveries;
  kafka::KafkaTransport transport;
  sink_internal::SimpleAcks simple_acks;
  uint64_t next_simple_ticket = 0;
  std::atomic<uint64_t> produced{0}, bytes{0};
};

Status KafkaConnector::Impl::init() {
  auto tmpl = kafka::TopicTemplate::parse(options.topic);
  if (!tmpl) return invalid_argument("kafka topic: " + tmpl.status().message());
  topic_template = std::move(tmpl).value();
  auto conf = kafka::build_producer_conf(options);  // a bad property is reported first
  if (!conf) return conf.status().with_context("kafka");
  std::shared_ptr<EventSerializer> serializer;
  if (options.serializer) {
    serializer = options.serializer;
  } else {
    SerdeSettings serde;
    serde.registry.url = options.schema_registry_url;
    auto ser = make_serializer(options.format, serde);
    if (!ser) return ser.status().with_context("kafka format");
    serializer = std::shared_ptr<EventSerializer>(std::move(ser).value());
  }
  encoder.init(std::move(serializer), options.headers);
  return transport.init(std::move(conf).value(), topic_template);
}

Status KafkaConnector::Impl::open() {
  HELIOSDB_RETURN_IF_ERROR(transport.wait_for_brokers());
  // Avro: register the schema now, so a registry problem shows at start-up
  // rather than with the first event (templated topics register on first use).
  if (transport.fixed_topic())
    HELIOSDB_RETURN_IF_ERROR(encoder.serializer().prepare(options.topic));
  return Status::ok();
}

Status KafkaConnector::Impl::send_batch(const EventBatch& batch, AckReceiver& a) {
  HELIOSDB_RETURN_IF_ERROR(transport.fatal_status());
  AckReceiver* prev = deliveries.receiver();
  if (prev != &a) {
    if (prev != nullptr && transport.in_flight() > 0) {
      return Status(ErrorCode::kFailedPrecondition,
                    "kafka: send_batch() with a new AckReceiver while events of another are in "
                    "flight; drain() first");
    }
    deliveries.set_receiver(&a);
  }
  // The messages' CreateTime: one clock read per batch (and after any wait
  // for queue room) instead of librdkafka's per-message gettimeofday(); a
  // batch is produced within a millisecond or so.
  int64_t create_time_ms = wall_clock_ms();
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const uint64_t ticket = batch.first_ticket + i;
    Status st = produce_one(batch.events[i], ticket, a, create_time_ms);
    if (!st.is_ok()) {
      // The rest of the batch never reaches librdkafka: no delivery report
      // will settle it, so it is settled here (sink.h's promise).
      deliveries.settle_unsent(a, ticket, batch.events.size() - i, st);
      return st;
    }
  }
  transport.serve(0);
  return transport.fatal_status();
}

// Hands one event to librdkafka. OK: its delivery report will settle it, or
// (a too large message skipped) it is acknowledged already. An error: it was
// not handed over nor settled; the caller settles it.
Status KafkaConnector::Impl::produce_one(const CdcEvent& ev, uint64_t ticket, AckReceiver& a,
                                         int64_t& create_time_ms) {
  std::string_view topic_name;
  auto rkt = transport.topic_for(ev, &topic_name);
  if (!rkt) return rkt.status();
  HELIOSDB_RETURN_IF_ERROR(encoder.encode_value(ev, topic_name));
  const kafka::SequenceText seq(ev.sequence);
  const std::string& value = encoder.value();
  rd_kafka_resp_err_t err;
  HELIOSDB_RETURN_IF_ERROR(transport.produce(*rkt, value, ev.key, encoder.headers(ev, seq.view()),
                                             create_time_ms, ticket, &err));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    kafka::MessageContext ctx;
    ctx.topic = topic_name;
    ctx.event_id = ev.event_id;
    ctx.sequence = seq.view();
    ctx.bytes = value.size() + ev.key.size();
    Status st = kafka::delivery_failure(err, ctx, options.brokers);
    if (kafka::is_message_too_large(err)) {
      deliveries.flush_runs();
      if (options.on_message_too_large == MessageTooLargePolicy::kSkip) {
        deliveries.too_large(ticket, std::move(st), a);
        return Status::ok();
      }
      spdlog::error("kafka: {}", st.message());
      return st;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      Status f = transport.fatal_status();
      if (!f.is_ok()) st = f;
    }
    return st;
  }
  produced.fetch_add(1, std::memory_order_relaxed);
  bytes.fetch_add(value.size(), std::memory_order_relaxed);
  return Status::ok();
}

// ---- KafkaConnector -----------------------------------------------------------

KafkaConnector::KafkaConnector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaConnector::~KafkaConnector() = default;

Result<std::unique_ptr<KafkaConnector>> KafkaConnector::create(std::string_view brokers,
                                                               std::string_view topic) {
  KafkaOptions o;
  o.brokers = std::string(brokers);
  o.topic = std::string(topic);
  return create(std::move(o));
}

Result<std::unique_ptr<KafkaConnector>> KafkaConnector::create(KafkaOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  HELIOSDB_RETURN_IF_ERROR(impl->init());
  return std::unique_ptr<KafkaConnector>(new KafkaConnector(std::move(impl)));
}

Status KafkaConnector::open() { return impl_->open(); }

Status KafkaConnector::send(const CdcEvent& event) {
  if (impl_->transport.closed())
    return Status(ErrorCode::kFailedPrecondition, "kafka: connector is closed");
  EventBatch batch{std::span<const CdcEvent>(&event, 1), impl_->next_simple_ticket++};
  return impl_->send_batch(batch, impl_->simple_acks);
}

Status KafkaConnector::flush() {
  if (impl_->transport.closed()) return Status::ok();
  Status st = impl_->transport.drain(std::chrono::seconds(30));
  Status failure = impl_->simple_acks.take_failure();
  if (!failure.is_ok()) return failure;
  return st;
}

Status KafkaConnector::close() {
  if (impl_->transport.closed()) return Status::ok();
  // After a drain() that already timed out (SIGTERM with the brokers down),
  // do not make the caller wait the whole bound a second time.
  auto bound = impl_->transport.last_drain_timed_out() ? std::chrono::milliseconds(1000)
                                                       : std::chrono::milliseconds(30000);
  Status st = impl_->transport.drain(bound);
  impl_->transport.destroy();
  return st;
}

std::string_view KafkaConnector::name() const { return "kafka"; }

Status KafkaConnector::send_batch(const EventBatch& batch, AckReceiver& acks) {
  if (impl_->transport.closed())
    return Status(ErrorCode::kFailedPrecondition, "kafka: connector is closed");
  return impl_->send_batch(batch, acks);
}

Status KafkaConnector::poll(std::chrono::milliseconds timeout) {
  if (impl_->transport.closed()) return Status::ok();
  return impl_->transport.poll(timeout);
}

Status KafkaConnector::drain(std::chrono::milliseconds timeout) {
  if (impl_->transport.closed()) return Status::ok();
  return impl_->transport.drain(timeout);
}

void KafkaConnector::interrupt() { impl_->transport.interrupt(); }

KafkaStats KafkaConnector::stats() const {
  KafkaStats s;
  s.produced = impl_->produced.load();
  s.delivered = impl_->deliveries.delivered_count();
  s.failed = impl_->deliveries.failed_count();
  s.skipped_too_large = impl_->deliveries.skipped_count();
  s.queue_full_waits = impl_->transport.queue_full_waits();
  s.bytes = impl_->bytes.load();
  int64_t f = impl_->transport.in_flight();
  s.in_flight = f > 0 ? static_cast<uint64_t>(f) : 0;
  return s;
}

const KafkaOptions& KafkaConnector::options() const { return impl_->options; }

}  // namespace heliosdb::cdc
