#include "sink/kafka_deliveries.h"

#include <spdlog/spdlog.h>

namespace heliosdb::cdc::kafka {

void KafkaDeliveries::failed(uint64_t ticket, Status st, bool too_large_message) {
  AckReceiver* a = receiver();
  flush_runs();  // keep acknowledgements in report order
  if (too_large_message) {
    if (a) too_large(ticket, std::move(st), *a);
    return;
  }
  failed_.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("kafka: {}", st.message());
  if (a) a->fail(ticket, std::move(st));
}

void KafkaDeliveries::too_large(uint64_t ticket, Status st, AckReceiver& a) {
  if (options_.on_message_too_large == MessageTooLargePolicy::kSkip) {
    skipped_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("kafka: skipping (on_message_too_large = \"skip\"): {}", st.message());
    a.acknowledge(ticket, 1);
    return;
  }
  failed_.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("kafka: {}", st.message());
  a.fail(ticket, std::move(st));
}

void KafkaDeliveries::settle_unsent(AckReceiver& a, uint64_t first, uint64_t count,
                                    const Status& st) {
  // A stop (interrupt) ends the run cleanly: what was not handed over stays
  // unacknowledged and is sent again next run; failing it would turn the
  // clean stop into an error.
  if (st.code() == ErrorCode::kCancelled) return;
  failed_.fetch_add(1, std::memory_order_relaxed);
  a.fail(first, st);
  if (count > 1) {
    sink_internal::fail_range(
        a, first + 1, count - 1,
        Status(ErrorCode::kCancelled,
               "not sent: the Kafka sink stopped after an earlier error (" + st.message() + ")"));
  }
}

}  // namespace heliosdb::cdc::kafka
