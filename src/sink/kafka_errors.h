// How librdkafka errors map onto our Status codes and messages.
#pragma once

#include <string>
#include <string_view>

#include <librdkafka/rdkafka.h>

#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::kafka {

// What the message was, for error texts.
struct MessageContext {
  std::string_view topic;
  int32_t partition = -1;
  std::string_view event_id;  // may be empty
  std::string_view sequence;  // may be empty
  size_t bytes = 0;
};

// True if `err` means the message is larger than the producer or broker accepts.
bool is_message_too_large(rd_kafka_resp_err_t err);

// The Status for a message that failed permanently with `err`: the code says
// what kind of failure it is (kPermissionDenied, kNotFound, ...) and the text
// names the topic, the event and what to do about it. `brokers` is the
// configured bootstrap list.
Status delivery_failure(rd_kafka_resp_err_t err, const MessageContext& msg,
                        std::string_view brokers, std::string_view detail = {});

// True for errors librdkafka reports through error_cb that make the producer
// unusable for us (fatal idempotence errors, authentication failures).
bool is_fatal_client_error(rd_kafka_resp_err_t err);

}  // namespace heliosdb::cdc::kafka
