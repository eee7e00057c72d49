#include "sink/retry_policy.h"

#include <algorithm>

namespace heliosdb::cdc::sink_internal {

RetryPolicy::RetryPolicy(std::chrono::milliseconds base_delay, std::chrono::milliseconds max_delay,
                         int max_retries, uint64_t seed)
    : base_delay_(base_delay),
      max_delay_(max_delay),
      max_retries_(max_retries),
      rng_(seed ? seed : std::random_device{}()) {}

std::chrono::milliseconds RetryPolicy::ceiling(int attempt) const {
  const int64_t base = base_delay_.count();
  const int64_t cap = max_delay_.count();
  int64_t ceiling = base;
  for (int i = 0; i < attempt && ceiling < cap; ++i) ceiling *= 2;
  return std::chrono::milliseconds(std::min(ceiling, cap));
}

std::chrono::milliseconds RetryPolicy::backoff(int attempt) {
  const int64_t c = ceiling(attempt).count();
  if (c <= 0) return std::chrono::milliseconds(0);
  std::lock_guard lock(rng_mu_);
  std::uniform_int_distribution<int64_t> dist(0, c);
  return std::chrono::milliseconds(dist(rng_));
}

}  // namespace heliosdb::cdc::sink_internal
