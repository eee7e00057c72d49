// The Kafka sink's transport: the librdkafka producer. Creates it (with the
// delivery-report, error and log callbacks), holds the topic handles (and
// checks a topic exists on first use), produces one message with queue-full
// backpressure, serves delivery reports (poll), waits for them (drain), and
// maps librdkafka's errors onto Status (kafka_errors.h). Delivery reports go
// to the KafkaDeliveries, on the thread that polls.
//
// An event is delivered when its delivery report says so, never when
// produce returns. A full local queue is backpressure: produce keeps
// serving reports until there is room (or a stop or a fatal error).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <librdkafka/rdkafka.h>

#include "common/wall_clock.h"
#include "heliosdb/cdc/kafka.h"
#include "sink/kafka_config.h"
#include "sink/kafka_deliveries.h"
#include "sink/kafka_topic.h"

namespace heliosdb::cdc::kafka {

class KafkaTransport {
 public:
  using Clock = std::chrono::steady_clock;

  // `options` and `deliveries` must outlive the transport.
  KafkaTransport(const KafkaOptions& options, KafkaDeliveries& deliveries)
      : options_(options), deliveries_(deliveries) {}
  ~KafkaTransport() { destroy(); }
  KafkaTransport(const KafkaTransport&) = delete;
  KafkaTransport& operator=(const KafkaTransport&) = delete;

  // Creates the producer from `conf` (kafka_config.h; the callbacks are
  // added here), no I/O yet; a fixed topic gets its handle now.
  Status init(ConfPtr conf, const TopicTemplate& topic_template);
  // Destroys the producer: what is still queued is dropped (never acknowledged).
  void destroy();
  bool closed() const { return rk_ == nullptr; }

  // Waits (up to startup_timeout) for the brokers to answer and, with
  // check_topic and a fixed topic, for the topic to exist.
  Status wait_for_brokers();
  rd_kafka_topic_t* fixed_topic() const { return fixed_topic_; }
  // The handle of the topic `event` goes to and its name (valid while the
  // transport lives); a new templated topic is checked on first use.
  Result<rd_kafka_topic_t*> topic_for(const CdcEvent& event, std::string_view* name) {
    if (fixed_topic_) {  // inline: once per event
      *name = options_.topic;
      return fixed_topic_;
    }
    return templated_topic_for(event, name);
  }

  // Hands one message to librdkafka; `create_time_ms` is its CreateTime
  // (refreshed after a wait for queue room). OK with *err == NO_ERROR: its
  // delivery report will settle `ticket`, and librdkafka owns `hdrs`.
  // OK with another *err: producev refused it (hdrs destroyed); map *err.
  // Not OK: a stop while waiting for queue room (kCancelled) or the fatal
  // error (hdrs destroyed). Nothing is settled in either failure case.
  Status produce(rd_kafka_topic_t* rkt, std::string_view value, std::string_view key,
                 rd_kafka_headers_t* hdrs, int64_t& create_time_ms, uint64_t ticket,
                 rd_kafka_resp_err_t* err) {
    // Counted before producing: the delivery report may run on another
    // thread's poll before producev returns.
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    for (;;) {
      *err = rd_kafka_producev(
          rk_, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()), RD_KAFKA_V_HEADERS(hdrs),
          RD_KAFKA_V_TIMESTAMP(create_time_ms),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(ticket))),
          RD_KAFKA_V_END);
      if (*err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      // Backpressure: serve delivery reports until librdkafka has room.
      queue_full_waits_.fetch_add(1, std::memory_order_relaxed);
      serve(50);
      create_time_ms = wall_clock_ms();
      if (interrupted_.load(std::memory_order_relaxed)) {
        not_produced(hdrs);
        return Status(ErrorCode::kCancelled, "kafka: interrupted while waiting for queue room");
      }
      Status f = fatal_status();
      if (!f.is_ok()) {
        not_produced(hdrs);
        return f;
      }
    }
    if (*err != RD_KAFKA_RESP_ERR_NO_ERROR) not_produced(hdrs);  // not taken over on error
    return Status::ok();
  }

  // Serves delivery reports for up to `timeout_ms`, then passes the
  // acknowledgements on.
  void serve(int timeout_ms) {
    rd_kafka_poll(rk_, timeout_ms);
    deliveries_.flush_runs();
  }
  Status poll(std::chrono::milliseconds timeout);
  // Waits until every message produced is reported, up to `timeout`.
  Status drain(std::chrono::milliseconds timeout);
  bool last_drain_timed_out() const { return last_drain_timed_out_; }

  // Makes open() and a wait for queue room return kCancelled.
  void interrupt() { interrupted_.store(true); }

  // The error that made the producer unusable (fatal idempotence error,
  // failed authentication), or OK.
  Status fatal_status() {
    if (!has_fatal_.load(std::memory_order_acquire)) return Status::ok();
    std::lock_guard lock(err_mu_);
    return fatal_;
  }

  int64_t in_flight() const { return in_flight_.load(); }
  uint64_t queue_full_waits() const { return queue_full_waits_.load(); }

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);
  static void on_log(const rd_kafka_t*, int level, const char* fac, const char* buf);

  void not_produced(rd_kafka_headers_t* hdrs) {
    if (hdrs) rd_kafka_headers_destroy(hdrs);
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
  }
  void set_fatal(Status st);
  Result<rd_kafka_topic_t*> templated_topic_for(const CdcEvent& event, std::string_view* name);
  Status check_topic_exists(rd_kafka_topic_t* rkt, std::string_view name,
                            Clock::time_point deadline, bool brokers_must_answer);
  std::string broker_problem();

  const KafkaOptions& options_;
  KafkaDeliveries& deliveries_;
  const TopicTemplate* topic_template_ = nullptr;
  rd_kafka_t* rk_ = nullptr;
  std::unordered_map<std::string, rd_kafka_topic_t*> topics_;
  rd_kafka_topic_t* fixed_topic_ = nullptr;
  std::string topic_buf_;  // reused: no allocation per event for templated topics

  std::atomic<uint64_t> queue_full_waits_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> interrupted_{false};
  bool last_drain_timed_out_ = false;

  std::mutex err_mu_;
  std::string last_error_;  // last error_cb reason, for start-up messages
  rd_kafka_resp_err_t last_error_code_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::atomic<bool> has_fatal_{false};
  Status fatal_;
};

}  // namespace heliosdb::cdc::kafka
