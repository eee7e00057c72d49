#include "sink/kafka_transport.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <thread>

#include "sink/kafka_errors.h"

namespace heliosdb::cdc::kafka {
namespace {

std::string_view header_value(rd_kafka_headers_t* hdrs, const char* name) {
  const void* v = nullptr;
  size_t n = 0;
  if (hdrs && rd_kafka_header_get_last(hdrs, name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR && v) {
    return std::string_view(static_cast<const char*>(v), n);
  }
  return {};
}

}  // namespace

// ---- callbacks --------------------------------------------------------------

void KafkaTransport::on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<KafkaTransport*>(opaque);
  uint64_t ticket = reinterpret_cast<uintptr_t>(msg->_private);
  self->in_flight_.fetch_sub(1, std::memory_order_relaxed);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->deliveries_.delivered(ticket);
    return;
  }
  rd_kafka_headers_t* hdrs = nullptr;
  rd_kafka_message_headers(msg, &hdrs);
  MessageContext ctx;
  ctx.topic = msg->rkt ? rd_kafka_topic_name(msg->rkt) : "";
  ctx.partition = msg->partition;
  ctx.event_id = header_value(hdrs, "event_id");
  ctx.sequence = header_value(hdrs, "sequence");
  ctx.bytes = msg->len;
  self->deliveries_.failed(ticket, delivery_failure(msg->err, ctx, self->options_.brokers),
                           is_message_too_large(msg->err));
}

void KafkaTransport::on_error(rd_kafka_t* rk, int err_int, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaTransport*>(opaque);
  auto err = static_cast<rd_kafka_resp_err_t>(err_int);
  {
    std::lock_guard lock(self->err_mu_);
    self->last_error_ = reason ? reason : "";
    self->last_error_code_ = err;
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
                           "authentication with Kafka brokers '" + self->options_.brokers +
                               "' failed: " + (reason ? reason : "") +
                               "; check sasl.username / sasl.password / ssl.* in "
                               "[sink.kafka.properties]"));
    return;
  }
  // Transient (broker down, connection refused): librdkafka retries.
  spdlog::warn("kafka: {} ({})", reason ? reason : "", rd_kafka_err2name(err));
}

void KafkaTransport::on_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
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

void KafkaTransport::set_fatal(Status st) {
  {
    std::lock_guard lock(err_mu_);
    if (!fatal_.is_ok()) return;
    fatal_ = st;
  }
  has_fatal_.store(true, std::memory_order_release);
  spdlog::error("kafka: {}", st.message());
}

// ---- set-up -----------------------------------------------------------------

Status KafkaTransport::init(ConfPtr conf, const TopicTemplate& topic_template) {
  topic_template_ = &topic_template;
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaTransport::on_delivery);
  rd_kafka_conf_set_error_cb(conf.get(), &KafkaTransport::on_error);
  rd_kafka_conf_set_log_cb(conf.get(), &KafkaTransport::on_log);
  char errstr[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf.release(), errstr, sizeof errstr);
  if (!rk_) return invalid_argument(std::string("kafka: cannot create the producer: ") + errstr);
  if (topic_template.is_fixed()) {
    fixed_topic_ = rd_kafka_topic_new(rk_, options_.topic.c_str(), nullptr);
    topics_.emplace(options_.topic, fixed_topic_);
  }
  return Status::ok();
}

void KafkaTransport::destroy() {
  deliveries_.set_receiver(nullptr);
  for (auto& [name, rkt] : topics_) rd_kafka_topic_destroy(rkt);
  topics_.clear();
  fixed_topic_ = nullptr;
  if (rk_) {
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }
}

std::string KafkaTransport::broker_problem() {
  std::lock_guard lock(err_mu_);
  if (last_error_.empty()) return "no answer";
  return last_error_;
}

Status KafkaTransport::check_topic_exists(rd_kafka_topic_t* rkt, std::string_view name,
                                          Clock::time_point deadline, bool brokers_must_answer) {
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
    if (interrupted_.load()) {
      return Status(ErrorCode::kCancelled,
                    "kafka: interrupted while waiting for brokers '" + options_.brokers + "'");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    int step = static_cast<int>(std::min<int64_t>(left.count(), 200));
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, rkt, &md, step);
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
      MessageContext ctx;
      ctx.topic = name;
      return delivery_failure(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, ctx, options_.brokers);
    }
    if (terr == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
      MessageContext ctx;
      ctx.topic = name;
      return delivery_failure(terr, ctx, options_.brokers);
    }
    last = terr;  // e.g. LEADER_NOT_AVAILABLE while a topic is being created
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!brokers_must_answer) return Status::ok();
  HELIOSDB_RETURN_IF_ERROR(fatal_status());
  std::string problem = broker_problem();
  return Status(ErrorCode::kUnavailable,
                "cannot reach Kafka brokers '" + options_.brokers + "' within " +
                    std::to_string(options_.startup_timeout.count()) + " ms: " + problem +
                    " (last: " + rd_kafka_err2name(last) +
                    "); check `brokers` and that the brokers are running");
}

Status KafkaTransport::wait_for_brokers() {
  auto deadline = Clock::now() + options_.startup_timeout;
  rd_kafka_topic_t* rkt = options_.check_topic ? fixed_topic_ : nullptr;
  return check_topic_exists(rkt, options_.topic, deadline, true);
}

Result<rd_kafka_topic_t*> KafkaTransport::templated_topic_for(const CdcEvent& event,
                                                              std::string_view* name) {
  topic_template_->render(event, topic_buf_);
  auto it = topics_.find(topic_buf_);
  if (it != topics_.end()) {
    *name = it->first;
    return it->second;
  }
  Status valid = validate_topic_name(topic_buf_);
  if (!valid.is_ok()) {
    return invalid_argument("topic template '" + options_.topic + "' gives an invalid name for " +
                            event.event_id + " (table '" + event.table + "'): " + valid.message());
  }
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic_buf_.c_str(), nullptr);
  if (!rkt) {
    return internal_error(std::string("kafka: cannot create topic handle '") + topic_buf_ +
                          "': " + rd_kafka_err2str(rd_kafka_last_error()));
  }
  if (options_.check_topic) {
    // First use of this topic: a clear error now beats a timeout later. If
    // the brokers do not answer, librdkafka keeps trying in the background.
    Status st = check_topic_exists(rkt, topic_buf_, Clock::now() + options_.startup_timeout, false);
    if (!st.is_ok()) {
      rd_kafka_topic_destroy(rkt);
      return st;
    }
  }
  auto [pos, inserted] = topics_.emplace(topic_buf_, rkt);
  *name = pos->first;
  return rkt;
}

// ---- delivery -----------------------------------------------------------------

Status KafkaTransport::poll(std::chrono::milliseconds timeout) {
  HELIOSDB_RETURN_IF_ERROR(fatal_status());
  serve(static_cast<int>(timeout.count()));
  return fatal_status();
}

Status KafkaTransport::drain(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    deliveries_.flush_runs();
    if (in_flight_.load() <= 0) break;
    Status f = fatal_status();
    if (!f.is_ok()) return f;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    rd_kafka_flush(rk_, static_cast<int>(std::min<int64_t>(left.count(), 100)));
  }
  deliveries_.flush_runs();
  HELIOSDB_RETURN_IF_ERROR(fatal_status());
  int64_t left = in_flight_.load();
  last_drain_timed_out_ = left > 0;
  if (left > 0) {
    return Status(ErrorCode::kTimeout, "kafka: " + std::to_string(left) +
                                           " messages not yet delivered after " +
                                           std::to_string(timeout.count()) + " ms (brokers '" +
                                           options_.brokers + "': " + broker_problem() +
                                           "); they are not checkpointed and will be "
                                           "sent again on restart");
  }
  return Status::ok();
}

}  // namespace heliosdb::cdc::kafka
