// The sinks' retry policy: when to try again, how long to wait first, when
// to give up. Shared by the Kinesis sink (PutRecords calls and entries, the
// stream check at open()) and any sink that retries on its own (librdkafka
// retries Kafka produce requests itself, so the Kafka sink has none).
//
// Schedule: exponential backoff with full jitter, as AWS recommends: before
// retry number n (1-based) wait a uniform random time in
// [0, min(max_delay, base_delay * 2^n)]. At most max_retries retries: a
// caller gives up when exhausted(n) says so after its n-th failed attempt.
// Which errors are retriable: those whose code says so (Status::retriable():
// unavailable, timeout, resource exhausted); a destination's own codes are
// classified by the sink (kinesis_records.h: retriable_record_error).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::sink_internal {

class RetryPolicy {
 public:
  // `seed` 0: a random seed (tests pass a fixed one).
  RetryPolicy(std::chrono::milliseconds base_delay, std::chrono::milliseconds max_delay,
              int max_retries, uint64_t seed = 0);

  // The wait before retry number `attempt` (1-based). Thread-safe.
  std::chrono::milliseconds backoff(int attempt);
  // The longest backoff() can return for `attempt`.
  std::chrono::milliseconds ceiling(int attempt) const;
  // After `attempts` failed attempts: no retry is left.
  bool exhausted(int attempts) const { return attempts > max_retries_; }
  int max_retries() const { return max_retries_; }
  std::chrono::milliseconds max_delay() const { return max_delay_; }

  // Whether an error is worth another attempt.
  static bool retriable(const Status& st) { return st.retriable(); }

 private:
  std::chrono::milliseconds base_delay_;
  std::chrono::milliseconds max_delay_;
  int max_retries_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace heliosdb::cdc::sink_internal
