// KafkaConnector: produce with librdkafka's C API, acknowledge from delivery
// reports.
//
// Each message carries its ticket as the per-message opaque. Delivery reports
// are served by rd_kafka_poll()/rd_kafka_flush() on the caller's thread
// (send_batch, poll, drain); the successful tickets of one poll are sorted and
// passed on as one acknowledge(first, count) per run of consecutive tickets.
// send_batch() may run on one thread while poll() runs on another (the
// processor sends from its WAL reader thread): the state they share is
// atomic or under run_mu / flush_mu / err_mu.
#include "heliosdb/cdc/kafka.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/wall_clock.h"
#include "serde/serializer_factory.h"
#include "sink/ack_adapter.h"
#include "sink/kafka_config.h"
#include "sink/kafka_errors.h"
#include "sink/kafka_topic.h"

namespace heliosdb::cdc {

namespace {

using Clock = std::chrono::steady_clock;

std::string_view header_value(rd_kafka_headers_t* hdrs, const char* name) {
  const void* v = nullptr;
  size_t n = 0;
  if (hdrs && rd_kafka_header_get_last(hdrs, name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR && v) {
    return std::string_view(static_cast<const char*>(v), n);
  }
  return {};
}

using sink_internal::SimpleAcks;

}  // namespace

class KafkaConnector::Impl {
 public:
  explicit Impl(KafkaOptions o) : options(std::move(o)) {}
  ~Impl() { destroy(); }

  Status init();
  Status open();
  Status send_batch(const EventBatch& batch, AckReceiver& acks);
  Status poll(std::chrono::milliseconds timeout);
  Status drain(std::chrono::milliseconds timeout);
  void destroy();

  Status fatal_status() {
    if (!has_fatal.load(std::memory_order_acquire)) return Status::ok();
    std::lock_guard lock(err_mu);
    return fatal;
  }

  KafkaOptions options;
  kafka::TopicTemplate topic_template;
  std::shared_ptr<EventSerializer> serializer;
  rd_kafka_t* rk = nullptr;
  std::unordered_map<std::string, rd_kafka_topic_t*> topics;
  rd_kafka_topic_t* fixed_topic = nullptr;
  std::atomic<AckReceiver*> acks{nullptr};
  SimpleAcks simple_acks;
  uint64_t next_simple_ticket = 0;

  // Reused buffers (hot path: no per-event allocation once warmed up).
  std::string topic_buf;
  std::string value_buf;

  // Successful deliveries not yet passed on. Reports come one partition
  // batch at a time, and keys spread consecutive tickets over the
  // partitions, so in report order runs of consecutive tickets are ~1-2
  // long; sorting a poll's worth first turns them into a few long runs (one
  // AckTracker lock each instead of one per 1-2 events).
  std::mutex run_mu;
  std::vector<uint64_t> acked;  // guarded by run_mu
  std::mutex flush_mu;          // one flush_run() at a time; guards to_ack
  std::vector<uint64_t> to_ack;

  std::atomic<uint64_t> produced{0}, delivered{0}, failed{0}, skipped{0}, queue_full_waits{0},
      bytes{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<bool> interrupted{false};
  bool last_drain_timed_out = false;

  std::mutex err_mu;
  std::string last_error;  // last error_cb reason, for start-up messages
  rd_kafka_resp_err_t last_error_code = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::atomic<bool> has_fatal{false};
  Status fatal;

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);
  static void on_log(const rd_kafka_t*, int level, const char* fac, const char* buf);

  void delivered_one(uint64_t ticket);
  void flush_run();
  void serve(int timeout_ms) {
    rd_kafka_poll(rk, timeout_ms);
    flush_run();
  }
  void set_fatal(Status st);
  Result<rd_kafka_topic_t*> topic_for(const CdcEvent& event, std::string_view* name);
  Status check_topic_exists(rd_kafka_topic_t* rkt, std::string_view name,
                            Clock::time_point deadline, bool brokers_must_answer);
  std::string broker_problem();
  void handle_too_large(uint64_t ticket, Status st, AckReceiver& a);
  Status produce_one(const CdcEvent& ev, uint64_t ticket, AckReceiver& a, int64_t& create_time_ms);
  void settle_unsent(AckReceiver& a, uint64_t first, uint64_t count, const Status& st);
};

// ---- callbacks --------------------------------------------------------------

void KafkaConnector::Impl::on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<Impl*>(opaque);
  uint64_t ticket = reinterpret_cast<uintptr_t>(msg->_private);
  self->in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->delivered_one(ticket);
    return;
  }
  rd_kafka_headers_t* hdrs = nullptr;
  rd_kafka_message_headers(msg, &hdrs);
  kafka::MessageContext ctx;
  ctx.topic = msg->rkt ? rd_kafka_topic_name(msg->rkt) : "";
  ctx.partition = msg->partition;
  ctx.event_id = header_value(hdrs, "event_id");
  ctx.sequence = header_value(hdrs, "sequence");
  ctx.bytes = msg->len;
  Status st = kafka::delivery_failure(msg->err, ctx, self->options.brokers);
  AckReceiver* a = self->acks.load(std::memory_order_acquire);
  self->flush_run();  // keep acknowledgements in report order
  if (kafka::is_message_too_large(msg->err)) {
    if (a) self->handle_too_large(ticket, std::move(st), *a);
    return;
  }
  self->failed.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("kafka: {}", st.message());
  if (a) a->fail(ticket, std::move(st));
}

void KafkaConnector::Impl::handle_too_large(uint64_t ticket, Status st, AckReceiver& a) {
  if (options.on_message_too_large == MessageTooLargePolicy::kSkip) {
    skipped.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("kafka: skipping (on_message_too_large = \"skip\"): {}", st.message());
    a.acknowledge(ticket, 1);
    return;
  }
  failed.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("kafka: {}", st.message());
  a.fail(ticket, std::move(st));
}

void KafkaConnector::Impl::on_error(rd_kafka_t* rk, int err_int, const char* reason, void* opaque) {
  auto* self = static_cast<Impl*>(opaque);
  auto err = static_cast<rd_kafka_resp_err_t>(err_int);
  {
    std::lock_guard lock(self->err_mu);
    self->last_error = reason ? reason : "";
    self->last_error_code = err;
  }
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
    self->set_fatal(Status(ErrorCode::kFailedPrecondition,
                           std::string("fatal Kafka producer error ") + rd_kafka_err2name(orig) +
                               ": " + buf +
                               "; stopping without checkpointing past undelivered events "
                               "(restart resumes from the last checkpoint)"));
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
      err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED) {
    self->set_fatal(Status(ErrorCode::kPermissionDenied,
                           "authentication with Kafka brokers '" + self->options.brokers +
                               "' failed: " + (reason ? reason : "") +
                               "; check sasl.username / sasl.password / ssl.* in "
                               "[sink.kafka.properties]"));
    return;
  }
  // Transient (broker down, connection refused): librdkafka retries.
  spdlog::warn("kafka: {} ({})", reason ? reason : "", rd_kafka_err2name(err));
}

void KafkaConnector::Impl::on_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (level <= 3) {
    spdlog::error("librdkafka {}: {}", fac, buf);
  } else if (level <= 4) {
    spdlog::warn("librdkafka {}: {}", fac, buf);
  } else if (level <= 6) {
    spdlog::info("librdkafka {}: {}", fac, buf);
  } else {
    spdlog::debug("librdkafka {}: {}", fac, buf);
  }
}

void KafkaConnector::Impl::set_fatal(Status st) {
  {
    std::lock_guard lock(err_mu);
    if (!fatal.is_ok()) return;
    fatal = st;
  }
  has_fatal.store(true, std::memory_order_release);
  spdlog::error("kafka: {}", st.message());
}

void KafkaConnector::Impl::delivered_one(uint64_t ticket) {
  delivered.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(run_mu);
  acked.push_back(ticket);
}

void KafkaConnector::Impl::flush_run() {
  std::lock_guard flush_lock(flush_mu);
  {
    std::lock_guard lock(run_mu);
    if (acked.empty()) return;
    to_ack.swap(acked);  // both keep their capacity: no allocation once warmed up
  }
  if (!std::is_sorted(to_ack.begin(), to_ack.end())) std::sort(to_ack.begin(), to_ack.end());
  AckReceiver* a = acks.load(std::memory_order_acquire);
  for (size_t i = 0; i < to_ack.size();) {
    size_t j = i + 1;
    while (j < to_ack.size() && to_ack[j] == to_ack[j - 1] + 1) ++j;
    if (a) a->acknowledge(to_ack[i], j - i);
    i = j;
  }
  to_ack.clear();
}

// ---- set-up -----------------------------------------------------------------

Status KafkaConnector::Impl::init() {
  auto tmpl = kafka::TopicTemplate::parse(options.topic);
  if (!tmpl) return invalid_argument("kafka topic: " + tmpl.status().message());
  topic_template = std::move(tmpl).value();
  auto conf = kafka::build_producer_conf(options);
  if (!conf) return conf.status().with_context("kafka");
  rd_kafka_conf_set_opaque(conf->get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &Impl::on_delivery);
  rd_kafka_conf_set_error_cb(conf->get(), &Impl::on_error);
  rd_kafka_conf_set_log_cb(conf->get(), &Impl::on_log);
  if (options.serializer) {
    serializer = options.serializer;
  } else {
    SerdeSettings serde;
    serde.registry.url = options.schema_registry_url;
    auto ser = make_serializer(options.format, serde);
    if (!ser) return ser.status().with_context("kafka format");
    serializer = std::shared_ptr<EventSerializer>(std::move(ser).value());
  }
  char errstr[512];
  rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->release(), errstr, sizeof errstr);
  if (!rk) return invalid_argument(std::string("kafka: cannot create the producer: ") + errstr);
  if (topic_template.is_fixed()) {
    fixed_topic = rd_kafka_topic_new(rk, options.topic.c_str(), nullptr);
    topics.emplace(options.topic, fixed_topic);
  }
  return Status::ok();
}

void KafkaConnector::Impl::destroy() {
  acks.store(nullptr);
  for (auto& [name, rkt] : topics) rd_kafka_topic_destroy(rkt);
  topics.clear();
  fixed_topic = nullptr;
  if (rk) {
    rd_kafka_destroy(rk);
    rk = nullptr;
  }
}

std::string KafkaConnector::Impl::broker_problem() {
  std::lock_guard lock(err_mu);
  if (last_error.empty()) return "no answer";
  return last_error;
}

Status KafkaConnector::Impl::check_topic_exists(rd_kafka_topic_t* rkt, std::string_view name,
                                                Clock::time_point deadline,
                                                bool brokers_must_answer) {
  rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR_NO_ERROR;
  // A topic created moments ago (by the same script that starts us) can be
  // unknown to the broker that answers until its metadata catches up: ask
  // again for up to kUnknownTopicGrace before calling it missing.
  constexpr auto kUnknownTopicGrace = std::chrono::seconds(2);
  std::optional<Clock::time_point> unknown_since;
  for (;;) {
    HELIOSDB_RETURN_IF_ERROR(fatal_status());
    // A stop during start-up (EventProcessor::stop() interrupts open()):
    // asked at least every 200 ms, the longest one metadata request waits.
    if (interrupted.load()) {
      return Status(ErrorCode::kCancelled,
                    "kafka: interrupted while waiting for brokers '" + options.brokers + "'");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    int step = static_cast<int>(std::min<int64_t>(left.count(), 200));
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, step);
    serve(0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      last = err;
      continue;  // brokers not answering yet: retry until the deadline
    }
    rd_kafka_resp_err_t terr =
        md->topic_cnt > 0 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    int partitions = md->topic_cnt > 0 ? md->topics[0].partition_cnt : 0;
    rd_kafka_metadata_destroy(md);
    if (rkt == nullptr) return Status::ok();
    if (terr == RD_KAFKA_RESP_ERR_NO_ERROR && partitions > 0) return Status::ok();
    if (terr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        terr == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
      if (!unknown_since) unknown_since = Clock::now();
      if (Clock::now() - *unknown_since < kUnknownTopicGrace && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      kafka::MessageContext ctx;
      ctx.topic = name;
      return kafka::delivery_failure(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, ctx, options.brokers);
    }
    if (terr == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
      kafka::MessageContext ctx;
      ctx.topic = name;
      return kafka::delivery_failure(terr, ctx, options.brokers);
    }
    last = terr;  // e.g. LEADER_NOT_AVAILABLE while a topic is being created
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!brokers_must_answer) return Status::ok();
  HELIOSDB_RETURN_IF_ERROR(fatal_status());
  std::string problem = broker_problem();
  return Status(ErrorCode::kUnavailable,
                "cannot reach Kafka brokers '" + options.brokers + "' within " +
                    std::to_string(options.startup_timeout.count()) + " ms: " + problem +
                    " (last: " + rd_kafka_err2name(last) +
                    "); check `brokers` and that the brokers are running");
}

Status KafkaConnector::Impl::open() {
  auto deadline = Clock::now() + options.startup_timeout;
  rd_kafka_topic_t* rkt = options.check_topic ? fixed_topic : nullptr;
  HELIOSDB_RETURN_IF_ERROR(check_topic_exists(rkt, options.topic, deadline, true));
  // Avro: register the schema now, so a registry problem shows at start-up
  // rather than with the first event (templated topics register on first use).
  if (fixed_topic) HELIOSDB_RETURN_IF_ERROR(serializer->prepare(options.topic));
  return Status::ok();
}

// ---- producing --------------------------------------------------------------

Result<rd_kafka_topic_t*> KafkaConnector::Impl::topic_for(const CdcEvent& event,
                                                          std::string_view* name) {
  if (fixed_topic) {
    *name = options.topic;
    return fixed_topic;
  }
  topic_template.render(event, topic_buf);
  auto it = topics.find(topic_buf);
  if (it != topics.end()) {
    *name = it->first;
    return it->second;
  }
  Status valid = kafka::validate_topic_name(topic_buf);
  if (!valid.is_ok()) {
    return invalid_argument("topic template '" + options.topic + "' gives an invalid name for " +
                            event.event_id + " (table '" + event.table + "'): " + valid.message());
  }
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic_buf.c_str(), nullptr);
  if (!rkt) {
    return internal_error(std::string("kafka: cannot create topic handle '") + topic_buf +
                          "': " + rd_kafka_err2str(rd_kafka_last_error()));
  }
  if (options.check_topic) {
    // First use of this topic: a clear error now beats a timeout later. If
    // the brokers do not answer, librdkafka keeps trying in the background.
    Status st = check_topic_exists(rkt, topic_buf, Clock::now() + options.startup_timeout, false);
    if (!st.is_ok()) {
      rd_kafka_topic_destroy(rkt);
      return st;
    }
  }
  auto [pos, inserted] = topics.emplace(topic_buf, rkt);
  *name = pos->first;
  return rkt;
}

Status KafkaConnector::Impl::send_batch(const EventBatch& batch, AckReceiver& a) {
  HELIOSDB_RETURN_IF_ERROR(fatal_status());
  AckReceiver* prev = acks.load(std::memory_order_relaxed);
  if (prev != &a) {
    if (prev != nullptr && in_flight.load() > 0) {
      return Status(ErrorCode::kFailedPrecondition,
                    "kafka: send_batch() with a new AckReceiver while events of another are in "
                    "flight; drain() first");
    }
    acks.store(&a, std::memory_order_release);
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
      settle_unsent(a, ticket, batch.events.size() - i, st);
      return st;
    }
  }
  serve(0);
  return fatal_status();
}

void KafkaConnector::Impl::settle_unsent(AckReceiver& a, uint64_t first, uint64_t count,
                                         const Status& st) {
  // A stop (interrupt) ends the run cleanly: what was not handed over stays
  // unacknowledged and is sent again next run; failing it would turn the
  // clean stop into an error.
  if (st.code() == ErrorCode::kCancelled) return;
  failed.fetch_add(1, std::memory_order_relaxed);
  a.fail(first, st);
  if (count > 1) {
    sink_internal::fail_range(
        a, first + 1, count - 1,
        Status(ErrorCode::kCancelled,
               "not sent: the Kafka sink stopped after an earlier error (" + st.message() + ")"));
  }
}

// Hands one event to librdkafka. OK: its delivery report will settle it, or
// (a too large message skipped) it is acknowledged already. An error: it was
// not handed over nor settled; the caller settles it.
Status KafkaConnector::Impl::produce_one(const CdcEvent& ev, uint64_t ticket, AckReceiver& a,
                                         int64_t& create_time_ms) {
  std::string_view topic_name;
  auto rkt = topic_for(ev, &topic_name);
  if (!rkt) return rkt.status();
  value_buf.clear();
  Status ser = serializer->serialize(ev, topic_name, value_buf);
  if (!ser.is_ok()) return ser.with_context("kafka: serializing " + ev.event_id);
  char seq[24];
  auto [end, ec] = std::to_chars(seq, seq + sizeof seq, ev.sequence);
  std::string_view op = operation_name(ev.operation);
  // Counted before producing: the delivery report may run on another
  // thread's poll before producev returns.
  in_flight.fetch_add(1, std::memory_order_relaxed);
  // Headers: one list sized for exactly five entries; librdkafka owns it
  // once producev succeeds.
  rd_kafka_headers_t* hdrs = options.headers ? rd_kafka_headers_new(5) : nullptr;
  if (hdrs) {
    rd_kafka_header_add(hdrs, "operation", 9, op.data(), static_cast<ssize_t>(op.size()));
    rd_kafka_header_add(hdrs, "database", 8, ev.database.data(),
                        static_cast<ssize_t>(ev.database.size()));
    rd_kafka_header_add(hdrs, "table", 5, ev.table.data(), static_cast<ssize_t>(ev.table.size()));
    rd_kafka_header_add(hdrs, "sequence", 8, seq, static_cast<ssize_t>(end - seq));
    rd_kafka_header_add(hdrs, "event_id", 8, ev.event_id.data(),
                        static_cast<ssize_t>(ev.event_id.size()));
  }
  rd_kafka_resp_err_t err;
  for (;;) {
    err = rd_kafka_producev(
        rk, RD_KAFKA_V_RKT(*rkt), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(value_buf.data(), value_buf.size()),
        RD_KAFKA_V_KEY(ev.key.empty() ? nullptr : ev.key.data(), ev.key.size()),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_TIMESTAMP(create_time_ms),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(ticket))), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
    // Backpressure: serve delivery reports until librdkafka has room.
    queue_full_waits.fetch_add(1, std::memory_order_relaxed);
    serve(50);
    create_time_ms = wall_clock_ms();
    if (interrupted.load(std::memory_order_relaxed)) {
      if (hdrs) rd_kafka_headers_destroy(hdrs);
      in_flight.fetch_sub(1, std::memory_order_relaxed);
      return Status(ErrorCode::kCancelled, "kafka: interrupted while waiting for queue room");
    }
    Status f = fatal_status();
    if (!f.is_ok()) {
      if (hdrs) rd_kafka_headers_destroy(hdrs);
      in_flight.fetch_sub(1, std::memory_order_relaxed);
      return f;
    }
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (hdrs) rd_kafka_headers_destroy(hdrs);  // not taken over by librdkafka on error
    in_flight.fetch_sub(1, std::memory_order_relaxed);
    kafka::MessageContext ctx;
    ctx.topic = topic_name;
    ctx.event_id = ev.event_id;
    ctx.sequence = std::string_view(seq, end - seq);
    ctx.bytes = value_buf.size() + ev.key.size();
    Status st = kafka::delivery_failure(err, ctx, options.brokers);
    if (kafka::is_message_too_large(err)) {
      flush_run();
      if (options.on_message_too_large == MessageTooLargePolicy::kSkip) {
        handle_too_large(ticket, std::move(st), a);
        return Status::ok();
      }
      spdlog::error("kafka: {}", st.message());
      return st;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      Status f = fatal_status();
      if (!f.is_ok()) st = f;
    }
    return st;
  }
  produced.fetch_add(1, std::memory_order_relaxed);
  bytes.fetch_add(value_buf.size(), std::memory_order_relaxed);
  return Status::ok();
}

Status KafkaConnector::Impl::poll(std::chrono::milliseconds timeout) {
  HELIOSDB_RETURN_IF_ERROR(fatal_status());
  serve(static_cast<int>(timeout.count()));
  return fatal_status();
}

Status KafkaConnector::Impl::drain(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    flush_run();
    if (in_flight.load() <= 0) break;
    Status f = fatal_status();
    if (!f.is_ok()) return f;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    rd_kafka_flush(rk, static_cast<int>(std::min<int64_t>(left.count(), 100)));
  }
  flush_run();
  HELIOSDB_RETURN_IF_ERROR(fatal_status());
  int64_t left = in_flight.load();
  last_drain_timed_out = left > 0;
  if (left > 0) {
    return Status(ErrorCode::kTimeout, "kafka: " + std::to_string(left) +
                                           " messages not yet delivered after " +
                                           std::to_string(timeout.count()) + " ms (brokers '" +
                                           options.brokers + "': " + broker_problem() +
                                           "); they are not checkpointed and will be "
                                           "sent again on restart");
  }
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
  if (!impl_->rk) return Status(ErrorCode::kFailedPrecondition, "kafka: connector is closed");
  EventBatch batch{std::span<const CdcEvent>(&event, 1), impl_->next_simple_ticket++};
  return impl_->send_batch(batch, impl_->simple_acks);
}

Status KafkaConnector::flush() {
  if (!impl_->rk) return Status::ok();
  Status st = impl_->drain(std::chrono::seconds(30));
  Status failure = impl_->simple_acks.take_failure();
  if (!failure.is_ok()) return failure;
  return st;
}

Status KafkaConnector::close() {
  if (!impl_->rk) return Status::ok();
  // After a drain() that already timed out (SIGTERM with the brokers down),
  // do not make the caller wait the whole bound a second time.
  auto bound = impl_->last_drain_timed_out ? std::chrono::milliseconds(1000)
                                           : std::chrono::milliseconds(30000);
  Status st = impl_->drain(bound);
  impl_->destroy();
  return st;
}

std::string_view KafkaConnector::name() const { return "kafka"; }

Status KafkaConnector::send_batch(const EventBatch& batch, AckReceiver& acks) {
  if (!impl_->rk) return Status(ErrorCode::kFailedPrecondition, "kafka: connector is closed");
  return impl_->send_batch(batch, acks);
}

Status KafkaConnector::poll(std::chrono::milliseconds timeout) {
  if (!impl_->rk) return Status::ok();
  return impl_->poll(timeout);
}

Status KafkaConnector::drain(std::chrono::milliseconds timeout) {
  if (!impl_->rk) return Status::ok();
  return impl_->drain(timeout);
}

void KafkaConnector::interrupt() { impl_->interrupted.store(true); }

KafkaStats KafkaConnector::stats() const {
  KafkaStats s;
  s.produced = impl_->produced.load();
  s.delivered = impl_->delivered.load();
  s.failed = impl_->failed.load();
  s.skipped_too_large = impl_->skipped.load();
  s.queue_full_waits = impl_->queue_full_waits.load();
  s.bytes = impl_->bytes.load();
  int64_t f = impl_->in_flight.load();
  s.in_flight = f > 0 ? static_cast<uint64_t>(f) : 0;
  return s;
}

const KafkaOptions& KafkaConnector::options() const { return impl_->options; }

}  // namespace heliosdb::cdc
