// CdcConfig: the seed's "CDC Config Options", built with a validating builder.
//
//   auto config = CdcConfig::builder()
//                     .wal_path("/var/lib/heliosdb/wal")
//                     .database("mydb")
//                     .checkpoint_interval(1000)
//                     .build();
//   if (!config) { std::cerr << config.status().message(); }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc {

struct CdcConfig {
  std::string wal_path = "/var/lib/heliosdb/wal";  // WAL directory to tail
  std::string database = "";  // required: changes of other databases are ignored
  std::string checkpoint_dir = "/var/lib/heliosdb-cdc";  // one checkpoint file per database
  uint64_t checkpoint_interval = 1000;  // acknowledged events between checkpoint writes
  uint32_t batch_size = 100;            // events handed to the sink per batch
  uint32_t buffer_size = 10000;         // events buffered between reader and sink
  // Most bytes of rows (key + value + old_value) in flight between the WAL
  // reader and the sink's acknowledgement, including the buffers that reused
  // batch slots keep (see docs/pipeline.md). Applied with buffer_size: the
  // reader waits when either is reached. A single row larger than this is
  // let through alone, once nothing else is in flight.
  uint64_t buffer_bytes = 256ull * 1024 * 1024;
  static constexpr uint64_t kMinBufferBytes = 1024 * 1024;  // validate() rejects less
  uint32_t poll_interval_ms = 100;                          // how often the WAL is polled when idle
  // The Prometheus exporter (/metrics, /health). Daemon: [cdc] enable_metrics
  // = false opens no [metrics] listener. Library: nothing starts by itself;
  // start_metrics_exporter(processor, ...) (heliosdb/cdc/metrics.h) starts it,
  // and starts nothing while this is false.
  bool enable_metrics = true;
  // Checkpoints are also written at least this often while events flow.
  uint32_t checkpoint_max_age_ms = 5000;
  // Transactions whose buffered changes exceed this many bytes are not kept
  // in memory: they are re-read from the WAL at commit (see docs).
  uint64_t max_transaction_memory_bytes = 64ull * 1024 * 1024;
  // After a stop request, how long a sink still busy sending (its
  // destination down, its queue full) is given before it is interrupted.
  // What it had not delivered is sent again on the next run.
  uint32_t stop_interrupt_delay_ms = 10000;
  // When a run ends, how long the sink may take to deliver what it holds
  // before it is closed (the rest is sent again on the next run).
  uint32_t drain_timeout_ms = 30000;

  class Builder;
  static Builder builder();

  // One rule an option breaks: the option's name (its key in [cdc]), why,
  // and the builder call that sets it (".batch_size()").
  struct Problem {
    std::string option;
    std::string message;
    std::string call;
  };
  // Every rule the options break, in declaration order (empty when valid).
  // The one definition of a valid CdcConfig: validate() and the builder
  // report the first problem, the daemon's config reader (config check and
  // run alike) reports each at its file:line.
  std::vector<Problem> problems() const;
  // Checks every option; the error ("option: message") names the first bad
  // one. The limits are those `heliosdb-cdc config options cdc` lists.
  Status validate() const;
};

class CdcConfig::Builder {
 public:
  Builder& wal_path(std::string v) {
    c_.wal_path = std::move(v);
    return *this;
  }
  Builder& database(std::string v) {
    c_.database = std::move(v);
    return *this;
  }
  Builder& checkpoint_dir(std::string v) {
    c_.checkpoint_dir = std::move(v);
    return *this;
  }
  Builder& checkpoint_interval(uint64_t v) {
    c_.checkpoint_interval = v;
    return *this;
  }
  Builder& batch_size(uint32_t v) {
    c_.batch_size = v;
    return *this;
  }
  Builder& buffer_size(uint32_t v) {
    c_.buffer_size = v;
    return *this;
  }
  Builder& buffer_bytes(uint64_t v) {
    c_.buffer_bytes = v;
    return *this;
  }
  Builder& poll_interval_ms(uint32_t v) {
    c_.poll_interval_ms = v;
    return *this;
  }
  Builder& enable_metrics(bool v) {
    c_.enable_metrics = v;
    return *this;
  }
  Builder& checkpoint_max_age_ms(uint32_t v) {
    c_.checkpoint_max_age_ms = v;
    return *this;
  }
  Builder& max_transaction_memory_bytes(uint64_t v) {
    c_.max_transaction_memory_bytes = v;
    return *this;
  }
  Builder& stop_interrupt_delay_ms(uint32_t v) {
    c_.stop_interrupt_delay_ms = v;
    return *this;
  }
  Builder& drain_timeout_ms(uint32_t v) {
    c_.drain_timeout_ms = v;
    return *this;
  }
  // Validates and returns the config, or an error naming the bad option and
  // its builder call ("batch_size: must be at most 100000; set with
  // .batch_size()"). The limits are those of the [cdc] config section.
  Result<CdcConfig> build() const;

 private:
  CdcConfig c_;
};

}  // namespace heliosdb::cdc
